#!/bin/bash
# t_80_dead_server.sh -- a server that never answers (SIGSTOPped: the kernel
# accepts, nobody replies) or is gone (SIGKILLed: a stale registration) gives
# a client error within --timeout, never a hang; a restarted syncd sweeps the
# temps a crash left and a re-push converges.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
mkdir -p "$E" "$S/sub"
head -c 1048577 /dev/urandom >"$S/big"
printf 'small\n' >"$S/sub/small"
stamp_tree "$S"
start_syncd --root "$E" || exit 1
port=$(syncd_port)

# elapsed_ms CMD...: runs CMD via run and sets MS to its duration.
timed_run() {
	local start end
	start=$(date +%s%N)
	run "$@"
	end=$(date +%s%N)
	MS=$(((end - start) / 1000000))
}

kill -STOP "$SYNCD_PID"
timed_run timeout 60 "$SYNCCTL" --retries 0 --timeout 3 push 127.0.0.1 "$S"
isnt "$RC" 0 "stopped server via rpcbind: error exit"
isnt "$RC" 124 "stopped server via rpcbind: no hang"
if [ "$MS" -lt 20000 ]; then ok "stopped server: gave up in ${MS} ms (--timeout 3)"; else not_ok "stopped server: gave up in ${MS} ms (--timeout 3)"; fi
like "$OUT" "^syncctl: " "stopped server: a syncctl error message"
timed_run timeout 60 "$SYNCCTL" --retries 0 --timeout 3 --port "$port" push 127.0.0.1 "$S"
isnt "$RC" 0 "stopped server via --port: error exit"
isnt "$RC" 124 "stopped server via --port: no hang"

# The server dies for good; its registration stays behind in rpcbind.
kill -KILL "$SYNCD_PID"
kill -CONT "$SYNCD_PID" 2>/dev/null
wait "$SYNCD_PID" 2>/dev/null
check_syncd_log
SYNCD_PID=
timed_run timeout 60 "$SYNCCTL" --retries 0 --timeout 3 push 127.0.0.1 "$S"
is "$RC" 69 "killed server with a stale registration: exit 69"
if [ "$MS" -lt 20000 ]; then ok "killed server: gave up in ${MS} ms"; else not_ok "killed server: gave up in ${MS} ms"; fi

# A crash can leave temps behind; the next start removes them.
mkdir -p "$E/src/sub"
printf 'partial' >"$E/src/.syncd-tmp.crash1"
printf 'partial' >"$E/src/sub/.syncd-tmp.crash2"
start_syncd --root "$E" || exit 1
is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "restarted syncd swept the stale temps"
run "$SYNCCTL" push 127.0.0.1 "$S"
is "$RC" 0 "re-push after the crash: exit 0"
assert_trees_equal "$S" "$E/src" "re-push after the crash converges"

stop_syncd
done_testing
