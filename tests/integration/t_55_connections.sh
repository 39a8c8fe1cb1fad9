#!/bin/bash
# t_55_connections.sh -- one connection cannot hold up the others: a client
# stalled in the middle of a record and idle connections leave other clients
# answered at once; over --max-connections a new client takes the slot of
# the longest-idle connection, and is refused only when every slot is busy;
# 1,000 idle connections do not lock anyone out; 10^4 truncated requests
# leak neither descriptors nor memory.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E"
start_syncd --root "$E" --max-connections 3 || exit 1
port=$(syncd_port)

fds() {
	find "/proc/$SYNCD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}
fds_back_to() {
	[ "$(fds)" -le "$1" ]
}
fds_at_least() {
	[ "$(fds)" -ge "$1" ]
}
base_fds=$(fds)

# A stalled half record: the mark announces 256 bytes, 4 arrive.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '\x80\x00\x01\x00\x00\x00\x00\x01' >&3
start=$(date +%s%N)
run timeout 5 "$RAWCALL" --port "$port" default hello
end=$(date +%s%N)
is "$OUT" SYNC_OK "another client is served while one stalls mid-record"
if [ $(((end - start) / 1000000)) -lt 1000 ]; then ok "... within 1 s"; else not_ok "... within 1 s ($(((end - start) / 1000000)) ms)"; fi

# Two idle connections + the stalled one = the cap of 3: a 4th client
# takes the slot of the connection that has been idle longest.
exec 4<>"/dev/tcp/127.0.0.1/$port"
exec 5<>"/dev/tcp/127.0.0.1/$port"
# Wait until syncd has accepted all three, so the 4th is really over the cap.
wait_for 5 fds_at_least $((base_fds + 3)) || not_ok "syncd accepted 3 connections"
run timeout 5 "$RAWCALL" --timeout 3 --port "$port" default hello
is "$OUT" SYNC_OK "over --max-connections 3, a new client evicts an idle connection"
closed=0
for fd in 4 5; do
	timeout 1 head -c 1 <&$fd >/dev/null
	[ $? -ne 124 ] && closed=$((closed + 1))
done
is "$closed" 1 "exactly one of the idle connections was closed for it"
exec 3>&- 4>&- 5>&-

# Three stalled half records are busy, not idle: a 4th client is refused.
wait_for 10 fds_back_to "$base_fds" || not_ok "descriptors back to baseline"
exec 3<>"/dev/tcp/127.0.0.1/$port" 4<>"/dev/tcp/127.0.0.1/$port" 5<>"/dev/tcp/127.0.0.1/$port"
for fd in 3 4 5; do printf '\x80\x00\x01\x00\x00\x00\x00\x01' >&$fd; done
wait_for 5 fds_at_least $((base_fds + 3)) || not_ok "syncd accepted 3 connections"
run timeout 5 "$RAWCALL" --timeout 3 --port "$port" default hello
isnt "$OUT" SYNC_OK "with every slot busy mid-request, a 4th connection is refused"
isnt "$RC" 124 "... promptly, not by hanging"
like "$(cat "$SYNCD_LOG")" "refused 1 connection" "the refusal is logged"
exec 3>&- 4>&- 5>&-
if wait_for 10 "$RAWCALL" --timeout 2 --port "$port" default hello; then
	ok "connections are served again once the others closed"
else
	not_ok "connections are served again once the others closed"
fi

# Sessions that sent HELLO keep their slots while idle (for 10 s): with
# two of them and a stalled record, a 4th client is refused.
hello_hex='8000003c 00000001 00000000 00000002 2053594e 00000001 00000001 00000000 00000000 00000000 00000000 00000001 00000007 64656661 756c7400 00000000'
hello_bytes=$(for w in $hello_hex; do printf '\\x%s\\x%s\\x%s\\x%s' "${w:0:2}" "${w:2:2}" "${w:4:2}" "${w:6:2}"; done)
wait_for 10 fds_back_to "$base_fds" || not_ok "descriptors back to baseline"
exec 3<>"/dev/tcp/127.0.0.1/$port" 4<>"/dev/tcp/127.0.0.1/$port" 5<>"/dev/tcp/127.0.0.1/$port"
printf '\x80\x00\x01\x00\x00\x00\x00\x01' >&3
for fd in 4 5; do
	printf "$hello_bytes" >&$fd
	is "$(timeout 5 head -c 80 <&$fd | wc -c)" 80 "session $fd: HELLO answered"
done
run timeout 5 "$RAWCALL" --timeout 3 --port "$port" default hello
isnt "$OUT" SYNC_OK "idle sessions that sent HELLO are not evicted at once: a 4th client is refused"
exec 3>&- 4>&- 5>&-

# One stalled half record and 1,000 idle connections: another client is
# still answered within a second, and every descriptor comes back.
ulimit -n 4096
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '\x80\x00\x01\x00\x00\x00\x00\x01' >&3
idle=()
for i in $(seq 1000); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || break
	idle+=("$fd")
done
is "${#idle[@]}" 1000 "1,000 idle connections opened"
start=$(date +%s%N)
run timeout 5 "$RAWCALL" --port "$port" default hello
end=$(date +%s%N)
is "$OUT" SYNC_OK "a client is served beside a stalled record and 1,000 idle connections"
if [ $(((end - start) / 1000000)) -lt 1000 ]; then ok "... within 1 s"; else not_ok "... within 1 s ($(((end - start) / 1000000)) ms)"; fi
for fd in "${idle[@]}"; do exec {fd}>&-; done
exec 3>&-

# 10^4 truncated requests: every one is dropped, and descriptors and
# memory come back to where they were after the first thousand.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SYNCD_PID/status"; }
if wait_for 10 fds_back_to "$base_fds"; then ok "descriptors back to baseline after closes"; else not_ok "descriptors back to baseline after closes ($(fds) > $base_fds)"; fi
run "$BIN/tests/truncreq" "$port" 1000 2
is "$OUT" sent=1000 "1,000 truncated requests sent (warm-up)"
wait_for 10 fds_back_to "$base_fds" || not_ok "descriptors back to baseline after the warm-up"
rss_before=$(rss_kb)
run "$BIN/tests/truncreq" "$port" 10000 2
is "$OUT" sent=10000 "10,000 truncated requests sent"
if wait_for 10 fds_back_to "$base_fds"; then ok "10^4 truncated requests: descriptors back to baseline"; else not_ok "10^4 truncated requests: descriptors back to baseline ($(fds) > $base_fds)"; fi
rss_after=$(rss_kb)
if [ -n "${ASAN_OPTIONS:-}" ]; then
	ok "# SKIP RSS under ASan (its quarantine keeps freed memory; leaks are LSan's job)"
else
	check "10^4 truncated requests: RSS flat (${rss_before} -> ${rss_after} KiB)" [ "$rss_after" -le $((rss_before + 1024)) ]
fi
run "$RAWCALL" --port "$port" default hello
is "$OUT" SYNC_OK "server still answers after 10^4 truncated requests"

stop_syncd

# syncd.conf: "idle timeout" closes quiet connections; an export's "max
# connections" refuses HELLO beyond it while other exports stay open.
mkdir -p "$T/other"
printf 'idle timeout = 1\n[one]\npath = %s\nmax connections = 1\n[other]\npath = %s\n' \
    "$E" "$T/other" >"$T/syncd.conf"
start_syncd -c "$T/syncd.conf" || exit 1
port=$(syncd_port)
exec 4<>"/dev/tcp/127.0.0.1/$port"
start=$(date +%s%N)
timeout 5 head -c 1 <&4 >/dev/null
rc=$?
end=$(date +%s%N)
ms=$(((end - start) / 1000000))
if [ "$rc" -ne 124 ] && [ "$ms" -ge 900 ] && [ "$ms" -lt 3000 ]; then ok "idle timeout = 1: an idle connection is closed after about 1 s"; else not_ok "idle timeout = 1: closed after about 1 s (rc $rc, $ms ms)"; fi
exec 4>&-
one_hex=${hello_hex/00000007 64656661 756c7400/00000003 6f6e6500}
one_hex=${one_hex/8000003c/80000038}
one_bytes=$(for w in $one_hex; do printf '\\x%s\\x%s\\x%s\\x%s' "${w:0:2}" "${w:2:2}" "${w:4:2}" "${w:6:2}"; done)
exec 4<>"/dev/tcp/127.0.0.1/$port"
printf "$one_bytes" >&4
is "$(timeout 5 head -c 8 <&4 | od -An -tx1 | tr -d ' \n')" 8000004c00000001 "a session holds export 'one'"
run "$RAWCALL" one hello
is "$OUT" SYNC_ERR_TOOMANY "a second session of 'one' (max connections = 1): TOOMANY"
like "$(cat "$SYNCD_LOG")" "export 'one' refused: 1 sessions already" "logged"
run "$RAWCALL" other hello
is "$OUT" SYNC_OK "export 'other' is still served"
exec 4>&-
hello_one_ok() { [ "$("$RAWCALL" one hello)" = SYNC_OK ]; }
if wait_for 5 hello_one_ok; then ok "once the session ends, 'one' takes a new one"; else not_ok "once the session ends, 'one' takes a new one"; fi
stop_syncd
done_testing
