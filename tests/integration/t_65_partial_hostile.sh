#!/bin/bash
# t_65_partial_hostile.sh -- PARTIAL (16) and RESUME (17) against a hostile
# client and a hostile local user, with tests/tools/rawcall:
# - paths: every bad one is refused (BADPATH, INVAL, NOENT, NOTDIR) by both,
#   and neither creates anything outside or under a planted link;
# - keys: any 16 bytes name a partial by their hex ("/../" bytes included),
#   beside the final name and nowhere else; PARTIAL's hash is the content's;
# - offsets: beyond the partial (up to 2^64-1) the RESUME is doomed -- its
#   WRITEs ignored, its COMMIT fails with CHECKSUM -- and the partial is not
#   cut or written; inside it, it is cut there; a WRITE past 2^62 fails the
#   handle and its partial is not kept; a resumed write committed with the
#   whole file's hash publishes exactly that file, a wrong hash nothing;
# - a symlink (to a file or a directory outside), a directory, a hard link
#   to an outside file, a FIFO or another user's file planted under a
#   partial's name is never read, written, followed or replaced: PARTIAL
#   says NOENT at once, RESUME writes a fresh temp (a non-zero offset is
#   doomed), and what is published belongs to syncd's user;
# - two sessions with the same key: the second gets NOENT and fresh temps,
#   the first's partial and its commit are untouched;
# - a read-only export refuses RESUME;
# - the startup sweep removes what is planted under partial names (links
#   themselves, never their targets) and old partials, keeps young ones;
# - syncd --root (no configuration file) keeps partials as long as the
#   default expiry says, like a configured export.
# Throughout, the sentinel outside the export stays identical.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
O="$T/outside"
K=00112233445566778899aabbccddeeff
P=".syncd-tmp.part.$K"
mkdir -p "$E/d" "$O/sub"
printf 'OUTSIDE secret\n' >"$O/secret"
printf 'OUTSIDE linked\n' >"$O/linked"
printf 'OUTSIDE deep\n' >"$O/sub/deep"
printf 'plain\n' >"$E/file"
ln -s ../outside "$E/evil"
stamp_tree "$O"
before_outside=$(tree_manifest "$O")
printf '[default]\npath = %s\n[ro]\npath = %s\nread only = yes\n' "$E" "$E" >"$T/syncd.conf"
# start ARGS: starts syncd with ARGS and learns its port (PORT), or stops the test.
start() {
	start_syncd "$@" || exit 1
	PORT=$(syncd_port)
	[ -n "$PORT" ] || { not_ok "rpcbind has syncd's port"; exit 1; }
}
start -c "$T/syncd.conf"

# temps: the temp names (partials included) anywhere under the export.
temps() { find "$E" -name '.syncd-tmp.*' | sort; }
# first: the first line of OUT.
first() { printf '%s' "${OUT%%$'\n'*}"; }
# ended: true once syncd has at most $OPEN connections: a session's socket
# is closed after its end (open writes dropped, partials kept, unlocked).
OPEN=0
ended() { [ "$(ss -Htn "( sport = :$PORT )" 2>/dev/null | wc -l)" -le "$OPEN" ]; }
# settle: waits (10 s at most) until the sessions of the last calls ended.
settle() { wait_for 10 ended || not_ok "syncd's sessions ended within 10 s"; }
# call ARGS: "run rawcall ARGS" (20 s at most), then settle.
call() { run timeout 20 "$RAWCALL" "$@"; settle; }
# rawscript LINES: runs "rawcall default script" with LINES on stdin, then settle.
rawscript() { RC=0; OUT=$("$RAWCALL" default script <<<"$1" 2>&1) || RC=$?; settle; }
outside_intact() { is "$(tree_manifest "$O")" "$before_outside" "outside/ unchanged: $1"; }
# absent NAME WHAT: passes if nothing (not even a link) is at NAME.
absent() { if [ -e "$1" ] || [ -L "$1" ]; then not_ok "$2"; else ok "$2"; fi; }

# --- paths ---------------------------------------------------------------
for p in ../x /etc/passwd 'a/../../x' .. . 'd//f' 'd/' 'a\x00b' evil/secret evil/new \
    evil/sub/deep "$P" "d/$P" '.syncd-tmp.x'; do
	call default partial "$p" "$K"
	is "$(first)" SYNC_ERR_BADPATH "PARTIAL '$p': BADPATH"
	call default resume "$p" "$K" 0 data
	is "$(first)" SYNC_ERR_BADPATH "RESUME '$p': BADPATH"
done
call default partial '' "$K"
is "$(first)" SYNC_ERR_INVAL "PARTIAL of the export root: INVAL"
call default resume '' "$K" 0 data
is "$(first)" SYNC_ERR_INVAL "RESUME of the export root: INVAL"
call default partial missing/f "$K"
is "$(first)" SYNC_ERR_NOENT "PARTIAL below a missing directory: NOENT"
call default resume missing/f "$K" 0 data
is "$(first)" SYNC_ERR_NOENT "RESUME below a missing directory: NOENT"
call default partial file/f "$K"
is "$(first)" SYNC_ERR_NOTDIR "PARTIAL below a regular file: NOTDIR"
call default resume file/f "$K" 0 data
is "$(first)" SYNC_ERR_NOTDIR "RESUME below a regular file: NOTDIR"
call default resume d "$K" 0 data
is "$(first)" SYNC_ERR_ISDIR "RESUME of a directory's name: ISDIR"
is "$(temps)" "" "no temp or partial left by the refused calls"
outside_intact "after bad paths"

# --- keys ----------------------------------------------------------------
mkdir "$E/k"
for key in 2f2e2e2f2f2e2e2f2f2e2e2f2f2e2e2f 00000000000000000000000000000000 \
    ffffffffffffffffffffffffffffffff; do
	call default resume k/f "$key" 0 'key data'
	is "$(first)" SYNC_OK "RESUME with key $key: OK"
	is "$(cat "$E/k/.syncd-tmp.part.$key" 2>&1)" 'key data' \
		"the partial for $key is k/.syncd-tmp.part.$key, holding the data"
done
is "$(temps | wc -l)" 3 "three partials, nothing else"
is "$(find "$E/k" -mindepth 1 -not -name '.syncd-tmp.part.*')" "" "k/ holds nothing but them"
call default put k/ref 'key data'
call default list-hash k
want_hash=$(sed -n 's/.* ref #//p' <<<"$OUT")
call default partial k/f ffffffffffffffffffffffffffffffff
is "$OUT" "SYNC_OK"$'\n'"length=8 hash=$want_hash" \
	"PARTIAL: the partial's length and content hash (as LIST's of the same bytes)"
call default partial k/other-name ffffffffffffffffffffffffffffffff
is "$(first)" SYNC_OK "the partial belongs to its key and directory, not to a final name"
call default partial k/f 0123456789abcdef0123456789abcdef
is "$(first)" SYNC_ERR_NOENT "PARTIAL of an unknown key: NOENT"
call default list k
unlike "$OUT" 'syncd-tmp' "LIST does not show partials"
rm -rf "$E/k"

# --- offsets -------------------------------------------------------------
call default resume f "$K" 0 0123456789
is "$(first)" SYNC_OK "a partial of 10 bytes"
for off in 11 4611686018427387904 9223372036854775808 18446744073709551615; do
	call default resume f "$K" "$off" x
	is "$(first)" SYNC_OK "RESUME at $off, beyond the partial: opens (doomed), the WRITE ignored"
	is "$(cat "$E/$P")" 0123456789 "the partial is neither cut nor written by it"
	is "$(temps)" "$E/$P" "its fresh temp is gone with the connection"
done
rawscript "resume 1 f $K 18446744073709551615
write 1 x 18446744073709551615
commit 1 0
barrier"
is "$OUT" $'barrier done=3 failed=1\nfail 2 SYNC_ERR_CHECKSUM ' \
	"RESUME at 2^64-1: its COMMIT fails with CHECKSUM (and the WRITE is ignored)"
absent "$E/f" "nothing published under f"
is "$(cat "$E/$P")" 0123456789 "the partial is intact after the doomed COMMIT"
call default resume f "$K" 5 abc
is "$(first)" SYNC_OK "RESUME at 5, inside the partial"
is "$(cat "$E/$P")" 01234abc "the partial was cut at 5 and written after it"
rawscript "resume 1 f $K 8
write 1 x 4611686018427387904
barrier"
is "$OUT" $'barrier done=2 failed=1\nfail 1 SYNC_ERR_INVAL ' "a WRITE past 2^62 fails the handle"
call default partial f "$K"
is "$(first)" SYNC_ERR_NOENT "the failed handle's partial is not kept"
is "$(temps)" "" "no temp left"

call default resume f "$K" 0 'hello, '
rawscript "partial f $K
resume 1 f $K 7
write 1 world 7
commit 1 12 hello,\\x20world
barrier"
like "$OUT" $'^SYNC_OK\nlength=7 hash=[0-9a-f]{32}\nbarrier done=3 failed=0$' \
	"resumed at 7 and committed with the whole file's hash"
is "$(cat "$E/f")" 'hello, world' "f holds exactly the whole file"
is "$(temps)" "" "the partial was renamed away by the COMMIT"
call default resume g "$K" 0 'hello, '
rawscript "resume 1 g $K 7
write 1 World 7
commit 1 12 hello,\\x20world
barrier"
is "$OUT" $'barrier done=3 failed=1\nfail 2 SYNC_ERR_CHECKSUM ' \
	"a resumed file that does not match the whole hash: CHECKSUM"
absent "$E/g" "nothing published under g"
is "$(temps)" "" "the failed COMMIT removed the partial"
outside_intact "after offsets"

# --- planted under the partial's name -----------------------------------
# planted KIND: a local user puts KIND at $E/$P.
planted() {
	case $1 in
	symlink-file) ln -s ../outside/secret "$E/$P" ;;
	symlink-dir) ln -s ../outside "$E/$P" ;;
	directory) mkdir "$E/$P" && printf 'inside\n' >"$E/$P/x" ;;
	hard-link) ln "$O/linked" "$E/$P" ;;
	fifo) mkfifo "$E/$P" ;;
	# A regular file of another user, who may keep it open to read or
	# change what syncd would write into it.
	foreign-file) printf 'mine\n' >"$E/$P" && chmod 666 "$E/$P" && chown nobody "$E/$P" ;;
	esac
}
# planted_state: what must not change about the planted entry.
planted_state() { stat -c '%F %i %h %s %U %a' "$E/$P"; find "$E/$P" -mindepth 1 2>/dev/null; }
for kind in symlink-file symlink-dir directory hard-link fifo foreign-file; do
	planted "$kind"
	state=$(planted_state)
	call default partial f "$K"
	is "$RC.$(first)" 0.SYNC_ERR_NOENT "$kind at the partial's name: PARTIAL says NOENT at once"
	unlike "$OUT" length "$kind: no length or hash of what it leads to"
	call default resume f "$K" 0 planted-over
	is "$RC.$(first)" 0.SYNC_OK "$kind: RESUME at 0 opens a fresh temp"
	rawscript "resume 1 f $K 3
write 1 x 3
commit 1 4
barrier"
	is "$OUT" $'barrier done=3 failed=1\nfail 2 SYNC_ERR_CHECKSUM ' "$kind: RESUME at 3 is doomed"
	rawscript "resume 1 f $K 0
write 1 fresh
commit 1 5 fresh
barrier"
	is "$OUT" "barrier done=3 failed=0" "$kind: RESUME at 0 committed"
	is "$(cat "$E/f")" fresh "$kind: f holds what was sent"
	is "$(stat -c %u "$E/f")" "$(id -u)" "$kind: f belongs to syncd's user"
	is "$(planted_state)" "$state" "$kind: the planted entry is untouched"
	is "$(temps)" "$E/$P" "$kind: no other temp left"
	outside_intact "$kind planted"
	rm -rf "${E:?}/$P"
done

# --- two sessions, one key -----------------------------------------------
# Session A is a rawcall script conversing through two FIFOs.
mkfifo "$T/a.in" "$T/a.out"
"$RAWCALL" default script <"$T/a.in" >"$T/a.out" 2>&1 &
a_pid=$!
exec {a_w}>"$T/a.in" {a_r}<"$T/a.out"
OPEN=1
# a_says LINE: sends LINE to session A.  a_reads: its next output line (10 s at most).
a_says() { printf '%s\n' "$1" >&"$a_w"; }
a_reads() { local line=; read -r -t 10 -u "$a_r" line; printf '%s' "$line"; }
a_says "resume 1 c $K 0"
a_says "write 1 AAAA"
a_says barrier
is "$(a_reads)" "barrier done=2 failed=0" "session A writes a partial and keeps it open"
call default partial c "$K"
is "$(first)" SYNC_ERR_NOENT "session B: PARTIAL of the key A holds is NOENT"
rawscript "resume 1 c $K 4
write 1 x 4
commit 1 5
barrier"
is "$OUT" $'barrier done=3 failed=1\nfail 2 SYNC_ERR_CHECKSUM ' "session B: RESUME at 4 is doomed"
rawscript "resume 1 c $K 0
write 1 BBBB
commit 1 4
barrier"
is "$OUT" "barrier done=3 failed=0" "session B: RESUME at 0 gets a fresh temp, committed"
is "$(cat "$E/c")" BBBB "c holds B's file"
is "$(cat "$E/$P")" AAAA "A's partial is untouched by B"
a_says "write 1 aaaa 4"
a_says "commit 1 8 AAAAaaaa"
a_says barrier
is "$(a_reads)" "barrier done=2 failed=0" "session A commits its file"
is "$(cat "$E/c")" AAAAaaaa "c holds A's whole file, not a mix"
exec {a_w}>&- {a_r}<&-
wait "$a_pid"
is "$?" 0 "session A's rawcall exits 0 when its input ends"
OPEN=0
settle
is "$(temps)" "" "no temp or partial left"

# --- read-only export ----------------------------------------------------
call ro resume f "$K" 0 data
is "$(first)" SYNC_ERR_ROFS "RESUME on a read-only export: ROFS"
call ro partial f "$K"
is "$(first)" SYNC_ERR_NOENT "PARTIAL on a read-only export only reads: NOENT"
is "$(temps)" "" "nothing created on the read-only export"

# --- the startup sweep ---------------------------------------------------
stop_syncd
mkdir -p "$E/s"
ln -s ../../outside/secret "$E/s/.syncd-tmp.part.11111111111111111111111111111111"
ln "$O/linked" "$E/s/.syncd-tmp.part.22222222222222222222222222222222"
mkfifo "$E/s/.syncd-tmp.part.33333333333333333333333333333333"
printf 'old\n' >"$E/s/.syncd-tmp.part.44444444444444444444444444444444"
touch -d '3 days ago' "$E/s/.syncd-tmp.part.44444444444444444444444444444444"
printf 'young\n' >"$E/s/.syncd-tmp.part.55555555555555555555555555555555"
start -c "$T/syncd.conf"
is "$(find "$E/s" -mindepth 1 | sort)" "$E/s/.syncd-tmp.part.55555555555555555555555555555555" \
	"the startup sweep removed the planted link, hard link and FIFO and the old partial, kept the young one"
call default partial s/x 55555555555555555555555555555555
like "$OUT" $'^SYNC_OK\nlength=6 ' "the young partial can be resumed"
outside_intact "after the sweep"
stop_syncd

# --- syncd --root keeps partials too (the default expiry, a day) ---------
start --root "$E"
call default resume r "$K" 0 interrupted
is "$(first)" SYNC_OK "syncd --root: a resumable write, cut before its COMMIT"
call default partial r "$K"
like "$OUT" $'^SYNC_OK\nlength=11 ' "syncd --root: the partial is kept for a resume"
stop_syncd
done_testing
