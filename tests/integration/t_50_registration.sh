#!/bin/bash
# t_50_registration.sh -- syncd and rpcbind: registered at start (TCP,
# program 542333262 version 1), unregistered on SIGTERM, re-registered on
# SIGHUP after rpcbind lost its state, and re-registered on its own by the
# --rpcbind-check watchdog.  --port fixes the port.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E" "$T/src"
printf 'x\n' >"$T/src/f"

start_syncd --root "$E" --port 7777 --rpcbind-check 3600 || exit 1
run rpcinfo -p 127.0.0.1
like "$OUT" "^ +$PROG +1 +tcp +7777( |$)" "rpcinfo -p lists $PROG version 1 tcp on --port 7777"
unlike "$OUT" "^ +$PROG +1 +udp" "no UDP registration"
run rpcinfo -t 127.0.0.1 "$PROG" 1
is "$RC" 0 "rpcinfo -t $PROG 1 answers"
like "$OUT" "ready and waiting" "rpcinfo -t: ready and waiting"
run rpcinfo -t 127.0.0.1 "$PROG" 2
isnt "$RC" 0 "version 2 is not served"

# SIGTERM removes the registration.
stop_syncd
if in_rpcbind; then not_ok "SIGTERM removed the registration"; diag "$(rpcinfo -p 127.0.0.1)"; else ok "SIGTERM removed the registration"; fi
run "$SYNCCTL" --retries 0 push 127.0.0.1 "$T/src"
is "$RC" 69 "after SIGTERM: syncctl exits 69"
like "$OUT" "syncd is not registered with rpcbind" "after SIGTERM: not registered"

# rpcbind loses its state (restarted without -w); SIGHUP re-registers.
start_syncd --root "$E" --rpcbind-check 3600 || exit 1
port=$(syncd_port)
stop_rpcbind
start_rpcbind
if in_rpcbind; then not_ok "a cold rpcbind has no registration"; else ok "a cold rpcbind has no registration"; fi
run "$SYNCCTL" --retries 0 push 127.0.0.1 "$T/src"
is "$RC" 69 "unregistered: syncctl exits 69"
run "$SYNCCTL" --port "$port" push 127.0.0.1 "$T/src"
is "$RC" 0 "unregistered: --port still works"
kill -HUP "$SYNCD_PID"
if wait_for 10 registered; then ok "SIGHUP re-registered with the new rpcbind"; else not_ok "SIGHUP re-registered with the new rpcbind"; fi
is "$(syncd_port)" "$port" "re-registered on the same port"
run "$SYNCCTL" push 127.0.0.1:default/after-hup "$T/src"
is "$RC" 0 "push after SIGHUP re-registration: exit 0"
if gone "$SYNCD_PID"; then not_ok "syncd survived SIGHUP"; else ok "syncd survived SIGHUP"; fi
stop_syncd

# The watchdog re-registers by itself.
start_syncd --root "$E" --rpcbind-check 1 || exit 1
stop_rpcbind
start_rpcbind
if wait_for 15 registered; then ok "--rpcbind-check 1 re-registered without SIGHUP"; else not_ok "--rpcbind-check 1 re-registered without SIGHUP"; fi
run "$SYNCCTL" push 127.0.0.1:default/after-watchdog "$T/src"
is "$RC" 0 "push after watchdog re-registration: exit 0"

stop_syncd

done_testing
