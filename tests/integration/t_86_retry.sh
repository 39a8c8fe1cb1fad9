#!/bin/bash
# t_86_retry.sh -- what syncctl retries, and what it does not.
#   Fault matrix row 6: the connection is reset right after the server
#   committed (the reply of the last BARRIER is dropped): the retry finds
#   everything done, sends nothing again, and succeeds.
#   A push started while syncd is down (registered nowhere) succeeds once
#   syncd is started after its first "retrying" line; the same while
#   rpcbind itself is down.  An export busy with its session cap (HELLO
#   refused with TOOMANY) is retried until the session ends.
#   Not retried: an unknown export (76), a failed authentication (77).
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/relay.sh
. "$(dirname "$0")/../lib/relay.sh"

E="$T/export"
A="$T/old"
B="$T/new"
mkdir -p "$E" "$A/d" "$B/d"
for i in $(seq 12); do
	printf 'old %d\n' "$i" >"$A/d/f$i"
	printf 'new %d, longer\n' "$i" >"$B/d/f$i"
done
printf 'x\n' >"$A/gone"
ln -s d/f1 "$B/link"
stamp_tree "$A" @1200000000.5
stamp_tree "$B"
start_syncd --root "$E" || exit 1
reset_old() {
	run "$SYNCCTL" --delete push 127.0.0.1/t "$A"
	[ "$RC" = 0 ] || { not_ok "reset to the old version"; diag "$OUT"; }
}
inodes() { (cd "$E/t" && find . -type f -printf '%i %p\n' | sort); }

# --- row 6 -------------------------------------------------------------------
reset_old
start_relay || exit 1
run "$SYNCCTL" --streams 1 --delete --port "$RELAY_PORT" push 127.0.0.1/t "$B"
is "$RC" 0 "a clean push through the relay"
wait_for 5 relay_said '^conn 1 closed' || not_ok "the relay reported the connection's end"
read -r _ NREPLY <<<"$(relay_closed 1)"
stop_relay
diag "a clean push gets $NREPLY replies; the last one is the BARRIER's"

reset_old
start_relay -n 1 -r "$NREPLY" -H 2 || exit 1
"$SYNCCTL" --streams 1 --delete --stats --retries 2 --port "$RELAY_PORT" \
	push 127.0.0.1/t "$B" >"$T/push.out" 2>&1 &
client=$!
wait_for 20 relay_said "^conn 1 dropped server record $NREPLY$" || not_ok "the relay dropped the BARRIER's reply"
wait_for 20 relay_said '^conn 2 open' || not_ok "the retry connected (and is held)"
assert_trees_equal "$B" "$E/t" "the server had committed everything when the reply was lost"
inodes >"$T/before"
kill -USR1 "$RELAY_PID"
if wait_for 30 gone "$client"; then ok "the retry finished"; else not_ok "the retry finished"; kill -KILL "$client"; fi
rc=0
wait "$client" || rc=$?
OUT=$(cat "$T/push.out")
stop_relay
is "$rc" 0 "reset after the commit: the retry succeeds"
like "$OUT" "^syncctl: 127\\.0\\.0\\.1:$RELAY_PORT: BARRIER: " "the lost reply is reported"
like "$OUT" "^syncctl: connection to 127\\.0\\.0\\.1 failed or was lost; retrying in 1 s \\(attempt 2 of 3\\)$" \
	"one retry line"
assert_trees_equal "$B" "$E/t" "the tree is exact"
is "$(stat_of 'files sent')" 0 "the retry sent no file again"
is "$(stat_of 'entries deleted')" 0 "the retry deleted nothing again"
is "$(stat_of 'round trips')" 3 "the retry cost HELLO, LIST, BARRIER"
inodes >"$T/after"
check "no committed file was renamed over again" diff -u "$T/before" "$T/after"

# --- syncd restarted ---------------------------------------------------------
stop_syncd
"$SYNCCTL" --retries 5 push 127.0.0.1/r "$B" >"$T/restart.out" 2>&1 &
client=$!
said_retry() { grep -q 'retrying in' "$1"; }
if wait_for 10 said_retry "$T/restart.out"; then ok "syncd down: the client says it retries"; else not_ok "syncd down: the client says it retries"; fi
start_syncd --root "$E" || exit 1
if wait_for 30 gone "$client"; then ok "syncd started: the client finished"; else not_ok "syncd started: the client finished"; kill -KILL "$client"; fi
rc=0
wait "$client" || rc=$?
OUT=$(cat "$T/restart.out")
is "$rc" 0 "syncd started meanwhile: exit 0"
like "$OUT" "^syncctl: 127\\.0\\.0\\.1: syncd is not registered with rpcbind$" "the reason is given"
like "$OUT" "^syncctl: connection to 127\\.0\\.0\\.1 failed or was lost; retrying in 1 s \\(attempt 2 of 6\\)$" \
	"the retry line counts the attempts"
assert_trees_equal "$B" "$E/r" "syncd started meanwhile: the tree is exact"

# --- rpcbind restarted (and syncd registering again) ----------------------------
stop_syncd
stop_rpcbind
"$SYNCCTL" --retries 5 push 127.0.0.1/rb "$B" >"$T/rpcbind.out" 2>&1 &
client=$!
if wait_for 10 said_retry "$T/rpcbind.out"; then ok "rpcbind down: the client says it retries"; else not_ok "rpcbind down: the client says it retries"; fi
start_rpcbind || exit 1
start_syncd --root "$E" || exit 1
if wait_for 40 gone "$client"; then ok "rpcbind back: the client finished"; else not_ok "rpcbind back: the client finished"; kill -KILL "$client"; fi
rc=0
wait "$client" || rc=$?
OUT=$(cat "$T/rpcbind.out")
is "$rc" 0 "rpcbind and syncd back meanwhile: exit 0"
like "$OUT" "^syncctl: 127\\.0\\.0\\.1: cannot reach rpcbind: " "the reason is given"
assert_trees_equal "$B" "$E/rb" "rpcbind back: the tree is exact"
stop_syncd

# --- a busy export --------------------------------------------------------------
printf 'alice:right-secret\n' >"$T/secrets"
printf 'wrong-secret\n' >"$T/wrong"
chmod 600 "$T/secrets" "$T/wrong"
printf '[one]\npath = %s\nmax connections = 1\n[auth]\npath = %s\nsecrets file = %s\n' \
	"$E" "$E" "$T/secrets" >"$T/busy.conf"
start_syncd -c "$T/busy.conf" || exit 1
port=$(syncd_port)
# A raw session holds the export's only slot (HELLO "one", answered).
hello_hex='80000038 00000001 00000000 00000002 2053594e 00000001 00000001 00000000 00000000 00000000 00000000 00000001 00000003 6f6e6500 00000000'
hello_bytes=$(for w in $hello_hex; do printf '\\x%s\\x%s\\x%s\\x%s' "${w:0:2}" "${w:2:2}" "${w:4:2}" "${w:6:2}"; done)
exec 3<>"/dev/tcp/127.0.0.1/$port"
# shellcheck disable=SC2059 # the format is the escaped bytes
printf "$hello_bytes" >&3
is "$(timeout 5 head -c 76 <&3 | wc -c)" 76 "a raw session holds export 'one'"
"$SYNCCTL" --retries 4 push 127.0.0.1:one/busy "$B" >"$T/busy.out" 2>&1 3>&- &
client=$!
if wait_for 10 said_retry "$T/busy.out"; then ok "busy export: the client says it retries"; else not_ok "busy export: the client says it retries"; fi
exec 3>&-
if wait_for 30 gone "$client"; then ok "busy export: the client finished"; else not_ok "busy export: the client finished"; kill -KILL "$client"; fi
rc=0
wait "$client" || rc=$?
OUT=$(cat "$T/busy.out")
is "$rc" 0 "the session ended meanwhile: exit 0"
like "$OUT" "^syncctl: 127\\.0\\.0\\.1:one is busy \\(too many sessions\\); retrying in 1 s \\(attempt 2 of 5\\)$" \
	"the busy export is named"
assert_trees_equal "$B" "$E/busy" "busy export: the tree is exact"

# --- not retried ----------------------------------------------------------------
run timeout 20 "$SYNCCTL" --retries 5 push 127.0.0.1:nosuch/x "$B"
is "$RC" 76 "unknown export: exit 76"
unlike "$OUT" "retrying" "unknown export: not retried"
run timeout 20 "$SYNCCTL" --retries 5 --user alice --secret-file "$T/wrong" push 127.0.0.1:auth/x "$B"
is "$RC" 77 "wrong secret: exit 77"
unlike "$OUT" "retrying" "wrong secret: not retried"
run "$SYNCCTL" --retries x push 127.0.0.1 "$B"
is "$RC" 64 "--retries x: usage error"
like "$OUT" "^syncctl: --retries: 'x' is not a number of retries \\(0-1000\\)$" "... says why"

stop_syncd
done_testing
