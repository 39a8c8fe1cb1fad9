#!/bin/bash
# t_30_incremental.sh -- a re-push sends only what changed: nothing for an
# unchanged tree, one file after a touch, no data for a mode-only change;
# and type swaps (file <-> dir <-> symlink) converge.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
mkdir -p "$E" "$S/dir/sub" "$S/other"
for i in 1 2 3 4 5; do
	printf 'file %s\n' "$i" >"$S/f$i"
	printf 'nested %s\n' "$i" >"$S/dir/sub/n$i"
done
ln -s f1 "$S/link"
stamp_tree "$S"
start_syncd --root "$E" || exit 1

push() {
	run "$SYNCCTL" --stats "$@" push 127.0.0.1 "$S"
}

push
is "$RC" 0 "first push: exit 0"
is "$(stat_of 'files sent')" 10 "first push sends the 10 files"
assert_trees_equal "$S" "$E/src" "first push reproduces the tree"

push
is "$RC" 0 "no-change re-push: exit 0"
is "$(stat_of 'files sent')" 0 "no-change re-push: files sent 0"
is "$(stat_of 'bytes sent')" 0 "no-change re-push: bytes sent 0"
is "$(stat_of 'entries deleted')" 0 "no-change re-push: entries deleted 0"

touch -d @1700000000.5 "$S/dir/sub/n3"
push
is "$(stat_of 'files sent')" 1 "after touching one file: files sent 1"
is "$(stat_of 'bytes sent')" "$(stat -c %s "$S/dir/sub/n3")" "after touching one file: only its bytes sent"
assert_trees_equal "$S" "$E/src" "touched file's new mtime reproduced"

printf 'changed 2\n' >"$S/f2"
touch -d @1700000001 "$S/f2"
touch -d @1234567890.123456789 "$S"
push
is "$(stat_of 'files sent')" 1 "after rewriting one file: files sent 1"
assert_trees_equal "$S" "$E/src" "rewritten file reproduced"

chmod 0600 "$S/f4"
push
is "$RC" 0 "mode-only change: exit 0"
is "$(stat_of 'bytes sent')" 0 "mode-only change sends no file data"
assert_trees_equal "$S" "$E/src" "mode-only change reproduced"

touch -h -d @1700000002.25 "$S/link"
push
is "$(stat_of 'bytes sent')" 0 "symlink mtime-only change sends no file data"
assert_trees_equal "$S" "$E/src" "symlink mtime change reproduced"

# --- type swaps
rm "$S/f5"
mkdir "$S/f5"
printf 'now inside a dir\n' >"$S/f5/inner"
stamp_tree "$S" @1700000003.333333333
push
is "$RC" 0 "file -> directory: exit 0"
assert_trees_equal "$S" "$E/src" "file -> directory swap reproduced"

rm -r "$S/dir"
printf 'was a dir\n' >"$S/dir"
stamp_tree "$S" @1700000004.444444444
push --delete
is "$RC" 0 "directory -> file (--delete): exit 0"
assert_trees_equal "$S" "$E/src" "directory -> file swap reproduced"

rm "$S/link"
printf 'was a link\n' >"$S/link"
rm "$S/f3"
ln -s f1 "$S/f3"
rm -r "$S/other"
ln -s dir "$S/other"
stamp_tree "$S" @1700000005.555555555
push
is "$RC" 0 "link -> file, file -> link, dir -> link: exit 0"
assert_trees_equal "$S" "$E/src" "link/file/dir swaps reproduced"

rm "$S/f3"
ln -s f2 "$S/f3"
touch -h -d @1700000005.555555555 "$S/f3"
touch -d @1700000005.555555555 "$S"
push
is "$(stat_of 'bytes sent')" 0 "changed link target sends no file data"
assert_trees_equal "$S" "$E/src" "changed link target reproduced"

push
is "$(stat_of 'files sent')/$(stat_of 'bytes sent')" 0/0 "converged: a final re-push sends nothing"

stop_syncd
done_testing
