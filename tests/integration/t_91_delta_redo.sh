#!/bin/bash
# t_91_delta_redo.sh -- a delta the server refuses is sent again whole, in
# the same push (rsync's redo).  The server's copy is changed in place
# after its SIGNATURE and before the COPYs read it: the client's first read
# of its own file (which comes after the SIGNATURE reply) is held for two
# seconds by strace's syscall delay, and the test changes the server's copy
# meanwhile.  COMMIT then fails with CHECKSUM, and syncctl resends the file
# whole, fixes its directory's mtime again, and exits 0 with the tree equal;
# also over two streams, next to another changed file.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
F="$S/sub/big"
MiB=1048576
mkdir -p "$E" "$S/sub"
head -c $((8 * MiB)) /dev/urandom >"$F"
stamp_tree "$S"
start_syncd --root "$E" || exit 1

run "$SYNCCTL" --stats push 127.0.0.1 "$S"
is "$RC" 0 "first push: exit 0"
assert_trees_equal "$S" "$E/src" "first push reproduces the tree"

if ! command -v strace >/dev/null 2>&1 || ! strace -o /dev/null true 2>/dev/null; then
	for what in "exit 0" "resent whole" "tree equal" "two streams"; do
		ok "# SKIP redo ($what): strace is not usable here"
	done
	stop_syncd
	done_testing
	exit
fi

# The local file changes at its end; the server's copy, later, at its start.
printf 'local change' | dd of="$F" bs=1 seek=$((8 * MiB - 100)) conv=notrunc status=none
touch -d @1700000100 "$F"
# (LeakSanitizer cannot run under ptrace: no leak check for this one run.)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -o "$T/strace.log" -P "$F" -e trace=pread64 \
	-e inject=pread64:delay_enter=2000000:when=1 \
	"$SYNCCTL" --stats push 127.0.0.1 "$S" >"$T/out" 2>&1 </dev/null &
pid=$!
if wait_for 20 grep -q 'pread64(' "$T/strace.log"; then
	printf 'server change' | dd of="$E/src/sub/big" bs=1 seek=1000 conv=notrunc status=none
	ok "the client's match started after its SIGNATURE"
else
	not_ok "the client's match started after its SIGNATURE"
fi
RC=0
wait "$pid" || RC=$?
OUT=$(cat "$T/out")
is "$RC" 0 "refused delta: exit 0"
like "$OUT" "delta refused \\(content hash mismatch\\); sending it whole" "refused delta: resent whole"
at_least=$(stat_of 'bytes sent')
if [ -n "$at_least" ] && [ "$at_least" -ge $((8 * MiB)) ]; then
	ok "refused delta: the whole file went out again ($at_least bytes sent)"
else
	not_ok "refused delta: the whole file went out again ('$at_least' bytes sent)"
	diag "$OUT"
fi
is "$(stat_of 'files sent')" 1 "refused delta: still one file sent"
is "$(stat_of 'round trips')" 5 "refused delta: HELLO + LIST + SIGNATURE + 2 BARRIERs"
unlike "$OUT" "changed during transfer" "refused delta: no failure reported (status CHECKSUM)"
assert_trees_equal "$S" "$E/src" "refused delta: tree equal, directory mtimes too"

# The same over two streams, with a second changed file beside it: the
# refused one is resent by whichever stream sent it, the other is untouched.
head -c $((6 * MiB)) /dev/urandom >"$S/other"
run "$SYNCCTL" push 127.0.0.1 "$S"
printf 'local again' | dd of="$F" bs=1 seek=$((8 * MiB - 200)) conv=notrunc status=none
printf 'other change' | dd of="$S/other" bs=1 seek=$((6 * MiB - 200)) conv=notrunc status=none
touch -d @1700000200 "$F" "$S/other"
: >"$T/strace.log"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -o "$T/strace.log" -P "$F" -e trace=pread64 \
	-e inject=pread64:delay_enter=2000000:when=1 \
	"$SYNCCTL" --stats --streams 2 push 127.0.0.1 "$S" >"$T/out" 2>&1 </dev/null &
pid=$!
if wait_for 20 grep -q 'pread64(' "$T/strace.log"; then
	printf 'server again' | dd of="$E/src/sub/big" bs=1 seek=2000 conv=notrunc status=none
	ok "two streams: the match of sub/big started after its SIGNATURE"
else
	not_ok "two streams: the match of sub/big started after its SIGNATURE"
fi
RC=0
wait "$pid" || RC=$?
OUT=$(cat "$T/out")
is "$RC" 0 "two streams, refused delta: exit 0"
is "$(grep -c 'delta refused' <<<"$OUT")" 1 "two streams: the refused file alone resent whole"
is "$(stat_of 'files sent')" 2 "two streams: two files sent"
assert_trees_equal "$S" "$E/src" "two streams, refused delta: tree equal"

stop_syncd
done_testing
