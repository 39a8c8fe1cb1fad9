#!/bin/bash
# t_87_readonly.sh -- fault matrix row 12: the export's filesystem turns
# read-only in the middle of a push.  The export is an ext4 image
# loop-mounted (errors=remount-ro) in this test's private mount namespace;
# each push replaces 10,000 files, which syncd publishes in groups.
#
# Part 1, the administrator's `mount -o remount,ro`.  Such a remount is
# refused (EBUSY, "mount point is busy") while any file on the filesystem is
# open for writing, and syncd holds a temp open from CREATE to COMMIT, which
# during syncctl's stream is nearly always (its records do not end at file
# boundaries).  So, once the first new files are published, the client is
# paused (SIGSTOP) and the remount is tried when syncd has read all it was
# sent, every thread of it waits in poll(2) and no temp is open (seen in
# /proc); else the client runs on until syncd's temps change and the next
# try comes (bounded).  The moment found is one where the client waits for
# a reply (BARRIER): what it committed is published, so the rest fails at
# CREATE, MKDIR or SETATTR and no temp is made.  Asserted: exit 1, the
# files named with "read-only file system"; syncd alive and serving (HELLO,
# LIST; MKDIR refused with SYNC_ERR_ROFS), fds and threads at the baseline;
# every file old or new and whole; about a log line per failed file; no
# temp left, so none needs sweeping; after `mount -o remount,rw` a re-push
# converges.
#
# Part 2, the kernel's own read-only remount, while temps are open and
# queued: ext4 detects an error (forced here through its sysfs
# trigger_fs_error, the path a real disk error takes), aborts its journal
# and turns read-only at once, open files or not.  A fsfreeze would only
# block writes, and `blockdev --setro` does not change a mounted
# filesystem, so this is the way to reach the open temps.  Writes, renames
# and the unlinks of the session's cleanup fail: syncctl names the files,
# every file stays old or new, and the temps stay on the disk.  Such a
# filesystem cannot be remounted read-write (the journal is aborted): syncd
# is stopped, the image checked (e2fsck) and mounted again.  The temps the
# journal kept (those made before its last commit; a rename it lost leaves
# one too) are removed by the sweep at syncd's next start (asserted, with
# its log line); every file is still old or new, and a re-push converges.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
IMG="$T/ext4.img"
A="$T/v1" B="$T/v2" C="$T/v3"
N=10000
mkdir -p "$E" "$A" "$B" "$C"
truncate -s 512M "$IMG"
mkfs.ext4 -q -N 65536 "$IMG" || { not_ok "mkfs.ext4"; exit 1; }
mount -o loop,errors=remount-ro "$IMG" "$E" || { not_ok "mount the ext4 image"; exit 1; }
# Unmounted at exit, before common.sh removes $T.
unmount_at_exit() {
	local rc=$?
	umount "$E" 2>/dev/null
	(exit "$rc")
	_cleanup
}
trap unmount_at_exit EXIT

# Three versions of 10 directories of 1000 files of random content; the
# version is told by the size: 4096, 4097 and 4098 bytes.
perl -e 'for my $d (1 .. 10) {
		for my $v (0 .. 2) {
			mkdir "$ARGV[$v]/d$d" or die;
			for my $f (1 .. 1000) {
				open(my $h, ">", "$ARGV[$v]/d$d/f$f") or die;
				print $h pack("N*", map { int(rand(2**32)) } 1 .. 1024), "\n" x $v;
				close($h) or die;
			}
		}
	}' "$A" "$B" "$C" || { not_ok "make the trees"; exit 1; }
for v in A B C; do
	(cd "${!v}" && find . -type f -exec md5sum {} + | sort) >"$T/$v.sums"
done

threads() { awk '/^Threads:/ { print $2 }' "/proc/$SYNCD_PID/status"; }
fds() { find "/proc/$SYNCD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
quiet_as() { [ "$(fds)" -le "$1" ] && [ "$(threads)" -le "$2" ]; }
alive() { ! gone "$1"; }
temps() { find "$E" -name '.syncd-tmp.*' | wc -l; }
on_disk() { find "$E" -name '.syncd-tmp.*' -printf '%f\n' | sort; }
open_temps() { find "/proc/$SYNCD_PID/fd" -lname '*/.syncd-tmp.*' | wc -l; }
# published SIZE: how many files of the export have the new version's size.
published() { find "$E/t" -name 'f*' -size "$1c" | wc -l; }
some_published() { [ -n "$(find "$E/t" -name 'f*' -size "$1c" -print -quit)" ]; }
# read_only: a file cannot be made in the export.
read_only() { ! touch "$E/.probe" 2>/dev/null; }
# moved SNAPSHOT: the temps on disk are no longer SNAPSHOT (syncd went on).
moved() { [ "$(on_disk)" != "$1" ]; }
# The number of the syscall poll(2) makes: ppoll on arm64, poll on x86-64.
case $(uname -m) in aarch64) POLL_NR=73 ;; *) POLL_NR=7 ;; esac
# idle: syncd has read everything the (paused) client sent and each of its
# threads waits in poll(2): nothing is being received, written, flushed or
# renamed.
idle() {
	[ -z "$(ss -tnH state established "( sport = :$(syncd_port) )" | awk '$1 != 0')" ] &&
	    ! grep -qv "^$POLL_NR " /proc/"$SYNCD_PID"/task/*/syscall
}
# old_or_new OLD NEW: how many files of the export are neither version, whole.
old_or_new() {
	(cd "$E/t" && find . -type f -name 'f*' -exec md5sum {} + | sort) |
	    comm -23 - "$T/$1.sums" | comm -23 - "$T/$2.sums" | wc -l
}
# serving PART: syncd runs, answers HELLO and LIST, and is back to its
# baseline of descriptors and threads.
serving() {
	check "$1: syncd is still running" alive "$SYNCD_PID"
	run "$RAWCALL" default hello
	like "$OUT" "^SYNC_OK" "$1: HELLO works"
	run "$RAWCALL" default list t/d1
	like "$OUT" "^SYNC_OK" "$1: LIST works"
	if wait_for 10 quiet_as "$base_fds" "$base_threads"; then
		ok "$1: syncd's descriptors and threads are back to the baseline"
	else
		not_ok "$1: fds and threads back ($(fds) fds, $(threads) threads; $base_fds and $base_threads before)"
	fi
}
# finish_push PART: waits for the client, asserts exit 1 and clear errors.
finish_push() {
	local crc=0
	kill -CONT "$client" 2>/dev/null
	wait_for 120 gone "$client" || not_ok "$1: the client finished"
	wait "$client" || crc=$?
	OUT=$(cat "$T/push.out")
	is "$crc" 1 "$1: the push exits 1"
	like "$OUT" '^syncctl: t/d[0-9]+/f[0-9]+: read-only file system' \
		"$1: the failed files are named: read-only file system"
	unlike "$OUT" "^syncctl: .*(SYNC_ERR|internal server error|unknown status)" \
		"$1: no vague error"
}

start_syncd --root "$E" || exit 1
base_fds=$(fds) base_threads=$(threads)
run "$SYNCCTL" push 127.0.0.1/t "$A"
is "$RC" 0 "version 1 is in place"

# --- part 1: mount -o remount,ro ---------------------------------------------
log_before=$(wc -l <"$SYNCD_LOG")
"$SYNCCTL" --streams 1 push 127.0.0.1/t "$B" >"$T/push.out" 2>&1 &
client=$!
wait_for 60 some_published 4097 || not_ok "part 1: new files were published"
check "part 1: the push is still running when the first new files are published" alive "$client"
remounted=0 deadline=$((SECONDS + 90))
for try in $(seq 100); do
	[ "$SECONDS" -lt "$deadline" ] || break
	kill -STOP "$client"
	wait_for 5 idle
	snap=$(on_disk)
	if [ "$(open_temps)" -eq 0 ] && mount -o remount,ro "$E" 2>"$T/mount.err"; then
		remounted=$try
		break
	fi
	# A temp is open: let the client go on until syncd's temps change.
	kill -CONT "$client"
	gone "$client" && break
	wait_for 10 moved "$snap"
done
check "part 1: the export was remounted read-only mid-push (try $remounted)" [ "$remounted" -gt 0 ]
n=$(published 4097)
check "part 1: some files, not all, were published before ($n)" test "$n" -gt 0 -a "$n" -lt "$N"
finish_push "part 1"
serving "part 1"
run "$RAWCALL" default mkdir t/newdir
like "$OUT" "^SYNC_ERR_ROFS" "part 1: a MKDIR is refused: SYNC_ERR_ROFS"
is "$(old_or_new A B)" 0 "part 1: every file is its old or its new version, whole"
is "$(find "$E/t" -type f -name 'f*' | wc -l)" "$N" "part 1: no file lost"
is "$(temps)" 0 "part 1: the session left no temp (none was made after the remount)"
# A line per file that was not published and per directory whose
# attributes could not be set (11), with the path and the cause.
log=$(tail -n +"$((log_before + 1))" "$SYNCD_LOG")
lines=$(grep -c 'read-only\|Read-only' <<<"$log")
notnew=$(published 4096)
check "part 1: syncd logs a line per failure ($lines lines, $notnew files not published)" \
	[ "$lines" -le $((notnew + 12)) ]
like "$log" "'t/d[0-9]+/f[0-9]+': read-only file system" "part 1: syncd's log names paths and the cause"
mount -o remount,rw "$E" || not_ok "part 1: remount read-write"
run "$SYNCCTL" push 127.0.0.1/t "$B"
is "$RC" 0 "part 1: after remount,rw a re-push succeeds"
assert_trees_equal "$B" "$E/t" "part 1: the export converged to version 2"
is "$(temps)" 0 "part 1: no temp"

# --- part 2: ext4 turns read-only by itself -----------------------------------
dev=$(basename "$(findmnt -no SOURCE "$E")")
trigger="/sys/fs/ext4/$dev/trigger_fs_error"
if [ ! -w "$trigger" ]; then
	ok "# skip part 2: this kernel has no $trigger"
	stop_syncd
	done_testing
	exit
fi
log_before=$(wc -l <"$SYNCD_LOG")
"$SYNCCTL" --streams 1 push 127.0.0.1/t "$C" >"$T/push.out" 2>&1 &
client=$!
wait_for 60 some_published 4098 || not_ok "part 2: new files were published"
# Wanted: a temp open (being written) and others committed, queued for
# their group, when the filesystem turns read-only.
deadline=$((SECONDS + 90))
for try in $(seq 100); do
	[ "$SECONDS" -lt "$deadline" ] || break
	kill -STOP "$client"
	wait_for 5 idle
	snap=$(on_disk)
	[ "$(open_temps)" -gt 0 ] && [ "$(grep -c . <<<"$snap")" -gt 1 ] && break
	kill -CONT "$client"
	gone "$client" && break
	wait_for 10 moved "$snap"
done
check "part 2: the push is still running, a temp open and others queued" \
	test "$(open_temps)" -gt 0 -a "$(temps)" -gt 1
echo 1 >"$trigger"
check "part 2: the filesystem is read-only now" read_only
diag "part 2: read-only with $(open_temps) temps open, $(temps) on disk, $(published 4098) files published"
finish_push "part 2"
serving "part 2"
is "$(old_or_new B C)" 0 "part 2: every file is its old or its new version, whole"
left=$(temps)
check "part 2: temps are left, the filesystem refused their removal ($left)" [ "$left" -gt 0 ]
log=$(tail -n +"$((log_before + 1))" "$SYNCD_LOG")
like "$log" "t/d[0-9]+/f[0-9]+.*(Read-only file system|read-only file system)" \
	"part 2: syncd's log names paths and the cause"
notnew=$(published 4097)
lines=$(wc -l <<<"$log")
check "part 2: syncd logs a line per failure ($lines lines, $notnew files not published)" \
	[ "$lines" -le $((notnew + 20)) ]
# The journal is aborted: no remount,rw.  Check the image, mount it again,
# and the next syncd sweeps what the session could not remove.
stop_syncd
umount "$E" || not_ok "part 2: unmount"
fsck_rc=0
e2fsck -fy "$IMG" >"$T/fsck.out" 2>&1 || fsck_rc=$?
check "part 2: e2fsck repaired the image (status $fsck_rc)" [ "$fsck_rc" -le 1 ]
mount -o loop,errors=remount-ro "$IMG" "$E" || { not_ok "part 2: mount again"; exit 1; }
is "$(old_or_new B C)" 0 "part 2: after the check every file is still old or new, whole"
left=$(temps)
diag "part 2: $left temps after the check"
start_syncd --root "$E" || exit 1
is "$(temps)" 0 "part 2: the restarted syncd swept the temps"
[ "$left" -eq 0 ] || like "$(cat "$SYNCD_LOG")" "removed $left stale temp file" "part 2: its log counts them"
run "$SYNCCTL" push 127.0.0.1/t "$C"
is "$RC" 0 "part 2: a re-push succeeds"
assert_trees_equal "$C" "$E/t" "part 2: the export converged to version 3"
is "$(temps)" 0 "part 2: no temp"
stop_syncd
done_testing
