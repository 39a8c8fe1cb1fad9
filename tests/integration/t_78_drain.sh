#!/bin/bash
# t_78_drain.sh -- SIGTERM drains.  syncd stops accepting and leaves rpcbind
# at once, lets sessions finish their current batch for up to the drain
# timeout, cuts the rest (their temps dropped), and exits 0 saying how many
# it drained and cut.  A push caught by SIGTERM completes or fails with a
# clear error; every file is old or new, whole; no temp is left.  An idle
# session does not hold the drain up; a session that stays mid-batch is cut
# at the drain timeout; a second SIGTERM cuts at once.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
A="$T/old"
B="$T/new"
DRAIN=4
mkdir -p "$E" "$A/d" "$B/d"
# 120 files in two versions, some over the 1 MiB WRITE chunk.
for i in $(seq 120); do
	n=$(((i * 7919) % 200000 + 1))
	[ $((i % 8)) -eq 0 ] && n=$((n + 1500000))
	head -c "$n" /dev/urandom >"$A/d/f$i"
	head -c $((n + i)) /dev/urandom >"$B/d/f$i"
done
(cd "$A/d" && md5sum f* | sort) >"$T/old.sums"
(cd "$B/d" && md5sum f* | sort) >"$T/new.sums"
printf 'drain timeout = %d\n[default]\npath = %s\n' "$DRAIN" "$E" >"$T/syncd.conf"

temps() { find "$E" -name '.syncd-tmp.*' 2>/dev/null | wc -l; }
# whole: every file of the export is its old or its new version, none lost.
whole() {
	local bad
	bad=$( (cd "$E/t/d" && md5sum f* | sort) | comm -23 - "$T/old.sums" |
	    comm -23 - "$T/new.sums" | wc -l)
	is "$bad/$(find "$E/t/d" -name 'f*' | wc -l)" 0/120 "$1: every file is old or new, whole, none lost"
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# term_and_time: SIGTERM to syncd; sets EXIT_MS (until it is gone), SYNCD_RC
# and UNREG_MS (until rpcbind no longer lists it).
term_and_time() {
	local start
	start=$(date +%s%N)
	kill -TERM "$SYNCD_PID"
	UNREG_MS=-1
	wait_for 10 bash -c "! rpcinfo -p 127.0.0.1 | grep -q ' $PROG '" && UNREG_MS=$(ms_since "$start")
	wait_for $((DRAIN + 10)) gone "$SYNCD_PID"
	EXIT_MS=$(ms_since "$start")
	SYNCD_RC=0
	wait "$SYNCD_PID" || SYNCD_RC=$?
	SYNCD_PID=
	check_syncd_log || true
}

# 1. A push in progress.  Each run SIGTERMs at a later point of it.
for r in 1 2 3; do
	start_syncd -c "$T/syncd.conf" || exit 1
	run "$SYNCCTL" push 127.0.0.1/t "$A"
	is "$RC" 0 "run $r: the old version is in place"
	"$SYNCCTL" --streams 2 push 127.0.0.1/t "$B" >"$T/push.$r" 2>&1 &
	client=$!
	for _ in $(seq 2000); do
		[ "$(temps)" -ge $((r * 6)) ] && break
		gone "$client" && break
	done
	diag "run $r: SIGTERM with $(temps) temps being written"
	term_and_time
	crc=0
	wait "$client" || crc=$?
	is "$SYNCD_RC" 0 "run $r: syncd exits 0"
	check "run $r: rpcbind forgot syncd at once ($UNREG_MS ms)" test "$UNREG_MS" -ge 0 -a "$UNREG_MS" -lt 1000
	check "run $r: syncd exits within the drain bound ($EXIT_MS ms)" [ "$EXIT_MS" -lt $(((DRAIN + 2) * 1000)) ]
	like "$(cat "$SYNCD_LOG")" "stopped: [0-9]+ sessions? drained, [0-9]+ cut" "run $r: the log says how many sessions were drained and cut"
	if [ "$crc" -eq 0 ]; then
		ok "run $r: the push completed"
		assert_trees_equal "$B" "$E/t" "run $r: ... and the tree is the new one"
	else
		diag "run $r: the push failed ($crc): $(cat "$T/push.$r")"
		check "run $r: the push failed cleanly (status $crc)" [ "$crc" -lt 128 ]
		like "$(cat "$T/push.$r")" "^syncctl: " "run $r: ... with an error message"
	fi
	whole "run $r"
	is "$(temps)" 0 "run $r: no temp left"
done

# 2. Idle connections (one that never spoke, one session after HELLO) do not
# hold the drain up.
start_syncd -v -c "$T/syncd.conf" || exit 1
port=$(syncd_port)
base_fds=$(find "/proc/$SYNCD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
hello_hex='8000003c 00000001 00000000 00000002 2053594e 00000001 00000001 00000000 00000000 00000000 00000000 00000001 00000007 64656661 756c7400 00000000'
hello_bytes=$(for w in $hello_hex; do printf '\\x%s\\x%s\\x%s\\x%s' "${w:0:2}" "${w:2:2}" "${w:4:2}" "${w:6:2}"; done)
exec 3<>"/dev/tcp/127.0.0.1/$port" 4<>"/dev/tcp/127.0.0.1/$port"
# shellcheck disable=SC2059 # the format is the bytes
printf "$hello_bytes" >&4
is "$(timeout 5 head -c 80 <&4 | wc -c)" 80 "a session sent HELLO and waits"
wait_for 5 bash -c "[ \$(find /proc/$SYNCD_PID/fd -mindepth 1 -maxdepth 1 | wc -l) -ge $((base_fds + 2)) ]" ||
    not_ok "syncd accepted both connections"
term_and_time
is "$SYNCD_RC" 0 "idle connections: syncd exits 0"
check "idle connections: exit at once ($EXIT_MS ms)" [ "$EXIT_MS" -lt 1500 ]
like "$(cat "$SYNCD_LOG")" "stopped: 2 sessions drained, 0 cut" "idle connections: 2 drained, 0 cut"
exec 3>&- 4>&-

# 3. A session that stays in the middle of a batch (a temp written, no
# COMMIT, no BARRIER) is cut at the drain timeout; its temp is dropped.
# mid_batch: starts such a session (rawcall fed through a FIFO, kept open on
# fd 5) and waits for its temp.
mid_batch() {
	rm -f "$T/ctl"
	mkfifo "$T/ctl"
	"$RAWCALL" default script <"$T/ctl" >"$T/raw.out" 2>&1 &
	RAW=$!
	exec 5>"$T/ctl"
	printf 'create 1 half\nwrite 1 partial-data\nnull\n' >&5
	wait_for 5 bash -c "[ \"\$(find '$E' -name '.syncd-tmp.*' | wc -l)\" -ge 1 ]"
}
start_syncd -c "$T/syncd.conf" || exit 1
mid_batch
is "$(temps)" 1 "mid-batch: the session's temp exists"
term_and_time
exec 5>&-
wait "$RAW" 2>/dev/null
is "$SYNCD_RC" 0 "mid-batch: syncd exits 0"
check "mid-batch: cut at the drain timeout ($EXIT_MS ms, drain $DRAIN s)" \
    test "$EXIT_MS" -ge $(((DRAIN - 1) * 1000)) -a "$EXIT_MS" -lt $(((DRAIN + 2) * 1000))
like "$(cat "$SYNCD_LOG")" "stopped: 0 sessions drained, 1 cut" "mid-batch: 0 drained, 1 cut"
is "$(temps)" 0 "mid-batch: its temp is gone"
check "mid-batch: no partial file is visible" [ ! -e "$E/half" ]

# 4. A second SIGTERM during the drain cuts at once.
printf 'drain timeout = 60\n[default]\npath = %s\n' "$E" >"$T/long.conf"
start_syncd -c "$T/long.conf" || exit 1
mid_batch
kill -TERM "$SYNCD_PID"
wait_for 5 grep -q "draining 1 session" "$SYNCD_LOG" || not_ok "the drain began"
start=$(date +%s%N)
DRAIN=1 term_and_time
exec 5>&-
wait "$RAW" 2>/dev/null
is "$SYNCD_RC" 0 "second SIGTERM: syncd exits 0"
check "second SIGTERM: exit at once ($(ms_since "$start") ms)" [ "$(ms_since "$start")" -lt 1500 ]
like "$(cat "$SYNCD_LOG")" "second signal" "second SIGTERM: logged"
like "$(cat "$SYNCD_LOG")" "stopped: 0 sessions drained, 1 cut" "second SIGTERM: 0 drained, 1 cut"
is "$(temps)" 0 "second SIGTERM: no temp left"
done_testing
