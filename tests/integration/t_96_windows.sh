#!/bin/bash
# t_96_windows.sh -- syncctl takes the local tree a window at a time
# (client/plan.c): a tree several windows long, with nested new
# directories, deletions, type changes and symlinks in every window, is
# reproduced exactly over several streams; a no-change re-push still costs
# HELLO + LIST + BARRIER (with --checksum too); the workers, which make
# the new directories their files go in (no BARRIER between windows unless
# one deleted something), find every replaced name freed (type changes
# without --delete) and leave directory modes and mtimes exact, under a
# destination missing several levels deep too; an unreadable directory in
# a later window keeps its server copy; and syncctl's peak memory does not
# grow with the tree (30,000 files stay within 2 MiB of 100; not under the
# sanitizers, whose allocator keeps freed memory on purpose).
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
mkdir -p "$E" "$S"

# files DIR N: N small files in DIR (f_aa, f_ab, ...; at most 676), one process.
files() {
	mkdir -p "$1" && seq "$2" | (cd "$1" && split -l 1 -a 2 - f_)
}

for ((i = 0; i < 60; i++)); do
	files "$S/top/d$i" 100
	files "$S/top/d$i/sub/deeper" 20
	if ((i % 10 == 0)); then
		ln -s "../d$((i + 1))/f_aa" "$S/top/d$i/link"
		mkdir -p "$S/top/d$i/empty"
	fi
done
for n in a a.b a-b a0; do files "$S/$n" 3; done
files "$S/a/b" 2
stamp_tree "$S"
start_syncd --root "$E" || exit 1

# --- a fresh push several windows long, over 4 streams
run timeout 200 "$SYNCCTL" --stats --streams 4 push 127.0.0.1/w "$S"
is "$RC" 0 "fresh push of a tree of several windows: exit 0"
is "$(stat_of 'files sent')" "$(find "$S" -type f | wc -l)" "fresh push: every file sent"
assert_trees_equal "$S" "$E/w" "fresh push reproduces the tree (directory mtimes too)"

# --- changes in every window: deletions, type changes, new nested
# directories first and last, a new symlink target, a changed file.
rm -rf "$S/top/d5" "$S/top/d30/f_a"[a-j]
rm -rf "$S/top/d40/sub" && printf 'now a file\n' >"$S/top/d40/sub"
rm -f "$S/top/d50/f_aa" && files "$S/top/d50/f_aa/inside" 5
files "$S/0new/x/y" 4
files "$S/top/d59/new1/new2/new3" 7
ln -sfn "../d2/f_ab" "$S/top/d10/link"
printf 'longer content\n' >"$S/top/d20/f_ac"
run timeout 200 "$SYNCCTL" --stats --streams 4 --delete push 127.0.0.1/w "$S"
is "$RC" 0 "update with --delete over 4 streams: exit 0"
is "$(stat_of 'entries deleted')" 13 "update: 13 entries deleted (a directory tree counts once)"
is "$(stat_of 'files sent')" 18 "update: only the 18 new or changed files sent"
assert_trees_equal "$S" "$E/w" "update reproduces the tree exactly"

# --- a no-change re-push: the same round trips as a tiny tree's
run timeout 200 "$SYNCCTL" --stats --streams 4 --delete push 127.0.0.1/w "$S"
is "$RC" 0 "no-change re-push: exit 0"
is "$(stat_of 'files sent')" 0 "no-change re-push: nothing sent"
is "$(stat_of 'round trips')" 3 "no-change re-push: HELLO + LIST + BARRIER"

# --- --checksum over several windows: the hashing decides, nothing differs
run timeout 200 "$SYNCCTL" --stats --streams 4 --checksum push 127.0.0.1/w "$S"
is "$RC" 0 "--checksum re-push: exit 0"
is "$(stat_of 'files sent')" 0 "--checksum re-push: nothing sent"
is "$(stat_of 'round trips')" 3 "--checksum re-push: HELLO + LIST + BARRIER"

# --- type changes without --delete, windows after the start, over 4
# streams: a directory becomes a file, a file and a symlink become
# directories of files, next to new nested directories.  Each replacement
# is a DELETE on the primary, which the workers' files must find done.
rm -rf "$S/top/d20" && printf 'was a directory\n' >"$S/top/d20"
rm -f "$S/top/d35/f_ab" && files "$S/top/d35/f_ab/in" 30
rm -f "$S/top/d10/link" && files "$S/top/d10/link/x" 30
files "$S/top/d36/n1/n2" 30
run timeout 200 "$SYNCCTL" --stats --streams 4 push 127.0.0.1/w "$S"
is "$RC" 0 "type changes without --delete over 4 streams: exit 0"
is "$(stat_of 'entries deleted')" 3 "type changes: the 3 replaced entries deleted"
assert_trees_equal "$S" "$E/w" "type changes: the tree is reproduced exactly"

# --- directories the workers make: unusual modes (one the owner cannot
# write, filled first and given its mode last), nested over two windows,
# under a destination three levels deep that does not exist yet.
S2="$T/src2"
for ((i = 0; i < 30; i++)); do
	files "$S2/m$i/a/b" 80
done
chmod 0555 "$S2/m3/a/b" "$S2/m17/a"
chmod 0750 "$S2/m9/a/b" "$S2/m29"
chmod 0711 "$S2/m20/a"
stamp_tree "$S2"
run timeout 200 "$SYNCCTL" --stats --streams 4 push 127.0.0.1/deep/er/w2 "$S2"
is "$RC" 0 "fresh push to a missing deep destination over 4 streams: exit 0"
is "$(stat_of 'files sent')" 2400 "missing deep destination: every file sent"
assert_trees_equal "$S2" "$E/deep/er/w2" "missing deep destination: modes and mtimes of every directory exact"
is "$(stat -c '%F %a' "$E/deep/er")" "directory 755" "missing deep destination: its parents made like mkdir -p"

# --- a directory we cannot read, windows after the start (root without
# CAP_DAC_*): reported, and with --delete what it holds on the server is
# left alone, while a deletion after it in the same push still happens.
if setpriv --bounding-set=-dac_override,-dac_read_search true 2>/dev/null; then
	chmod 000 "$S/top/d45"
	rm -f "$S/top/d58/f_ab"
	run timeout 200 setpriv --bounding-set=-dac_override,-dac_read_search \
		"$SYNCCTL" --stats --streams 4 --delete push 127.0.0.1/w "$S"
	is "$RC" 1 "unreadable directory: exit 1"
	like "$OUT" "top/d45: Permission denied" "unreadable directory: named with its error"
	is "$(find "$E/w/top/d45" -type f | wc -l)" 120 "unreadable directory: its server copy is left alone"
	check "a deletion after it still happened" test ! -e "$E/w/top/d58/f_ab"
	chmod 0755 "$S/top/d45"
else
	ok "# SKIP setpriv cannot drop capabilities here"
fi

# --- peak memory: 100 files, then 30,000
files "$T/m100/d" 100
for ((i = 0; i < 300; i++)); do files "$T/m30k/d$i" 100; done
# rss NAME: pushes $T/NAME over 2 streams; RC and OUT as run sets them,
# R its peak RSS in KiB.
rss() {
	/usr/bin/time -f '%M' -o "$T/rss" timeout 300 "$SYNCCTL" --stats --streams 2 \
		push "127.0.0.1/$1" "$T/$1" >"$T/out" 2>&1
	RC=$?
	OUT=$(cat "$T/out")
	R=$(tail -n 1 "$T/rss")
}
rss m100
r100=$R
is "$RC" 0 "push of 100 files: exit 0 (peak RSS $r100 KiB)"
rss m30k
r30k=$R
is "$RC" 0 "push of 30,000 files: exit 0 (peak RSS $r30k KiB)"
is "$(stat_of 'files sent')" 30000 "push of 30,000 files: all sent"
is "$(find "$E/m30k" -type f | wc -l)" 30000 "30,000 files arrived"
if ldd "$SYNCCTL" | grep -q 'libasan'; then
	ok "# SKIP peak RSS is not meaningful under AddressSanitizer"
elif [ -n "$r100" ] && [ -n "$r30k" ] && [ "$r30k" -le $((r100 + 2048)) ]; then
	ok "peak RSS of 30,000 files ($r30k KiB) within 2 MiB of 100 files ($r100 KiB)"
else
	not_ok "peak RSS of 30,000 files ($r30k KiB) within 2 MiB of 100 files ($r100 KiB)"
fi
run timeout 200 "$SYNCCTL" --stats --streams 2 push 127.0.0.1/m30k "$T/m30k"
is "$(stat_of 'round trips')" 3 "no-change re-push of 30,000 files: still 3 round trips"

stop_syncd
done_testing
