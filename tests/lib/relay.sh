# shellcheck shell=bash disable=SC2034
# (SC2034: RELAY_PORT and the others are set here for the tests that source us.)
# relay.sh -- the fault relay (tests/tools/faultrelay.c) for the network rows
# of the fault matrix; sourced after common.sh.
#
#   start_relay ARGS...    "faultrelay -t SYNCD_PORT ARGS" in the background:
#                          RELAY_PID, RELAY_LOG, RELAY_PORT (its listening port)
#   stop_relay             stops it (SIGTERM, bounded wait)
#   relay_said REGEX       true if its output has a line matching REGEX
#   relay_closed N         "UP_RECORDS DOWN_RECORDS" of connection N, once it ended

FAULTRELAY="$BIN/tests/faultrelay"
RELAY_PID=
RELAY_LOG=
RELAY_PORT=
_relay_n=0

# relay_said REGEX: true if the relay printed a line matching the extended REGEX.
relay_said() {
	grep -Eq -- "$1" "$RELAY_LOG" 2>/dev/null
}

# start_relay ARGS...: starts the relay towards syncd's port (rpcbind's answer)
# and waits up to 5 s until it listens.  Returns 1 (a failed assertion) if not.
start_relay() {
	_relay_n=$((_relay_n + 1))
	RELAY_LOG="$T/relay.$_relay_n.log"
	"$FAULTRELAY" -t "$(syncd_port)" "$@" </dev/null >"$RELAY_LOG" 2>&1 &
	RELAY_PID=$!
	if ! wait_for 5 relay_said '^listening [0-9]+$'; then
		not_ok "faultrelay $* listens"
		diag "$(cat "$RELAY_LOG")"
		return 1
	fi
	RELAY_PORT=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$RELAY_LOG")
}

# stop_relay: stops the relay (SIGTERM; SIGKILL after 5 s).
stop_relay() {
	[ -n "$RELAY_PID" ] || return 0
	kill -TERM "$RELAY_PID" 2>/dev/null
	wait_for 5 gone "$RELAY_PID" || kill -KILL "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID=
}

# relay_closed N: prints "UP DOWN", the whole records connection N forwarded
# each way, once the relay reported its end (nothing before).
relay_closed() {
	sed -n "s|^conn $1 closed up [0-9]*/\\([0-9]*\\) down [0-9]*/\\([0-9]*\\)\$|\\1 \\2|p" "$RELAY_LOG"
}
