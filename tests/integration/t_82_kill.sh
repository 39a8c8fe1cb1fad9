#!/bin/bash
# t_82_kill.sh -- fault matrix rows 1 and 2.  Row 1: syncd is killed with SIGKILL in
# the middle of a push that replaces every file, at a different point each
# run (while more and more temp files are being written, or once the first
# files of the new version are being published).  After
# each kill and restart: every file is its old or its new version, whole,
# never a mixture or a torn one; no temp file is visible; and a re-push
# converges to the new tree.  Row 2: the client is killed the same way; the
# server drops the session's temps and returns to its baseline.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
A="$T/old"
B="$T/new"
RUNS=6
mkdir -p "$E" "$A/d" "$B/d"
# 160 files in two versions of different sizes (some over the 1 MiB WRITE
# chunk, some big enough for a delta), and their checksums.
for i in $(seq 160); do
	n=$(((i * 7919) % 300000 + 1))
	[ $((i % 10)) -eq 0 ] && n=$((n + 1200000))
	head -c "$n" /dev/urandom >"$A/d/f$i"
	head -c $((n + i)) /dev/urandom >"$B/d/f$i"
done
(cd "$A/d" && md5sum f* | sort) >"$T/old.sums"
(cd "$B/d" && md5sum f* | sort) >"$T/new.sums"

start_syncd --root "$E" || exit 1
run "$SYNCCTL" push 127.0.0.1/t "$A"
is "$RC" 0 "the old version is in place"

# temps: how many temp files syncd is writing; new_files: how many files
# of the export already hold their new content (published by a group).
temps() { find "$E" -name '.syncd-tmp.*' 2>/dev/null | wc -l; }
new_files() {
	(cd "$E/t/d" 2>/dev/null && md5sum f* 2>/dev/null | sort) |
	    comm -12 - "$T/new.sums" | wc -l
}
# ready R: the moment run R kills at -- while temps are being written
# (runs 1-4, more of them each run), or once publication has begun.
ready() {
	if [ "$1" -le 4 ]; then [ "$(temps)" -ge $(($1 * 8)) ]; else [ "$(new_files)" -ge 1 ]; fi
}

interrupted=0
for r in $(seq "$RUNS"); do
	"$SYNCCTL" --streams 2 push 127.0.0.1/t "$B" >"$T/push.$r" 2>&1 &
	client=$!
	for _ in $(seq 2000); do
		ready "$r" && break
		gone "$client" && break
	done
	at_kill="$(temps) temps, $(new_files) of 160 files new"
	kill -KILL "$SYNCD_PID"
	wait "$SYNCD_PID" 2>/dev/null
	SYNCD_PID=
	crc=0
	wait "$client" 2>/dev/null || crc=$?
	diag "run $r: killed with $at_kill; the client exited $crc"
	[ "$crc" -ne 0 ] && interrupted=$((interrupted + 1))
	check_syncd_log || true
	# Every file is whole: its old or its new content.
	bad=$( (cd "$E/t/d" && md5sum f* | sort) | comm -23 - "$T/old.sums" |
	    comm -23 - "$T/new.sums" | wc -l)
	is "$bad" 0 "run $r: every file is old or new, whole"
	is "$(ls "$E/t/d" | grep -c '^f')" 160 "run $r: no file lost"
	start_syncd --root "$E" || exit 1
	is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "run $r: the restarted syncd swept every temp"
	# Back to the old version for the next run (also a push after a crash).
	run "$SYNCCTL" push 127.0.0.1/t "$A"
	is "$RC" 0 "run $r: a push after the crash succeeds"
done

check "most kills hit a push in progress ($interrupted of $RUNS)" [ "$interrupted" -ge $((RUNS / 2)) ]

# Row 2: the client is killed instead.  The server ends the session: its
# temps go at once, its descriptors and threads come back to the baseline,
# and the files are old or new as before.
fds() { find "/proc/$SYNCD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$SYNCD_PID/status"; }
quiet_as() { [ "$(fds)" -le "$1" ] && [ "$(threads)" -le "$2" ] && [ "$(temps)" -eq 0 ]; }
base_fds=$(fds) base_threads=$(threads)
for r in 1 2 3; do
	"$SYNCCTL" --streams 2 push 127.0.0.1/t "$B" >"$T/cpush.$r" 2>&1 &
	client=$!
	for _ in $(seq 2000); do
		[ "$(temps)" -ge $((r * 10)) ] && break
		gone "$client" && break
	done
	diag "client run $r: killed with $(temps) temps"
	kill -KILL "$client"
	wait "$client" 2>/dev/null
	if wait_for 10 quiet_as "$base_fds" "$base_threads"; then
		ok "client run $r: temps gone, descriptors and threads back to the baseline"
	else
		not_ok "client run $r: temps gone, fds and threads back ($(temps) temps, $(fds) fds, $(threads) threads)"
	fi
	bad=$( (cd "$E/t/d" && md5sum f* | sort) | comm -23 - "$T/old.sums" |
	    comm -23 - "$T/new.sums" | wc -l)
	is "$bad" 0 "client run $r: every file is old or new, whole"
	run "$SYNCCTL" push 127.0.0.1/t "$A"
	is "$RC" 0 "client run $r: the next push succeeds"
done
run "$SYNCCTL" push 127.0.0.1/t "$B"
is "$RC" 0 "a last push of the new version"
assert_trees_equal "$B" "$E/t" "the tree converged to the new version"
stop_syncd
done_testing
