#!/bin/bash
# t_56_ipv6.sh -- syncd listens on IPv6 and IPv4 through one socket by
# default and registers both netids (tcp, tcp6) with rpcbind; syncctl
# reaches it at [::1] through rpcbind or --port; IPv4 clients are seen (and
# matched by host lists) as IPv4; --bind narrows to one address and one
# netid; the registrations are gone after SIGTERM.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

if ! ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then
	ok "# SKIP no IPv6 loopback here"
	done_testing
	exit 0
fi
E="$T/export"
S="$T/src"
mkdir -p "$E" "$S/d"
printf 'six\n' >"$S/d/f"
netids() { rpcinfo 127.0.0.1 2>/dev/null | awk -v p="$PROG" '$1 == p { print $3 }' | sort | tr '\n' ' '; }

start_syncd --root "$E" || exit 1
like "$(head -n 1 "$SYNCD_LOG")" "listening on \\[::\\]:[0-9]+ \\(and IPv4\\)" "listens on [::] and IPv4"
is "$(netids)" "tcp tcp6 " "registered under tcp and tcp6"
run "$SYNCCTL" push '[::1]/via-rpcbind' "$S"
is "$RC" 0 "push to [::1] through rpcbind (tcp6)"
assert_trees_equal "$S" "$E/via-rpcbind" "the tree arrived over IPv6"
run "$SYNCCTL" --port "$(syncd_port)" push '[::1]:default/via-port' "$S"
is "$RC" 0 "push to [::1] with --port"
run "$SYNCCTL" push 127.0.0.1/via-v4 "$S"
is "$RC" 0 "push over IPv4 to the same socket"
stop_syncd
unlike "$(rpcinfo 127.0.0.1 2>/dev/null)" "542333262" "no registration left after SIGTERM"

# Host lists see IPv4 clients as IPv4 (not ::ffff:...) and IPv6 ones as IPv6.
printf '[six]\npath = %s\nhosts allow = ::1\n[four]\npath = %s\nhosts allow = 127.0.0.0/8\n' \
    "$E" "$E" >"$T/syncd.conf"
start_syncd -c "$T/syncd.conf" || exit 1
run "$SYNCCTL" push '[::1]:six/ok6' "$S"
is "$RC" 0 "hosts allow = ::1 admits an IPv6 client"
run "$SYNCCTL" push 127.0.0.1:six/no4 "$S"
is "$RC" 77 "... and refuses an IPv4 one"
run "$SYNCCTL" push 127.0.0.1:four/ok4 "$S"
is "$RC" 0 "hosts allow = 127.0.0.0/8 admits an IPv4 client of the dual-stack socket"
run "$SYNCCTL" push '[::1]:four/no6' "$S"
is "$RC" 77 "... and refuses an IPv6 one"
stop_syncd

# --bind: one address, one netid.
"$SYNCD" -f --root "$E" --bind ::1 --rpcbind-check 1 </dev/null >"$T/bound6.log" 2>&1 &
SYNCD_PID=$! SYNCD_LOG="$T/bound6.log"
only6() { [ "$(netids)" = "tcp6 " ]; }
if wait_for 10 only6; then ok "--bind ::1: registered under tcp6 only"; else not_ok "--bind ::1: registered under tcp6 only ($(netids))"; fi
run "$SYNCCTL" push '[::1]/bound6' "$S"
is "$RC" 0 "... and reachable at [::1]"
# An absence can only be seen over time: let about three checks run.
wait_for 3 false
unlike "$(cat "$T/bound6.log")" "re-registered" "the periodic check (every second) finds its tcp6 entry"
stop_syncd
start_syncd --root "$E" --bind 127.0.0.1 || exit 1
is "$(netids)" "tcp " "--bind 127.0.0.1: registered under tcp only"
stop_syncd
run "$SYNCD" -f --root "$E" --bind nonsense
is "$RC" 64 "--bind with something that is not an address: usage error"
done_testing
