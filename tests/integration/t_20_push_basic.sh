#!/bin/bash
# t_20_push_basic.sh -- a push reproduces a tree exactly: empty tree, nested
# and empty directories, symlinks (dangling and absolute targets too), modes
# 0751/0600, setuid/setgid/sticky stripped, mtimes to the nanosecond; the target forms HOST DIR,
# HOST/PATH, HOST:EXPORT/PATH; setuid/setgid bits are not mirrored.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E"
start_syncd --root "$E" || exit 1

# --- empty tree, default PATH = base name of DIR
mkdir -p "$T/empty"
chmod 0755 "$T/empty"
stamp_tree "$T/empty"
run "$SYNCCTL" push 127.0.0.1 "$T/empty"
is "$RC" 0 "push of an empty tree: exit 0"
assert_trees_equal "$T/empty" "$E/empty" "empty tree pushed to EXPORT/<basename DIR>"

# --- a tree with every kind of entry
S="$T/src"
mkdir -p "$S/a/b/c" "$S/empty1" "$S/empty2/nested-empty" "$S/modes"
printf 'hello\n' >"$S/top.txt"
printf 'deep\n' >"$S/a/b/c/deep.txt"
printf 'in a\n' >"$S/a/file"
: >"$S/a/b/zero"
ln -s top.txt "$S/link-to-file"
ln -s a/b "$S/link-to-dir"
ln -s does/not/exist "$S/dangling"
ln -s /etc/passwd "$S/absolute"
ln -s ../../outside "$S/a/upward"
printf 'secret\n' >"$S/modes/m0600"
printf 'x\n' >"$S/modes/m0751"
printf 'x\n' >"$S/modes/m0400"
chmod 0600 "$S/modes/m0600"
chmod 0751 "$S/modes/m0751"
chmod 0400 "$S/modes/m0400"
mkdir "$S/modes/d0751" "$S/modes/d0700"
chmod 0751 "$S/modes/d0751"
chmod 0700 "$S/modes/d0700"
stamp_tree "$S"
# Distinct nanosecond stamps on a few entries, so no default could match.
touch -h -d @1000000000.000000001 "$S/top.txt"
touch -h -d @1600000000.999999999 "$S/dangling"
touch -d @1500000000.5 "$S/a/b/zero"
touch -d @1400000000.123456789 "$S/a"

run "$SYNCCTL" --stats push 127.0.0.1:default/dst "$S"
is "$RC" 0 "push HOST:EXPORT/PATH: exit 0"
assert_trees_equal "$S" "$E/dst" "tree pushed to HOST:EXPORT/PATH"
n=$(find "$S" -mindepth 1 | wc -l)
like "$(stat_of 'files scanned')" "^($n|$((n + 1)))\$" "--stats: files scanned counts every entry"
is "$(stat_of 'files sent')" 7 "--stats: files sent counts the regular files"
is "$(stat_of 'bytes sent')" "$(find "$S" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')" \
	"--stats: bytes sent is the file data"
is "$(stat_of 'entries deleted')" 0 "--stats: nothing deleted"
is "$(readlink "$E/dst/absolute")" /etc/passwd "absolute link target stored verbatim"
is "$(readlink "$E/dst/a/upward")" ../../outside "upward link target stored verbatim"

# --- HOST/PATH form (export "default")
run "$SYNCCTL" push 127.0.0.1/dst2 "$S"
is "$RC" 0 "push HOST/PATH: exit 0"
assert_trees_equal "$S" "$E/dst2" "tree pushed to HOST/PATH"

# --- a multi-component PATH is created like mkdir -p
run "$SYNCCTL" push localhost:default/x/y/z "$S"
is "$RC" 0 "push to a new nested PATH via localhost: exit 0"
assert_trees_equal "$S" "$E/x/y/z" "tree pushed to a new nested PATH"

# --- setuid, setgid and sticky are never mirrored; the permission bits are
mkdir -p "$T/suid/sticky" "$T/suid/sgid"
printf '#!/bin/sh\n' >"$T/suid/tool"
chmod 6755 "$T/suid/tool"
chmod 1777 "$T/suid/sticky"
chmod 2750 "$T/suid/sgid"
run "$SYNCCTL" push 127.0.0.1 "$T/suid"
is "$RC" 0 "push of setuid, setgid and sticky entries: exit 0"
is "$(stat -c %a "$E/suid/tool")" 755 "setuid/setgid bits stripped from a file, permission bits kept"
is "$(stat -c %a "$E/suid/sticky")" 777 "the sticky bit stripped from a directory"
is "$(stat -c %a "$E/suid/sgid")" 750 "setgid stripped from a directory"
run "$SYNCCTL" --stats push 127.0.0.1 "$T/suid"
is "$(stat_of 'files sent')" 0 "a second push sends nothing (the stripped bits are not a difference)"

# --- DIR missing, or not a directory: an error, and nothing is created
run "$SYNCCTL" push 127.0.0.1 "$T/missing"
is "$RC" 74 "missing DIR with syncd running: exit 74"
printf 'x\n' >"$T/a-file"
run "$SYNCCTL" push 127.0.0.1 "$T/a-file"
isnt "$RC" 0 "DIR is a regular file: non-zero exit"
if [ -e "$E/a-file" ] || [ -e "$E/missing" ]; then not_ok "nothing created for a bad DIR"; else ok "nothing created for a bad DIR"; fi

# --- no temp file is left anywhere
is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "no temp files left in the export"

stop_syncd
done_testing
