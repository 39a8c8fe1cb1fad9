#!/bin/bash
# t_66_hardening.sh -- defects found in review, each pinned by a test:
# SETATTR never changes a hard-linked file (the inode may live outside the
# export); DELETE never descends into another filesystem mounted inside the
# export; credential flavors other than AUTH_NONE/AUTH_SYS are rejected
# before libtirpc's authenticator sees them; and the periodic rpcbind check
# takes syncd's entry back from whoever registered our program number after
# an rpcbind restart.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
O="$T/outside"
mkdir -p "$E/mnt" "$O" "$T/src"
printf 'shadow\n' >"$O/shadow"
chmod 600 "$O/shadow"
ln "$O/shadow" "$E/hl"
printf 'x\n' >"$T/src/f"
stamp_tree "$O"
before_outside=$(tree_manifest "$O")
start_syncd --root "$E" --rpcbind-check 1 || exit 1

# --- hard link: SETATTR refused, the outside inode untouched
run "$RAWCALL" default setattr hl 4777
is "${OUT%%$'\n'*}" SYNC_ERR_ACCES "setattr on a hard-linked file: SYNC_ERR_ACCES"
is "$(stat -c %a "$O/shadow")" 600 "the outside file keeps mode 600"
run "$RAWCALL" default put hl 'replaced'
is "${OUT%%$'\n'*}" SYNC_OK "put over a hard link replaces the entry"
is "$(cat "$O/shadow")" shadow "the outside file keeps its content"
is "$(tree_manifest "$O")" "$before_outside" "outside/ unchanged"

# --- a filesystem mounted inside the export is never emptied by DELETE
if mount -t tmpfs -o size=1m tmpfs "$E/mnt" 2>/dev/null; then
	printf 'keep\n' >"$E/mnt/precious"
	run "$RAWCALL" default delete mnt
	isnt "${OUT%%$'\n'*}" SYNC_OK "delete of a mount point is refused"
	is "$(cat "$E/mnt/precious" 2>/dev/null)" keep "the mounted filesystem keeps its files"
	umount "$E/mnt"
else
	ok "# SKIP cannot mount a tmpfs here"
	ok "# SKIP cannot mount a tmpfs here"
fi

# --- an RPCSEC_GSS credential is rejected, and syncd keeps answering
# call header (xid, CALL, rpcvers 2, prog, vers 1, proc 0), cred flavor 6
# with an empty body, verifier AUTH_NONE: sent with a record mark.
port=$(syncd_port)
hex='80000028 0000abcd 00000000 00000002 2053594e 00000001 00000000 00000006 00000000 00000000 00000000'
bytes=$(for w in $hex; do printf '\\x%s\\x%s\\x%s\\x%s' "${w:0:2}" "${w:2:2}" "${w:4:2}" "${w:6:2}"; done)
reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "$2" >&3; timeout 2 head -c 24 <&3' _ "$port" "$bytes" 2>/dev/null | od -An -tx1 | tr -d ' \n')
# reply (24 bytes): mark, xid, REPLY(1), MSG_DENIED(1), AUTH_ERROR(1), why
like "$reply" '^........0000abcd000000010000000100000001' "RPCSEC_GSS credential: MSG_DENIED / AUTH_ERROR"
if rpcinfo -t 127.0.0.1 542333262 1 >/dev/null 2>&1; then ok "syncd answers after the GSS probe"; else not_ok "syncd answers after the GSS probe"; fi

# --- rpcbind restarted cold; someone registers our program first
stop_rpcbind
start_rpcbind
run "$RAWCALL" --rpcb-set 9
is "$OUT" registered "a foreign registration of program 542333262 was accepted"
if wait_for 15 registered; then ok "syncd took its rpcbind entry back"; else not_ok "syncd took its rpcbind entry back"; diag "$(rpcinfo -p 127.0.0.1)"; fi
is "$(syncd_port)" "$port" "the entry points at syncd's port again"
run "$SYNCCTL" push 127.0.0.1:default/after-hijack "$T/src"
is "$RC" 0 "push through rpcbind after the takeover: exit 0"

stop_syncd
done_testing
