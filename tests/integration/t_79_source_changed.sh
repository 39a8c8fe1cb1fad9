#!/bin/bash
# t_79_source_changed.sh -- a file that changes while syncctl reads it is
# never published torn.  syncctl compares the file's size, mtime and ctime
# after reading it with what they were before; on a change it abandons the
# temp (ABORT) and sends the file again, up to 3 times, then reports it and
# leaves the server's copy as it was.  A writer that keeps rewriting the
# source makes every attempt see a change: the push must fail naming the
# file, and the server's copy must stay the old one, whole.  Both ways of
# sending are covered: whole (a new file) and as a delta (an old version on
# the server).  A file that shrinks while it is read counts as changed too.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
mkdir -p "$E" "$S"
start_syncd --root "$E" || exit 1

# writer FILE: rewrites one byte of FILE in place, again and again (bounded),
# so that its mtime and ctime move all the time while its size stays.
writer() {
	local i
	for ((i = 0; i < 200000; i++)); do
		printf 'x' | dd of="$1" bs=1 seek=$((i % 4096)) conv=notrunc status=none
	done
}

# A file large enough that reading and sending it takes a while.
head -c $((48 * 1024 * 1024)) /dev/urandom >"$S/f.bin"
cp "$S/f.bin" "$T/orig.bin"
echo other >"$S/other.txt"

# push_while WRITER...: pushes $S while WRITER... runs (stopped after).
push_while() {
	"$@" &
	local w=$!
	run "$SYNCCTL" --retries 0 --streams 1 push 127.0.0.1/t "$S"
	kill "$w"
	wait "$w" 2>/dev/null
}

# 1. Whole-file send of a file that keeps changing: never published.
push_while writer "$S/f.bin"
is "$RC" 1 "a file that keeps changing: exit 1"
like "$OUT" "t/f.bin|f.bin.*kept changing while being sent; not updated" "the file is named, with why"
like "$OUT" "changed while being sent; sending it again" "the retries are said"
[ ! -e "$E/t/f.bin" ] && ok "no f.bin was published" || not_ok "no f.bin was published"
check "the other file was sent" cmp -s "$S/other.txt" "$E/t/other.txt"
is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "no temp left"

# Now it is still: the push converges.
run "$SYNCCTL" --streams 1 push 127.0.0.1/t "$S"
is "$RC" 0 "once it is still, the push succeeds"
assert_trees_equal "$S" "$E/t" "the tree"
cp "$S/f.bin" "$T/old.bin"

# 2. As a delta (the server has an old version): never published either.
push_while writer "$S/f.bin"
is "$RC" 1 "a delta of a file that keeps changing: exit 1"
like "$OUT" "kept changing while being sent; not updated" "the file is named, with why"
check "the server's copy is the old version, whole" cmp -s "$T/old.bin" "$E/t/f.bin"
is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "no temp left"

# 3. A file that shrinks under the reader: never published torn either.
head -c $((48 * 1024 * 1024)) /dev/urandom >"$S/g.bin"
# shrinker FILE: cuts FILE to 40 MiB and grows it back, again and again.
shrinker() {
	local i
	for ((i = 0; i < 200000; i++)); do
		truncate -s $((40 * 1024 * 1024)) "$1"
		head -c $((8 * 1024 * 1024)) /dev/zero >>"$1"
	done
}
push_while shrinker "$S/g.bin"
diag "$OUT"
if [ "$RC" -eq 0 ]; then
	# Every attempt may have read a consistent version: then it must be one.
	size=$(stat -c %s "$E/t/g.bin")
	is "$size" $((48 * 1024 * 1024)) "what was published has a whole version's size"
else
	is "$RC" 1 "a file that shrinks and grows: exit 1"
	[ ! -e "$E/t/g.bin" ] && ok "no g.bin was published" || not_ok "no g.bin was published"
fi
is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "no temp left"

stop_syncd
done_testing
