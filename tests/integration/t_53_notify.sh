#!/bin/bash
# t_53_notify.sh -- syncd speaks systemd's notification protocol (the unit
# is Type=notify): READY=1 once it is registered with rpcbind and serving,
# RELOADING=1 (with MONOTONIC_USEC) then READY=1 on SIGHUP, STOPPING=1 on
# SIGTERM.  tests/tools/notifysink plays the manager's socket; the abstract
# namespace form ("@name") works too.  Without $NOTIFY_SOCKET nothing is
# sent and nothing is said about it.  Log lines carry journald's "<N>"
# prefixes only while stderr is the stream $JOURNAL_STREAM names.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E"
SINK="$BIN/tests/notifysink"
SOCK="$T/notify.sock"

"$SINK" "$SOCK" >"$T/sink.out" 2>&1 &
sink=$!
said() { grep -Eq -- "$1" "$T/sink.out"; }
check "the notification socket is bound" wait_for 5 said '^listening$'

NOTIFY_SOCKET=$SOCK start_syncd --root "$E" || exit 1
check "READY=1 once registered" wait_for 5 said '^READY=1 STATUS=serving$'
check "... when rpcbind has it" registered
is "$(grep -c 'READY=1' "$T/sink.out")" 1 "READY=1 is sent once at startup"

kill -HUP "$SYNCD_PID"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" wait_for 5 said '^RELOADING=1 MONOTONIC_USEC=[0-9]+$'
check "... then READY=1 again" wait_for 5 sh -c "[ \$(grep -c 'READY=1' '$T/sink.out') -eq 2 ]"

mkdir -p "$T/src" && echo data >"$T/src/f"
run "$SYNCCTL" push 127.0.0.1/t "$T/src"
is "$RC" 0 "syncd serves after the reload"
assert_trees_equal "$T/src" "$E/t" "the pushed tree"

stop_syncd
check "SIGTERM: STOPPING=1" said '^STOPPING=1 STATUS=draining sessions$'
unlike "$(cat "$SYNCD_LOG")" "cannot notify" "no complaint about the socket"
kill "$sink"
wait "$sink" 2>/dev/null

# The abstract namespace: NOTIFY_SOCKET=@name.
"$SINK" "@rpcsync-t53-$$" >"$T/sink.out" 2>&1 &
sink=$!
wait_for 5 said '^listening$'
NOTIFY_SOCKET="@rpcsync-t53-$$" start_syncd --root "$E" || exit 1
check "an abstract socket gets READY=1 too" wait_for 5 said '^READY=1'
stop_syncd
kill "$sink"
wait "$sink" 2>/dev/null

# A socket nobody listens on: one warning, and syncd serves anyway.
NOTIFY_SOCKET="$T/nobody.sock" start_syncd --root "$E" || exit 1
run "$RAWCALL" default hello
is "$OUT" SYNC_OK "with no manager listening, syncd serves"
like "$(cat "$SYNCD_LOG")" "cannot notify the service manager at $T/nobody.sock" "and says why once"
stop_syncd

# JOURNAL_STREAM: "<N>" priority prefixes only while stderr is the stream
# it names (DEVICE:INODE); another stream, or a malformed value, gets plain lines.
journal_line() {        # journal_line VALUE: the first line syncd logs
	: >"$T/j.log"
	JOURNAL_STREAM=$1 "$SYNCD" -f --root "$T/missing" 2>>"$T/j.log"
	head -n 1 "$T/j.log"
}
: >"$T/j.log"
is "$(journal_line "$(stat -c %d:%i "$T/j.log")")" "<3>syncd: --root $T/missing: No such file or directory" \
    "stderr is the JOURNAL_STREAM: lines carry <N>"
is "$(journal_line 1:2)" "syncd: --root $T/missing: No such file or directory" \
    "stderr is another stream: plain lines"
is "$(journal_line junk)" "syncd: --root $T/missing: No such file or directory" \
    "a malformed JOURNAL_STREAM: plain lines"

# No NOTIFY_SOCKET: not a word about it.
start_syncd --root "$E" || exit 1
stop_syncd
unlike "$(cat "$SYNCD_LOG")" "service manager" "without NOTIFY_SOCKET nothing is said"
done_testing
