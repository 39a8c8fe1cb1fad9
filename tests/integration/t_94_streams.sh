#!/bin/bash
# t_94_streams.sh -- parallel streams (--streams N): a tree of small files
# and a few 8 MiB files pushed over 1, 2 and 4 connections arrives equal
# each time (content, modes, mtimes of files and directories); a no-change
# re-push still costs 3 round trips; an update over 4 streams sends only
# what changed (big files as deltas, their SIGNATUREs on the workers);
# --delete and --checksum work with streams; the round trips of a fresh
# push do not grow with the number of files; a file that cannot be read is
# reported and the rest still arrives; a connection that fails is
# reported, the other streams finish the work, and the exit status says so.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
MiB=1048576
mkdir -p "$E" "$S/empty"
for ((i = 0; i < 200; i++)); do
	d="$S/d$((i % 10))"
	mkdir -p "$d"
	printf 'small file %d\n' "$i" >"$d/f$i"
done
chmod 0640 "$S/d3/f3"
for b in 1 2 3; do
	head -c $((8 * MiB)) /dev/urandom >"$S/d$b/big$b"
done
ln -s d1/big1 "$S/link"
stamp_tree "$S"
start_syncd --root "$E" || exit 1

# push DEST ARGS...: syncctl --stats ARGS push 127.0.0.1/DEST "$S"
push() {
	local dest=$1
	shift
	run timeout 60 "$SYNCCTL" --stats "$@" push "127.0.0.1/$dest" "$S"
}

# --- fresh pushes over 1, 2 and 4 streams
declare -A trips
for n in 1 2 4; do
	push "s$n" --streams "$n"
	is "$RC" 0 "--streams $n: exit 0"
	is "$(stat_of 'files sent')" 203 "--streams $n: all 203 files sent"
	is "$(stat_of 'bytes sent')" "$(find "$S" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')" \
		"--streams $n: every byte sent once"
	trips[$n]=$(stat_of 'round trips')
	assert_trees_equal "$S" "$E/s$n" "--streams $n reproduces the tree (directory mtimes too)"
done
is "${trips[1]}" 3 "--streams 1 is one batch: HELLO + LIST + BARRIER"
if [ "${trips[4]:-0}" -gt "${trips[2]:-0}" ] && [ "${trips[2]:-0}" -gt "${trips[1]:-0}" ]; then
	ok "more streams, more connections (round trips ${trips[1]} < ${trips[2]} < ${trips[4]})"
else
	not_ok "more streams, more connections (round trips ${trips[1]}, ${trips[2]}, ${trips[4]})"
fi

# --- nothing changed: no extra connection
push s4 --streams 4
is "$RC" 0 "no-change re-push over 4 streams: exit 0"
is "$(stat_of 'files sent')" 0 "no-change re-push: files sent 0"
is "$(stat_of 'round trips')" 3 "no-change re-push: 3 round trips (no extra connection)"

# --- an update: three small files and two big ones (deltas)
for f in d0/f10 d5/f25 d9/f199; do printf 'changed %s\n' "$f" >>"$S/$f"; done
printf 'appended' >>"$S/d1/big1"
dd if=/dev/urandom of="$S/d2/big2" bs=4096 count=1 seek=100 conv=notrunc status=none
touch -d @1700000000.25 "$S/d0/f10" "$S/d5/f25" "$S/d9/f199" "$S/d1/big1" "$S/d2/big2"
touch -d @1700000000.5 "$S/d0" "$S/d1" "$S/d2" "$S/d5" "$S/d9"
push s4 --streams 4
is "$RC" 0 "update over 4 streams: exit 0"
is "$(stat_of 'files sent')" 5 "update: only the 5 changed files sent"
matched=$(stat_of 'bytes matched')
if [ "${matched:-0}" -gt $((14 * MiB)) ]; then
	ok "update: the big files went as deltas ($matched bytes matched)"
else
	not_ok "update: the big files went as deltas ('$matched' bytes matched)"
	diag "$OUT"
fi
assert_trees_equal "$S" "$E/s4" "update over 4 streams reproduces the tree"

# --- --delete with streams (70 new files: enough for extra connections)
rm -r "$S/d7"
rm "$S/d8/f18" "$S/d8/f28"
mkdir "$S/new"
for ((i = 0; i < 70; i++)); do printf 'new %d\n' "$i" >"$S/new/n$i"; done
stamp_tree "$S/new" @1700000001.75
touch -d @1700000001.75 "$S" "$S/d8"
push s4 --streams 4 --delete
is "$RC" 0 "--delete over 4 streams: exit 0"
is "$(stat_of 'entries deleted')" 3 "--delete: the directory and 2 files deleted"
is "$(stat_of 'files sent')" 70 "--delete: the 70 new files sent"
isnt "$(stat_of 'round trips')" 3 "--delete push used extra connections"
assert_trees_equal "$S" "$E/s4" "--delete over 4 streams reproduces the tree"

# --- round trips of a fresh push do not grow with the file count
for n in 100 1000; do
	mkdir -p "$T/c$n"
	for ((i = 0; i < n; i++)); do
		if ((i % 100 == 0)); then mkdir -p "$T/c$n/d$((i / 100))"; fi
		printf '%d\n' "$i" >"$T/c$n/d$((i / 100))/f$i"
	done
	run timeout 60 "$SYNCCTL" --stats --streams 4 push "127.0.0.1/c$n" "$T/c$n"
	is "$RC" 0 "fresh push of $n files over 4 streams: exit 0"
	trips[c$n]=$(stat_of 'round trips')
	assert_trees_equal "$T/c$n" "$E/c$n" "$n files over 4 streams reproduced"
done
is "${trips[c1000]}" "${trips[c100]}" "round trips the same for 100 and 1,000 files (${trips[c100]})"

# --- --checksum: the local hashing runs on the streams' threads
for f in d0/f0 d4/f14 d3/big3; do
	touch -r "$S/$f" "$T/ref"
	printf 'Z' | dd of="$S/$f" bs=1 seek=3 conv=notrunc status=none
	touch -r "$T/ref" "$S/$f"
done
push s4 --streams 4 --checksum
is "$RC" 0 "--checksum over 4 streams: exit 0"
is "$(stat_of 'files sent')" 3 "--checksum: the 3 files changed behind size and mtime sent"
assert_trees_equal "$S" "$E/s4" "--checksum over 4 streams reproduces the tree"

# --- a file we cannot read (root without CAP_DAC_*): reported, the rest arrives
if setpriv --bounding-set=-dac_override,-dac_read_search true 2>/dev/null; then
	chmod 000 "$S/new/n5"
	printf 'after\n' >"$S/new/n6"
	run timeout 60 setpriv --bounding-set=-dac_override,-dac_read_search \
		"$SYNCCTL" --stats --streams 4 push 127.0.0.1/u "$S"
	is "$RC" 1 "unreadable file: exit 1"
	like "$OUT" "new/n5: Permission denied" "unreadable file: named with its error"
	is "$(grep -c 'n5' <<<"$OUT")" 1 "unreadable file: named once"
	is "$(stat_of 'files sent')" $(($(find "$S" -type f | wc -l) - 1)) "unreadable file: every other file sent"
	check "unreadable file: the others arrived" cmp -s "$S/new/n6" "$E/u/new/n6"
	chmod 0644 "$S/new/n5"
else
	ok "# SKIP setpriv cannot drop capabilities here"
fi

# --- a connection that fails: reported, the others finish, exit non-zero.
# With --max-connections 2, at least one of 4 streams is closed at once:
# the others take its share, the push succeeds with a warning.
stop_syncd
start_syncd --root "$E" --max-connections 2 || exit 1
port=$(syncd_port)
# start_syncd's probe connection must be gone before the push counts slots.
no_conns() { [ -z "$(ss -Htn "( sport = :$port )" 2>/dev/null)" ]; }
wait_for 5 no_conns || diag "syncd still holds a connection"
run timeout 60 "$SYNCCTL" --stats --streams 4 push 127.0.0.1/x "$S"
is "$RC" 0 "a refused stream: exit 0 (the others took its share)"
like "$OUT" "fewer streams" "a refused stream: a warning says so"
assert_trees_equal "$S" "$E/x" "a refused stream: the tree still arrives complete"

stop_syncd
done_testing
