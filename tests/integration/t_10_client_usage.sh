#!/bin/bash
# t_10_client_usage.sh -- syncctl's command line and exit codes, no syncd:
# bad usage is 64; no syncd registered, or no rpcbind at all, is 69 with the
# documented message, and nothing hangs.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

mkdir -p "$T/src"

run "$SYNCCTL"
is "$RC" 64 "no arguments: exit 64"
like "$OUT" "[Uu]sage" "no arguments: a usage message"

run "$SYNCCTL" --no-such-option push 127.0.0.1 "$T/src"
is "$RC" 64 "unknown option: exit 64"

run "$SYNCCTL" frobnicate 127.0.0.1 "$T/src"
is "$RC" 64 "unknown command: exit 64"

run "$SYNCCTL" push 127.0.0.1
is "$RC" 64 "push without DIR: exit 64"

run "$SYNCCTL" push 127.0.0.1 "$T/src" "$T/src"
is "$RC" 64 "push with an extra argument: exit 64"

run "$SYNCCTL" --port not-a-number push 127.0.0.1 "$T/src"
is "$RC" 64 "--port not-a-number: exit 64"

for bad in '127.0.0.1:default/../x' '127.0.0.1:default/a//b' '127.0.0.1:default//etc'; do
	run "$SYNCCTL" push "$bad" "$T/src"
	is "$RC" 64 "invalid target path '$bad': exit 64"
done

# A missing or unusable DIR is a local I/O error, found before any network.
run timeout 30 "$SYNCCTL" push 127.0.0.1 "$T/missing"
is "$RC" 74 "missing DIR: exit 74"
like "$OUT" "missing" "missing DIR: the message names it"

# rpcbind runs (netns.sh started it) but no syncd is registered.
run timeout 30 "$SYNCCTL" --retries 0 push 127.0.0.1 "$T/src"
is "$RC" 69 "no syncd registered: exit 69"
like "$OUT" "^syncctl: 127\\.0\\.0\\.1: syncd is not registered with rpcbind$" \
	"no syncd registered: the documented message"

run timeout 30 "$SYNCCTL" --retries 0 push localhost:default/x "$T/src"
is "$RC" 69 "no syncd registered (host localhost): exit 69"
like "$OUT" "syncctl: localhost: syncd is not registered with rpcbind" \
	"no syncd registered (host localhost): message names the host"

# Nothing listens on the port at all.
run timeout 30 "$SYNCCTL" --retries 0 --port 9 --timeout 5 push 127.0.0.1 "$T/src"
is "$RC" 69 "--port to a closed port: exit 69"

# No rpcbind at all.
stop_rpcbind
run timeout 30 "$SYNCCTL" --retries 0 --timeout 5 push 127.0.0.1 "$T/src"
is "$RC" 69 "no rpcbind: exit 69"
like "$OUT" "^syncctl: 127\\.0\\.0\\.1: " "no rpcbind: message names the host"

done_testing
