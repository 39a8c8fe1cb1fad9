#!/bin/bash
# t_57_syslog.sh -- without -f syncd detaches and logs to syslog (facility
# daemon, "syncd[PID]:"), not to the terminal; what stops it before it
# detaches (a bad config) still reaches stderr with its exit status, so
# whoever started it learns why.  /dev/log is this test's own: a private
# /dev (the namespace's mounts are private) whose log socket is a
# notifysink, which prints each datagram it receives.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E" "$T/src" "$T/dev"
printf 'hello\n' >"$T/src/f"
stamp_tree "$T/src"

# A /dev with the usual character devices and our own log socket.
mount -t tmpfs -o mode=755 tmpfs "$T/dev" || { not_ok "a private /dev"; done_testing; exit 1; }
for n in null zero full random urandom; do
	touch "$T/dev/$n" && mount --bind "/dev/$n" "$T/dev/$n"
done
ln -s /proc/self/fd "$T/dev/fd"
"$BIN/tests/notifysink" "$T/dev/log" >"$T/syslog.out" 2>&1 &
sink=$!
check "the log socket is bound" wait_for 5 grep -q '^listening$' "$T/syslog.out"
mount --rbind "$T/dev" /dev || { not_ok "/dev replaced"; done_testing; exit 1; }
said() { grep -Eq -- "$1" "$T/syslog.out"; }

# Detached: the starting process exits 0 once syncd is registered.
run "$SYNCD" --root "$E"
is "$RC" 0 "syncd without -f: the starting process exits 0"
is "$OUT" "" "... and prints nothing"
check "syncd is registered" wait_for 5 registered
pid=$(pgrep -x syncd)
check "one syncd runs, detached" test -n "$pid" -a "$(wc -w <<<"$pid")" -eq 1
# <30>: facility daemon (3 * 8) + info (6).
check "its startup line goes to syslog as daemon.info, with its pid" \
    wait_for 5 said "^<30>.*syncd\\[$pid\\]: listening on "

run "$SYNCCTL" push 127.0.0.1/t "$T/src"
is "$RC" 0 "a push to the detached syncd: exit 0"
assert_trees_equal "$T/src" "$E/t" "the pushed tree"

kill -TERM "$pid"
check "SIGTERM: it exits" wait_for 10 gone "$pid"
check "SIGTERM: logged to syslog" said "^<30>.*syncd\\[$pid\\]: received SIGTERM"
check "... and its last line" said "^<30>.*syncd\\[$pid\\]: exiting"
check "no sanitizer report in syslog" sh -c "! grep -Eq '$SANITIZER_RE' '$T/syslog.out'"

# Errors before detaching go to stderr, with the exit status.
: >"$T/syslog.out.before"
cp "$T/syslog.out" "$T/syslog.out.before"
run "$SYNCD" --root "$T/missing"
is "$RC" 78 "a missing --root directory: exit 78 before detaching"
like "$OUT" "syncd: --root $T/missing: No such file or directory" "... said on stderr"
is "$(cat "$T/syslog.out")" "$(cat "$T/syslog.out.before")" "... and not to syslog"

kill "$sink"
wait "$sink" 2>/dev/null
umount -R /dev && umount -R "$T/dev"      # so that $T can be removed
done_testing
