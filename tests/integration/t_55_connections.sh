#!/bin/bash
# t_55_connections.sh -- one connection cannot hold up the others: a client
# stalled in the middle of a record and idle connections leave other clients
# answered at once; --max-connections refuses the surplus and frees slots
# when connections close; truncated requests leak no descriptors.
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

# Two idle connections + the stalled one = the cap of 3.
exec 4<>"/dev/tcp/127.0.0.1/$port"
exec 5<>"/dev/tcp/127.0.0.1/$port"
# Wait until syncd has accepted all three, so the 4th is really over the cap.
wait_for 5 fds_at_least $((base_fds + 3)) || not_ok "syncd accepted 3 connections"
run timeout 5 "$RAWCALL" --timeout 3 --port "$port" default hello
isnt "$OUT" SYNC_OK "a 4th connection over --max-connections 3 is refused"
isnt "$RC" 124 "... promptly, not by hanging"
exec 3>&- 4>&- 5>&-
if wait_for 10 "$RAWCALL" --timeout 2 --port "$port" default hello; then
	ok "connections are served again once the others closed"
else
	not_ok "connections are served again once the others closed"
fi

# 200 truncated requests: every one is dropped and its descriptor closed.
if wait_for 10 fds_back_to "$base_fds"; then ok "descriptors back to baseline after closes"; else not_ok "descriptors back to baseline after closes ($(fds) > $base_fds)"; fi
for i in $(seq 200); do
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf '\x80\x00\x03\xe8%s' "truncated-$i" >&3
	exec 3>&-
	# Stay under the connection cap: wait until the server dropped it.
	wait_for 5 fds_back_to $((base_fds + 2)) || break
done
if wait_for 10 fds_back_to "$base_fds"; then ok "200 truncated requests: descriptors back to baseline"; else not_ok "200 truncated requests: descriptors back to baseline ($(fds) > $base_fds)"; fi
run "$RAWCALL" --port "$port" default hello
is "$OUT" SYNC_OK "server still answers after 200 truncated requests"

stop_syncd
done_testing
