#!/bin/bash
# t_68_auth.sh -- an export with a secrets file, seen from the wire (rawcall):
# HELLO says AUTH is required and every other procedure is refused until it
# succeeds (rawcall, and syncctl with its credentials and exit 77); a wrong secret, an unknown user, a second AUTH on one HELLO and a
# replayed AUTH are all refused and change nothing; failures are logged with
# the peer and throttled per address; unsafe or malformed secrets files and
# host lists keep syncd from starting; hosts allow/deny decide at HELLO.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
O="$T/outside"
mkdir -p "$E" "$O"
printf 'keep\n' >"$E/present"
printf 'alice:correct horse\nbob:b:o:b\n' >"$T/secrets"
chmod 600 "$T/secrets"

conf() {        # conf EXTRA_LINES: writes $T/syncd.conf with [open] and [locked]
	printf '[open]\npath = %s\n[locked]\npath = %s\nsecrets file = %s\n%s\n' \
	    "$O" "$E" "$T/secrets" "$1" >"$T/syncd.conf"
}
conf ""
start_syncd -c "$T/syncd.conf" || exit 1

# --- HELLO advertises the requirement; nothing works before AUTH
run "$RAWCALL" --flags locked hello
is "$OUT" $'SYNC_OK\nflags=2' "HELLO: SYNC_EXPORT_AUTH set"
run "$RAWCALL" --flags open hello
is "$OUT" $'SYNC_OK\nflags=0' "an export without secrets: no AUTH flag"
run "$RAWCALL" locked list ""
is "$OUT" SYNC_ERR_AUTH "LIST before AUTH: SYNC_ERR_AUTH"
run "$RAWCALL" locked read present 0 10
is "$OUT" SYNC_ERR_AUTH "READ before AUTH: SYNC_ERR_AUTH"
run "$RAWCALL" locked put evil 'x'
is "$OUT" SYNC_ERR_AUTH "a batched PUT before AUTH: SYNC_ERR_AUTH"
run "$RAWCALL" locked delete present
is "$OUT" SYNC_ERR_AUTH "DELETE before AUTH: SYNC_ERR_AUTH"
run "$RAWCALL" --auth 'alice:correct horse' open list ""
is "${OUT%%$'\n'*}" "auth SYNC_ERR_INVAL" "AUTH on an export without secrets: INVAL"

# --- the right secret opens the export, and the server proves itself
run "$RAWCALL" --auth 'alice:correct horse' locked put new 'hello'
is "$OUT" $'auth SYNC_OK\nserver proof ok\nSYNC_OK' "alice's secret: AUTH OK, the server's proof checks, PUT works"
is "$(cat "$E/new" 2>/dev/null)" hello "the file was written"
rm -f "$E/new"
stamp_tree "$E"
before=$(tree_manifest "$E")
run "$RAWCALL" --auth 'bob:b:o:b' locked read present 0 10
is "${OUT%%$'\n'*}" "auth SYNC_OK" "a secret containing ':' works"

# --- refusals: nothing changes
run "$RAWCALL" --auth 'alice:wrong' locked put evil 'x'
is "$OUT" $'auth SYNC_ERR_AUTH\nSYNC_ERR_AUTH' "wrong secret: AUTH refused, PUT refused"
run "$RAWCALL" --auth 'mallory:correct horse' locked list ""
is "$OUT" $'auth SYNC_ERR_AUTH\nSYNC_ERR_AUTH' "unknown user: refused the same way"
run "$RAWCALL" --auth 'alice:correct horse' --auth-again locked list ""
is "$(sed -n 3p <<<"$OUT")" "auth SYNC_ERR_AUTH" "a second AUTH on the same HELLO is refused (nonce spent)"
run "$RAWCALL" --auth-replay 'alice:correct horse' locked put evil 'x'
is "$OUT" $'auth SYNC_OK\nserver proof ok\nauth SYNC_ERR_AUTH\nSYNC_ERR_AUTH' "an AUTH replayed on another connection is refused"
is "$(tree_manifest "$E")" "$before" "the export is unchanged by every refused call"
like "$(cat "$SYNCD_LOG")" "127\\.0\\.0\\.1:[0-9]+: authentication failed for user 'alice' on export 'locked'" \
    "a failure is logged with the peer address"
unlike "$(cat "$SYNCD_LOG")" "correct horse|wrong" "no secret appears in the log"

# --- throttling: after 5 failures in a minute even the right secret is refused
for i in 1 2 3; do run "$RAWCALL" --auth "alice:bad$i" locked hello; done
run "$RAWCALL" --auth 'alice:correct horse' locked list ""
is "$OUT" $'auth SYNC_ERR_AUTH\nSYNC_ERR_AUTH' "the 6th attempt within the window is refused unchecked"
like "$(cat "$SYNCD_LOG")" "too many failures from this address" "and the refusal is logged"
stop_syncd

# --- syncctl: credentials, exit 77 for every refusal, nothing changed
start_syncd -c "$T/syncd.conf" || exit 1       # a fresh throttle table
S="$T/src"
mkdir -p "$S/sub"
for i in $(seq 40); do printf 'file %d\n' "$i" >"$S/sub/f$i"; done
printf 'correct horse\n' >"$T/alice.secret"
printf 'wrong\n' >"$T/bad.secret"
chmod 600 "$T/alice.secret" "$T/bad.secret"
stamp_tree "$E"
before=$(tree_manifest "$E")
run "$SYNCCTL" push 127.0.0.1:locked/dst "$S"
is "$RC" 77 "push without credentials: exit 77"
like "$OUT" "the export requires authentication" "... saying what is missing"
run "$SYNCCTL" --user alice --secret-file "$T/bad.secret" push 127.0.0.1:locked/dst "$S"
is "$RC" 77 "wrong secret: exit 77"
like "$OUT" "authentication failed" "... 'authentication failed'"
is "$(tree_manifest "$E")" "$before" "nothing changed on the server"
run "$SYNCCTL" --user alice --secret-file "$T/alice.secret" --streams 2 push 127.0.0.1:locked/dst "$S"
is "$RC" 0 "the right secret: the push succeeds (every stream authenticates)"
assert_trees_equal "$S" "$E/dst" "the tree arrived"
rm -rf "$E/dst"
RC=0
OUT=$(SYNC_SECRET_FILE="$T/alice.secret" USER=alice "$SYNCCTL" push 127.0.0.1:locked/dst2 "$S" 2>&1) || RC=$?
is "$RC" 0 "SYNC_SECRET_FILE and \$USER work as well"
assert_trees_equal "$S" "$E/dst2" "the tree arrived"
rm -rf "$E/dst2"
RC=0
OUT=$(SYNC_SECRET_FILE="$T/alice.secret" USER=alice "$SYNCCTL" push 127.0.0.1:open/dst "$S" 2>&1) || RC=$?
is "$RC" 0 "a secret from the environment is not forced on an open export"
rm -rf "$O/dst"
run "$SYNCCTL" --user alice --secret-file "$T/alice.secret" push 127.0.0.1:open/dst "$S"
is "$RC" 77 "--user for an export that does not ask: exit 77"
like "$OUT" "does not ask for authentication" "... the server cannot prove it holds the secret"
check "nothing was sent to it" [ ! -e "$O/dst" ]
chmod 644 "$T/alice.secret"
run "$SYNCCTL" --user alice --secret-file "$T/alice.secret" push 127.0.0.1:locked/dst "$S"
is "$RC" 77 "a secret file others may read: exit 77"
like "$OUT" "group or others may access it \\(chmod 600\\)" "... saying so"
chmod 600 "$T/alice.secret"
run "$SYNCCTL" --user alice push 127.0.0.1:locked/dst "$S"
is "$RC" 64 "--user without a secret: usage error"
run "$SYNCCTL" --user 'bad name' --secret-file "$T/alice.secret" push 127.0.0.1:locked/dst "$S"
is "$RC" 64 "an invalid user name: usage error"
stop_syncd

# --- syncd refuses to start on an unsafe or malformed secrets file
chmod 644 "$T/secrets"
run "$SYNCD" -f -c "$T/syncd.conf"
is "$RC" 78 "secrets file readable by others: exit 78 (EX_CONFIG)"
like "$OUT" "export 'locked': secrets file .*group or others may access it" "the message says why"
chmod 600 "$T/secrets"
printf 'alice correct horse\n' >"$T/secrets"
run "$SYNCD" -f -c "$T/syncd.conf"
is "$RC" 78 "a malformed secrets file: exit 78"
like "$OUT" "secrets:1: expected 'user:secret'" "names the line"
printf 'alice:correct horse\n' >"$T/secrets"
conf "hosts allow = localhost"
run "$SYNCD" -f -c "$T/syncd.conf"
is "$RC" 78 "a host name in hosts allow: exit 78 (no DNS, fail closed)"
like "$OUT" "'localhost' is not an IP address or CIDR prefix" "the message says why"

# --- hosts allow / deny decide at HELLO
conf "hosts allow = 10.0.0.0/8, ::1"
start_syncd -c "$T/syncd.conf" || exit 1
run "$RAWCALL" locked hello
is "$OUT" SYNC_ERR_ACCES "127.0.0.1 not in hosts allow: HELLO refused with ACCES"
like "$(cat "$SYNCD_LOG")" "127\\.0\\.0\\.1:[0-9]+: export 'locked' refused by its hosts allow/deny" "logged"
run "$RAWCALL" open hello
is "$OUT" SYNC_OK "another export without lists is still served"
run "$SYNCCTL" --user alice --secret-file "$T/alice.secret" push 127.0.0.1:locked/dst "$S"
is "$RC" 77 "syncctl refused by the host lists: exit 77"
like "$OUT" "locked: permission denied" "... 'permission denied'"
stop_syncd
conf $'hosts allow = 127.0.0.0/8\nhosts deny = 127.0.0.1'
start_syncd -c "$T/syncd.conf" || exit 1
run "$RAWCALL" locked hello
is "$OUT" SYNC_ERR_ACCES "hosts deny wins over a broader hosts allow"
stop_syncd
conf "hosts allow = 127.0.0.1/32"
start_syncd -c "$T/syncd.conf" || exit 1
run "$RAWCALL" --auth 'alice:correct horse' locked list ""
is "${OUT%%$'\n'*}" "auth SYNC_OK" "an allowed host authenticates as usual"
stop_syncd

done_testing
