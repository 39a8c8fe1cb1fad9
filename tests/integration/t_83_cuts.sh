#!/bin/bash
# t_83_cuts.sh -- fault matrix row 3: the connection is cut (reset both
# ways) right after each whole client record of a push in turn, K = 1 .. all
# of them (--streams 1, so the record sequence is fixed; counted in a clean
# run first).  With --retries 0 the client fails with a clear error and exit
# 69; on the server no temp is left, every file is its old or its new
# version, whole, nothing that both versions have is missing, and syncd still
# serves.  With the cut on the first connection only and --retries 2, the
# push succeeds on its own and the tree is exact.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/relay.sh
. "$(dirname "$0")/../lib/relay.sh"

E="$T/export"
A="$T/old"
B="$T/new"
mkdir -p "$E" "$A/d" "$B/d" "$B/newdir/sub"
# The old version: files to replace, one to delete, a directory to delete.
printf 'old a\n' >"$A/a"
head -c 1500000 /dev/urandom >"$A/big"
printf 'old e\n' >"$A/d/e"
printf 'gone\n' >"$A/gone"
mkdir -p "$A/olddir" && printf 'x\n' >"$A/olddir/x"
# The new version: a and e changed, big changed (> 1 MiB, 2 WRITEs), new
# files and directories, a symlink; gone and olddir are deleted (--delete).
printf 'new a, longer\n' >"$B/a"
head -c 1600000 /dev/urandom >"$B/big"
printf 'new e\n' >"$B/d/e"
printf 'fresh\n' >"$B/newdir/sub/f"
ln -s a "$B/link"
stamp_tree "$A" @1200000000.5
stamp_tree "$B"
(cd "$A" && find . -type f -exec md5sum {} + | sort) >"$T/old.sums"
(cd "$B" && find . -type f -exec md5sum {} + | sort) >"$T/new.sums"

start_syncd --root "$E" || exit 1

# reset_old: the server holds the old version again (directly, no relay).
reset_old() {
	run "$SYNCCTL" --delete push 127.0.0.1/t "$A"
	[ "$RC" = 0 ] || { not_ok "reset to the old version"; diag "$OUT"; }
}
temps() { find "$E" -name '.syncd-tmp.*' 2>/dev/null | wc -l; }
no_temps() { [ "$(temps)" -eq 0 ]; }
# old_or_new: every file on the server is one of the two versions, whole,
# and every file both versions have is there.
old_or_new() {
	local bad missing
	bad=$( (cd "$E/t" && find . -type f -exec md5sum {} + | sort) |
	    comm -23 - "$T/old.sums" | comm -23 - "$T/new.sums")
	missing=$(for f in ./a ./big ./d/e; do [ -f "$E/t/$f" ] || echo "$f"; done)
	[ -z "$bad$missing" ] || { diag "not old or new: $bad" "missing: $missing"; return 1; }
}
PUSH=("$SYNCCTL" --streams 1 --delete --timeout 10)

# A clean run through the relay counts the records.
reset_old
start_relay || exit 1
run "${PUSH[@]}" --port "$RELAY_PORT" push 127.0.0.1/t "$B"
is "$RC" 0 "a clean push through the relay"
assert_trees_equal "$B" "$E/t" "the clean push is exact"
wait_for 5 relay_said '^conn 1 closed' || not_ok "the relay reported the connection's end"
read -r NREC NREPLY <<<"$(relay_closed 1)"
stop_relay
diag "a clean push: $NREC client records, $NREPLY replies"
check "the push has several records ($NREC)" [ "${NREC:-0}" -ge 8 ]

# Row 3 proper: a cut after every record boundary, no retries.
for K in $(seq "$NREC"); do
	reset_old
	start_relay -k "$K" || exit 1
	run "${PUSH[@]}" --retries 0 --port "$RELAY_PORT" push 127.0.0.1/t "$B"
	stop_relay
	if [ "$RC" = 69 ] && grep -Eq '^syncctl: 127\.0\.0\.1:[0-9]+: [A-Z]+: ' <<<"$OUT"; then
		ok "cut after record $K: exit 69 with a clear error"
	else
		not_ok "cut after record $K: exit 69 with a clear error (exit $RC)"
		diag "$OUT"
	fi
	unlike "$OUT" "retrying" "cut after record $K: --retries 0 does not retry"
	if wait_for 10 no_temps; then ok "cut after record $K: no temp left"; else not_ok "cut after record $K: no temp left ($(temps))"; fi
	check "cut after record $K: every file old or new, whole" old_or_new
done
run "$RAWCALL" --port "$(syncd_port)" default hello
is "$OUT" SYNC_OK "syncd still serves after $NREC cuts"

# The same cuts on the first connection only, with retries: the push
# recovers by itself (a few K: each retry waits its 1 s backoff).
for K in 1 2 $((NREC / 2)) $((NREC - 1)) "$NREC"; do
	reset_old
	start_relay -n 1 -k "$K" || exit 1
	run "${PUSH[@]}" --retries 2 --port "$RELAY_PORT" push 127.0.0.1/t "$B"
	stop_relay
	is "$RC" 0 "cut after record $K, --retries 2: exit 0"
	like "$OUT" "^syncctl: connection to 127\.0\.0\.1 failed or was lost; retrying in 1 s \(attempt 2 of 3\)$" \
	    "cut after record $K: one retry line"
	assert_trees_equal "$B" "$E/t" "cut after record $K, retried: the tree is exact"
	check "cut after record $K, retried: no temp left" no_temps
done

stop_syncd
done_testing
