#!/bin/bash
# t_54_reload.sh -- SIGHUP reloads syncd.conf, all or nothing: a good file
# takes effect for new connections (exports added, removed, moved, made
# read-only, closed to a host, secrets rotated, global keys; an export's
# max connections counts sessions from before the reload); a bad one
# (syntax, a missing directory, an unsafe secrets file, no file) leaves
# the old configuration whole and says why; a session already connected
# carries on in the export it started with, even one the reload removed or
# moved, until its next HELLO, which meets the new configuration; partials
# waiting to expire follow the reload (a shorter expiry, a removed export);
# reloads during pushes break nothing (the ASan build checks that
# an old configuration is freed only after its last session); once
# stopping, SIGHUP is ignored; a detached syncd started with a relative -c
# reloads the same file.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

A="$T/a" A2="$T/a2" B="$T/b"
mkdir -p "$A" "$A2" "$B" "$T/src/sub"
printf 'one\n' >"$T/src/one"
printf 'two\n' >"$T/src/sub/two"
stamp_tree "$T/src"
SINK="$BIN/tests/notifysink"
CONF="$T/syncd.conf"

# reload: SIGHUP, then waits (bounded) for the Nth "READY=1" after it.
readies=1
reload() {
	kill -HUP "$SYNCD_PID"
	readies=$((readies + 1))
	wait_for 10 sh -c "[ \$(grep -c '^READY=1' '$T/sink.out') -ge $readies ]"
}
# log_count TEXT: how many lines of syncd's log contain TEXT.
log_count() { grep -cF -- "$1" "$SYNCD_LOG"; }

"$SINK" "$T/notify.sock" >"$T/sink.out" 2>&1 &
sink=$!
check "the notification socket is bound" wait_for 5 grep -q '^listening$' "$T/sink.out"

printf 'max connections = 8\n[a]\npath = %s\n' "$A" >"$CONF"
NOTIFY_SOCKET="$T/notify.sock" start_syncd -c "$CONF" || exit 1
run "$RAWCALL" b hello
is "$OUT" SYNC_ERR_NOEXPORT "before the reload export b does not exist"

# 1. An export added.
printf 'max connections = 8\n[a]\npath = %s\n[b]\npath = %s\n' "$A" "$B" >"$CONF"
check "SIGHUP: RELOADING=1, then READY=1" reload
like "$(cat "$SYNCD_LOG")" "reloaded $CONF: exports: a=$A \\(rw\\), b=$B \\(rw\\)" \
    "the log says what the reloaded file exports"
run "$SYNCCTL" push 127.0.0.1:b/x "$T/src"
is "$RC" 0 "a push to the added export: exit 0"
assert_trees_equal "$T/src" "$B/x" "it lands in the added export"
check "the registration is still there" registered

# 2. Bad files: the old configuration stays, whole, and the log says why.
bad_reload() {   # bad_reload WHAT WANT: the current $CONF is bad
	local before
	before=$(log_count "keeping the old configuration")
	check "$1: syncd is ready again" reload
	is "$(log_count "keeping the old configuration")" $((before + 1)) "$1: keeps the old configuration"
	like "$(cat "$SYNCD_LOG")" "$2" "$1: the log says why"
	check "$1: syncd still runs" kill -0 "$SYNCD_PID"
	run "$RAWCALL" b hello
	is "$OUT" SYNC_OK "$1: export b still served"
}
printf '[a]\npath = %s\nread-only = yes\n' "$A" >"$CONF"
bad_reload "an unknown key" "$CONF:3: unknown key 'read-only'"
printf '[a]\npath = %s\n[c]\npath = %s/missing\n' "$A" "$T" >"$CONF"
bad_reload "a missing directory" "export 'c': cannot open directory $T/missing"
printf 'x:y\n' >"$T/secrets" && chmod 644 "$T/secrets"
printf '[a]\npath = %s\nsecrets file = %s\n' "$A" "$T/secrets" >"$CONF"
bad_reload "a secrets file others can read" "export 'a': .*secrets"
mv "$CONF" "$CONF.gone"
bad_reload "a missing file" "$CONF: No such file or directory"
mv "$CONF.gone" "$CONF"
run "$SYNCCTL" push 127.0.0.1:a/y "$T/src"
is "$RC" 0 "after the failed reloads a push to a works"
assert_trees_equal "$T/src" "$A/y" "... and lands in a"

# 3. A session connected before the reload keeps its export, even when the
# reload removes it, until its next HELLO, which meets the new configuration
# (a withdrawn export stays withdrawn); new connections see the new one.
mkfifo "$T/ctl"
"$RAWCALL" a script <"$T/ctl" >"$T/raw.out" 2>&1 &
raw=$!
exec 5>"$T/ctl"
printf 'put 1 before old-session\nbarrier\n' >&5
check "the old session wrote before the reload" wait_for 10 grep -q '^barrier done=3 failed=0' "$T/raw.out"
printf '[a2]\npath = %s\n[b]\npath = %s\nread only = yes\n' "$A2" "$B" >"$CONF"
check "reload removing a" reload
run "$RAWCALL" a hello
is "$OUT" SYNC_ERR_NOEXPORT "a new connection no longer finds a"
printf 'put 2 after still-old\nbarrier\n' >&5
check "the old session goes on after the reload" \
    wait_for 10 sh -c "[ \$(grep -c '^barrier done=3 failed=0' '$T/raw.out') -eq 2 ]"
printf 'hello a\nhello b\nput 3 b-file x\nbarrier\n' >&5
check "its next HELLO of a meets the reload: NOEXPORT" \
    wait_for 10 grep -qx 'hello SYNC_ERR_NOEXPORT' "$T/raw.out"
check "a HELLO of b gets b as reloaded" wait_for 10 grep -qx 'hello SYNC_OK' "$T/raw.out"
check "... read-only now: its write fails" wait_for 10 grep -q '^barrier done=3 failed=3' "$T/raw.out"
exec 5>&-
wait "$raw" 2>/dev/null
is "$(cat "$A/before" 2>&1) $(cat "$A/after" 2>&1)" "old-session still-old" \
    "both of its files are in a's directory"
check "nothing of it went to the new exports" \
    sh -c "[ ! -e '$A2/after' ] && [ ! -e '$B/after' ] && [ ! -e '$B/b-file' ]"

# 4. What changed for new connections: read only, moved, closed to a host.
run "$SYNCCTL" push 127.0.0.1:b/z "$T/src"
is "$RC" 77 "b is read-only now: exit 77"
like "$OUT" "read-only" "... and says so"
check "... and nothing was written" [ ! -e "$B/z" ]
run "$SYNCCTL" push 127.0.0.1:a2/ "$T/src"
is "$RC" 0 "a push to the new export a2: exit 0"
assert_trees_equal "$T/src" "$A2" "it lands in a2's directory"
printf '[a2]\npath = %s\nhosts deny = 127.0.0.1\n' "$A2" >"$CONF"
check "reload closing a2 to 127.0.0.1" reload
run "$RAWCALL" a2 hello
is "$OUT" SYNC_ERR_ACCES "hosts deny of the reloaded file applies"

# 5. Secrets rotated: the new secret opens the export, the old one no longer.
printf 'alice:old secret\n' >"$T/secrets" && chmod 600 "$T/secrets"
printf '[s]\npath = %s\nsecrets file = %s\n' "$B" "$T/secrets" >"$CONF"
check "reload with a secrets file" reload
run "$RAWCALL" --auth 'alice:old secret' s list ""
like "$OUT" "^auth SYNC_OK" "the secret works"
printf 'alice:new secret\n' >"$T/secrets"
check "reload after rotating the secret" reload
run "$RAWCALL" --auth 'alice:new secret' s list ""
like "$OUT" "^auth SYNC_OK" "the new secret works"
run "$RAWCALL" --auth 'alice:old secret' s list ""
like "$OUT" "^auth SYNC_ERR_AUTH" "the old secret is refused"

# 6. Global keys apply too: an idle timeout of 1 s closes a silent client.
printf 'idle timeout = 1\n[a]\npath = %s\n' "$A" >"$CONF"
check "reload with idle timeout = 1" reload
exec 6<>"/dev/tcp/127.0.0.1/$(syncd_port)"
start=$(date +%s%N)
rc=0
timeout 10 cat <&6 >/dev/null || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "a silent connection is closed after the reloaded idle timeout ($ms ms)" \
    test "$rc" -eq 0 -a "$ms" -ge 900 -a "$ms" -lt 5000
exec 6<&-

# 7. An export's max connections counts the sessions that began before the
# reload too.
printf '[a]\npath = %s\nmax connections = 1\n' "$A" >"$CONF"
check "reload with a's max connections = 1" reload
rm -f "$T/ctl" && mkfifo "$T/ctl"
"$RAWCALL" a script <"$T/ctl" >"$T/raw.out" 2>&1 &
raw=$!
exec 5>"$T/ctl"
printf 'hello a\n' >&5
check "a session holds a" wait_for 5 grep -qx 'hello SYNC_OK' "$T/raw.out"
printf '[a]\npath = %s\nmax connections = 1\n\n' "$A" >"$CONF"
check "reload of the same export" reload
run "$RAWCALL" a hello
is "$OUT" SYNC_ERR_TOOMANY "the session from before the reload still counts"
exec 5>&-
wait "$raw" 2>/dev/null
check "once it ended, a takes a session again" \
    wait_for 5 sh -c "\"$RAWCALL\" a hello | grep -qx SYNC_OK"

# 8. Partials left by interrupted large files follow the reload: a shorter
# expiry (or 0) applies to those already waiting; those of an export the
# reload removed are removed (and its directory is let go); those of an
# export that stays are kept.
C="$T/c"
mkdir -p "$C"
K1=11111111111111111111111111111111 K2=22222222222222222222222222222222
K3=33333333333333333333333333333333
# leave EXPORT PATH KEY: a RESUME and a WRITE, no COMMIT: a partial stays.
leave() {
	run "$RAWCALL" "$1" resume "$2" "$3" 0 partial-data
	like "$OUT" "SYNC_OK" "a partial left in $1 ($2)"
}
part() { printf '%s/.syncd-tmp.part.%s' "$1" "$2"; }
printf 'partial expiry = 3600\n[a]\npath = %s\n[c]\npath = %s\n' "$A" "$C" >"$CONF"
check "reload: partials kept for an hour" reload
leave a pa "$K1"
leave c pc "$K2"
check "... both partials are there" wait_for 5 test -e "$(part "$A" "$K1")" -a -e "$(part "$C" "$K2")"
check "... c's directory is open in syncd" \
    sh -c "ls -l /proc/$SYNCD_PID/fd | grep -q ' $C\$'"
printf 'partial expiry = 3600\n[a]\npath = %s\n' "$A" >"$CONF"
check "reload without c" reload
check "c's partial is removed" wait_for 5 test ! -e "$(part "$C" "$K2")"
check "... and logged so" wait_for 5 grep -q "partial .*$K2 removed: the export is no longer configured" "$SYNCD_LOG"
check "... and c's directory is let go" \
    wait_for 5 sh -c "! ls -l /proc/$SYNCD_PID/fd | grep -q ' $C\$'"
run "$RAWCALL" a partial pa "$K1"
like "$OUT" "^SYNC_OK" "a's partial stays across the reload"
leave a pb "$K3"
printf 'partial expiry = 1\n[a]\npath = %s\n' "$A" >"$CONF"
check "reload: partial expiry = 1" reload
check "the waiting partials expire by the new expiry" \
    wait_for 10 test ! -e "$(part "$A" "$K1")" -a ! -e "$(part "$A" "$K3")"
printf 'partial expiry = 3600\n[a]\npath = %s\n' "$A" >"$CONF"
check "reload: an hour again" reload
leave a pa "$K1"
check "... a partial is there" wait_for 5 test -e "$(part "$A" "$K1")"
printf 'partial expiry = 0\n[a]\npath = %s\n' "$A" >"$CONF"
check "reload: partial expiry = 0" reload
check "partial expiry = 0 removes the waiting partial" wait_for 5 test ! -e "$(part "$A" "$K1")"
is "$(grep -c "$K1 expired" "$SYNCD_LOG")" 2 "each partial of a expired once, none twice"

# 9. Reloads during pushes: each push ends well, syncd neither crashes nor
# leaks (the old configurations go with their last session).  The file
# alternates between two configurations, so every reload replaces one, and
# reloads go on until the pushes are done (at least 3, at most 200).
printf '[a]\npath = %s\n' "$A" >"$CONF"
check "reload back to one export" reload
mkdir -p "$T/many"
for ((i = 0; i < 1500; i++)); do printf '%d\n' "$i" >"$T/many/f$i"; done
pids=()
for ((p = 0; p < 3; p++)); do
	"$SYNCCTL" push 127.0.0.1:a/m$p "$T/many" >"$T/push.$p" 2>&1 &
	pids+=($!)
done
pushing() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
reloads=0
while { pushing || [ "$reloads" -lt 3 ]; } && [ "$reloads" -lt 200 ]; do
	if ((reloads % 2)); then
		printf '[a]\npath = %s\n' "$A" >"$CONF"
	else
		printf '[a]\npath = %s\n[b]\npath = %s\n' "$A" "$B" >"$CONF"
	fi
	reload || not_ok "reload $reloads during the pushes"
	reloads=$((reloads + 1))
done
diag "$reloads reloads during the pushes"
for ((p = 0; p < 3; p++)); do
	rc=0
	wait "${pids[$p]}" || rc=$?
	is "$rc" 0 "push $p during the reloads: exit 0"
	assert_trees_equal "$T/many" "$A/m$p" "push $p during the reloads: the tree"
done
stop_syncd
check "SIGTERM after reloads: STOPPING=1" grep -q '^STOPPING=1' "$T/sink.out"
kill "$sink"
wait "$sink" 2>/dev/null

# 10. Once stopping, SIGHUP changes nothing: no reload during the drain.
printf 'drain timeout = 60\n[a]\npath = %s\n' "$A" >"$CONF"
start_syncd -c "$CONF" || exit 1
rm -f "$T/ctl" && mkfifo "$T/ctl"
"$RAWCALL" a script <"$T/ctl" >"$T/raw.out" 2>&1 &
raw=$!
exec 5>"$T/ctl"
printf 'create 1 half\nwrite 1 data\nnull\n' >&5
check "a session mid-batch has its temp" \
    wait_for 5 bash -c "[ \"\$(find '$A' -name '.syncd-tmp.*' | wc -l)\" -ge 1 ]"
kill -TERM "$SYNCD_PID"
check "a session mid-batch is being drained" wait_for 5 grep -q "draining 1 session" "$SYNCD_LOG"
printf '[b]\npath = %s\n' "$B" >"$CONF"
kill -HUP "$SYNCD_PID"
check "SIGHUP during the drain is ignored" wait_for 5 grep -q "SIGHUP ignored: stopping" "$SYNCD_LOG"
unlike "$(cat "$SYNCD_LOG")" "reloaded" "... nothing was reloaded"
stop_syncd              # the second SIGTERM cuts
exec 5>&-
wait "$raw" 2>/dev/null

# 11. With --root there is no file to read: SIGHUP says so and serves on.
start_syncd --root "$A" || exit 1
kill -HUP "$SYNCD_PID"
check "--root: SIGHUP says there is nothing to reload" \
    wait_for 5 grep -q "nothing to reload (--root)" "$SYNCD_LOG"
run "$RAWCALL" default hello
is "$OUT" SYNC_OK "--root: serves after SIGHUP"
stop_syncd

# 12. Detached (no -f: its working directory becomes /), with a relative
# -c: a reload still reads the file it started with.
printf '[a]\npath = %s\n' "$A" >"$CONF"
run sh -c "cd '$T' && exec '$SYNCD' -c syncd.conf"
is "$RC" 0 "detached with -c syncd.conf (relative): started"
check "... registered" wait_for 10 registered
pid=$(pgrep -x syncd)
check "... one syncd runs" test -n "$pid" -a "$(wc -w <<<"$pid")" -eq 1
printf '[a]\npath = %s\n[b]\npath = %s\n' "$A" "$B" >"$CONF"
kill -HUP "$pid"
check "SIGHUP: the export added to $CONF is served" \
    wait_for 10 sh -c "'$RAWCALL' b hello | grep -qx SYNC_OK"
kill -TERM "$pid"
check "... SIGTERM ends it" wait_for 10 gone "$pid"
done_testing
