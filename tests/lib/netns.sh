#!/bin/bash
# netns.sh -- run one command in a private world with its own rpcbind.
#
#   tests/lib/netns.sh CMD [ARGS...]
#
# Why: syncd registers with rpcbind, which is a machine-wide singleton on
# 127.0.0.1:111 and /run/rpcbind.sock.  Each integration test runs in fresh
# network, mount and PID namespaces: a private loopback (so port 111 and the
# daemons' ports never collide), a tmpfs on /run (so /run/rpcbind.sock and the
# warm-start files are private) and a private /proc.  When CMD ends, rpcbind
# is stopped; everything else left inside dies with the namespace's init (this
# script).  The exit status is CMD's.  Needs real root (rpcbind setgid()s).
#
# Inside, RPCNS_RPCBIND_PID names the rpcbind process, so a test can restart it.
set -u

if [ -z "${RPCNS_INNER:-}" ]; then
	self=$(readlink -f "${BASH_SOURCE[0]}")
	# --kill-child: if unshare itself is killed (timeout -k), the namespace
	# dies with it instead of outliving the test run.
	exec unshare --net --mount --pid --fork --propagation private --mount-proc \
		--kill-child env RPCNS_INNER=1 bash "$self" "$@"
fi

die() {
	echo "netns.sh: $*" >&2
	exit 1
}

[ "$#" -gt 0 ] || die "usage: netns.sh CMD [ARGS...]"

mount -t tmpfs -o mode=755 tmpfs /run || die "cannot mount a tmpfs on /run"
ip link set lo up || die "cannot bring up lo"
install -d -o _rpc -g root -m 0755 /run/rpcbind || die "cannot create /run/rpcbind"

/sbin/rpcbind -f -w &
RPCNS_RPCBIND_PID=$!
export RPCNS_RPCBIND_PID

# Bounded wait (5 s) until rpcbind answers on both its socket and TCP port.
up=0
for _ in $(seq 100); do
	if [ -S /run/rpcbind.sock ] && rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
		up=1
		break
	fi
	kill -0 "$RPCNS_RPCBIND_PID" 2>/dev/null || break
	sleep 0.05
done
[ "$up" = 1 ] || die "rpcbind did not come up"

# CMD runs in the background so that a TERM/INT sent to us (we are PID 1 of
# the namespace, so only trapped signals reach us) is handled at once.
"$@" &
cmd_pid=$!
trap 'kill -TERM "$cmd_pid" 2>/dev/null' TERM INT
rc=0
wait "$cmd_pid" || rc=$?
# wait returns early (status > 128) when a trapped signal arrived: wait again.
while kill -0 "$cmd_pid" 2>/dev/null; do
	wait "$cmd_pid" || rc=$?
done

kill -TERM "$RPCNS_RPCBIND_PID" 2>/dev/null
exit "$rc"
