#!/bin/bash
# t_81_resume.sh -- an interrupted push of a large file resumes where it
# stopped.  Large files (64 MiB and up) are written into a partial named
# after the source file's identity; when the client or the server dies
# mid-file, the server keeps that partial (hidden), and the next push asks
# for its length and hash and sends only the rest.  Also: a partial that no
# longer matches is not used, one being written by another client is left
# alone, and abandoned partials expire (at run time and at startup).
# To stop a push mid-file at a known point without sleeping, it is slowed
# down with zstd level 19 (a few MB/s of random data) and killed once the
# partial holds a few MiB.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
SIZE=$((80 * 1024 * 1024))
mkdir -p "$E" "$S"
head -c "$SIZE" /dev/urandom >"$S/big.bin"
echo small >"$S/small.txt"
printf '[default]\npath = %s\n' "$E" >"$T/syncd.conf"

partial() { find "$E" -name '.syncd-tmp.part.*' 2>/dev/null; }
temps() { find "$E" -name '.syncd-tmp.*' 2>/dev/null | wc -l; }
partial_size() { local p; p=$(partial); [ -n "$p" ] && stat -c %s "$p" || echo 0; }
has_partial_of() { [ "$(partial_size)" -ge "$1" ]; }

# slow_push_killed WHO: starts a slowed push of $S, waits (bounded) until
# the server's partial holds 4 MiB, then SIGKILLs WHO (client or syncd).
slow_push_killed() {
	local who=$1 client
	"$SYNCCTL" --streams 1 -z --compress-level 19 push 127.0.0.1/t "$S" >"$T/slow.out" 2>&1 &
	client=$!
	if wait_for 120 has_partial_of $((4 * 1024 * 1024)); then
		ok "a partial of 4 MiB appeared during the slowed push ($who killed next)"
	else
		not_ok "a partial of 4 MiB appeared during the slowed push"
		diag "$(cat "$T/slow.out")"
	fi
	if [ "$who" = client ]; then
		kill -KILL "$client"
		wait "$client" 2>/dev/null
	else
		kill -KILL "$SYNCD_PID"
		wait "$SYNCD_PID" 2>/dev/null
		SYNCD_PID=
		local crc=0
		wait "$client" 2>/dev/null || crc=$?
		isnt "$crc" 0 "the client fails when syncd dies"
		like "$(cat "$T/slow.out")" "connection|server|RPC" "its error says the connection or server failed"
	fi
}

# unlocked: true once no session holds the partial (the server has seen
# the killed client's connection end).
unlocked() { local p; p=$(partial); [ -n "$p" ] && flock -n "$p" true; }

# resumed_push WHAT EXTRA: pushes $S again and checks the tree and the
# counters: some bytes resumed, and resumed + sent = the big file + EXTRA
# (the other files sent), so nothing was sent twice.
resumed_push() {
	run "$SYNCCTL" --stats --streams 1 push 127.0.0.1/t "$S"
	is "$RC" 0 "$1: the push after the interruption succeeds"
	resumed=$(stat_of "bytes resumed")
	sent=$(stat_of "bytes sent")
	diag "$1: resumed $resumed, sent $sent"
	if [ "${resumed:-0}" -ge $((4 * 1024 * 1024)) ] && [ $((resumed + sent)) -eq $((SIZE + $2)) ]; then
		ok "$1: the kept bytes were not sent again"
	else
		not_ok "$1: the kept bytes were not sent again (resumed $resumed + sent $sent != $SIZE + $2)"
		diag "$OUT"
	fi
	assert_trees_equal "$S" "$E/t" "$1: the tree"
	is "$(temps)" 0 "$1: no temp or partial left"
}

start_syncd -c "$T/syncd.conf" || exit 1

# 1. The client dies mid-file.
slow_push_killed client
wait_for 10 unlocked
[ -n "$(partial)" ] && ok "the partial is kept when the client dies" ||
	not_ok "the partial is kept when the client dies"
[ ! -e "$E/t/big.bin" ] && ok "no big.bin is visible before it is complete" ||
	not_ok "no big.bin is visible before it is complete"
run "$RAWCALL" default list t
is "$RC" 0 "LIST works"
unlike "$OUT" "syncd-tmp" "LIST does not show the partial"
resumed_push "client killed" 6

# 2. The server dies mid-file (a new version of the file: a new key).
head -c "$SIZE" /dev/urandom >"$S/big.bin"
slow_push_killed syncd
start_syncd -c "$T/syncd.conf" || exit 1
[ -n "$(partial)" ] && ok "the restarted syncd kept the young partial" ||
	not_ok "the restarted syncd kept the young partial"
resumed_push "syncd killed" 0

# 3. A partial that does not match what the client has is not used.
head -c "$SIZE" /dev/urandom >"$S/big.bin"
slow_push_killed client
wait_for 10 unlocked
printf 'XXXXXXXX' | dd of="$(partial)" bs=1 seek=100 conv=notrunc status=none
run "$SYNCCTL" --stats --streams 1 push 127.0.0.1/t "$S"
is "$RC" 0 "a damaged partial: the push succeeds"
like "$OUT" "partial copy differs; sending it all" "it says the partial was not used"
is "$(stat_of "bytes resumed")" 0 "nothing was resumed from it"
assert_trees_equal "$S" "$E/t" "a damaged partial: the tree"
is "$(temps)" 0 "a damaged partial: nothing left"

# 4. A partial being written by one client is not taken by another.
head -c "$SIZE" /dev/urandom >"$S/big.bin"
"$SYNCCTL" --streams 1 -z --compress-level 19 push 127.0.0.1/t "$S" >"$T/slow.out" 2>&1 &
slow=$!
wait_for 120 has_partial_of $((1024 * 1024))
run "$SYNCCTL" --stats --streams 1 push 127.0.0.1/t "$S"
is "$RC" 0 "a second client pushes the same file while the first writes its partial"
is "$(stat_of "bytes resumed")" 0 "it did not take the partial in use"
assert_trees_equal "$S" "$E/t" "the second client's tree"
gone "$slow" && not_ok "the first client was still running" || ok "the first client was still running"
kill -KILL "$slow"
wait "$slow" 2>/dev/null

# 5. Expiry: at run time ...
stop_syncd
printf 'partial expiry = 2\n[default]\npath = %s\n' "$E" >"$T/expiry.conf"
start_syncd -c "$T/expiry.conf" || exit 1
head -c "$SIZE" /dev/urandom >"$S/big.bin"
slow_push_killed client
if wait_for 20 sh -c "[ -z \"\$(find '$E' -name '.syncd-tmp.part.*')\" ]"; then
	ok "an abandoned partial expires (partial expiry = 2)"
else
	not_ok "an abandoned partial expires (partial expiry = 2)"
fi
like "$(cat "$SYNCD_LOG")" "partial t/\.syncd-tmp\.part\.[0-9a-f]{32} expired" "the expiry is logged"

# ... and at startup: an old partial is removed, a young one kept.
stop_syncd
mkdir -p "$E/t/d"
head -c 1000 /dev/urandom >"$E/t/d/.syncd-tmp.part.0123456789abcdef0123456789abcdef"
head -c 1000 /dev/urandom >"$E/t/.syncd-tmp.part.fedcba9876543210fedcba9876543210"
touch -d '3 hours ago' "$E/t/d/.syncd-tmp.part.0123456789abcdef0123456789abcdef"
printf 'partial expiry = 3600\n[default]\npath = %s\n' "$E" >"$T/hour.conf"
start_syncd -c "$T/hour.conf" || exit 1
[ ! -e "$E/t/d/.syncd-tmp.part.0123456789abcdef0123456789abcdef" ] &&
	ok "the startup sweep removes a partial older than the expiry" ||
	not_ok "the startup sweep removes a partial older than the expiry"
[ -e "$E/t/.syncd-tmp.part.fedcba9876543210fedcba9876543210" ] &&
	ok "the startup sweep keeps a young partial" ||
	not_ok "the startup sweep keeps a young partial"
stop_syncd

# 6. partial expiry = 0: nothing is kept when the client dies.
printf 'partial expiry = 0\n[default]\npath = %s\n' "$E" >"$T/zero.conf"
rm -f "$E"/t/.syncd-tmp.*
start_syncd -c "$T/zero.conf" || exit 1
head -c "$SIZE" /dev/urandom >"$S/big.bin"
slow_push_killed client
if wait_for 10 sh -c "[ -z \"\$(find '$E' -name '.syncd-tmp.*')\" ]"; then
	ok "partial expiry = 0: the temp goes with the client"
else
	not_ok "partial expiry = 0: the temp goes with the client"
fi
run "$SYNCCTL" --stats push 127.0.0.1/t "$S"
is "$RC" 0 "partial expiry = 0: the next push succeeds"
assert_trees_equal "$S" "$E/t" "partial expiry = 0: the tree"
stop_syncd
done_testing
