#!/bin/bash
# t_92_compress.sh -- zstd compression of file data, negotiated in HELLO.
# With -z a compressible tree travels in far fewer WRITE bytes ("bytes on
# wire (data)") than its size ("bytes sent") and arrives exact; random data
# goes raw (not worth compressing); by default over loopback, and with
# --no-compress, nothing is compressed; a delta's literals are compressed
# too.  Then the server's checks with raw calls: HELLO grants only what it
# supports; a compressed WRITE without the grant, with a raw_len that the
# frame does not decode to, beyond SYNC_CHUNK_MAX, or with a corrupt,
# truncated, doubled or fake frame is INVAL and publishes nothing; the
# server answers after each.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
S="$T/src"
MiB=1048576
mkdir -p "$E" "$S/text/sub" "$S/rnd" "$S/delta"
seq 1 300000 >"$S/text/numbers"
yes 'The quick brown fox jumps over the lazy dog.' | head -c $((3 * MiB)) >"$S/text/sub/fox"
for i in $(seq 1 400); do printf 'key%d = value %d  # a setting\n' "$i" $((i * 7)); done >"$S/text/sub/conf"
printf 'tiny\n' >"$S/text/tiny"
: >"$S/text/empty"
head -c $((3 * MiB + 12345)) /dev/urandom >"$S/rnd/blob"
seq 1 1000000 >"$S/delta/big"
stamp_tree "$S"
start_syncd --root "$E" || exit 1

# wire: "bytes on wire (data)" of the last --stats output.
wire() {
	stat_of 'bytes on wire (data)'
}

# at_most VALUE LIMIT WHAT: passes if the number VALUE is <= LIMIT.
at_most() {
	if [ -n "$1" ] && [ "$1" -le "$2" ]; then ok "$3 ($1 <= $2)"; else not_ok "$3 ('$1' > $2)"; diag "$OUT"; fi
}

total=$(find "$S/text" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')

# --- syncctl ----------------------------------------------------------------

run "$SYNCCTL" --stats -z push 127.0.0.1 "$S/text"
is "$RC" 0 "-z: exit 0"
assert_trees_equal "$S/text" "$E/text" "-z: tree reproduced exactly"
is "$(stat_of 'bytes sent')" "$total" "-z: bytes sent is the file data"
like "$(wire)" '^[0-9]+$' "-z: --stats reports bytes on wire (data)"
at_most "$(wire)" $((total / 4)) "-z: text on the wire is a quarter of its size or less"

run "$SYNCCTL" --stats -z push 127.0.0.1 "$S/rnd"
is "$RC" 0 "-z, random data: exit 0"
assert_trees_equal "$S/rnd" "$E/rnd" "-z, random data: reproduced"
is "$(wire)" "$(stat_of 'bytes sent')" "-z, random data: sent raw (on wire = sent)"

run "$SYNCCTL" --stats push 127.0.0.1:default/text-default "$S/text"
is "$RC" 0 "default over loopback: exit 0"
assert_trees_equal "$S/text" "$E/text-default" "default over loopback: reproduced"
is "$(wire)" "$total" "default over loopback: not compressed (on wire = sent)"

run "$SYNCCTL" --stats --no-compress push 127.0.0.1:default/text-off "$S/text"
is "$RC" 0 "--no-compress: exit 0"
is "$(wire)" "$total" "--no-compress: not compressed"
run "$SYNCCTL" --stats -z --no-compress push 127.0.0.1:default/text-off2 "$S/text"
is "$(wire)" "$total" "-z then --no-compress: the last one wins"
assert_trees_equal "$S/text" "$E/text-off2" "--no-compress: reproduced"

run "$SYNCCTL" --stats --compress --compress-level 19 push 127.0.0.1:default/text-19 "$S/text"
is "$RC" 0 "--compress --compress-level 19: exit 0"
assert_trees_equal "$S/text" "$E/text-19" "--compress-level 19: reproduced"
at_most "$(wire)" $((total / 4)) "--compress-level 19: compressed"
for bad in 0 20 x -1; do
	run "$SYNCCTL" --compress-level "$bad" push 127.0.0.1 "$S/text"
	is "$RC" 64 "--compress-level $bad: usage error"
done

# A delta with -z: the literals are WRITE calls, compressed like any other.
run "$SYNCCTL" --stats -z push 127.0.0.1 "$S/delta"
is "$RC" 0 "delta tree, first push: exit 0"
f="$S/delta/big"
{ head -c 3000000 "$f"; seq 5000000 5060000; tail -c +3000001 "$f"; } >"$T/new"
mv "$T/new" "$f"
touch -d @1700000000.5 "$f"
run "$SYNCCTL" --stats -z push 127.0.0.1 "$S/delta"
is "$RC" 0 "-z delta: exit 0"
is "$(stat_of 'round trips')" 4 "-z delta: HELLO + LIST + SIGNATURE + BARRIER"
sent=$(stat_of 'bytes sent')
if [ -n "$sent" ] && [ "$sent" -ge 480000 ] && [ "$(stat_of 'bytes matched')" -gt 6000000 ]; then
	ok "-z delta: the insertion sent, the rest matched ($sent sent)"
else
	not_ok "-z delta: the insertion sent, the rest matched"
	diag "$OUT"
fi
at_most "$(wire)" $((sent / 3)) "-z delta: the literals were compressed"
assert_trees_equal "$S/delta" "$E/delta" "-z delta: tree reproduced exactly"

# --- the server's checks, with raw calls ------------------------------------

R="$RAWCALL"

# answers WHAT: the server still says HELLO OK.
answers() {
	run "$R" default hello
	is "$OUT" SYNC_OK "$1: the server still answers"
}

run "$R" --caps 1 default hello
is "$OUT" $'SYNC_OK\ncaps=1' "HELLO asking for ZSTD: granted"
run "$R" --caps 0xffffffff default hello
is "$OUT" $'SYNC_OK\ncaps=1' "HELLO asking for every bit: only ZSTD granted"
run "$R" --caps 0 default hello
is "$OUT" $'SYNC_OK\ncaps=0' "HELLO asking for nothing: nothing granted"

run "$R" --caps 1 default put-zstd z-ok @long:5000 ok
is "$OUT" SYNC_OK "compressed WRITE after the grant: OK"
is "$(stat -c %s "$E/z-ok" 2>/dev/null)" 5000 "the file has the decoded size"
is "$(tr -d 'a/' <"$E/z-ok" | wc -c)/$(tr -cd / <"$E/z-ok" | wc -c)" 0/24 \
	"the file has the decoded content"

run "$R" default put-zstd z-nocap @long:5000 ok
is "$OUT" SYNC_ERR_INVAL "compressed WRITE without negotiation: INVAL"
answers "no negotiation"

for how in 4999 5001 4194305 4294967295 corrupt truncated two plain; do
	run "$R" --caps 1 default put-zstd "z-$how" @long:5000 "$how"
	is "$OUT" SYNC_ERR_INVAL "compressed WRITE, $how: INVAL"
	if [ -e "$E/z-$how" ]; then not_ok "$how: nothing published"; else ok "$how: nothing published"; fi
	answers "$how"
done

temps=$(find "$E" -name '.syncd-tmp.*' | wc -l)
is "$temps" 0 "no temp left in the export"
if gone "$SYNCD_PID"; then not_ok "syncd still runs"; else ok "syncd still runs"; fi

stop_syncd
done_testing
