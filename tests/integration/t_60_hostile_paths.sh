#!/bin/bash
# t_60_hostile_paths.sh -- malformed and escaping paths, sent raw (rawcall,
# no client-side cleaning) to every path-taking procedure, are refused with
# SYNC_ERR_BADPATH, and neither the export nor a sentinel directory beside it
# changes.  (A path over 4096 bytes cannot even be encoded: t_64 sends one
# hand-encoded and expects a decode error.)  The bounds themselves are
# valid: a 255-byte component and a 4096-byte path are not BADPATH.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
O="$T/outside"
mkdir -p "$E/a/sub" "$O/sub"
printf 'inside\n' >"$E/a/b"
printf 'victim\n' >"$O/victim"
printf 'victim\n' >"$O/sub/victim"
stamp_tree "$E"
stamp_tree "$O"
before_export=$(tree_manifest "$E")
before_outside=$(tree_manifest "$O")
start_syncd --root "$E" || exit 1

printf -v c256 '%256s' ''
c256=${c256// /c}

bad_paths=(
	'..'
	'.'
	'../outside/victim'
	'../../etc/passwd'
	'a/../../outside/victim'
	'a/../b'
	'a/./b'
	"$O/victim"
	'/etc/passwd'
	'/'
	'a\x00b'
	'a/b\x00/../../outside/victim'
	"$c256"
	"a/$c256"
	'a//b'
	'a/'
	'a/sub/'
	'.syncd-tmp.x'
	'a/.syncd-tmp.x'
)

for p in "${bad_paths[@]}"; do
	shown=${p:0:40}
	for op in mkdir delete list; do
		run "$RAWCALL" default "$op" "$p"
		is "${OUT%%$'\n'*}" SYNC_ERR_BADPATH "$op '$shown': SYNC_ERR_BADPATH"
	done
	run "$RAWCALL" default put "$p" 'pwned'
	is "$OUT" SYNC_ERR_BADPATH "put '$shown': SYNC_ERR_BADPATH"
	run "$RAWCALL" default symlink "$p" '/etc'
	is "$OUT" SYNC_ERR_BADPATH "symlink '$shown': SYNC_ERR_BADPATH"
	run "$RAWCALL" default setattr "$p" 777
	is "$OUT" SYNC_ERR_BADPATH "setattr '$shown': SYNC_ERR_BADPATH"
	run "$RAWCALL" default read "$p" 0 100
	is "$OUT" SYNC_ERR_BADPATH "read '$shown': SYNC_ERR_BADPATH"
done

is "$(tree_manifest "$E")" "$before_export" "the export is unchanged"
is "$(tree_manifest "$O")" "$before_outside" "the sentinel outside the export is unchanged"
for f in "$T/b" "$T/victim" "$E/pwned" "$E/a/pwned"; do
	if [ -e "$f" ] || [ -L "$f" ]; then not_ok "$f does not exist"; else ok "$f does not exist"; fi
done

# Exactly at the bounds: valid paths.
printf -v c255 '%255s' ''
c255=${c255// /c}
run "$RAWCALL" default mkdir "a/$c255"
is "$OUT" SYNC_OK "MKDIR of a 255-byte component: SYNC_OK"
run "$RAWCALL" default mkdir @long:4096
is "$OUT" SYNC_ERR_NOENT "MKDIR of a 4096-byte path (missing parents): NOENT, not BADPATH"
run "$RAWCALL" default delete "a/$c255"
is "$OUT" SYNC_OK "DELETE of the 255-byte component"

# Hostile export names select nothing.
for x in '..' '../outside' '/' 'default/..' ''; do
	run "$RAWCALL" "$x" hello
	is "$OUT" SYNC_ERR_NOEXPORT "HELLO export '$x': SYNC_ERR_NOEXPORT"
done

# The export root itself cannot be deleted.
run "$RAWCALL" default delete ''
is "$OUT" SYNC_ERR_INVAL "DELETE of the export root: SYNC_ERR_INVAL"
if [ -f "$E/a/b" ]; then ok "export root still populated"; else not_ok "export root still populated"; fi

# A link target is data: stored verbatim, never followed.
run "$RAWCALL" default symlink uplink '../outside/victim'
is "$OUT" SYNC_OK "SYMLINK with an escaping target is stored"
is "$(readlink "$E/uplink")" ../outside/victim "the target is stored verbatim"
run "$RAWCALL" default read uplink 0 100
isnt "${OUT%%$'\n'*}" SYNC_OK "READ of a link to outside does not follow it"
unlike "$OUT" victim "READ of a link to outside does not leak the target's content"
run "$RAWCALL" default put uplink 'replaced'
is "$OUT" SYNC_OK "PUT over a link replaces the link"
is "$(cat "$E/uplink" 2>/dev/null)" replaced "the link became a regular file"
if [ -L "$E/uplink" ]; then not_ok "uplink is no longer a symlink"; else ok "uplink is no longer a symlink"; fi
is "$(tree_manifest "$O")" "$before_outside" "writing over a link to outside leaves outside unchanged"

stop_syncd
done_testing
