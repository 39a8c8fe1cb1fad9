#!/bin/bash
# t_58_protocol.sh -- procedure semantics from docs/PROTOCOL.md, checked
# with raw calls: NOSESSION before HELLO, LIST order and root entry, hidden
# temp names, LIST of a file and of a missing path, READ chunks and eof,
# idempotent MKDIR and DELETE, PUT visible after BARRIER, stale temps swept
# at startup.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E/a" "$E/a b"
printf 'x' >"$E/a/x"
printf 'ab' >"$E/a.b"
printf 'b' >"$E/b"
printf '0123456789' >"$E/ten"
ln -s a "$E/lnk"
printf 'stale' >"$E/.syncd-tmp.stale"
printf 'stale' >"$E/a/.syncd-tmp.stale2"
start_syncd --root "$E" || exit 1

if [ -e "$E/.syncd-tmp.stale" ] || [ -e "$E/a/.syncd-tmp.stale2" ]; then
	not_ok "stale temps swept at startup"
else
	ok "stale temps swept at startup"
fi

# --- sessions
run "$RAWCALL" --no-hello default list ''
is "$OUT" SYNC_ERR_NOSESSION "LIST before HELLO: SYNC_ERR_NOSESSION"
run "$RAWCALL" --no-hello default mkdir 'nosession'
is "$OUT" SYNC_ERR_NOSESSION "batched MKDIR before HELLO: reported as SYNC_ERR_NOSESSION"
if [ -e "$E/nosession" ]; then not_ok "nothing done before HELLO"; else ok "nothing done before HELLO"; fi
run "$RAWCALL" nosuch hello
is "$OUT" SYNC_ERR_NOEXPORT "HELLO of an unknown export: SYNC_ERR_NOEXPORT"

# --- LIST: root entry first, then canonical order, temps hidden
printf 'live temp' >"$E/.syncd-tmp.live"
run "$RAWCALL" default list ''
paths=$(sed -n '2,$p' <<<"$OUT" | awk '{ print $5 }')
is "$(tr '\n' ' ' <<<"$paths")" "$(printf '%s ' '' a a/x 'a\x20b' a.b b lnk ten)" \
	"LIST order: root, then each directory followed by its contents, bytewise"
is "$(sed -n 2p <<<"$OUT" | awk '{ print $1 }')" d "the root entry is the listed directory"
like "$OUT" "^l 0777 1 .* lnk -> a$" "a link is listed with its target"
like "$OUT" "^f [0-7]+ 10 [0-9]+\\.[0-9]{9} ten$" "a file is listed with its size and a ns mtime"
unlike "$OUT" "syncd-tmp" "temp names are hidden"
rm -f "$E/.syncd-tmp.live"

run "$RAWCALL" default list ten
is "$(wc -l <<<"$OUT")" 2 "LIST of a file: just its root entry"
run "$RAWCALL" default list missing
is "$OUT" SYNC_ERR_NOENT "LIST of a missing path: SYNC_ERR_NOENT"
run "$RAWCALL" default list a
is "$(sed -n '2,$p' <<<"$OUT" | awk '{ print $5 }' | tr '\n' ' ')" "$(printf '%s ' '' x)" \
	"LIST of a subdirectory: paths relative to it"

# --- READ
run "$RAWCALL" default read ten 0 4
is "$(sed -n '2,3p' <<<"$OUT" | tr '\n' ' ')" "len=4 eof=0 0123 " "READ 4 bytes at 0"
run "$RAWCALL" default read ten 6 100
is "$(sed -n '2,3p' <<<"$OUT" | tr '\n' ' ')" "len=4 eof=1 6789 " "READ to the end sets eof"
run "$RAWCALL" default read ten 100 4
is "$(sed -n 2p <<<"$OUT")" "len=0 eof=1" "READ past the end: empty, eof"
run "$RAWCALL" default read missing 0 4
is "$OUT" SYNC_ERR_NOENT "READ of a missing file: SYNC_ERR_NOENT"

# --- idempotent MKDIR and DELETE
chmod 0705 "$E/a"
run "$RAWCALL" default mkdir a
is "$OUT" SYNC_OK "MKDIR of an existing directory: SYNC_OK"
is "$(stat -c %a "$E/a")" 705 "... and its mode is untouched"
run "$RAWCALL" default mkdir ten
isnt "$OUT" SYNC_OK "MKDIR over a file fails"
run "$RAWCALL" default mkdir no/parent
is "$OUT" SYNC_ERR_NOENT "MKDIR with a missing parent: SYNC_ERR_NOENT"
run "$RAWCALL" default delete never-existed
is "$OUT" SYNC_OK "DELETE of a missing path: SYNC_OK"
run "$RAWCALL" default delete 'a b'
is "$OUT" SYNC_OK "DELETE of a directory"
if [ -e "$E/a b" ]; then not_ok "directory deleted"; else ok "directory deleted"; fi

# --- PUT (CREATE + WRITE + COMMIT + BARRIER)
# shellcheck disable=SC1003 # rawcall's escapes, not shell quoting
run "$RAWCALL" default put 'a/new file' 'new\x00data\\'
is "$OUT" SYNC_OK "PUT: SYNC_OK"
# shellcheck disable=SC1003
is "$(od -An -c "$E/a/new file" | tr -s ' ')" "$(printf 'new\0data\\' | od -An -c | tr -s ' ')" \
	"PUT: content visible after BARRIER, byte for byte"
is "$(stat -c %a "$E/a/new file")" 644 "PUT: COMMIT's mode applied"
run "$RAWCALL" default put 'a/x/under-a-file' 'data'
like "$OUT" "^SYNC_ERR_(NOTDIR|NOENT)$" "PUT beneath a file: NOTDIR (or NOENT)"
run "$RAWCALL" default put 'no/such/dir/f' 'data'
is "$OUT" SYNC_ERR_NOENT "PUT into a missing directory: SYNC_ERR_NOENT"
run "$RAWCALL" default put a 'data'
is "$OUT" SYNC_ERR_ISDIR "PUT over a directory: SYNC_ERR_ISDIR"
is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "no temps left after failed PUTs"

# --- SYMLINK replaces atomically; SETATTR
run "$RAWCALL" default symlink lnk b
is "$OUT" SYNC_OK "SYMLINK over an existing link"
is "$(readlink "$E/lnk")" b "the link now points to the new target"
run "$RAWCALL" default symlink a 'x'
is "$OUT" SYNC_ERR_ISDIR "SYMLINK over a directory: SYNC_ERR_ISDIR"
run "$RAWCALL" default setattr ten 640
is "$OUT" SYNC_OK "SETATTR mode"
is "$(stat -c %a "$E/ten")" 640 "SETATTR mode applied"
run "$RAWCALL" default setattr missing 640
is "$OUT" SYNC_ERR_NOENT "SETATTR of a missing path: SYNC_ERR_NOENT"

stop_syncd
done_testing
