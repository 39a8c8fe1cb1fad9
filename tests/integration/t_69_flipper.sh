#!/bin/bash
# t_69_flipper.sh -- a local user swaps a directory of the export with a
# symlink to a directory outside it (renameat2 RENAME_EXCHANGE, as fast as
# it can) while a client runs 10^5 operations through that name: writes,
# mkdirs, symlinks, chmods, deletes, reads and listings.  Nothing outside
# the export may change, and no read or listing may show what is outside.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
O="$T/outside"
mkdir -p "$E/d" "$O/sub"
printf 'inner\n' >"$E/d/inner"
printf 'OUTSIDE-MARKER\n' >"$O/secret"
printf 'OUTSIDE-MARKER\n' >"$O/sub/deep"
ln -s "$O" "$E/l"
stamp_tree "$O"
before=$(tree_manifest "$O")
start_syncd --root "$E" || exit 1

# About 10^5 calls: per round a PUT (3 calls) and 4 more batched calls on
# paths under the flipping name, every 50 rounds a read, a listing and a
# BARRIER.
ROUNDS=14200
for ((i = 0; i < ROUNDS; i++)); do
	printf 'put 1 d/f%d data%d\nmkdir d/m%d\nsymlink d/s%d ../x\nsetattr d/f%d 600\ndelete d/m%d\n' \
	    "$i" "$i" "$i" "$i" "$i" "$i"
	if ((i % 50 == 0)); then
		printf 'read d/secret\nread d/sub/deep\nlist d\nbarrier\n'
	fi
done >"$T/script"
printf 'barrier\n' >>"$T/script"
calls=$(awk '$1 == "put" { n += 3; next } { n++ } END { print n }' "$T/script")
check "the script makes at least 10^5 calls ($calls)" [ "$calls" -ge 100000 ]

"$BIN/tests/flipper" "$E" d l 300 >"$T/flips" 2>&1 &
FLIPPER=$!
RC=0
OUT=$(timeout 300 "$RAWCALL" default script <"$T/script" 2>&1) || RC=$?
kill "$FLIPPER" 2>/dev/null
wait "$FLIPPER" 2>/dev/null
is "$RC" 0 "the client ran every call (no transport failure)"
flips=$(sed -n 's/^flips=//p' "$T/flips")
check "the name really flipped meanwhile (${flips:-0} exchanges)" [ "${flips:-0}" -gt 1000 ]
unlike "$OUT" "$SANITIZER_RE" "no sanitizer report from the client"
if [ "$(grep -c '^barrier' <<<"$OUT")" -ge 2 ]; then ok "the barriers answered"; else not_ok "the barriers answered"; fi
if [ -e "$E/d" ] && [ -e "$E/l" ]; then ok "both names still exist after the race"; else not_ok "both names still exist after the race"; fi
is "$(tree_manifest "$O")" "$before" "outside/ is byte- and metadata-identical"
unlike "$OUT" "OUTSIDE-MARKER" "no read returned a byte of an outside file"
unlike "$OUT" "secret|deep" "no listing showed an outside name"
if registered; then ok "syncd still answers"; else not_ok "syncd still answers"; fi
stop_syncd
done_testing
