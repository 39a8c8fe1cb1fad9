#!/bin/bash
# t_package.sh -- the Debian packages, installed for real on this machine and
# run the way systemd would run them (issue 6).
#
#   PKG=BUILD/pkg BIN=BUILD tests/package/t_package.sh
#   (tests/run does this for a directory of .debs: make check-package)
#
# Why two halves: the test proper runs inside tests/lib/netns.sh.  apt-get
# and dpkg work there on the machine's real filesystem, but the maintainer
# scripts see a private, empty /run (no /run/systemd/system, no utmp
# runlevel): on a machine whose PID 1 is systemd they do not start
# syncd.service against the machine's own rpcbind; and syncd meets only the
# namespace's rpcbind (started by netns.sh) on a private loopback.  A
# namespace dies whole when it is killed (a timeout), so the cleanup runs
# outside it, in this script's first half: it skips if syncd or syncctl is
# installed already, runs the second half (bounded), then purges the
# packages if they are still there and removes the _syncd user and
# /var/lib/syncd if they were not there before.
#
# The second half asserts: lintian is silent; apt-get install works and
# gives the system user _syncd, the conffile /etc/syncd.conf, /var/lib/syncd
# owned by _syncd, the unit (systemd-analyze verify silent, security exposure
# <= 2.0), the man pages and working binaries; the installed syncd, started
# from the unit's own ExecStart=, User=, Group= and UMask= with NOTIFY_SOCKET
# and JOURNAL_STREAM, says READY=1, serves a push of the installed syncctl
# to the default export (tree equal, files owned by _syncd), reloads a new
# export through the unit's ExecReload= (check, then SIGHUP), whose check
# fails on a broken file, and a SIGHUP then keeps the old one; stops on
# SIGTERM (STOPPING=1, status 0, unregistered); the init script (no
# systemd) starts it as _syncd, reloads and stops it; apt-get purge removes
# programs, unit and conffile, and keeps the _syncd user and the data in
# /var/lib/syncd (Debian practice: a user may still own files; an export's
# data is never deleted by a package operation).
set -u

: "${PKG:?PKG must name the directory of the .debs (tests/run sets it)}"
UNIT=/lib/systemd/system/syncd.service
CONF=/etc/syncd.conf
STATE=/var/lib/syncd
export DEBIAN_FRONTEND=noninteractive

# pkg_status NAME: dpkg's state of package NAME ("" if dpkg never heard of it).
pkg_status() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null
}

# pkg_there NAME: true if any of package NAME is on this machine (installed,
# half-installed, its conffiles left...).
pkg_there() {
	case $(pkg_status "$1") in
	'' | not-installed) return 1 ;;
	esac
}

if [ -z "${PKG_INNER:-}" ]; then
	for p in syncd syncctl; do
		if pkg_there "$p"; then
			echo "1..0 # SKIP package $p is on this machine already ($(pkg_status "$p")): not replacing it"
			exit 0
		fi
	done
	for f in "$CONF" /usr/sbin/syncd /usr/bin/syncctl "$UNIT"; do
		if [ -e "$f" ]; then
			echo "1..0 # SKIP $f exists (make install?): not replacing it"
			exit 0
		fi
	done
	had_user=0 had_group=0 had_state=0
	getent passwd _syncd >/dev/null && had_user=1
	getent group _syncd >/dev/null && had_group=1
	[ -e "$STATE" ] && had_state=1

	# cleanup: purges what is still installed (its postrm, too, seeing a
	# private /run) and removes what the installation created.
	# shellcheck disable=SC2317,SC2016 # run by the EXIT trap; sh -c's $1
	cleanup() {
		local p
		for p in syncd syncctl; do
			pkg_there "$p" || continue
			echo "# cleanup: purging $p"
			unshare --mount --propagation private sh -c \
				'mount -t tmpfs tmpfs /run && apt-get purge -y -qq "$1"' sh "$p" \
				</dev/null >/dev/null 2>&1 || echo "# cleanup: apt-get purge $p failed"
		done
		[ "$had_state" = 1 ] || rm -rf "$STATE"
		[ "$had_user" = 1 ] || ! getent passwd _syncd >/dev/null || userdel _syncd
		[ "$had_group" = 1 ] || ! getent group _syncd >/dev/null || groupdel _syncd
	}
	trap cleanup EXIT
	# In the background, so that a TERM (the runner's timeout) ends the
	# namespace at once and the cleanup still runs; wait returns early when
	# a trapped signal arrives, hence the loop (bounded by the timeout).
	PKG_INNER=1 timeout -k 5 200 "$(dirname "$0")/../lib/netns.sh" bash "$0" &
	inner=$!
	trap 'kill -TERM "$inner" 2>/dev/null' TERM INT
	rc=0
	wait "$inner" || rc=$?
	while kill -0 "$inner" 2>/dev/null; do
		wait "$inner" || rc=$?
	done
	exit "$rc"
fi

# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

DEB_D=$(echo "$PKG"/syncd_*.deb)
DEB_C=$(echo "$PKG"/syncctl_*.deb)
check "make package built the syncd package" test -f "$DEB_D" || exit 1
check "... and the syncctl package" test -f "$DEB_C" || exit 1

# --- 1. the packages --------------------------------------------------------

# lintian as make package runs it (less -v), every tag class failing; as root it
# warns about that, which is not about the packages.
run lintian -EIL +pedantic --fail-on error,warning,info,pedantic,experimental "$PKG"/*.changes
OUT=$(grep -vx 'running with root privileges is not recommended!' <<<"$OUT")
is "$RC:$OUT" "0:" "lintian -EIL +pedantic prints nothing"

# --- 2. installed -----------------------------------------------------------

run apt-get install -y "$DEB_D" "$DEB_C"
is "$RC" 0 "apt-get install ./syncd_*.deb ./syncctl_*.deb" || { diag "$OUT"; exit 1; }
is "$(pkg_status syncd) $(pkg_status syncctl)" "installed installed" "both packages are installed"
unlike "$(ps -eo comm=)" '^syncd$' "installing started no syncd (no systemd, no runlevel here)"

IFS=: read -r _ _ uid gid _ home shell < <(getent passwd _syncd)
sys_uid_max=$(awk '$1 == "SYS_UID_MAX" { print $2 }' /etc/login.defs 2>/dev/null)
check "user _syncd exists" test -n "${uid:-}"
check "... a system user (uid $uid <= ${sys_uid_max:-999})" test "${uid:-0}" -gt 0 -a "${uid:-0}" -le "${sys_uid_max:-999}"
like "${shell:-}" '/nologin$' "... with no login shell"
is "${home:-}" "$STATE" "... at home in $STATE"
is "$(getent group _syncd | cut -d: -f3)" "${gid:-}" "... in its own group _syncd"

like "$(dpkg-query -W -f='${Conffiles}' syncd)" "^ $CONF [0-9a-f]{32}$" "$CONF is syncd's conffile"
is "$(stat -c '%U:%G %a' "$STATE" 2>&1)" "_syncd:_syncd 750" "$STATE exists, owned by _syncd, mode 750"
check "the unit is installed" test -f "$UNIT"
check "syncd is in /usr/sbin" test -x /usr/sbin/syncd
check "syncctl is in /usr/bin" test -x /usr/bin/syncctl

# A minimal image may keep dpkg from installing manuals at all.
if grep -qs '^path-exclude[= ]*/usr/share/man/' /etc/dpkg/dpkg.cfg.d/*; then
	for _m in syncd.8 syncctl.1 syncd.conf.5; do
		ok "# skip man -w ${_m%.*}: dpkg excludes /usr/share/man on this machine"
	done
	man_opt=--man=no
else
	for _m in syncd.8 syncctl.1 syncd.conf.5; do
		is "$(man -w "${_m%.*}" 2>&1)" "/usr/share/man/man${_m##*.}/$_m.gz" "man -w ${_m%.*} finds its manual"
	done
	man_opt=--man=yes
fi
unset _m

# verify exits 0 even on unknown keys: any output is a failure.  With
# --man=yes it also checks Documentation='s man pages.
run systemd-analyze verify "$man_opt" "$UNIT"
is "$RC:$OUT" "0:" "systemd-analyze verify $UNIT prints nothing"
run systemd-analyze security --offline=yes "$UNIT"
exposure=$(sed -n 's/.*Overall exposure level for syncd.service: \([0-9.]*\).*/\1/p' <<<"$OUT")
check "systemd-analyze security: exposure ${exposure:-?} <= 2.0" \
	awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'

version=$(dpkg-query -W -f='${Version}' syncd)
run /usr/sbin/syncd --version
is "$RC:$OUT" "0:syncd $version" "the installed syncd --version says the package's version"
run /usr/bin/syncctl --version
is "$RC:$OUT" "0:syncctl $version" "the installed syncctl --version too"

# --- 3. started the way syncd.service starts it -----------------------------

# unit_key KEY: the value of KEY= in the installed unit (the last one).
unit_key() {
	sed -n "s/^$1=//p" "$UNIT" | tail -n 1
}
exec_start=$(unit_key ExecStart)
user=$(unit_key User)
group=$(unit_key Group)
umask=$(unit_key UMask)
# No prefixes (-@:+!), quotes or specifiers: a plain word split is exact.
like "$exec_start" '^/[^"'"'"'%$\\]*$' "ExecStart= is a plain command line: $exec_start" || exit 1
is "$user:$group" "_syncd:_syncd" "the unit runs as User=_syncd, Group=_syncd"
read -ra cmd <<<"$exec_start"

SOCK="@rpcsync-t-package-$$"   # abstract: _syncd needs no path to it
DLOG="$T/syncd.log"
: >"$DLOG"
"$BIN/tests/notifysink" "$SOCK" >"$T/sink.out" 2>&1 &
sink=$!
said() { grep -Eq -- "$1" "$T/sink.out"; }
# readies N: true once the sink has N READY=1 messages.
readies() { [ "$(grep -c '^READY=1' "$T/sink.out")" -ge "$1" ]; }
check "the notification socket is bound" wait_for 5 said '^listening$'

# As systemd does: a clean environment, the user's identity with no
# capabilities left, the unit's umask, / as the working directory, stdin
# from /dev/null, stdout and stderr to the journal (JOURNAL_STREAM is that
# stream's device:inode).
(
	cd / && umask "${umask:-0022}" &&
	exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME="$home" USER="$user" LOGNAME="$user" SHELL="$shell" \
		NOTIFY_SOCKET="$SOCK" JOURNAL_STREAM="$(stat -c %d:%i "$DLOG")" \
		setpriv --reuid="$user" --regid="$group" --init-groups \
		--inh-caps=-all --bounding-set=-all --no-new-privs -- "${cmd[@]}"
) </dev/null >>"$DLOG" 2>&1 &
daemon=$!
check "READY=1 from the installed syncd" wait_for 10 said '^READY=1' || diag "$(cat "$DLOG")"
is "$(ps -o user=,group= -p "$daemon" | tr -s ' ')" "_syncd _syncd" "syncd runs as _syncd:_syncd"
is "$(awk '$1 == "CapEff:" || $1 == "CapBnd:" { print $2 }' "/proc/$daemon/status" | sort -u)" \
	0000000000000000 "... with no capabilities, none in its bounding set"
check "rpcinfo -p lists the program" in_rpcbind
like "$(head -n 1 "$DLOG")" '^<[0-7]>syncd: ' "its log lines carry journald's <N> priority prefix"

# A sample tree: modes, nested directories, a symlink, an empty file, one
# big enough for several blocks; nanosecond mtimes.
S="$T/site"
mkdir -p "$S/a/b" "$S/empty"
echo hello >"$S/index.html"
: >"$S/a/zero"
head -c 300000 /dev/urandom >"$S/a/b/blob"
printf '#!/bin/sh\necho hi\n' >"$S/a/run.sh"
chmod 755 "$S/a/run.sh"
chmod 600 "$S/a/b/blob"
chmod 750 "$S/a/b"
ln -s ../index.html "$S/a/link"
stamp_tree "$S" @1700000000.123456789

run /usr/bin/syncctl push 127.0.0.1 "$S"
is "$RC" 0 "the installed syncctl pushes to the default export"
assert_trees_equal "$S" "$STATE/site" "the default export holds the tree (content and metadata)"
is "$(find "$STATE/site" \( ! -user _syncd -o ! -group _syncd \) -printf '%p\n' | head -n 5)" "" \
	"... every file owned by _syncd"

# --- 4. SIGHUP: reload ------------------------------------------------------

# unit_reload: runs the unit's ExecReload= lines in order, as its user, with
# $MAINPID, stopping at the first that fails (as systemctl reload does);
# returns that status.
unit_reload() {
	local line rc
	while IFS= read -r line; do
		line=${line//\$MAINPID/$daemon}
		read -ra rcmd <<<"$line"
		rc=0
		setpriv --reuid="$user" --regid="$group" --init-groups -- "${rcmd[@]}" \
			>>"$T/reload.out" 2>&1 </dev/null || rc=$?
		[ "$rc" -eq 0 ] || return "$rc"
	done < <(sed -n 's/^ExecReload=//p' "$UNIT")
}
is "$(sed -n 's/^ExecReload=//p' "$UNIT" | wc -l)" 2 "the unit reloads in two steps (check, then SIGHUP)"

install -d -o _syncd -g _syncd -m 0750 "$STATE/second"
printf '\n[second]\npath = %s/second\nhosts allow = 127.0.0.0/8, ::1\n' "$STATE" >>"$CONF"
run unit_reload
is "$RC" 0 "the unit's reload: status 0" || diag "$(cat "$T/reload.out")"
like "$(cat "$T/reload.out")" "$CONF: configuration OK" "... its check said OK"
check "SIGHUP: RELOADING=1" wait_for 10 said '^RELOADING=1'
check "... then READY=1" wait_for 10 readies 2
check "... logged: reloaded $CONF" wait_for 5 grep -q "reloaded $CONF" "$DLOG"
echo two >"$S/index.html"
stamp_tree "$S" @1700000001.5
run /usr/bin/syncctl push 127.0.0.1:second/ "$S"
is "$RC" 0 "a push to the new export 'second'"
assert_trees_equal "$S" "$STATE/second" "... which holds the tree"

printf 'no such key = 1\n' >>"$CONF"
run unit_reload
is "$RC" 78 "a broken configuration: the unit's reload fails (78) at its check"
like "$(cat "$T/reload.out")" "unknown key 'no such key'" "... saying why"
is "$(grep -c '^RELOADING=1' "$T/sink.out")" 1 "... and syncd got no SIGHUP"
kill -HUP "$daemon"
check "a broken configuration: logged 'keeping the old configuration'" \
	wait_for 10 grep -qx '<3>syncd: reload failed; keeping the old configuration' "$DLOG"
like "$(grep -B 1 'keeping the old' "$DLOG" | head -n 1)" \
	"^<3>syncd: $CONF:[0-9]+: unknown key 'no such key'\$" "... after the reason, both errors"
check "... READY=1 again" wait_for 10 readies 3
check "... still running" kill -0 "$daemon"
echo three >"$S/index.html"
run /usr/bin/syncctl push 127.0.0.1:second/ "$S"
is "$RC" 0 "... still serving 'second' (the old configuration)"
assert_trees_equal "$S" "$STATE/second" "... with the new content"

# --- 5. SIGTERM -------------------------------------------------------------

kill -TERM "$daemon"
check "SIGTERM: STOPPING=1" wait_for 10 said '^STOPPING=1'
check "... and syncd exits" wait_for 15 gone "$daemon"
rc=0
wait "$daemon" || rc=$?
is "$rc" 0 "... with status 0"
check "rpcinfo -p no longer lists the program" eval '! in_rpcbind'
kill "$sink"
wait "$sink" 2>/dev/null

# --- 5b. without systemd: the init script ----------------------------------

sed -i '/^no such key/d' "$CONF"
run /etc/init.d/syncd start
is "$RC" 0 "init script: start" || diag "$OUT"
check "... syncd registers" wait_for 10 registered
daemon=$(pgrep -x -u _syncd syncd)
check "... one syncd runs, as _syncd" test -n "$daemon" -a "$(wc -w <<<"$daemon")" -eq 1
run /etc/init.d/syncd status
is "$RC" 0 "init script: status says running" || diag "$OUT"
install -d -o _syncd -g _syncd -m 0750 "$STATE/third"
printf '\n[third]\npath = %s/third\nhosts allow = 127.0.0.0/8, ::1\n' "$STATE" >>"$CONF"
run /etc/init.d/syncd reload
is "$RC" 0 "init script: reload (SIGHUP)" || diag "$OUT"
check "... the new export 'third' is served" \
	wait_for 10 /usr/bin/syncctl push 127.0.0.1:third/ "$S"
assert_trees_equal "$S" "$STATE/third" "... and holds the tree"
is "$(pgrep -x syncd)" "$daemon" "... by the same syncd"
run /etc/init.d/syncd stop
is "$RC" 0 "init script: stop" || diag "$OUT"
check "... syncd exits" wait_for 15 gone "$daemon"
check "... and is unregistered" eval '! in_rpcbind'

# --- 6. purge ---------------------------------------------------------------

run apt-get purge -y syncd syncctl
is "$RC" 0 "apt-get purge -y syncd syncctl" || diag "$OUT"
check "syncd's package is gone" eval '! pkg_there syncd'
check "... and syncctl's" eval '! pkg_there syncctl'
for _f in /usr/sbin/syncd /usr/bin/syncctl "$UNIT" "$CONF" /usr/share/man/man8/syncd.8.gz; do
	check "$_f is gone" test ! -e "$_f"
done
unset _f
is "$(id -u _syncd 2>&1)" "$uid" "the _syncd user stays (files may still be its)"
assert_trees_equal "$S" "$STATE/second" "the data in $STATE stays"

done_testing
