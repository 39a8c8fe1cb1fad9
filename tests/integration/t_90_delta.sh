#!/bin/bash
# t_90_delta.sh -- a changed large file goes out as a delta: only what
# changed is sent ("bytes sent"), the rest is copied from the server's old
# version ("bytes matched"), for an overwrite, an insert, an append and a
# truncation; the tree is reproduced exactly each time; a delta push of one
# file costs HELLO + LIST + SIGNATURE + BARRIER, and its signature is small
# ("signature bytes": 16 KiB blocks with 8-byte strong sums for 16 MiB).
# --whole-file sends everything; --checksum finds a change that size and
# mtime hide.  Then the server's own checks, with hostile raw calls: COPY
# outside the basis, COMMIT with a wrong hash, a basis that is missing or
# not a file.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
F="$S/big"
MiB=1048576
mkdir -p "$E" "$S"
head -c $((16 * MiB)) /dev/urandom >"$F"
printf 'small\n' >"$S/small"
stamp_tree "$S"
start_syncd --root "$E" || exit 1

push() {
	run "$SYNCCTL" --stats "$@" push 127.0.0.1 "$S"
}

# at_most VALUE LIMIT WHAT: passes if the number VALUE is <= LIMIT.
at_most() {
	if [ -n "$1" ] && [ "$1" -le "$2" ]; then ok "$3 ($1 <= $2)"; else not_ok "$3 ('$1' > $2)"; diag "$OUT"; fi
}

# at_least VALUE LIMIT WHAT: passes if the number VALUE is >= LIMIT.
at_least() {
	if [ -n "$1" ] && [ "$1" -ge "$2" ]; then ok "$3 ($1 >= $2)"; else not_ok "$3 ('$1' < $2)"; diag "$OUT"; fi
}

push
is "$RC" 0 "first push: exit 0"
is "$(stat_of 'bytes sent')" $((16 * MiB + 6)) "first push sends every byte"
is "$(stat_of 'bytes matched')" 0 "first push: nothing matched"
assert_trees_equal "$S" "$E/src" "first push reproduces the tree"

# (a) 1 MiB overwritten in the middle.
dd if=/dev/urandom of="$F" bs=$MiB count=1 seek=7 conv=notrunc status=none
push
is "$RC" 0 "1 MiB overwritten: exit 0"
is "$(stat_of 'files sent')" 1 "1 MiB overwritten: one file sent"
at_most "$(stat_of 'bytes sent')" $((MiB + MiB / 5)) "1 MiB overwritten: bytes sent <= 1.2 MiB"
at_least "$(stat_of 'bytes matched')" $((15 * MiB - MiB / 5)) "1 MiB overwritten: the rest matched"
is "$(stat_of 'round trips')" 4 "delta push of one file: HELLO + LIST + SIGNATURE + BARRIER"
# 1024 blocks of 16 KiB, each a 4-byte weak and an 8-byte strong sum, and
# two 4-byte array lengths: 12296 bytes (the 4 KiB blocks with 16-byte
# sums of old took 4096 x 20 = 81920).
is "$(stat_of 'signature bytes')" $((1024 * (4 + 8) + 8)) "1 MiB overwritten: signature of 1024 x 12 bytes"
assert_trees_equal "$S" "$E/src" "1 MiB overwritten: tree equal"

# (b) 100 bytes inserted near the start.
{ head -c 1000 "$F"; head -c 100 /dev/urandom; tail -c +1001 "$F"; } >"$T/new"
mv "$T/new" "$F"
push
is "$RC" 0 "100 bytes inserted: exit 0"
at_most "$(stat_of 'bytes sent')" $((100 + 16384)) "100 bytes inserted: one block + 100 sent"
at_least "$(stat_of 'bytes matched')" $((16 * MiB - 16384)) "100 bytes inserted: the rest matched"
at_most "$(stat_of 'signature bytes')" $((1025 * 12 + 8)) "100 bytes inserted: signature of about 12 KiB"
assert_trees_equal "$S" "$E/src" "100 bytes inserted: tree equal"

# (c) 300000 bytes appended.
head -c 300000 /dev/urandom >>"$F"
push
is "$RC" 0 "appended: exit 0"
at_most "$(stat_of 'bytes sent')" $((300000 + 16384)) "appended: about the new bytes sent"
assert_trees_equal "$S" "$E/src" "appended: tree equal"

# (d) truncated.
truncate -s $((10 * MiB + 12345)) "$F"
push
is "$RC" 0 "truncated: exit 0"
at_most "$(stat_of 'bytes sent')" 16384 "truncated: at most two blocks sent"
at_least "$(stat_of 'bytes matched')" $((10 * MiB + 12345 - 16384)) "truncated: the rest matched"
assert_trees_equal "$S" "$E/src" "truncated: tree equal"

# Two changed files in one push: one SIGNATURE each.
cp "$F" "$S/big2"
push
is "$(stat_of 'round trips')" 3 "a new file needs no SIGNATURE"
printf 'x' | dd of="$F" bs=1 seek=5000000 conv=notrunc status=none
printf 'y' | dd of="$S/big2" bs=1 seek=6000000 conv=notrunc status=none
push --streams 1      # one connection: the round trips below are its own
is "$(stat_of 'files sent')" 2 "two files changed: two sent"
is "$(stat_of 'round trips')" 5 "two delta files: HELLO + LIST + 2 SIGNATURE + BARRIER"
at_most "$(stat_of 'bytes sent')" $((2 * 16384)) "two one-byte changes: one block each"
assert_trees_equal "$S" "$E/src" "two delta files: tree equal"

# (e) --whole-file sends everything.
printf 'z' | dd of="$F" bs=1 seek=42 conv=notrunc status=none
push --whole-file
is "$RC" 0 "--whole-file: exit 0"
is "$(stat_of 'bytes sent')" "$(stat -c %s "$F")" "--whole-file: the whole file sent"
is "$(stat_of 'bytes matched')" 0 "--whole-file: nothing matched"
is "$(stat_of 'round trips')" 3 "--whole-file: no SIGNATURE"
assert_trees_equal "$S" "$E/src" "--whole-file: tree equal"

# (f) same size and mtime, different content: only --checksum sees it.
touch -r "$F" "$T/ref"
dd if=/dev/urandom of="$F" bs=4096 count=1 seek=100 conv=notrunc status=none
touch -r "$T/ref" "$F"
push
is "$(stat_of 'files sent')/$(stat_of 'bytes sent')" 0/0 "hidden change: not sent without --checksum"
if cmp -s "$F" "$E/src/big"; then not_ok "the remote copy still differs"; else ok "the remote copy still differs"; fi
push --checksum
is "$RC" 0 "--checksum: exit 0"
is "$(stat_of 'files sent')" 1 "--checksum: the hidden change is sent"
at_most "$(stat_of 'bytes sent')" 16384 "--checksum: as a delta"
assert_trees_equal "$S" "$E/src" "--checksum: tree equal"
push --checksum
is "$(stat_of 'files sent')/$(stat_of 'bytes sent')" 0/0 "--checksum, nothing changed: nothing sent"
is "$(stat_of 'round trips')" 3 "--checksum, nothing changed: HELLO + LIST + BARRIER"
touch -d @1700000000.25 "$F"
push --checksum
is "$(stat_of 'files sent')/$(stat_of 'bytes sent')" 0/0 "--checksum, only the mtime changed: no data"
assert_trees_equal "$S" "$E/src" "--checksum, only the mtime changed: mtime reproduced"

# A server whose copy cannot be signed (a sparse 2 TiB file: too large):
# the file is sent whole after the failed SIGNATURE.
head -c 100000 /dev/urandom >"$S/sparse"
touch -d @1700000001 "$S/sparse"
truncate -s 2T "$E/src/sparse"
push
is "$RC" 0 "no signature possible: exit 0"
is "$(stat_of 'bytes sent')" 100000 "no signature possible: the whole file sent"
is "$(stat_of 'round trips')" 4 "no signature possible: the SIGNATURE still counted"
assert_trees_equal "$S" "$E/src" "no signature possible: tree equal"

# (g) the server's checks, with raw calls.
R="$RAWCALL"
printf '0123456789' >"$E/ten"
run "$R" default signature src/big
is "${OUT%%$'\n'*}" SYNC_OK "SIGNATURE of a file: OK"
size=$(stat -c %s "$F")
blocks=$(((size + 16383) / 16384))
like "$OUT" "block_size=16384 file_size=$size blocks=$blocks strong_size=8 strong_bytes=$((blocks * 8))\$" \
	"SIGNATURE: block size, file size, 8-byte strong sums packed"
run "$R" default signature src
is "$OUT" SYNC_ERR_ISDIR "SIGNATURE of a directory: ISDIR"
ln -s ten "$E/lnk"
run "$R" default signature lnk
is "$OUT" SYNC_ERR_INVAL "SIGNATURE of a symlink: INVAL, not followed"
run "$R" default signature ../etc/passwd
is "$OUT" SYNC_ERR_BADPATH "SIGNATURE outside the export: BADPATH"

run "$R" default copy ten 2 5
is "$OUT" SYNC_OK "COPY inside the basis: OK"
is "$(cat "$E/ten")" 23456 "COPY rebuilt the file from its basis"
printf '0123456789' >"$E/ten"
run "$R" default copy ten 5 6
is "$OUT" SYNC_ERR_INVAL "COPY past the basis's end: INVAL"
run "$R" default copy ten 18446744073709551615 2
is "$OUT" SYNC_ERR_INVAL "COPY whose range wraps: INVAL"
run "$R" default copy missing 0 1
is "$OUT" SYNC_ERR_NOENT "CREATE with a missing basis: NOENT"
run "$R" default copy lnk 0 1
is "$OUT" SYNC_ERR_INVAL "CREATE with a symlink as basis: INVAL"
is "$(cat "$E/ten")" 0123456789 "refused COPYs left the file alone"

run "$R" default put-hash ten abc 00000000000000000000000000000000
is "$OUT" SYNC_ERR_CHECKSUM "COMMIT with a wrong hash: CHECKSUM"
is "$(cat "$E/ten")" 0123456789 "a wrong hash publishes nothing"
run "$R" default put-hash ten abc short
is "$OUT" SYNC_ERR_INVAL "COMMIT with a 15-byte hash: INVAL"
run "$R" default put-hash ten abc good
is "$OUT" SYNC_OK "COMMIT with the right hash: OK"
is "$(cat "$E/ten")" abc "the right hash publishes the file"
temps=$(find "$E" -name '.syncd-tmp.*' | wc -l)
is "$temps" 0 "no temp left in the export"

run "$R" default list-hash src
like "$OUT" "^f [0-7]+ 6 [0-9.]+ small #[0-9a-f]{32}$" "LIST with want_hash: files carry a hash"
unlike "$OUT" "^d .*#" "LIST with want_hash: directories do not"

stop_syncd
done_testing
