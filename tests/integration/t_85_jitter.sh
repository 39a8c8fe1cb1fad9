#!/bin/bash
# t_85_jitter.sh -- fault matrix row 5: every connection goes through a relay
# that delays each read by 20 ms + up to 20 ms of jitter (never reordered).
# A push with changed files (each a rename over the old one), new files,
# deletions (--delete) and a symlink completes over several streams and the
# tree is exact.  Then the first connection is also cut in the middle of
# the file phase, and the retry's connection is held by the relay until the
# test has taken a snapshot of the server: the retry then finishes the push
# without applying anything twice -- every file the first attempt had
# already published keeps its inode (it was not renamed over again), and
# the retry's --stats count exactly the files and deletions that were
# still missing at the snapshot.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/relay.sh
. "$(dirname "$0")/../lib/relay.sh"

E="$T/export"
A="$T/old"
B="$T/new"
N=30
mkdir -p "$E" "$A/d" "$B/d" "$B/new/sub" "$A/olddir"
for i in $(seq "$N"); do
	printf 'old %d\n' "$i" >"$A/d/f$i"
	printf 'new version of %d\n' "$i" >"$B/d/f$i"
done
head -c 1200000 /dev/urandom >"$B/big"
printf 'x\n' >"$A/gone1"
printf 'y\n' >"$A/gone2"
printf 'z\n' >"$A/olddir/z"
printf 'n\n' >"$B/new/sub/n"
ln -s d/f1 "$B/link"
stamp_tree "$A" @1200000000.5
stamp_tree "$B"
(cd "$B" && find . -type f -exec md5sum {} + | sort) >"$T/new.sums"
NSEND=$(wc -l <"$T/new.sums")   # every file of B differs from A's
NDEL=3                           # gone1, gone2, olddir (a tree counts once)

start_syncd --root "$E" || exit 1
reset_old() {
	run "$SYNCCTL" --delete push 127.0.0.1/t "$A"
	[ "$RC" = 0 ] || { not_ok "reset to the old version"; diag "$OUT"; }
}
temps() { find "$E" -name '.syncd-tmp.*' 2>/dev/null | wc -l; }
no_temps() { [ "$(temps)" -eq 0 ]; }

# Part 1: latency and jitter on every connection, several streams.
reset_old
start_relay -d 20 -j 20 || exit 1
run timeout 120 "$SYNCCTL" --streams 3 --delete --stats --port "$RELAY_PORT" push 127.0.0.1/t "$B"
is "$RC" 0 "through 20 ms + jitter: exit 0"
assert_trees_equal "$B" "$E/t" "through 20 ms + jitter: the tree is exact"
is "$(stat_of 'files sent')" "$NSEND" "through 20 ms + jitter: every changed file sent once"
is "$(stat_of 'entries deleted')" "$NDEL" "through 20 ms + jitter: every deletion sent once"
stop_relay

# Count the records of a push on one stream, for a cut in its middle.
reset_old
start_relay -d 20 -j 20 || exit 1
run timeout 120 "$SYNCCTL" --streams 1 --delete --port "$RELAY_PORT" push 127.0.0.1/t "$B"
is "$RC" 0 "one stream through the relay: exit 0"
wait_for 5 relay_said '^conn 1 closed' || not_ok "the relay reported the connection's end"
read -r NREC _ <<<"$(relay_closed 1)"
stop_relay
K=$((NREC * 2 / 3))
diag "one stream: $NREC client records; cutting after $K"

# Part 2: the cut, the held retry, the snapshot.
reset_old
start_relay -d 20 -j 20 -n 1 -k "$K" -H 2 || exit 1
"$SYNCCTL" --streams 1 --delete --stats --retries 2 --timeout 20 --port "$RELAY_PORT" \
	push 127.0.0.1/t "$B" >"$T/push.out" 2>&1 &
client=$!
wait_for 20 relay_said "^conn 1 cut after $K client records" || not_ok "the relay cut connection 1"
wait_for 20 relay_said '^conn 2 open' || not_ok "the retry connected (and is held)"
wait_for 10 no_temps || not_ok "syncd ended the cut session's temps"
# The snapshot: files already new (with their inodes), deletions still to do.
(cd "$E/t" && find . -type f -exec md5sum {} + | sort) | comm -12 - "$T/new.sums" |
	awk '{ print $2 }' >"$T/done.list"
while IFS= read -r f; do stat -c '%i %n' "$E/t/$f"; done <"$T/done.list" >"$T/done.inodes"
ndone=$(wc -l <"$T/done.list")
left_del=0
for g in gone1 gone2 olddir; do [ -e "$E/t/$g" ] && left_del=$((left_del + 1)); done
diag "at the snapshot: $ndone of $NSEND files new, $left_del of $NDEL deletions left"
# Deletions are applied at once; COMMITs that no BARRIER confirmed before
# the cut are dropped with the session (PROTOCOL.md section 2).
check "the first attempt did something before the cut ($ndone files, $((NDEL - left_del)) deletions)" \
	[ "$ndone" -ge 1 -o "$left_del" -lt "$NDEL" ]
check "... and left some to the retry" [ "$ndone" -lt "$NSEND" ]
kill -USR1 "$RELAY_PID"
if wait_for 60 gone "$client"; then ok "the retry finished"; else not_ok "the retry finished"; kill -KILL "$client"; fi
rc=0
wait "$client" || rc=$?
OUT=$(cat "$T/push.out")
stop_relay
is "$rc" 0 "cut + retry: exit 0"
like "$OUT" "retrying in 1 s \\(attempt 2 of 3\\)" "cut + retry: one retry line"
assert_trees_equal "$B" "$E/t" "cut + retry: the tree is exact"
while IFS= read -r f; do stat -c '%i %n' "$E/t/$f"; done <"$T/done.list" >"$T/after.inodes"
if diff -u "$T/done.inodes" "$T/after.inodes" >"$T/inodes.diff"; then
	ok "no file published by the first attempt was published again"
else
	not_ok "no file published by the first attempt was published again"
	diag "$(cat "$T/inodes.diff")"
fi
is "$(stat_of 'files sent')" $((NSEND - ndone)) "the retry sent only the files still missing"
is "$(stat_of 'entries deleted')" "$left_del" "the retry deleted only what was still there"
check "no temp left" no_temps

stop_syncd
done_testing
