#!/bin/bash
# t_32_delete.sh -- extras on the server stay without --delete and go with
# it, and --delete never touches anything outside PATH (a sibling directory
# in the same export, the target of a symlink being deleted).
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
mkdir -p "$E/sibling/deep" "$S/keep"
printf 'keep\n' >"$S/keep/file"
printf 'top\n' >"$S/top"
printf 'sibling\n' >"$E/sibling/data"
printf 'sibling deep\n' >"$E/sibling/deep/data"
stamp_tree "$S"
stamp_tree "$E/sibling"
before_sibling=$(tree_manifest "$E/sibling")
start_syncd --root "$E" || exit 1

run "$SYNCCTL" push 127.0.0.1:default/dst "$S"
is "$RC" 0 "first push: exit 0"

# Extras appear on the server side.
mkdir -p "$E/dst/extra-dir/a/b"
printf 'x\n' >"$E/dst/extra-dir/a/b/file"
printf 'x\n' >"$E/dst/extra-file"
printf 'x\n' >"$E/dst/keep/extra-in-keep"
ln -s ../sibling "$E/dst/extra-link"

run "$SYNCCTL" --stats push 127.0.0.1:default/dst "$S"
is "$RC" 0 "push without --delete: exit 0"
is "$(stat_of 'entries deleted')" 0 "without --delete: entries deleted 0"
for x in extra-dir/a/b/file extra-file keep/extra-in-keep extra-link; do
	if [ -e "$E/dst/$x" ] || [ -L "$E/dst/$x" ]; then ok "without --delete: $x stays"; else not_ok "without --delete: $x stays"; fi
done

run "$SYNCCTL" --delete --stats push 127.0.0.1:default/dst "$S"
is "$RC" 0 "push with --delete: exit 0"
is "$(stat_of 'entries deleted')" 4 "--delete: 4 entries deleted (a directory counts once)"
for x in extra-dir extra-file keep/extra-in-keep extra-link; do
	if [ -e "$E/dst/$x" ] || [ -L "$E/dst/$x" ]; then not_ok "--delete: $x removed"; else ok "--delete: $x removed"; fi
done
assert_trees_equal "$S" "$E/dst" "--delete: destination equals the source"
is "$(tree_manifest "$E/sibling")" "$before_sibling" "--delete: sibling directory in the export untouched"

# --delete of an empty source empties PATH but nothing beside it.
mkdir "$T/empty"
run "$SYNCCTL" --delete push 127.0.0.1:default/sibling/deep "$T/empty"
is "$RC" 0 "--delete from an empty source: exit 0"
is "$(find "$E/sibling/deep" -mindepth 1 | wc -l)" 0 "--delete from an empty source: PATH emptied"
is "$(cat "$E/sibling/data")" sibling "--delete: the parent of PATH keeps its other entries"
if [ -d "$E/dst" ]; then ok "--delete: other trees in the export untouched"; else not_ok "--delete: other trees in the export untouched"; fi

stop_syncd
done_testing
