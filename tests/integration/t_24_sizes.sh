#!/bin/bash
# t_24_sizes.sh -- file sizes around the chunk boundaries: 0 bytes, 1 byte,
# 1 MiB +-1, 4 MiB + 1 (above SYNC_CHUNK_MAX), and 64 MiB, content intact.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/sizes"
mkdir -p "$E" "$S"
start_syncd --root "$E" || exit 1

: >"$S/zero"
printf 'x' >"$S/one"
head -c $((1048576 - 1)) /dev/urandom >"$S/mib-minus-1"
head -c 1048576 /dev/urandom >"$S/mib"
head -c $((1048576 + 1)) /dev/urandom >"$S/mib-plus-1"
head -c $((4194304 + 1)) /dev/urandom >"$S/chunk-plus-1"
head -c $((64 * 1048576)) /dev/urandom >"$S/big-64mib"
stamp_tree "$S"
total=$(find "$S" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')

run timeout 120 "$SYNCCTL" --stats push 127.0.0.1 "$S"
is "$RC" 0 "push of 0 B .. 64 MiB files: exit 0"
assert_trees_equal "$S" "$E/sizes" "every size reproduced byte for byte"
is "$(stat_of 'files sent')" 7 "--stats: 7 files sent"
is "$(stat_of 'bytes sent')" "$total" "--stats: bytes sent = total size"

# A same-size change with a new mtime is sent again, completely.
head -c $((64 * 1048576)) /dev/urandom >"$S/big-64mib"
touch -d @1234567891 "$S/big-64mib"
touch -d @1234567890.123456789 "$S"
run timeout 120 "$SYNCCTL" --stats push 127.0.0.1 "$S"
is "$RC" 0 "push of a rewritten 64 MiB file: exit 0"
is "$(stat_of 'files sent')" 1 "only the rewritten file is sent"
is "$(stat_of 'bytes sent')" $((64 * 1048576)) "its 64 MiB are sent"
assert_trees_equal "$S" "$E/sizes" "rewritten 64 MiB file reproduced"

stop_syncd
done_testing
