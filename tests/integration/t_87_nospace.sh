#!/bin/bash
# t_87_nospace.sh -- fault matrix rows 7 and 8: the export's filesystem is
# full.  Each export is a tmpfs mounted in this test's private mount
# namespace.  Row 7 (size=1m): a push that replaces a tree which fits with
# one that needs a 5 MB file and more room for the changed small files
# (whole and delta) fails with exit 1, naming every file that did not fit
# with "no space"; each file is its old or its new version, whole (by
# content hash), and the files named are exactly those not published; no
# temp is left, the log has one line per failed file, syncd's descriptors
# and threads come back to the baseline and a next, small push succeeds.
# What ENOSPC does to a group: here (tmpfs; ext4 too, which reserves blocks
# at write time) the space runs out at WRITE or COPY, before COMMIT, so the
# file's handle fails, its temp goes at COMMIT and it never joins a group,
# which publishes the others.  Should a group's rename or first syncfs say
# ENOSPC, staging removes the temps concerned and reports each file by its
# path as well.  Either way the client names each file not published (up
# to SYNC_FAIL_MAX per BARRIER; more are counted, not named).
# Row 8 (nr_inodes=16): a tree of directories, symlinks and files runs out
# of inodes; each entry is either made whole or named in a clear error,
# nothing half-made or temp is left, and a smaller tree pushed with
# --delete converges exactly.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

FULL="$T/full"       # row 7's export
FEW="$T/few"         # row 8's export
mkdir -p "$FULL" "$FEW"
mount -t tmpfs -o size=1m,mode=755 tmpfs "$FULL" || { not_ok "mount a 1 MiB tmpfs"; exit 1; }
mount -t tmpfs -o size=8m,nr_inodes=16,mode=755 tmpfs "$FEW" ||
	{ not_ok "mount a tmpfs with 16 inodes"; exit 1; }
# Unmounted at exit, before common.sh removes $T (the namespace would drop
# them anyway; this keeps rm quiet).
unmount_at_exit() {
	local rc=$?
	umount "$FULL" "$FEW" 2>/dev/null
	(exit "$rc")
	_cleanup
}
trap unmount_at_exit EXIT

cat >"$T/syncd.conf" <<CONF
[full]
path = $FULL

[few]
path = $FEW
CONF
start_syncd -c "$T/syncd.conf" || exit 1

fds() { find "/proc/$SYNCD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$SYNCD_PID/status"; }
temps() { find "$1" -name '.syncd-tmp.*' | wc -l; }
quiet_as() { [ "$(fds)" -le "$1" ] && [ "$(threads)" -le "$2" ]; }
# failed_paths WHY: the paths syncctl named in OUT with the error text WHY.
failed_paths() { sed -n "s/^syncctl: \\(.*\\): $1\$/\\1/p" <<<"$OUT" | sort -u; }
sum_of() { if [ -f "$1" ]; then md5sum <"$1" | cut -c1-32; else echo absent; fi; }
NOSPACE="no space or inodes left on server"

# --- row 7: no space ---------------------------------------------------------
# Old: 8 small files and 2 of 100 KB (about 680 KB of the 1 MiB).  New: the
# small ones grown, the 100 KB ones changed in their last block (sent as
# deltas), and a 5 MB file that can never fit.  The temps of a group live
# beside the old files until the group is renamed, so some small files fail
# too, whichever order they arrive in.
A="$T/old" B="$T/new"
mkdir -p "$A/d" "$B/d"
for i in $(seq 8); do
	head -c 60000 /dev/urandom >"$A/d/s$i"
	head -c 70000 /dev/urandom >"$B/d/s$i"
done
for i in 1 2; do
	head -c 100000 /dev/urandom >"$A/d/m$i"
	{ head -c 99000 "$A/d/m$i"; head -c 1000 /dev/urandom; } >"$B/d/m$i"
done
head -c 5000000 /dev/urandom >"$B/d/big"
stamp_tree "$A"
stamp_tree "$B" @1300000000.5

run "$SYNCCTL" push 127.0.0.1:full/t "$A"
is "$RC" 0 "row 7: the old tree fits"
wait_for 10 quiet_as 1000000 1000000
base_fds=$(fds) base_threads=$(threads)
log_before=$(wc -l <"$SYNCD_LOG")

run "$SYNCCTL" push 127.0.0.1:full/t "$B"
is "$RC" 1 "row 7: a push that does not fit exits 1"
like "$OUT" "^syncctl: t/d/big: $NOSPACE\$" "row 7: the file that did not fit is named, 'no space'"
unlike "$OUT" "^syncctl: .*(SYNC_ERR|internal server error|unknown status)" "row 7: no vague error"
failed=$(failed_paths "$NOSPACE")
torn='' unpublished=''
for f in "$B"/d/*; do
	n=${f##*/}
	got=$(sum_of "$FULL/t/d/$n")
	if [ "$got" = "$(sum_of "$B/d/$n")" ]; then
		continue
	elif [ "$got" = "$(sum_of "$A/d/$n")" ]; then
		unpublished+="t/d/$n"$'\n'
	else
		torn+="$n "
	fi
done
is "$torn" "" "row 7: every file is its old or its new version, whole"
is "$failed" "$(sort <<<"${unpublished%$'\n'}")" \
	"row 7: the files named are exactly the files not published"
diag "row 7: not published: $(tr '\n' ' ' <<<"$failed")"
check "row 7: some small files did not fit either" grep -q 't/d/s' <<<"$failed"
check "row 7: no part of the big file is visible" [ ! -e "$FULL/t/d/big" ]
is "$(temps "$FULL")" 0 "row 7: no temp file is left"
# One warning per failed file, with its path and the cause.
log=$(tail -n +"$((log_before + 1))" "$SYNCD_LOG")
like "$log" "t/d/big.*No space left on device" "row 7: syncd's log names the big file and ENOSPC"
lines=$(grep -c 'No space left on device\|no space or inodes' <<<"$log")
is "$lines" "$(wc -l <<<"$failed")" "row 7: syncd logs one line per failed file"
if wait_for 10 quiet_as "$base_fds" "$base_threads"; then
	ok "row 7: syncd's descriptors and threads are back to the baseline"
else
	not_ok "row 7: fds and threads back ($(fds) fds, $(threads) threads; $base_fds and $base_threads before)"
fi
# syncd still serves: a small push beside it fits and succeeds.
mkdir -p "$T/small/sub"
printf 'small\n' >"$T/small/sub/file"
stamp_tree "$T/small"
run "$SYNCCTL" push 127.0.0.1:full/small "$T/small"
is "$RC" 0 "row 7: the next (small) push succeeds"
assert_trees_equal "$T/small" "$FULL/small" "row 7: and is exact"

# --- row 8: no inodes --------------------------------------------------------
# 6 directories, each with a subdirectory, a file in both and a symlink:
# 30 entries for the 15 inodes left.
S="$T/many"
for d in 1 2 3 4 5 6; do
	mkdir -p "$S/d$d/sub"
	printf 'file %s\n' "$d" >"$S/d$d/f"
	printf 'deeper %s\n' "$d" >"$S/d$d/sub/g"
	ln -s "../d1/f" "$S/d$d/l"
done
stamp_tree "$S"
log_before=$(wc -l <"$SYNCD_LOG")
run "$SYNCCTL" push 127.0.0.1:few/t "$S"
is "$RC" 1 "row 8: a push that runs out of inodes exits 1"
failed=$(failed_paths "$NOSPACE")
check "row 8: some entries are named with '$NOSPACE'" [ -n "$failed" ]
unlike "$OUT" "^syncctl: .*(SYNC_ERR|internal server error|unknown status)" "row 8: no vague error"
# Each entry is whole (same type, content or target) or named as failed.
bad=
while IFS= read -r -d '' e; do
	e=${e#./}
	src="$S/$e" dst="$FEW/t/$e"
	if grep -qxF "t/$e" <<<"$failed"; then
		# Named: it may be missing; if there, it is not half-made.
		if [ -f "$dst" ] && ! cmp -s "$src" "$dst"; then bad+="$e(partial) "; fi
		continue
	fi
	if [ -L "$src" ]; then
		[ "$(readlink "$dst" 2>/dev/null)" = "$(readlink "$src")" ] || bad+="$e "
	elif [ -d "$src" ]; then
		[ -d "$dst" ] && [ ! -L "$dst" ] || bad+="$e "
	else
		cmp -s "$src" "$dst" || bad+="$e "
	fi
done < <(cd "$S" && find . -mindepth 1 -print0)
is "$bad" "" "row 8: every entry is made whole or named as failed"
is "$(temps "$FEW")" 0 "row 8: no temp file is left"
log=$(tail -n +"$((log_before + 1))" "$SYNCD_LOG")
like "$log" "'t/d[1-6]/[^']*': $NOSPACE" "row 8: syncd's log names the entries"
check "row 8: no more log lines than failed entries ($(wc -l <<<"$log") lines)" \
	[ "$(wc -l <<<"$log")" -le "$(wc -l <<<"$failed")" ]
# Smaller tree, --delete: the rest goes, what is left fits, the export converges.
rm -rf "$S/d3" "$S/d4" "$S/d5" "$S/d6" "$S/d2/sub"
run "$SYNCCTL" --delete push 127.0.0.1:few/t "$S"
is "$RC" 0 "row 8: a smaller tree pushed with --delete succeeds"
assert_trees_equal "$S" "$FEW/t" "row 8: the export converged exactly"
is "$(temps "$FEW")" 0 "row 8: still no temp file"
if wait_for 10 quiet_as "$base_fds" "$base_threads"; then
	ok "row 8: syncd's descriptors and threads are back to the baseline"
else
	not_ok "row 8: fds and threads back ($(fds) fds, $(threads) threads)"
fi

stop_syncd
done_testing
