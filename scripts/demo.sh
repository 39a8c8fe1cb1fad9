#!/bin/bash
# demo.sh -- `make demo`: rpcsync end to end on this machine, in a minute.
#
#   scripts/demo.sh BUILD_DIR
#
# Starts rpcbind if none answers, serves BUILD_DIR/demo/export with a
# foreground syncd, pushes a small sample tree with syncctl, shows the result,
# pushes again to show that nothing is re-sent, and stops syncd (always, via
# a trap).  Everything lives under BUILD_DIR/demo and is recreated on each
# run.  Needs root (rpcbind) and the binaries from `make`.
set -u

B=${1:-build}
PROG=542333262
if [ ! -x "$B/syncd" ] || [ ! -x "$B/syncctl" ]; then
	echo "demo: $B/syncd and $B/syncctl are missing; run 'make' first" >&2
	exit 1
fi
B=$(cd "$B" && pwd)
D="$B/demo"
SYNCD_PID=

say() {
	if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi
}

# wait_until SECS CMD...: polls CMD every 0.1 s for at most SECS seconds.
wait_until() {
	local tries=$(($1 * 10))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

stop_syncd() {
	[ -n "$SYNCD_PID" ] || return 0
	kill -TERM "$SYNCD_PID" 2>/dev/null
	wait_until 10 sh -c "! kill -0 $SYNCD_PID" || kill -KILL "$SYNCD_PID" 2>/dev/null
	wait "$SYNCD_PID" 2>/dev/null
	SYNCD_PID=
}
trap stop_syncd EXIT
trap 'exit 130' INT TERM

# --- rpcbind
say "1. rpcbind"
if rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
	echo "rpcbind is already running."
else
	echo "rpcbind is not running: starting it (rpcbind -w)."
	rpcbind -w || { echo "demo: cannot start rpcbind (are you root? is the rpcbind package installed?)" >&2; exit 1; }
	wait_until 5 rpcinfo -p 127.0.0.1 || { echo "demo: rpcbind does not answer" >&2; exit 1; }
fi
if rpcinfo -p 127.0.0.1 2>/dev/null | awk -v p="$PROG" '$1 == p { f = 1 } END { exit !f }'; then
	echo "demo: a syncd is already registered with rpcbind on this machine;" >&2
	echo "      the demo would take its registration over.  Stop it first." >&2
	exit 1
fi

# --- a fresh export and sample tree
rm -rf "$D"
mkdir -p "$D/export" "$D/sample/docs/empty-dir"
printf 'Hello from rpcsync.\n' >"$D/sample/hello.txt"
printf '# Notes\nFiles keep their mode and mtime.\n' >"$D/sample/docs/notes.md"
printf '#!/bin/sh\necho run me\n' >"$D/sample/run.sh"
chmod 0755 "$D/sample/run.sh"
printf 'private\n' >"$D/sample/docs/secret.txt"
chmod 0600 "$D/sample/docs/secret.txt"
ln -s docs/notes.md "$D/sample/notes-link"

# --- syncd
say "2. syncd serves $D/export as export \"default\""
"$B/syncd" -f --root "$D/export" >"$D/syncd.log" 2>&1 &
SYNCD_PID=$!
if ! wait_until 10 rpcinfo -t 127.0.0.1 "$PROG" 1; then
	echo "demo: syncd did not come up; its log:" >&2
	cat "$D/syncd.log" >&2
	exit 1
fi
echo "syncd runs as pid $SYNCD_PID; rpcbind now lists it:"
rpcinfo -p 127.0.0.1 | awk -v p="$PROG" 'NR == 1 || $1 == p'

# --- first push
say "3. syncctl --stats push localhost $D/sample"
"$B/syncctl" --stats push localhost "$D/sample" || { echo "demo: the push failed" >&2; exit 1; }

say "4. what arrived in the export"
(cd "$D/export" && find . -mindepth 1 \
	\( -type l -printf '%M %6s  %TY-%Tm-%Td %TH:%TM  %P -> %l\n' \) -o \
	-printf '%M %6s  %TY-%Tm-%Td %TH:%TM  %P\n' | sort -k 5)
if diff -r "$D/sample" "$D/export/sample" >/dev/null; then
	echo "(content identical to the sample: diff -r is silent)"
fi

# --- second push
say "5. the same push again"
out=$("$B/syncctl" --stats push localhost "$D/sample") || { echo "demo: the second push failed" >&2; exit 1; }
printf '%s\n' "$out"

stop_syncd
trap - EXIT

sent=$(sed -n 's/^files sent: //p' <<<"$out")
trips=$(sed -n 's/^round trips: //p' <<<"$out")
say "What happened"
cat <<EOF
- syncd started in the foreground, exported $D/export as "default"
  and registered program $PROG version 1 (TCP) with rpcbind.
- syncctl asked rpcbind where syncd listens, said HELLO, listed the remote
  side, and sent every file as a temp file that syncd renamed into place only
  after the data was on disk.  Modes, mtimes and the symlink came along.
- The second push compared both sides, found nothing to do and sent
  ${sent:-?} files in ${trips:-?} round trips.
- syncd was stopped with SIGTERM and removed its rpcbind registration.
  rpcbind itself is left running.  The demo files are in $D.
EOF
