#!/bin/bash
# t_72_evil_server.sh -- the client checklist (issue 4): syncctl against a
# malicious or broken server (tests/tools/evilsrv.c, one hostile reply per
# scenario).  For each: exit status (76 for a protocol error, 69 for a
# timeout), a clear message, nothing done on the strength of a bad entry
# (evilsrv's call log: no DELETE or any other batched call after a bad
# LIST), no crash, no sanitizer report, and never a hang (a `timeout`
# around every client; a trickling or silent server must end within
# --timeout plus a margin).
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

EVILSRV="$BIN/tests/evilsrv"
S="$T/src"
mkdir -p "$S"
printf 'small\n' >"$S/small"
head -c 100000 /dev/urandom >"$S/big"    # a delta candidate: "big" is listed remotely
stamp_tree "$S"
EVIL_PID=

# evil SCENARIO: (re)starts evilsrv playing SCENARIO, logging to $T/calls;
# sets EVIL_PORT.
evil() {
	stop_evil
	: >"$T/calls"
	rm -f "$T/port"
	"$EVILSRV" --log "$T/calls" "$1" >"$T/port" 2>"$T/evilsrv.log" &
	EVIL_PID=$!
	wait_for 5 test -s "$T/port" || { not_ok "evilsrv $1 started"; diag "$(cat "$T/evilsrv.log")"; return 1; }
	EVIL_PORT=$(cat "$T/port")
}

# stop_evil: stops evilsrv and its connection children (its process group is ours,
# so the children are found by their parent).
stop_evil() {
	[ -n "$EVIL_PID" ] || return 0
	pkill -KILL -P "$EVIL_PID" 2>/dev/null
	kill -KILL "$EVIL_PID" 2>/dev/null
	wait "$EVIL_PID" 2>/dev/null
	EVIL_PID=
	return 0
}
trap 'stop_evil; _cleanup' EXIT

# push [ARGS]: runs syncctl --delete (so that any listed name could draw a
# DELETE) against evilsrv, bounded by `timeout 30`; MS = its duration.
push() {
	local start end
	start=$(date +%s%N)
	run timeout -k 5 30 "$SYNCCTL" --retries 0 --timeout 3 --streams 1 --delete "$@" \
		--port "$EVIL_PORT" push 127.0.0.1/dst "$S"
	end=$(date +%s%N)
	MS=$(((end - start) / 1000000))
}

# calls: the procedures evilsrv received, in order, one word each.
calls() {
	cut -d' ' -f1 "$T/calls" | tr '\n' ' ' | sed 's/ $//'
}

# protocol_error SCENARIO REGEX [WANT_CALLS]: the push fails with 76 and a
# message matching REGEX, and evilsrv saw exactly WANT_CALLS ("HELLO LIST"
# by default: nothing sent after the bad reply).
protocol_error() {
	local scen=$1 re=$2 want=${3:-HELLO LIST}
	evil "$scen" || return 1
	push
	is "$RC" 76 "$scen: exit 76 (protocol error)"
	like "$OUT" "^syncctl: 127\\.0\\.0\\.1:$EVIL_PORT: protocol error: $re" "$scen: says what was wrong"
	is "$(calls)" "$want" "$scen: nothing acted on after the bad reply"
	unlike "$(cat "$T/calls")" "^DELETE " "$scen: no DELETE sent"
}

# The control: a well-behaved evilsrv gets the push, and the log shows it.
evil ok || exit 1
push
is "$RC" 0 "ok: a well-behaved server gets the push"
like "$(cat "$T/calls")" "^DELETE dst/old$" "ok: the call log records the DELETE --delete asked for"
like "$(calls)" "^HELLO LIST .*BARRIER$" "ok: HELLO, LIST, batched calls, BARRIER"

# Entries no listing may hold.
protocol_error absolute        "LIST returned an invalid path"
protocol_error dotdot          "LIST returned an invalid path"
protocol_error dotdot-inner    "LIST returned an invalid path"
protocol_error empty-component "LIST returned an invalid path"
protocol_error nul             "LIST returned an invalid path"
protocol_error tmpname         "LIST returned an invalid path"
protocol_error duplicate       "LIST returned a path twice"
protocol_error unordered       "LIST returned entries out of canonical order"
protocol_error unordered-pages "LIST page does not continue after the previous one" "HELLO LIST LIST"
protocol_error symlink-parent  "LIST returned an entry outside any listed directory"
protocol_error file-parent     "LIST returned an entry outside any listed directory"
protocol_error orphan          "LIST returned an entry outside any listed directory"
protocol_error second-root     "LIST root entry missing or repeated" "HELLO LIST LIST"
protocol_error no-root         "LIST root entry missing or repeated"
protocol_error bad-type        "LIST returned an unknown file type"
protocol_error bad-time        "LIST returned an invalid time"
protocol_error bad-hash        "LIST returned an invalid content hash"
protocol_error bad-target      "LIST returned an invalid symlink target"
protocol_error list-fail-mid   "LIST failed in the middle of a listing" "HELLO LIST LIST"

# Oversized replies and huge counts: refused by the decoder, at once.
protocol_error huge-count "LIST: the reply does not decode"
protocol_error over-max   "LIST: the reply does not decode"
protocol_error long-path  "LIST: the reply does not decode"

# Pages that never end: empty ones, and ones that add entries forever
# (bounded by --max-entries, 1000 entries a page here).
protocol_error empty-page "LIST returned an empty page before the end" "HELLO LIST LIST"
evil endless || exit 1
push --max-entries 5000
is "$RC" 76 "endless: exit 76"
like "$OUT" "protocol error: LIST returned more than 5000 entries \\(--max-entries\\)" "endless: the bound is named"
is "$(calls)" "HELLO LIST LIST LIST LIST LIST" "endless: gave up at the 5th page"
run "$SYNCCTL" --max-entries 0 push 127.0.0.1/dst "$S"
is "$RC" 64 "--max-entries 0: usage error"

# HELLO: capabilities not asked for, another version, impossible chunk sizes.
protocol_error hello-caps         "HELLO granted a capability that was not asked for" "HELLO"
protocol_error hello-caps-unknown "HELLO granted a capability that was not asked for" "HELLO"
protocol_error hello-version      "HELLO answered with another protocol version" "HELLO"
protocol_error hello-chunk-zero   "HELLO announced a chunk size of 0 bytes" "HELLO"
protocol_error hello-chunk-huge   "HELLO announced a chunk size of 4294967295 bytes" "HELLO"
protocol_error hello-chunk-tiny   "HELLO announced a chunk size of 1 bytes" "HELLO"

# SIGNATURE inconsistent with its own sizes ("big" goes as a delta): nothing
# is built on it.
for s in sig-short sig-count sig-zero-block sig-wide-strong; do
	protocol_error "$s" "SIGNATURE returned an inconsistent signature" "HELLO LIST SIGNATURE"
done
protocol_error sig-huge "SIGNATURE: the reply does not decode" "HELLO LIST SIGNATURE"

# BARRIER reports that do not match the batch.
barrier_calls="HELLO LIST CREATE WRITE COMMIT CREATE WRITE COMMIT SETATTR BARRIER"
protocol_error barrier-index  "BARRIER names a call that was not sent" "$barrier_calls"
protocol_error barrier-done   "BARRIER count differs from the calls sent" "$barrier_calls"
protocol_error barrier-failed "BARRIER failure count is inconsistent" "$barrier_calls"
protocol_error barrier-huge   "BARRIER: the reply does not decode" "$barrier_calls"
evil barrier-status || exit 1
push
is "$RC" 76 "barrier-status: exit 76"
like "$OUT" "BARRIER: internal server error" "barrier-status: the status is named"

# Slow and silent servers: each call must end within --timeout (3 s) as a
# whole, however the reply trickles; 8 s is the margin.
for s in trickle trickle-list silent silent-list; do
	evil "$s" || exit 1
	push
	is "$RC" 69 "$s: exit 69 (the server timed out)"
	if [ "$MS" -ge 2500 ] && [ "$MS" -lt 8000 ]; then
		ok "$s: gave up after ${MS} ms (--timeout 3)"
	else
		not_ok "$s: gave up after ${MS} ms (--timeout 3)"
	fi
	like "$OUT" "timed out \\(the call did not complete within 3 s\\)" "$s: says it timed out"
	unlike "$(cat "$T/calls")" "^(DELETE|CREATE|MKDIR) " "$s: nothing sent on a late reply"
done

stop_evil
done_testing
