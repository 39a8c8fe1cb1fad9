#!/bin/bash
# t_97_flipper_push.sh -- fault matrix row 14: a local user swaps a directory
# of the export with a symlink to a directory outside it (tests/tools/flipper,
# renameat2 RENAME_EXCHANGE) while real `syncctl push`es write trees through
# that name.  Nothing outside the export changes (a canary tree's manifest,
# the symlink's target); every push either succeeds or fails with a clear
# error; syncd stays up; once the flipper stops, a push converges.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
O="$T/outside"
ROUNDS=40
mkdir -p "$E/d" "$O/t/sub" "$O/t/dir"
printf 'OUTSIDE-MARKER\n' >"$O/secret"
printf 'OUTSIDE-MARKER\n' >"$O/t/file0"
printf 'OUTSIDE-MARKER\n' >"$O/t/sub/deep"
ln -s "$O" "$E/l"
stamp_tree "$O"
before=$(tree_manifest "$O")

# Two versions of a tree to push, so that every push has work to do:
# directories, files of mixed sizes, symlinks.
n=0
for v in a b; do
	n=$((n + 1))
	mkdir -p "$T/$v/dir/x" "$T/$v/sub"
	for i in $(seq 12); do
		head -c $((i * 1500 + n)) /dev/urandom >"$T/$v/file$i"
		head -c $((i * 700 + n)) /dev/urandom >"$T/$v/sub/f$i"
	done
	head -c 300000 /dev/urandom >"$T/$v/dir/x/big"
	ln -s ../file1 "$T/$v/sub/link"
	ln -s "/etc/$v" "$T/$v/abs"
	stamp_tree "$T/$v" "@$((1234567890 + n * 1000)).5"
done
touch -h -d @1300000000 "$T/b/file3"

start_syncd --root "$E" || exit 1
run "$SYNCCTL" push 127.0.0.1:default/d/t "$T/a"
is "$RC" 0 "before the race: a push through d works"

"$BIN/tests/flipper" "$E" d l 120 >"$T/flips" 2>&1 &
FLIPPER=$!
succeeded=0 failed=0 unclear=0
for r in $(seq "$ROUNDS"); do
	v=a
	[ $((r % 2)) -eq 0 ] && v=b
	RC=0
	"$SYNCCTL" --delete push 127.0.0.1:default/d/t "$T/$v" >"$T/push.$r" 2>&1 || RC=$?
	if [ "$RC" -eq 0 ]; then
		succeeded=$((succeeded + 1))
	else
		failed=$((failed + 1))
		# A clear failure: a documented exit status and messages naming
		# what failed, nothing else (no crash, no sanitizer report).
		if [ "$RC" -ge 128 ] || grep -Eq "$SANITIZER_RE" "$T/push.$r" ||
		    ! grep -q '^syncctl: ' "$T/push.$r" ||
		    grep -vq '^syncctl: ' "$T/push.$r"; then
			unclear=$((unclear + 1))
			diag "push $r: exit $RC:" "$(head -n 20 "$T/push.$r")"
		fi
	fi
done
kill "$FLIPPER" 2>/dev/null
wait "$FLIPPER" 2>/dev/null
flips=$(sed -n 's/^flips=//p' "$T/flips")
diag "$succeeded pushes succeeded, $failed failed, during ${flips:-0} flips"
diag "exit statuses and messages seen:" "$(cat "$T"/push.* | sed 's/[0-9]\+/N/g' | sort | uniq -c | sort -rn | head -n 8)"
check "the name really flipped meanwhile (${flips:-0} exchanges)" [ "${flips:-0}" -gt 1000 ]
is "$unclear" 0 "every failed push exited with a clear error"
is "$(tree_manifest "$O")" "$before" "outside/ is byte- and metadata-identical"
if [ -L "$E/l" ]; then link=$E/l; else link=$E/d; fi
is "$(readlink "$link")" "$O" "the symlink still points where it did"
check "the outside tree got no new entry" test ! -e "$O/t/file1" -a ! -e "$O/t/t"
if registered; then ok "syncd is still up"; else not_ok "syncd is still up"; fi

# The flipper has stopped: d is put back as the directory (it may have
# stopped either way round), and a push converges.
if [ -L "$E/d" ]; then
	mv -T "$E/d" "$E/swap" && mv -T "$E/l" "$E/d" && mv -T "$E/swap" "$E/l"
fi
run "$SYNCCTL" --delete push 127.0.0.1:default/d/t "$T/b"
is "$RC" 0 "after the race: a push converges"
assert_trees_equal "$T/b" "$E/d/t" "after the race: the tree is exact"
is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "no temp left"
stop_syncd
done_testing
