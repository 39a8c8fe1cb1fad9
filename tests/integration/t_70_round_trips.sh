#!/bin/bash
# t_70_round_trips.sh -- a no-change push costs a constant number of
# synchronous calls: the same "round trips" for 100 and for 5,000 files,
# and at most 8 (HELLO + LIST page + BARRIER is 3).  A fresh push over S
# worker streams costs 2S + 3 however many windows it takes: the workers
# make the new directories their files go in, so the primary ends its
# batch before handing a window out only when it deleted something.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E"
start_syncd --root "$E" || exit 1

make_tree() {
	local dir=$1 n=$2 i
	mkdir -p "$dir"
	for ((i = 0; i < n; i++)); do
		if ((i % 100 == 0)); then mkdir -p "$dir/d$((i / 100))"; fi
		printf '%d\n' "$i" >"$dir/d$((i / 100))/f$i"
	done
}

declare -A trips
for n in 100 5000; do
	make_tree "$T/t$n" "$n"
	run timeout 200 "$SYNCCTL" --stats push 127.0.0.1 "$T/t$n"
	is "$RC" 0 "first push of $n files: exit 0"
	is "$(stat_of 'files sent')" "$n" "first push of $n files: all sent"
	run timeout 200 "$SYNCCTL" --stats push 127.0.0.1 "$T/t$n"
	is "$RC" 0 "no-change push of $n files: exit 0"
	is "$(stat_of 'files sent')" 0 "no-change push of $n files: nothing sent"
	trips[$n]=$(stat_of 'round trips')
	like "${trips[$n]}" '^[0-9]+$' "no-change push of $n files reports round trips (${trips[$n]})"
	if [ -n "${trips[$n]}" ] && [ "${trips[$n]}" -le 8 ]; then
		ok "no-change push of $n files: round trips ${trips[$n]} <= 8"
	else
		not_ok "no-change push of $n files: round trips '${trips[$n]}' <= 8"
	fi
done
is "${trips[5000]}" "${trips[100]}" "round trips are the same for 100 and 5,000 files"
assert_trees_equal "$T/t5000" "$E/t5000" "5,000-file tree reproduced"

# A fresh push of 2,500 files in 25 new directories: two windows, fewer
# than 8192 calls on any connection (no BARRIER for a full batch), over
# 2 workers: HELLO + LIST + the last BARRIER on the primary, HELLO +
# BARRIER on each worker.  (Before the workers made their own directories,
# each window cost one more primary BARRIER: 9.)
make_tree "$T/fresh" 2500
stamp_tree "$T/fresh"
run timeout 200 "$SYNCCTL" --stats --streams 2 push 127.0.0.1/new/fresh "$T/fresh"
is "$RC" 0 "fresh push of 2,500 files over 2 streams: exit 0"
is "$(stat_of 'files sent')" 2500 "fresh push over 2 streams: all sent"
is "$(stat_of 'round trips')" 7 "fresh push over 2 streams: 2 x 2 + 3 round trips"
assert_trees_equal "$T/fresh" "$E/new/fresh" "fresh push over 2 streams reproduces the tree"

stop_syncd
done_testing
