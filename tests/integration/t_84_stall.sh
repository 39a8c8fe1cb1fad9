#!/bin/bash
# t_84_stall.sh -- fault matrix row 4: a relay stalls in the middle of a
# record (inside a 1 MiB WRITE) and keeps both sockets open.  The stalled
# client gives up after its --timeout with a clear error; a client that
# talks to syncd directly is answered within 1 s meanwhile, and a direct push
# works; syncd closes the stalled connection after its idle timeout, drops
# the session's temps and returns to its descriptor and thread baseline.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/relay.sh
. "$(dirname "$0")/../lib/relay.sh"

E="$T/export"
S="$T/src"
IDLE=4
mkdir -p "$E" "$S"
head -c 3000000 /dev/urandom >"$S/big"
printf 'small\n' >"$S/small"
stamp_tree "$S"
printf 'idle timeout = %d\n[default]\npath = %s\n' "$IDLE" "$E" >"$T/syncd.conf"
start_syncd -v -c "$T/syncd.conf" || exit 1
port=$(syncd_port)

fds() { find "/proc/$SYNCD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$SYNCD_PID/status"; }
temps() { find "$E" -name '.syncd-tmp.*' 2>/dev/null | wc -l; }
base_fds=$(fds) base_threads=$(threads)

# 400,000 bytes into the client stream: well inside the first WRITE.
start_relay -s 400000 || exit 1
start=$(date +%s%N)
"$SYNCCTL" --retries 0 --timeout 3 --streams 1 --port "$RELAY_PORT" push 127.0.0.1/s "$S" \
	>"$T/stalled.out" 2>&1 &
client=$!
if wait_for 10 relay_said '^conn 1 stalled after 400000 bytes$'; then
	ok "the relay stalls the push mid-record"
else
	not_ok "the relay stalls the push mid-record"
	diag "$(cat "$RELAY_LOG")"
fi

# Another client, straight to syncd, while the stall lasts.
t0=$(date +%s%N)
run timeout 5 "$RAWCALL" --port "$port" default hello
t1=$(date +%s%N)
is "$OUT" SYNC_OK "a direct client is answered while the stall lasts"
ms=$(((t1 - t0) / 1000000))
if [ "$ms" -lt 1000 ]; then ok "... within 1 s ($ms ms)"; else not_ok "... within 1 s ($ms ms)"; fi
run timeout 20 "$SYNCCTL" --retries 0 push 127.0.0.1/direct "$S"
is "$RC" 0 "a direct push succeeds while the stall lasts"
assert_trees_equal "$S" "$E/direct" "the direct push is exact"

# The stalled client gives up on its own, with a clear error.
if wait_for 20 gone "$client"; then ok "the stalled client gave up"; else not_ok "the stalled client gave up"; kill -KILL "$client"; fi
rc=0
wait "$client" || rc=$?
end=$(date +%s%N)
OUT=$(cat "$T/stalled.out")
is "$rc" 69 "stalled client: exit 69"
like "$OUT" "^syncctl: 127\\.0\\.0\\.1:$RELAY_PORT: (WRITE|BARRIER|[A-Z]+): timed out \\(the call did not complete within 3 s\\)" \
	"stalled client: says it timed out"
ms=$(((end - start) / 1000000))
if [ "$ms" -lt 15000 ]; then ok "stalled client: gave up in $ms ms (--timeout 3)"; else not_ok "stalled client: gave up in $ms ms (--timeout 3)"; fi
check "stalled client: nothing of it is visible" [ ! -e "$E/s/big" ]

# syncd reaps the stalled connection (the relay still holds it open).
if wait_for $((IDLE + 10)) relay_said '^conn 1 server closed$'; then
	ok "syncd closed the stalled connection after its idle timeout"
else
	not_ok "syncd closed the stalled connection after its idle timeout"
	diag "$(cat "$RELAY_LOG")"
fi
like "$(cat "$SYNCD_LOG")" "127\\.0\\.0\\.1:[0-9]+: call incomplete for $IDLE s, closing" "syncd logs why it closed it"
quiet() { [ "$(fds)" -le "$base_fds" ] && [ "$(threads)" -le "$base_threads" ] && [ "$(temps)" -eq 0 ]; }
if wait_for 10 quiet; then
	ok "no temp left; descriptors and threads back to the baseline"
else
	not_ok "no temp left; fds and threads back ($(temps) temps, $(fds) fds, $(threads) threads)"
fi
stop_relay

run "$SYNCCTL" push 127.0.0.1/s "$S"
is "$RC" 0 "the push succeeds afterwards"
assert_trees_equal "$S" "$E/s" "and is exact"
stop_syncd
done_testing
