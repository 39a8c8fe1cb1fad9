#!/bin/bash
# t_62_hostile_symlinks.sh -- symlinks planted inside the export
# (evil -> ../outside, evil2 -> /etc, a chain through a directory) are never
# followed: every procedure naming a path beneath them is refused with
# SYNC_ERR_BADPATH; deleting a link or a directory holding links removes the
# links only; a push whose PATH goes through a planted link fails.  The
# sentinel directory outside the export stays byte- and mtime-identical.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
O="$T/outside"
mkdir -p "$E/d" "$E/holder" "$O/sub" "$T/src"
printf 'secret\n' >"$O/secret"
printf 'deep secret\n' >"$O/sub/deep"
ln -s ../outside "$E/evil"
ln -s /etc "$E/evil2"
ln -s ../evil "$E/d/chain"
ln -s ../../outside "$E/holder/link"
ln -s ../outside/secret "$E/file-link"
printf 'x\n' >"$T/src/f"
stamp_tree "$O"
before_outside=$(tree_manifest "$O")
probe="rpcsync-probe-$$-$RANDOM"
start_syncd --root "$E" || exit 1

# refused OP ARGS...: the raw call's first output line must be BADPATH.
refused() {
	run "$RAWCALL" default "$@"
	is "${OUT%%$'\n'*}" SYNC_ERR_BADPATH "$* : SYNC_ERR_BADPATH"
}

for base in evil d/chain; do
	refused put "$base/secret" 'overwritten'
	refused put "$base/new-file" 'planted'
	refused mkdir "$base/new-dir"
	refused mkdir "$base/sub/new-dir"
	refused delete "$base/secret"
	refused delete "$base/sub"
	refused symlink "$base/new-link" /etc
	refused setattr "$base/secret" 777
	refused setattr "$base/sub" 777
	refused list "$base/sub"
	refused read "$base/secret" 0 100
	unlike "$OUT" secret "read $base/secret leaks nothing"
done

# evil2 -> /etc: only reads and names that do not exist in /etc are tried.
refused read evil2/passwd 0 4096
unlike "$OUT" 'root:' "read evil2/passwd leaks nothing"
refused list evil2/default
refused put "evil2/$probe" 'planted'
refused mkdir "evil2/$probe.d"
refused symlink "evil2/$probe.l" /
refused delete "evil2/$probe"
for f in "/etc/$probe" "/etc/$probe.d" "/etc/$probe.l"; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		not_ok "$f was not created"
		rm -rf "$f"
	else
		ok "$f was not created"
	fi
done

is "$(tree_manifest "$O")" "$before_outside" "outside/ unchanged by raw calls beneath planted links"

# A link as the final component: listed as a link, never entered.
run "$RAWCALL" default list evil
is "${OUT%%$'\n'*}" SYNC_OK "LIST of the link itself succeeds"
unlike "$OUT" "secret|deep" "LIST of a link does not list its target"
run "$RAWCALL" default mkdir evil
isnt "$OUT" SYNC_OK "MKDIR over a link to a directory is not 'existing directory'"
run "$RAWCALL" default setattr evil 700
is "$(stat -c %a "$O")" "$(awk '$1 == "." { print $3 }' <<<"$before_outside")" \
	"SETATTR on a link does not chmod its target"

# A push whose PATH runs through a planted link is refused, outside intact.
run "$SYNCCTL" push 127.0.0.1:default/evil/pushed "$T/src"
isnt "$RC" 0 "push to PATH evil/pushed: non-zero exit"
run "$SYNCCTL" push 127.0.0.1:default/evil "$T/src"
isnt "$RC" 0 "push to PATH evil (a link, not a directory): non-zero exit"
if [ -e "$O/pushed" ] || [ -e "$O/f" ]; then not_ok "nothing pushed through the link"; else ok "nothing pushed through the link"; fi

# Deleting links removes the links, never what they point to.
run "$RAWCALL" default delete holder
is "$OUT" SYNC_OK "DELETE of a directory holding a link to outside"
if [ -e "$E/holder" ]; then not_ok "holder removed"; else ok "holder removed"; fi
run "$RAWCALL" default delete evil
is "$OUT" SYNC_OK "DELETE of the link evil"
if [ -L "$E/evil" ]; then not_ok "evil removed"; else ok "evil removed"; fi
run "$RAWCALL" default delete d
is "$OUT" SYNC_OK "DELETE of a directory holding a chained link"

# A file-link replaced by a push: the link is swapped, its target untouched.
run "$RAWCALL" default put file-link 'replaced'
is "$OUT" SYNC_OK "PUT over file-link (-> ../outside/secret)"
is "$(cat "$O/secret")" secret "the link's target keeps its content"

is "$(tree_manifest "$O")" "$before_outside" "outside/ byte- and mtime-identical at the end"
is "$(readlink "$E/evil2")" /etc "evil2 itself untouched"

stop_syncd
done_testing
