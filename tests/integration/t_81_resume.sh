#!/bin/bash
# t_81_resume.sh -- an interrupted push of a large file resumes where it
# stopped.  Large files (64 MiB and up) are written into a partial named
# after the source file's identity; when the client or the server dies
# mid-file, the server keeps that partial (hidden), and the next push asks
# for its length and hash and sends only the rest.  Also: a partial that no
# longer matches is not used, one being written by another client is left
# alone, and abandoned partials expire (at run time and at startup).
# To stop a push mid-file at a known point, it goes through a relay that
# stalls after 12 MiB (tests/tools/faultrelay); the client or syncd is
# then killed, and the relay stopped.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/relay.sh
. "$(dirname "$0")/../lib/relay.sh"

E="$T/export"
S="$T/src"
SIZE=$((80 * 1024 * 1024))
WHOLE=
mkdir -p "$E" "$S"
head -c "$SIZE" /dev/urandom >"$S/big.bin"
echo small >"$S/small.txt"
printf '[default]\npath = %s\n' "$E" >"$T/syncd.conf"

partial() { find "$E" -name '.syncd-tmp.part.*' 2>/dev/null; }
temps() { find "$E" -name '.syncd-tmp.*' 2>/dev/null | wc -l; }
partial_size() { local p; p=$(partial); [ -n "$p" ] && stat -c %s "$p" || echo 0; }
has_partial_of() { [ "$(partial_size)" -ge "$1" ]; }
no_partial() { [ -z "$(partial)" ]; }
# unlocked: true once no session holds the partial (the server has seen
# the interrupted connection end).
unlocked() { local p; p=$(partial); [ -n "$p" ] && flock -n "$p" true; }

# stalled_push: starts a push of $S through a relay that stalls after
# 12 MiB, and waits (bounded) until the server's partial holds 8 MiB.
stalled_push() {
	start_relay -s $((12 * 1024 * 1024)) || return 1
	"$SYNCCTL" $WHOLE --retries 0 --streams 1 --port "$RELAY_PORT" push 127.0.0.1/t "$S" \
	    >"$T/slow.out" 2>&1 &
	client=$!
	if ! wait_for 60 has_partial_of $((8 * 1024 * 1024)); then
		not_ok "the partial holds 8 MiB when the relay stalls"
		diag "$(cat "$T/slow.out" "$RELAY_LOG")"
		return 1
	fi
}

# interrupt WHO: kills WHO (client or syncd) in the middle of the stalled
# push, then stops the relay; with syncd killed, the client must fail
# with a clear error.
interrupt() {
	local crc=0
	if [ "$1" = client ]; then
		kill -KILL "$client"
	else
		kill -KILL "$SYNCD_PID"
		wait "$SYNCD_PID" 2>/dev/null
		SYNCD_PID=
	fi
	stop_relay
	wait "$client" 2>/dev/null || crc=$?
	if [ "$1" = syncd ]; then
		isnt "$crc" 0 "the client fails when syncd dies"
		like "$(cat "$T/slow.out")" "connection|server|RPC" "its error says the connection failed"
	fi
}

# resumed_push WHAT EXTRA: pushes $S again and checks the tree and the
# counters: some bytes resumed, and resumed + sent = the big file + EXTRA
# (the other files sent), so nothing was sent twice.
resumed_push() {
	local resumed sent
	run "$SYNCCTL" $WHOLE --stats --streams 1 push 127.0.0.1/t "$S"
	is "$RC" 0 "$1: the push after the interruption succeeds"
	resumed=$(stat_of "bytes resumed")
	sent=$(stat_of "bytes sent")
	diag "$1: resumed $resumed, sent $sent"
	if [ "${resumed:-0}" -ge $((8 * 1024 * 1024)) ] &&
	    [ $((resumed + sent)) -eq $((SIZE + $2)) ]; then
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
stalled_push
interrupt client
check "the partial is kept when the client dies" wait_for 10 unlocked
[ ! -e "$E/t/big.bin" ] && ok "no big.bin is visible before it is complete" ||
	not_ok "no big.bin is visible before it is complete"
run "$RAWCALL" default list t
is "$RC" 0 "LIST works"
unlike "$OUT" "syncd-tmp" "LIST does not show the partial"
resumed_push "client killed" 6

# 2. The server dies mid-file (a new version of the file: a new key).
# From here on the server has an old big.bin, and a changed file that the
# server has goes as a delta, which is not resumable: -W sends it whole.
WHOLE=-W
head -c "$SIZE" /dev/urandom >"$S/big.bin"
stalled_push
interrupt syncd
start_syncd -c "$T/syncd.conf" || exit 1
[ -n "$(partial)" ] && ok "the restarted syncd kept the young partial" ||
	not_ok "the restarted syncd kept the young partial"
resumed_push "syncd killed" 0

# 3. A partial that does not match what the client has is not used.
head -c "$SIZE" /dev/urandom >"$S/big.bin"
stalled_push
interrupt client
wait_for 10 unlocked
printf 'XXXXXXXX' | dd of="$(partial)" bs=1 seek=100 conv=notrunc status=none
run "$SYNCCTL" -W --stats --streams 1 push 127.0.0.1/t "$S"
is "$RC" 0 "a damaged partial: the push succeeds"
like "$OUT" "partial copy differs; sending it all" "it says the partial was not used"
is "$(stat_of "bytes resumed")" 0 "nothing was resumed from it"
assert_trees_equal "$S" "$E/t" "a damaged partial: the tree"
is "$(temps)" 0 "a damaged partial: nothing left"

# 4. A partial being written by one client is not taken by another.
head -c "$SIZE" /dev/urandom >"$S/big.bin"
stalled_push
run "$SYNCCTL" -W --stats --streams 1 push 127.0.0.1/t "$S"
is "$RC" 0 "a second client pushes the same file while the first holds its partial"
is "$(stat_of "bytes resumed")" 0 "it did not take the partial in use"
check "the second client's big.bin is exact (the first one's partial stays hidden)" \
    cmp -s "$S/big.bin" "$E/t/big.bin"
interrupt client
wait_for 10 unlocked
stop_syncd

# 5. Expiry: at run time ...
printf 'partial expiry = 2\n[default]\npath = %s\n' "$E" >"$T/expiry.conf"
start_syncd -c "$T/expiry.conf" || exit 1
head -c "$SIZE" /dev/urandom >"$S/big.bin"
stalled_push
interrupt client
check "an abandoned partial expires (partial expiry = 2)" wait_for 20 no_partial
# (logged just after the unlink: wait for it too)
expired_logged() { grep -Eq "partial t/\.syncd-tmp\.part\.[0-9a-f]{32} expired" "$SYNCD_LOG"; }
check "the expiry is logged" wait_for 5 expired_logged
stop_syncd

# ... and at startup: an old partial is removed, a young one kept.
mkdir -p "$E/t/d"
old="$E/t/d/.syncd-tmp.part.0123456789abcdef0123456789abcdef"
young="$E/t/.syncd-tmp.part.fedcba9876543210fedcba9876543210"
head -c 1000 /dev/urandom >"$old"
head -c 1000 /dev/urandom >"$young"
touch -d '3 hours ago' "$old"
printf 'partial expiry = 3600\n[default]\npath = %s\n' "$E" >"$T/hour.conf"
start_syncd -c "$T/hour.conf" || exit 1
[ ! -e "$old" ] && ok "the startup sweep removes a partial older than the expiry" ||
	not_ok "the startup sweep removes a partial older than the expiry"
[ -e "$young" ] && ok "the startup sweep keeps a young partial" ||
	not_ok "the startup sweep keeps a young partial"
stop_syncd
rm -rf "$E/t/d" "$young"

# 6. partial expiry = 0: nothing is kept when the client dies.
printf 'partial expiry = 0\n[default]\npath = %s\n' "$E" >"$T/zero.conf"
start_syncd -c "$T/zero.conf" || exit 1
head -c "$SIZE" /dev/urandom >"$S/big.bin"
stalled_push
interrupt client
check "partial expiry = 0: the temp goes with the client" wait_for 10 no_partial
run "$SYNCCTL" --stats push 127.0.0.1/t "$S"
is "$RC" 0 "partial expiry = 0: the next push succeeds"
assert_trees_equal "$S" "$E/t" "partial expiry = 0: the tree"
is "$(temps)" 0 "partial expiry = 0: nothing left"
stop_syncd
done_testing
