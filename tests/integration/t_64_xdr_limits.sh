#!/bin/bash
# t_64_xdr_limits.sh -- hand-encoded arguments with length fields at the
# bound + 1 and at 0xFFFFFFFF are rejected by the decoder ("Server can't
# decode arguments"), the connection and the server keep answering, and
# out-of-range READ arguments get a clean answer.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E/dir"
printf 'hello\n' >"$E/dir/file"
start_syncd --root "$E" || exit 1

# hex_opaque LEN [DATA_LEN]: an XDR opaque claiming LEN bytes followed by
# DATA_LEN bytes of 'a' (default: LEN), padded to 4.
hex_opaque() {
	local len=$1 n=${2:-$1} pad data
	printf '%08x' "$len"
	printf -v data '%*s' "$n" ''
	data=${data// /61}
	printf '%s' "$data"
	pad=$(((4 - n % 4) % 4))
	printf '%*s' $((pad * 2)) '' | tr ' ' 0
}

# expect_decode_error WHAT EXPORT PROC HEX: the call is refused by the
# decoder and a NULL call on the same connection still works.
expect_decode_error() {
	local what=$1 export=$2 proc=$3 hex=$4
	if [ -n "$export" ]; then
		run timeout 30 "$RAWCALL" --proc "$proc" --bytes "$hex" "$export"
	else
		run timeout 30 "$RAWCALL" --proc "$proc" --bytes "$hex"
	fi
	like "$OUT" "Server can't decode arguments" "$what: decode error"
	like "$(sed -n 2p <<<"$OUT")" "RPC: Success" "$what: same connection still answers NULL"
}

# Control: a well-formed LIST of "" encoded by hand succeeds
# (path, resume = FALSE, after, want_hash = FALSE).
run timeout 30 "$RAWCALL" --proc 2 --bytes "$(hex_opaque 0)00000000$(hex_opaque 0)00000000" default
like "${OUT%%$'\n'*}" "RPC: Success" "hand-encoded LIST \"\" is accepted (the encoding is right)"

expect_decode_error "LIST path length 4097" default 2 \
	"$(hex_opaque 4097)00000000$(hex_opaque 0)00000000"
expect_decode_error "LIST path length 0xFFFFFFFF" default 2 \
	"ffffffff$(hex_opaque 0 8)"
expect_decode_error "LIST 'after' length 4097" default 2 \
	"$(hex_opaque 0)00000001$(hex_opaque 4097)00000000"
expect_decode_error "LIST without want_hash (truncated)" default 2 \
	"$(hex_opaque 0)00000000$(hex_opaque 0)"
expect_decode_error "SIGNATURE path length 0xFFFFFFFF" default 13 \
	"ffffffff0000000000000000"
# COMMIT: handle, size, mode, mtime, then a hash claiming 17 bytes.
expect_decode_error "COMMIT hash length 17" default 7 \
	"0000000000000001000000000000000000000124000000000000000100000000$(hex_opaque 17)"
expect_decode_error "READ path length 0xFFFFFFFF" default 3 \
	"ffffffff0000000000000000"
# AUTH: user (string<32>), client nonce and proof (fixed 32 bytes each).
ZEROS64=$(printf '%0128d' 0)
expect_decode_error "AUTH user length 33" default 15 "$(hex_opaque 33)$ZEROS64"
expect_decode_error "AUTH user length 0xFFFFFFFF" default 15 "ffffffff$ZEROS64"
expect_decode_error "AUTH with a truncated proof" default 15 "$(hex_opaque 5)$(printf '%0100d' 0)"
run timeout 30 "$RAWCALL" --proc 15 --bytes "$(hex_opaque 5)$ZEROS64" default
like "${OUT%%$'\n'*}" "RPC: Success" "a well-formed AUTH decodes (the encoding above is right)"
expect_decode_error "HELLO export length 65" "" 1 \
	"00000001$(hex_opaque 65)"
expect_decode_error "HELLO export length 0xFFFFFFFF" "" 1 \
	"00000001ffffffff"
expect_decode_error "LIST with a truncated body" default 2 "0000"

# Every other variable-length field of the batched and query procedures, at
# its bound + 1 and at 0xFFFFFFFF (a claimed length with only a few bytes
# behind it: the decoder must refuse it before reading or allocating).
H8=0000000000000001                         # a handle or an offset
for bad in 4097 4294967295; do
	p=$(hex_opaque "$bad" 4)
	expect_decode_error "CREATE path length $bad" default 5 "$H8${p}00000000"
	expect_decode_error "MKDIR path length $bad" default 9 "${p}000001ed"
	expect_decode_error "SYMLINK path length $bad" default 10 "$p$(hex_opaque 1)"
	expect_decode_error "SYMLINK target length $bad" default 10 "$(hex_opaque 1)$p"
	expect_decode_error "SETATTR path length $bad" default 11 "${p}00000001"
	expect_decode_error "DELETE path length $bad" default 12 "$p"
	expect_decode_error "SIGNATURE path length $bad" default 13 "$p"
	expect_decode_error "READ path length $bad" default 3 "$p"
	expect_decode_error "PARTIAL path length $bad" default 16 "$p$H8$H8"
	expect_decode_error "RESUME path length $bad" default 17 "$H8$p$H8$H8$H8"
done
expect_decode_error "PARTIAL with a truncated key" default 16 "$(hex_opaque 1)$H8"
for bad in 4194305 4294967295; do
	expect_decode_error "WRITE data length $bad" default 6 "$H8${H8}00000000$(hex_opaque "$bad" 4)"
done
expect_decode_error "COMMIT hash length 0xFFFFFFFF" default 7 \
	"$H8${H8}00000124${H8}00000000$(hex_opaque 4294967295 4)"

# The first procedure number beyond the table (RESUME = 17 is the last):
# PROC_UNAVAIL, connection still usable.
run timeout 30 "$RAWCALL" --proc 18 --bytes '' default
like "${OUT%%$'\n'*}" "Procedure unavailable" "procedure 18: Procedure unavailable"
like "$(sed -n 2p <<<"$OUT")" "RPC: Success" "procedure 18: same connection still answers NULL"

# Out-of-range READ arguments: a clean status, never a crash.
run "$RAWCALL" default read dir/file 0 4294967295
is "${OUT%%$'\n'*}" SYNC_OK "READ count 0xFFFFFFFF is clamped"
like "$OUT" "len=6 eof=1" "READ count 0xFFFFFFFF returns the whole small file"
run "$RAWCALL" default read dir/file 9223372036854775807 4096
like "${OUT%%$'\n'*}" "^SYNC_(OK|ERR_INVAL)$" "READ at offset 2^63-1: OK or INVAL"
run "$RAWCALL" default read dir/file 18446744073709551615 4096
like "${OUT%%$'\n'*}" "^SYNC_(OK|ERR_INVAL)$" "READ at offset 2^64-1: OK or INVAL"
run "$RAWCALL" default read dir 0 10
like "${OUT%%$'\n'*}" "^SYNC_ERR_(ISDIR|INVAL)$" "READ of a directory: ISDIR or INVAL"

# The server as a whole still answers.
run rpcinfo -t 127.0.0.1 "$PROG" 1
is "$RC" 0 "rpcinfo -t still answers"
run "$RAWCALL" default hello
is "$OUT" SYNC_OK "HELLO still answers"
if gone "$SYNCD_PID"; then not_ok "syncd still runs"; else ok "syncd still runs"; fi

stop_syncd
done_testing
