#!/bin/bash
# t_52_rpcbind_restart.sh -- rpcbind restarts under a running syncd.  Stopped
# with SIGTERM and started again with -w (its state restored), or killed
# with SIGKILL and started with or without -w (its state lost): in every
# case syncd's registration under every netid it serves (tcp and tcp6) is
# back within 5 s with the default --rpcbind-check, and a push through
# rpcbind works.  An rpcbind that hangs (SIGSTOP) does not keep syncd from
# serving clients that know its port, nor from exiting on SIGTERM.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E" "$T/src/d"
printf 'one\n' >"$T/src/f"
printf 'two\n' >"$T/src/d/g"
ln -s f "$T/src/l"
stamp_tree "$T/src"

start_syncd --root "$E" || exit 1
port=$(syncd_port)
uaddr_port="$((port / 256)).$((port % 256))"

# listed NETID: rpcbind lists syncd under NETID at our port.
listed() {
	rpcinfo 127.0.0.1 2>/dev/null | awk -v p="$PROG" -v n="$1" -v a="$uaddr_port" \
	    '$1 == p && $2 == 1 && $3 == n && substr($4, length($4) - length(a) + 1) == a { f = 1 } END { exit !f }'
}
# both_back: listed under tcp and tcp6, and answering through each.
both_back() {
	listed tcp && listed tcp6 && registered && rpcinfo -T tcp6 ::1 "$PROG" 1 >/dev/null 2>&1
}
check "registered under tcp and tcp6 at start" both_back

round=0
# restart WHAT SIG ARGS...: stops rpcbind with SIG, starts it with ARGS,
# and checks that the registration is back within 5 s and a push works.
restart() {
	local what=$1 sig=$2 start end
	shift 2
	round=$((round + 1))
	stop_rpcbind "$sig" || return 1
	start_rpcbind "$@" || return 1
	start=$(date +%s%N)
	if wait_for 5 both_back; then
		end=$(date +%s%N)
		ok "$what: tcp and tcp6 registered again in $(((end - start) / 1000000)) ms"
	else
		not_ok "$what: tcp and tcp6 registered again within 5 s"
		diag "$(rpcinfo 127.0.0.1 2>&1)" "$(cat "$SYNCD_LOG")"
	fi
	run "$SYNCCTL" push "127.0.0.1:default/r$round" "$T/src"
	is "$RC" 0 "$what: a push through rpcbind works"
	assert_trees_equal "$T/src" "$E/r$round" "$what: the pushed tree is exact"
}

restart "SIGTERM, then rpcbind -w (state restored)" TERM -w
restart "SIGKILL, then rpcbind -w (state lost)" KILL -w
restart "SIGKILL, then rpcbind without -w" KILL
restart "SIGTERM, then rpcbind without -w" TERM
like "$(cat "$SYNCD_LOG")" "re-registered with rpcbind over tcp6" "the re-registration is logged per netid"

# A hung rpcbind: syncd's checks wait for it on their own thread, so
# clients that dial the port are served at once all along, and SIGTERM
# still ends syncd promptly.
kill -STOP "$RPCBIND_PID"
served=0 slow=0 probes=0
# probe: one HELLO by port (counted, and timed); true once a check has
# timed out against the hung rpcbind (up to 2 + 5 s after the stop).
probe() {
	local start end
	probes=$((probes + 1))
	start=$(date +%s%N)
	[ "$("$RAWCALL" --timeout 5 --port "$port" default hello 2>&1)" = SYNC_OK ] &&
	    served=$((served + 1))
	end=$(date +%s%N)
	[ $(((end - start) / 1000000)) -lt 1000 ] || slow=$((slow + 1))
	grep -q "cannot reach rpcbind" "$SYNCD_LOG"
}
wait_for 15 probe
like "$(cat "$SYNCD_LOG")" "cannot reach rpcbind over tcp" "a hung rpcbind is noticed and logged"
is "$served/$slow" "$probes/0" "while rpcbind hangs, every HELLO by port is answered at once ($probes)"
run "$SYNCCTL" --port "$port" push 127.0.0.1:default/hung "$T/src"
is "$RC" 0 "while rpcbind hangs, a push by --port works"
start=$(date +%s%N)
stop_syncd
end=$(date +%s%N)
check "with rpcbind hung, SIGTERM ends syncd within 5 s ($(((end - start) / 1000000)) ms)" \
    [ $(((end - start) / 1000000)) -lt 5000 ]
kill -CONT "$RPCBIND_PID"
done_testing
