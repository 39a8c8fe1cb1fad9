#!/bin/bash
# t_22_names.sh -- awkward names survive a push and a no-change re-push:
# spaces, newline, tab, UTF-8, leading dash, backslash, 255-byte names, and
# a 60-level deep directory chain.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/names"
mkdir -p "$E" "$S"
start_syncd --root "$E" || exit 1

printf -v long255 '%255s' ''
long255=${long255// /n}
# 255 bytes of UTF-8: 85 three-byte characters.
printf -v utf255 '%85s' ''
utf255=${utf255// /$'\xe6\x96\x87'}
for name in 'with space' ' leading space' 'trailing space ' $'new\nline' $'tab\there' \
	'größe-файл-文件-🙂' '-leading-dash' '--delete' '-' 'back\slash' "quote'\"s" \
	'*?[glob]' '.hidden' '..dots' 'a.b' 'a b' "$long255" "$utf255"; do
	printf '%s\n' "$name" >"$S/$name"
	if [ "${#name}" -lt 100 ]; then
		mkdir "$S/dir $name"
		printf 'inside\n' >"$S/dir $name/$name"
	fi
done
ln -s $'target with\nnewline' "$S/link"$'\t'"tab"
is "$(printf '%s' "$long255" | wc -c)/$(printf '%s' "$utf255" | wc -c)" 255/255 \
	"the long names are 255 bytes"

deep="$S/deep"
for i in $(seq -w 1 60); do
	deep="$deep/level$i"
done
mkdir -p "$deep"
printf 'bottom\n' >"$deep/file"
stamp_tree "$S"

run "$SYNCCTL" --stats push 127.0.0.1 "$S"
is "$RC" 0 "push of awkward names: exit 0"
assert_trees_equal "$S" "$E/names" "awkward names and 60-level nesting reproduced"

run "$SYNCCTL" --stats push 127.0.0.1 "$S"
is "$RC" 0 "re-push: exit 0"
is "$(stat_of 'files sent')" 0 "re-push of awkward names sends no file"
is "$(stat_of 'entries deleted')" 0 "re-push deletes nothing"

run "$SYNCCTL" --delete --stats push 127.0.0.1 "$S"
is "$RC" 0 "re-push with --delete: exit 0"
is "$(stat_of 'entries deleted')" 0 "names round-trip exactly: --delete finds no extras"
assert_trees_equal "$S" "$E/names" "tree unchanged by the --delete re-push"

stop_syncd
done_testing
