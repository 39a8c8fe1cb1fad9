#!/bin/bash
# run.sh -- `make bench`: rpcsync against rsync (and cp) on this machine.
#
#   bench/run.sh [BUILD_DIR]          (default: build)
#
#   BENCH_RUNS=3              timed runs per tool and scenario (at least)
#   BENCH_SCENARIOS="S1 ..."  a subset of S1..S8 (default: all)
#   BENCH_DIR=build/bench     corpora (cached), destinations, logs
#   BENCH_QUIET_MAX=15        seconds to wait for a quiet machine per push
#
# Why: rpcsync claims to be a faster rsync for pushing trees (fewer round
# trips, batched writes).  This checks the claim against the reference a user
# would otherwise run -- rsync's daemon over loopback TCP with its defaults
# (-a, delta transfer) -- and against cp for the raw speed of the disk, and
# writes the verdict per target to bench/RESULTS.md.
#
# How it keeps the comparison fair on a shared, noisy machine:
#  - it runs in its own network namespace with its own rpcbind
#    (tests/lib/netns.sh), so it never meets a system rpcbind or the tests;
#  - inputs are generated deterministically (bench/gencorpus) and cached;
#  - per scenario, one untimed warm-up push per tool goes through a counting
#    relay with zero delay (bench/relay): it warms the caches and gives the
#    bytes on the wire, measured the same way for both tools (TCP payload,
#    both directions) and the destination is checked against the source;
#  - then BENCH_RUNS rounds, each running the tools one after the other
#    (rsync, rpcsync, rsync, rpcsync, ...), each push after a `sync` and into
#    a fresh destination;
#  - deletes are kept away from the measurements: the disk is mounted with
#    discard (deleting is slow and disturbs writes), and ext4 without a
#    journal (as here) will not reuse an inode freed less than 60 s ago (360 s
#    while its inode table block is dirty) and rescans past every such inode
#    at each allocation: for minutes after a mass delete, creating files
#    costs several times the CPU (perf: recently_deleted, rsync hit hardest).
#    So trees of small files are deleted only at the end of the run, the
#    few big files of S2/S4/S5 right after their scenario, and no scenario
#    starts within INODE_COOLDOWN s of a delete of many files (this run's or
#    the previous one's: back-to-back runs wait up to 6 minutes);
#  - before each push it waits (bounded) for a quiet machine: other
#    processes using under a quarter of a core and writing under 10 MB/s,
#    and counts the pushes that had to start on a busy one;
#  - when a tool's times in a scenario spread more than 1.5x, rounds are
#    added (up to twice BENCH_RUNS in all);
#  - medians are reported; wall time is the client's, which for both tools
#    ends only when the server has finished;
#  - peak RSS: GNU time around each client, and around each server started
#    per scenario (its %M includes rsync's per-connection children, which
#    the daemon reaps); server CPU comes from /proc/PID/stat (incl. reaped
#    children) before and after each push.
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || exit 2
B=${1:-$ROOT/build}

# Everything below runs in a private namespace with its own rpcbind.
if [ -z "${RPCNS_INNER:-}" ]; then
	exec bash "$ROOT/tests/lib/netns.sh" bash "$ROOT/bench/run.sh" "$@"
fi

B=$(cd "$B" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
SYNCD=$B/syncd
SYNCCTL=$B/syncctl
GENCORPUS=$B/bench/gencorpus
RELAY=$B/bench/relay
RUNS=${BENCH_RUNS:-3}
SCENARIOS=${BENCH_SCENARIOS:-S1 S2 S3 S4 S5 S6 S7 S8}
BENCH_DIR=${BENCH_DIR:-$ROOT/build/bench}
CORPUS=$BENCH_DIR/corpus
DST=$BENCH_DIR/dst
LOGS=$BENCH_DIR/logs
RUNS_TSV=$BENCH_DIR/runs.tsv
RESULTS=$ROOT/bench/RESULTS.md
PUSH_TIMEOUT=900        # seconds one push may take before it counts as failed
QUIET_MAX=${BENCH_QUIET_MAX:-15}   # per push, waiting for other load to pass ...
QUIET_BUDGET=300                   # ... and in all
QUIET_CORES=0.25                   # "quiet": others use less CPU than this ...
QUIET_MBS=10                       # ... and write less than this (MB/s)
SPREAD_MAX=1.5                     # max/min wall of a tool beyond which rounds are added
DELAY_MS=25             # one-way delay of the latency relay (S6)
INODE_COOLDOWN=370      # seconds after a mass delete before measuring again

# Ports inside our namespace: nothing else listens there.
RSYNC_PORT=8730 RSYNC_COUNT=8731 RSYNC_LAT=8732
SYNCD_PORT=8740 SYNCD_COUNT=8741 SYNCD_LAT=8742

# Corpora: name -> what gencorpus makes (see bench/gencorpus.c).
SMALL_FILES=10000 SMALL_BYTES=104857600      # 100 MiB, median file ~4 KiB
TREE_FILES=100000 TREE_BYTES=1048576000      # the same distribution, 10x
BLOB_FILES=4 BLOB_SIZE=268435456             # 4 x 256 MiB, random
EDIT_FILE=blob00.bin
S4_OFFSET=$((BLOB_SIZE / 2 - 524288)) S4_LEN=1048576   # 1 MiB in the middle
S5_OFFSET=4096 S5_LEN=100                              # 100 bytes near the start

declare -A RES=()       # "SCEN|TOOL|metric" -> space-separated values
declare -A NEEDS=(      # the corpora each scenario pushes
	[S1]="small" [S2]="big" [S3]="small tree100k" [S4]="s4" [S5]="s5"
	[S6]="small" [S7]="tree100k" [S8]=""
)
declare -A DESC=(
	[S1]="initial push, 10k small files"
	[S2]="initial push, 4 x 256 MiB"
	[S3]="no-change re-push, 10k files"
	[S4]="1 MiB overwritten in a 256 MiB file"
	[S5]="100 B inserted near the start of 256 MiB"
	[S6a]="S1 through ${DELAY_MS} ms relay"
	[S6b]="S3 through ${DELAY_MS} ms relay"
	[S7]="initial push, 100k files"
)
TREE_REV='?' QUIET_SPENT=0 QUIET_BUSY='' NOISY=0 PUSHES=0 EXTRA=0 DISK='' HZ=100
RSYNCD_TPID='' SYNCD_TPID='' RSYNCD_PID='' SYNCD_PID='' RSYNCD_RSS='' SYNCD_RSS=''
SRV_KIB=
RELAY_PIDS=()
DEST=
SCEN_PREFIX=

# ---- small helpers ------------------------------------------------------

say() { printf '%s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# wait_until SECS CMD...: polls CMD every 0.05 s for at most SECS seconds.
wait_until() {
	local tries=$(($1 * 20))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	return 1
}

# not_alive PID: true once PID is gone.
not_alive() { ! kill -0 "$1" 2>/dev/null; }

# port_listening PORT: true if something listens on 127.0.0.1:PORT.
port_listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }

# stop_pid PID: TERM, up to 10 s to exit, then KILL; reaps it.
stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_until 10 not_alive "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# gt A B: true if the number A is greater than the number B.
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

# add KEY VALUE: appends VALUE to the list RES[KEY].
add() { RES[$1]="${RES[$1]:+${RES[$1]} }$2"; }

# get KEY: RES[KEY], or nothing.
get() { printf '%s' "${RES[$1]:-}"; }

# median KEY: the median of the numbers in RES[KEY] (nothing if none).
median() {
	local v=${RES[$1]:-}
	[ -n "$v" ] || return 0
	tr ' ' '\n' <<<"$v" | sort -g | awk '{ a[NR] = $1 }
		END { if (NR % 2) m = a[(NR + 1) / 2]; else m = (a[NR / 2] + a[NR / 2 + 1]) / 2
		      printf "%.3f", m }'
}

# maxof KEY: the largest number in RES[KEY].
maxof() {
	local v=${RES[$1]:-}
	[ -n "$v" ] || return 0
	tr ' ' '\n' <<<"$v" | sort -g | tail -n 1
}

# calc EXPR: evaluates an arithmetic expression with awk, prints it with %.3f.
calc() {
	awk "BEGIN { printf \"%.3f\", $1 }"
}

# ratio A B: A / B with 2 decimals, or "-" if either is missing or B is 0.
ratio() {
	if [ -z "$1" ] || [ -z "$2" ] || awk "BEGIN { exit !($2 == 0) }"; then
		printf -- '-'
	else
		awk "BEGIN { printf \"%.2f\", $1 / $2 }"
	fi
}

# human BYTES: 1.23 MiB style.
human() {
	[ -n "$1" ] || { printf -- '-'; return; }
	awk -v b="$1" 'BEGIN { split("B KiB MiB GiB", u, " "); i = 1
		while (b >= 1024 && i < 4) { b /= 1024; i++ }
		if (i == 1) printf "%d B", b; else printf "%.*f %s", (b < 10 ? 2 : 1), b, u[i] }'
}

# mib KIB: kibibytes as MiB with one decimal.
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || printf -- '-'; }

# secs VALUE: seconds with 2 decimals, or "-".
secs() { [ -n "$1" ] && awk -v s="$1" 'BEGIN { printf "%.2f", s }' || printf -- '-'; }

# ---- processes ----------------------------------------------------------

# cleanup: stops everything this script started (the EXIT trap).
cleanup() {
	local pid
	stop_servers_quietly
	for pid in "${RELAY_PIDS[@]}"; do
		stop_pid "$pid"
	done
	RELAY_PIDS=()
}

# start_relay PORT TARGET DELAY_MS: a relay in the background, logging to
# $LOGS/relay-PORT.log; waits (bounded) until it listens.
start_relay() {
	"$RELAY" -l "$1" -t "$2" -d "$3" >"$LOGS/relay-$1.log" 2>&1 &
	RELAY_PIDS+=($!)
	wait_until 10 port_listening "$1" || die "relay on port $1 did not start"
}

# child_of PID: the single child process of PID.
child_of() { pgrep -P "$1" | head -n 1; }

# start_server TOOL TAG: starts rsync's daemon or syncd under GNU time
# (peak RSS to $LOGS/TAG.TOOL.rss) and waits, bounded, until it listens.
start_server() {
	local tool=$1 rss="$LOGS/$2.$1.rss"
	: >"$rss"
	case $tool in
	rsync)
		RSYNCD_RSS=$rss
		/usr/bin/time -f '%M' -o "$rss" \
			rsync --daemon --no-detach --config="$BENCH_DIR/rsyncd.conf" \
			>>"$LOGS/rsyncd.out" 2>&1 &
		RSYNCD_TPID=$!
		wait_until 10 port_listening "$RSYNC_PORT" || die "rsync daemon did not start (see $LOGS/rsyncd.log)"
		RSYNCD_PID=$(child_of "$RSYNCD_TPID")
		;;
	rpcsync)
		SYNCD_RSS=$rss
		/usr/bin/time -f '%M' -o "$rss" \
			"$SYNCD" -f --root "$DST/syncd" --port "$SYNCD_PORT" --bind 127.0.0.1 \
			>>"$LOGS/syncd.log" 2>&1 &
		SYNCD_TPID=$!
		wait_until 10 port_listening "$SYNCD_PORT" || die "syncd did not start (see $LOGS/syncd.log)"
		SYNCD_PID=$(child_of "$SYNCD_TPID")
		;;
	esac
}

# stop_server TOOL: stops it (TERM to the server, bounded) and sets SRV_KIB
# to its peak RSS in KiB (GNU time's last line), or empty.
stop_server() {
	local tool=$1 tpid pid rss
	SRV_KIB=
	if [ "$tool" = rsync ]; then
		tpid=$RSYNCD_TPID pid=$RSYNCD_PID rss=$RSYNCD_RSS
		RSYNCD_TPID='' RSYNCD_PID=''
	else
		tpid=$SYNCD_TPID pid=$SYNCD_PID rss=$SYNCD_RSS
		SYNCD_TPID='' SYNCD_PID=''
	fi
	[ -n "$tpid" ] || return 0
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	if ! wait_until 10 not_alive "$tpid"; then
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		kill -KILL "$tpid" 2>/dev/null
	fi
	wait "$tpid" 2>/dev/null
	SRV_KIB=$(tail -n 1 "$rss" 2>/dev/null | awk '/^[0-9]+$/')
}

# start_servers TAG: both servers, their peak RSS to be read by stop_servers.
start_servers() {
	start_server rsync "$1"
	start_server rpcsync "$1"
}

# stop_servers SCEN: stops both and records their peak RSS under SCEN.
stop_servers() {
	stop_server rsync
	[ -z "$SRV_KIB" ] || add "$1|rsync|srss" "$SRV_KIB"
	stop_server rpcsync
	[ -z "$SRV_KIB" ] || add "$1|rpcsync|srss" "$SRV_KIB"
}

# stop_servers_quietly: stops whatever server runs, recording nothing.
stop_servers_quietly() {
	stop_server rsync
	stop_server rpcsync
}

# server_pid TOOL: the pid of TOOL's running server.
server_pid() {
	case $1 in
	rsync) printf '%s' "$RSYNCD_PID" ;;
	rpcsync) printf '%s' "$SYNCD_PID" ;;
	esac
}

# server_cpu TOOL: CPU seconds used so far by TOOL's server and its reaped
# children (utime + stime + cutime + cstime from /proc/PID/stat).
server_cpu() {
	local pid
	pid=$(server_pid "$1")
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 0
	sed 's/^.*) //' "/proc/$pid/stat" |
		awk -v hz="$HZ" '{ printf "%.3f", ($12 + $13 + $14 + $15) / hz }'
}

# server_idle TOOL: true when TOOL's server has no connection left (and the
# rsync daemon has reaped its per-connection children).
server_idle() {
	local port=$SYNCD_PORT
	if [ "$1" = rsync ]; then
		port=$RSYNC_PORT
		pgrep -P "$RSYNCD_PID" >/dev/null && return 1
	fi
	[ -z "$(ss -Htn state established "( sport = :$port )")" ]
}

# ---- corpora ------------------------------------------------------------

# ensure_corpus NAME: makes $CORPUS/NAME unless a stamp says it is current
# (the stamp holds the parameters and a checksum of the generator's source).
# Needs $DST (for the trash).
ensure_corpus() {
	local name=$1 spec dir=$CORPUS/$1 t0 d
	case $name in
	small) spec="tree $SMALL_FILES $SMALL_BYTES 1" ;;
	tree100k) spec="tree $TREE_FILES $TREE_BYTES 3" ;;
	big) spec="random $BLOB_FILES $BLOB_SIZE 2" ;;
	s4) ensure_corpus big; spec="overwrite $S4_OFFSET $S4_LEN 4" ;;
	s5) ensure_corpus big; spec="insert $S5_OFFSET $S5_LEN 5" ;;
	esac
	spec="$spec gen=$(cksum <"$ROOT/bench/gencorpus.c" | cut -d' ' -f1)"
	[ -d "$dir" ] && [ "$(cat "$CORPUS/$name.ok" 2>/dev/null)" = "$spec" ] && return 0
	say "corpus $name: generating ($spec)"
	t0=$EPOCHREALTIME
	# A stale corpus goes to the trash, emptied with the destinations at the
	# end: deleting it now would slow the measurements (see inode_cooldown).
	rm -f "$CORPUS/$name.ok"
	for d in "$dir" "$dir.tmp"; do
		[ ! -e "$d" ] || mv "$d" "$DST/trash-$(basename "$d")-$$" || die "cannot move $d away"
	done
	case $name in
	small) "$GENCORPUS" tree "$dir.tmp" "$SMALL_FILES" "$SMALL_BYTES" 1 ;;
	tree100k) "$GENCORPUS" tree "$dir.tmp" "$TREE_FILES" "$TREE_BYTES" 3 ;;
	big) "$GENCORPUS" random "$dir.tmp" "$BLOB_FILES" "$BLOB_SIZE" 2 ;;
	s4 | s5)
		mkdir "$dir.tmp" && cp -a "$CORPUS/big/$EDIT_FILE" "$dir.tmp/" &&
			if [ "$name" = s4 ]; then
				"$GENCORPUS" overwrite "$dir.tmp/$EDIT_FILE" "$S4_OFFSET" "$S4_LEN" 4
			else
				"$GENCORPUS" insert "$dir.tmp/$EDIT_FILE" "$S5_OFFSET" "$S5_LEN" 5
			fi && touch -d @1717200000 "$dir.tmp"
		;;
	esac || die "cannot generate corpus $name"
	if ! mv "$dir.tmp" "$dir" || ! printf '%s\n' "$spec" >"$CORPUS/$name.ok"; then
		die "cannot store corpus $name"
	fi
	say "corpus $name: $(du -s --apparent-size -B1 "$dir" | cut -f1) bytes in $(calc "$EPOCHREALTIME - $t0") s"
}

# ---- a quiet machine ----------------------------------------------------

# sample_machine: prints the machine's busy CPU ticks (all processes, all
# namespaces) and the sectors written to the benchmark's disk so far.
sample_machine() {
	local w=0
	[ -z "$DISK" ] || w=$(awk -v d="$DISK" '$3 == d { print $10 }' /proc/diskstats)
	awk -v w="${w:-0}" '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, w; exit }' /proc/stat
}

# await_quiet: called while none of our processes works (after the sync
# before a push).  Waits until two 0.3 s windows in a row saw other
# processes use less than QUIET_CORES of CPU and write less than QUIET_MBS,
# for at most QUIET_MAX s (and QUIET_BUDGET s over the whole run).  Sets
# QUIET_BUSY to the CPU (cores) of the last window; a timeout counts in NOISY.
await_quiet() {
	local t0=$EPOCHREALTIME ta tb b0 w0 b1 w1 cores mbs quiet=0 spent
	ta=$EPOCHREALTIME
	read -r b0 w0 < <(sample_machine)
	while :; do
		sleep 0.3
		tb=$EPOCHREALTIME
		read -r b1 w1 < <(sample_machine)
		cores=$(calc "($b1 - $b0) / $HZ / ($tb - $ta)")
		mbs=$(calc "($w1 - $w0) * 512 / ($tb - $ta) / 1000000")
		ta=$tb b0=$b1 w0=$w1
		if gt "$QUIET_CORES" "$cores" && gt "$QUIET_MBS" "$mbs"; then quiet=$((quiet + 1)); else quiet=0; fi
		[ "$quiet" -ge 2 ] && break
		spent=$(calc "$EPOCHREALTIME - $t0")
		if gt "$spent" "$QUIET_MAX" || gt "$(calc "$QUIET_SPENT + $spent")" "$QUIET_BUDGET"; then
			NOISY=$((NOISY + 1))
			break
		fi
	done
	QUIET_SPENT=$(calc "$QUIET_SPENT + $EPOCHREALTIME - $t0")
	QUIET_BUSY=$cores
}

# ---- one push -----------------------------------------------------------

# dst_root TOOL: where TOOL's server (or cp) writes.
dst_root() {
	case $1 in
	rsync) printf '%s' "$DST/rsync" ;;
	rpcsync) printf '%s' "$DST/syncd" ;;
	cp) printf '%s' "$DST/cp" ;;
	esac
}

# port_for TOOL MODE: the port TOOL dials: the server (direct), the counting
# relay (count) or the latency relay (lat).
port_for() {
	case "$1.$2" in
	rsync.direct) printf '%s' "$RSYNC_PORT" ;;
	rsync.count) printf '%s' "$RSYNC_COUNT" ;;
	rsync.lat) printf '%s' "$RSYNC_LAT" ;;
	rpcsync.direct) printf '%s' "$SYNCD_PORT" ;;
	rpcsync.count) printf '%s' "$SYNCD_COUNT" ;;
	rpcsync.lat) printf '%s' "$SYNCD_LAT" ;;
	esac
}

# relay_lines PORT: how many lines the log of the relay on PORT has.
relay_lines() { wc -l <"$LOGS/relay-$1.log"; }

# relay_idle PORT: true when the relay on PORT relays no connection (it logs
# a connection's counts before it closes its sockets) and has logged one
# since line N of its log.
relay_idle() {
	[ -z "$(ss -Htn state established "( sport = :$1 )")" ] &&
		[ "$(relay_lines "$1")" -gt "$2" ]
}

# push SCEN TOOL MODE SRC DEST LABEL: one push of SRC to DEST with default
# options (rsync -a, syncctl push; --stats for their reports; cp -a), wall
# time around the client only.  Sets RUN_WALL RUN_FLUSH RUN_CRSS RUN_CCPU
# RUN_SCPU RUN_BYTES (RUN_UP + RUN_DOWN) RUN_RT and appends a line to runs.tsv.  Returns the
# client's exit status.
push() {
	local scen=$1 tool=$2 mode=$3 src=$4 dest=$5 label=$6
	local port out tf n0=0 s0 s1 t0 t1 rc crss cu cs cmd up='' down=''
	port=$(port_for "$tool" "$mode")
	out="$LOGS/$scen-$tool-$label.out"
	tf="$LOGS/$scen-$tool-$label.time"
	case $tool in
	rsync) cmd=(rsync -a --stats "$src/" "rsync://127.0.0.1:$port/bench/$dest/") ;;
	rpcsync) cmd=("$SYNCCTL" --port "$port" --stats push "127.0.0.1/$dest" "$src") ;;
	cp) cmd=(cp -a "$src" "$DST/cp/$dest") ;;
	esac
	[ "$mode" = direct ] || [ "$tool" = cp ] || n0=$(relay_lines "$port")
	await_quiet
	PUSHES=$((PUSHES + 1))
	s0=$(server_cpu "$tool")
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%M %U %S' -o "$tf" timeout -k 5 "$PUSH_TIMEOUT" "${cmd[@]}" >"$out" 2>&1
	rc=$?
	t1=$EPOCHREALTIME
	if [ "$tool" != cp ]; then
		wait_until 10 server_idle "$tool" || say "  warning: $tool server still busy 10 s after the client ended"
		if [ "$mode" != direct ]; then
			# A client may use several connections (syncctl --streams): sum them all.
			wait_until 10 relay_idle "$port" "$n0" || say "  warning: relay $port did not report the connections"
			read -r up down < <(awk -v n="$n0" 'NR > n && /^conn / { u += $4; d += $6 } END { print u + 0, d + 0 }' \
				"$LOGS/relay-$port.log")
		fi
	fi
	s1=$(server_cpu "$tool")
	RUN_WALL=$(calc "$t1 - $t0")
	t0=$EPOCHREALTIME
	sync
	RUN_FLUSH=$(calc "$EPOCHREALTIME - $t0")
	read -r crss cu cs < <(tail -n 1 "$tf")
	RUN_CRSS=$crss
	RUN_CCPU=$(calc "${cu:-0} + ${cs:-0}")
	RUN_SCPU=$( [ -n "$s0" ] && [ -n "$s1" ] && calc "$s1 - $s0")
	RUN_BYTES='' RUN_UP=$up RUN_DOWN=$down
	[ -z "$up" ] || RUN_BYTES=$((up + down))
	RUN_RT=$(sed -n 's/^round trips: //p' "$out")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$tool" "$mode" "$label" \
		"$RUN_WALL" "$RUN_FLUSH" "$RUN_CRSS" "$RUN_CCPU" "${RUN_SCPU:-}" "$up" "$down" "${RUN_RT:-}" "$rc" \
		"$QUIET_BUSY" >>"$RUNS_TSV"
	if [ "$rc" -ne 0 ]; then
		say "  FAILED: $scen $tool $label (exit $rc); last lines of $out:"
		tail -n 5 "$out" | sed 's/^/    /'
		add "$scen|$tool|failed" 1
	fi
	return "$rc"
}

# verify SCEN TOOL SRC DEST: checks that TOOL's copy equals SRC: types, modes,
# sizes, mtimes (ns) and contents.  A mismatch is recorded and reported.
verify() {
	local scen=$1 tool=$2 src=$3 copy
	copy="$(dst_root "$tool")/$4"
	if diff <(cd "$src" && find . -printf '%y %m %s %T@ %P\n' | sort) \
		<(cd "$copy" 2>/dev/null && find . -printf '%y %m %s %T@ %P\n' | sort) >"$LOGS/$scen-$tool.verify" 2>&1 &&
		diff -rq "$src" "$copy" >>"$LOGS/$scen-$tool.verify" 2>&1; then
		return 0
	fi
	say "  MISMATCH: $scen $tool: the copy differs from the source (see $LOGS/$scen-$tool.verify)"
	add "$scen|$tool|mismatch" 1
}

# record SCEN TOOL: files the last push's numbers under SCEN.
record() {
	add "$1|$2|wall" "$RUN_WALL"
	add "$1|$2|flush" "$(calc "$RUN_WALL + $RUN_FLUSH")"
	add "$1|$2|crss" "$RUN_CRSS"
	add "$1|$2|ccpu" "$RUN_CCPU"
	[ -z "$RUN_SCPU" ] || add "$1|$2|scpu" "$RUN_SCPU"
	[ -z "$RUN_RT" ] || add "$1|$2|rt" "$RUN_RT"
}

# ---- destinations -------------------------------------------------------

# dest_fresh TOOL LABEL: a new destination name for this push.
dest_fresh() { DEST="$SCEN_PREFIX-$1-$2"; }

# dest_seeded TOOL LABEL: the destination seed_dest filled for TOOL.
dest_seeded() { DEST="$SCEN_PREFIX-$1"; }

# dest_blob TOOL LABEL: a new destination holding the unedited 256 MiB file
# (copied, mtime kept), as the server had it before the edit.
dest_blob() {
	DEST="$SCEN_PREFIX-$1-$2"
	if ! mkdir -p "$(dst_root "$1")/$DEST" ||
		! cp -a "$CORPUS/big/$EDIT_FILE" "$(dst_root "$1")/$DEST/"; then
		die "cannot seed $DEST"
	fi
}

# seed_dest SCEN SRC TOOLS...: an untimed direct push of SRC per tool, so
# that the scenario's pushes find the tree already there.
seed_dest() {
	local scen=$1 src=$2 tool
	shift 2
	for tool in "$@"; do
		dest_seeded "$tool" seed
		push "$scen" "$tool" direct "$src" "$DEST" seed >/dev/null || die "seeding $DEST failed"
	done
}

# settle: waits (at most 10 s) until the disk has had no request in flight
# for half a second, so that the writeback and discards a delete leaves
# behind do not bill the next scenario.
settle() {
	local dev f quiet=0 tries=100
	dev=$(findmnt -n -o SOURCE -T "$BENCH_DIR" 2>/dev/null)
	f=/sys/class/block/${dev##*/}/inflight
	[ -n "$dev" ] && [ -r "$f" ] || return 0
	while [ "$tries" -gt 0 ] && [ "$quiet" -lt 5 ]; do
		if [ "$(awk '{ print $1 + $2 }' "$f")" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
		sleep 0.1
		tries=$((tries - 1))
	done
}

# mark_mass_delete: records that many inodes were just freed (see
# inode_cooldown); the stamp outlives the run, for the next one.
mark_mass_delete() { date +%s >"$BENCH_DIR/last-mass-delete"; }

# inode_cooldown: waits until INODE_COOLDOWN s have passed since the last
# delete of many files, so that no measured push allocates inodes while
# ext4 (without a journal) still skips the freshly freed ones.
inode_cooldown() {
	local last left
	last=$(cat "$BENCH_DIR/last-mass-delete" 2>/dev/null) || return 0
	left=$((last + INODE_COOLDOWN - $(date +%s)))
	[ "$left" -gt 0 ] || return 0
	say "  (waiting ${left} s: many files were deleted less than ${INODE_COOLDOWN} s ago)"
	sleep "$left"
}

# drop_dests PREFIX...: deletes every destination of those scenarios, then
# syncs and lets the disk settle.
drop_dests() {
	local t0=$EPOCHREALTIME p
	for p in "$@"; do
		rm -rf "$DST"/rsync/"$p"-* "$DST"/syncd/"$p"-* "$DST"/cp/"$p"-* "$DST"/"$p"-*
	done
	sync
	settle
	say "  (deleted $* destinations in $(secs "$(calc "$EPOCHREALTIME - $t0")") s)"
}

# ---- the driver ---------------------------------------------------------

# bench_pushes SCEN MODE SRC DESTFN TOOLS...: one warm-up push per tool
# (not timed; through the counting relay, or the latency relay if MODE is
# lat) that measures the bytes on the wire and is verified; then RUNS rounds
# of timed pushes, alternating the tools, each into the destination DESTFN
# names (and prepares) for it; more rounds while the times spread widely.
bench_pushes() {
	local scen=$1 mode=$2 src=$3 destfn=$4 tool r=0 wmode
	shift 4
	inode_cooldown
	for tool in "$@"; do
		wmode=count
		[ "$mode" = lat ] && wmode=lat
		[ "$tool" = cp ] && wmode=direct
		"$destfn" "$tool" warm
		sync
		push "$scen" "$tool" "$wmode" "$src" "$DEST" warm || continue
		if [ -n "$RUN_BYTES" ]; then
			add "$scen|$tool|bytes" "$RUN_BYTES"
			add "$scen|$tool|up" "$RUN_UP"
			add "$scen|$tool|down" "$RUN_DOWN"
		fi
		[ -z "$RUN_RT" ] || add "$scen|$tool|rt" "$RUN_RT"
		verify "$scen" "$tool" "$src" "$DEST"
	done
	r=0
	while [ "$r" -lt "$RUNS" ] || { [ "$r" -lt $((2 * RUNS)) ] && spread_high "$scen" "$@"; }; do
		r=$((r + 1))
		[ "$r" -le "$RUNS" ] || EXTRA=$((EXTRA + 1))
		for tool in "$@"; do
			"$destfn" "$tool" "r$r"
			sync
			push "$scen" "$tool" "$mode" "$src" "$DEST" "r$r" && record "$scen" "$tool"
		done
		say "  round $r: $(for tool in "$@"; do printf '%s %s s  ' "$tool" "$(secs "$(get "$scen|$tool|wall" | awk '{ print $NF }')")"; done)"
	done
}

# spread_high SCEN TOOLS...: true if some tool's slowest timed push of SCEN
# took more than SPREAD_MAX times its fastest (then the machine was not
# steady: bench_pushes adds rounds, up to twice BENCH_RUNS).
spread_high() {
	local scen=$1 tool
	shift
	for tool in "$@"; do
		[ -n "$(get "$scen|$tool|wall")" ] || continue
		tr ' ' '\n' <<<"$(get "$scen|$tool|wall")" | sort -g |
			awk -v m="$SPREAD_MAX" 'NR == 1 { lo = $1 } { hi = $1 } END { exit !(hi > m * lo) }' && return 0
	done
	return 1
}

# ---- scenarios ----------------------------------------------------------

scenario_S1() {
	SCEN_PREFIX=s1
	start_servers S1
	bench_pushes S1 direct "$CORPUS/small" dest_fresh rsync rpcsync
	stop_servers S1
}

scenario_S2() {
	SCEN_PREFIX=s2
	start_servers S2
	bench_pushes S2 direct "$CORPUS/big" dest_fresh rsync rpcsync cp
	stop_servers S2
	drop_dests s2
}

scenario_S3() {
	SCEN_PREFIX=s3
	start_servers S3-seed
	seed_dest S3 "$CORPUS/small" rsync rpcsync
	stop_servers_quietly
	start_servers S3
	bench_pushes S3 direct "$CORPUS/small" dest_seeded rsync rpcsync
	stop_servers S3
	# The same no-change push at 100k files: only the round trips count.
	start_server rpcsync S3-100k
	if push S3 rpcsync direct "$CORPUS/tree100k" s3-100k seed100k >/dev/null &&
		push S3 rpcsync count "$CORPUS/tree100k" s3-100k nochange100k >/dev/null; then
		add "S3|rpcsync|rt100k" "$RUN_RT"
		add "S3|rpcsync|bytes100k" "$RUN_BYTES"
	fi
	stop_server rpcsync
}

scenario_S4() {
	SCEN_PREFIX=s4
	start_servers S4
	bench_pushes S4 direct "$CORPUS/s4" dest_blob rsync rpcsync
	stop_servers S4
	drop_dests s4
}

scenario_S5() {
	SCEN_PREFIX=s5
	start_servers S5
	bench_pushes S5 direct "$CORPUS/s5" dest_blob rsync rpcsync
	stop_servers S5
	drop_dests s5
}

scenario_S6() {
	SCEN_PREFIX=s6a
	start_servers S6a
	bench_pushes S6a lat "$CORPUS/small" dest_fresh rsync rpcsync
	stop_servers S6a
	SCEN_PREFIX=s6b
	start_servers S6b-seed
	seed_dest S6b "$CORPUS/small" rsync rpcsync
	stop_servers_quietly
	start_servers S6b
	bench_pushes S6b lat "$CORPUS/small" dest_seeded rsync rpcsync
	stop_servers S6b
}

scenario_S7() {
	SCEN_PREFIX=s7
	start_servers S7
	bench_pushes S7 direct "$CORPUS/tree100k" dest_fresh rsync rpcsync
	stop_servers S7
}

# S8 is computed from S1 and S7 (see report).
scenario_S8() { :; }

# ---- the report ---------------------------------------------------------

# verdict GOOD: MET or NOT MET (or n/a when there is nothing to judge).
verdict() {
	case "$1" in
	1) printf 'MET' ;;
	0) printf '**NOT MET**' ;;
	*) printf 'n/a' ;;
	esac
}

# le A B: 1 if A <= B, 0 if not, empty if either is missing.
le() {
	if [ -z "$1" ] || [ -z "$2" ] || [ "$1" = - ] || [ "$2" = - ]; then return 0; fi
	awk "BEGIN { print ($1 <= $2) ? 1 : 0 }"
}

# ran SCEN: true if the scenario's numbers exist.
ran() { [ -n "$(get "$1|rpcsync|wall")$(get "$1|rsync|wall")" ]; }

# flags SCEN TOOL: " (FAIL)" / " (DIFF)" marks for failed runs or copies.
flags() {
	[ -z "$(get "$1|$2|failed")" ] || printf ' (FAIL)'
	[ -z "$(get "$1|$2|mismatch")" ] || printf ' (DIFF)'
}

# measurements: the per-scenario table.
measurements() {
	local s w1 w2 b1 b2 rt
	say "| scenario | wall rsync | wall rpcsync | ratio | wire rsync | wire rpcsync | ratio | client RSS rsync / rpcsync (MiB) | server RSS rsync / rpcsync (MiB) | rpcsync round trips |"
	say "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in S1 S2 S3 S4 S5 S6a S6b S7; do
		ran "$s" || continue
		w1=$(median "$s|rsync|wall") w2=$(median "$s|rpcsync|wall")
		b1=$(median "$s|rsync|bytes") b2=$(median "$s|rpcsync|bytes")
		rt=$(median "$s|rpcsync|rt" | sed 's/\..*//')
		[ "$s" = S3 ] && [ -n "$(get "S3|rpcsync|rt100k")" ] && rt="$rt (100k: $(get "S3|rpcsync|rt100k"))"
		printf '| %s %s | %s s%s | %s s%s | %s | %s | %s | %s | %s / %s | %s / %s | %s |\n' \
			"$s" "${DESC[$s]}" "$(secs "$w1")" "$(flags "$s" rsync)" "$(secs "$w2")" "$(flags "$s" rpcsync)" \
			"$(ratio "$w2" "$w1")" "$(human "$b1")" "$(human "$b2")" "$(ratio "$b2" "$b1")" \
			"$(mib "$(maxof "$s|rsync|crss")")" "$(mib "$(maxof "$s|rpcsync|crss")")" \
			"$(mib "$(maxof "$s|rsync|srss")")" "$(mib "$(maxof "$s|rpcsync|srss")")" "${rt:--}"
	done
	if ran S2; then
		say ""
		say "S2: cp -a of the same tree to the same disk: $(secs "$(median "S2|cp|wall")") s (median)."
	fi
}

# target_row NAME RPCSYNC REFERENCE RATIO GOAL GOOD: one row of the targets table.
target_row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5" "$(verdict "$6")"; }

# wall_target SCEN VS GOAL: rpcsync's median wall against another tool's.
wall_target() {
	local a b r
	a=$(median "$1|rpcsync|wall") b=$(median "$1|$2|wall")
	r=$(ratio "$a" "$b")
	target_row "$1 wall vs $2" "$(secs "$a") s" "$(secs "$b") s" "$r" "≤ $3" "$(le "$r" "$3")"
	[ "$(le "$r" "$3")" = 0 ] && NOT_MET+=("$1|wall|$2|$3")
	return 0
}

# targets: the targets table; fills NOT_MET.
targets() {
	local a b r g1 g2 rt rt100 k s
	NOT_MET=()
	say "| target | rpcsync | reference | ratio | goal | result |"
	say "|---|---:|---:|---:|---|---|"
	if ran S1; then wall_target S1 rsync 0.80; fi
	if ran S2; then wall_target S2 rsync 0.80; wall_target S2 cp 1.15; fi
	if ran S3; then
		wall_target S3 rsync 0.80
		rt=$(median "S3|rpcsync|rt" | sed 's/\..*//') rt100=$(get "S3|rpcsync|rt100k")
		target_row "S3 round trips (10k files)" "${rt:--}" "-" "-" "≤ 8" "$(le "$rt" 8)"
		[ "$(le "$rt" 8)" = 0 ] && NOT_MET+=("S3|rt")
		a=$([ -n "$rt" ] && [ -n "$rt100" ] && { [ "$rt" = "$rt100" ] && echo 1 || echo 0; })
		target_row "S3 round trips 100k = 10k" "${rt100:--}" "${rt:--}" "-" "equal" "$a"
		[ "$a" = 0 ] && NOT_MET+=("S3|rt100")
	fi
	for s in S4 S5; do
		ran "$s" || continue
		a=$(median "$s|rpcsync|bytes") b=$(median "$s|rsync|bytes") r=$(ratio "$a" "$b")
		target_row "$s bytes on the wire vs rsync" "$(human "$a")" "$(human "$b")" "$r" "≤ 1.1" "$(le "$r" 1.1)"
		[ "$(le "$r" 1.1)" = 0 ] && NOT_MET+=("$s|bytes")
	done
	if ran S4; then wall_target S4 rsync 1.0; fi
	if ran S6a; then wall_target S6a rsync 0.80; wall_target S6b rsync 0.80; fi
	if ran S7; then
		for k in crss:client srss:server; do
			a=$(maxof "S7|rpcsync|${k%%:*}") b=$(maxof "S7|rsync|${k%%:*}") r=$(ratio "$a" "$b")
			target_row "S7 peak RSS ${k#*:} vs rsync" "$(mib "$a") MiB" "$(mib "$b") MiB" "$r" "≤ 1.0" "$(le "$r" 1.0)"
			[ "$(le "$r" 1.0)" = 0 ] && NOT_MET+=("S7|${k%%:*}")
		done
	fi
	if ran S1 && ran S7; then
		g1=$(ratio "$(median "S7|rpcsync|wall")" "$(median "S1|rpcsync|wall")")
		g2=$(ratio "$(median "S7|rsync|wall")" "$(median "S1|rsync|wall")")
		target_row "S8 wall growth 10k → 100k files" "${g1}×" "rsync ${g2}×" "-" "≤ 10.5×" "$(le "$g1" 10.5)"
		[ "$(le "$g1" 10.5)" = 0 ] && NOT_MET+=("S8|growth")
	fi
	return 0
}

# details: the numbers behind the verdicts, per scenario and tool.
details() {
	local s t
	say "| scenario | tool | wall min / median / max (s) | wall + following sync (s) | client CPU (s) | server CPU (s) |"
	say "|---|---|---|---:|---:|---:|"
	for s in S1 S2 S3 S4 S5 S6a S6b S7; do
		ran "$s" || continue
		for t in rsync rpcsync cp; do
			[ -n "$(get "$s|$t|wall")" ] || continue
			printf '| %s | %s | %s / %s / %s | %s | %s | %s |\n' "$s" "$t" \
				"$(secs "$(tr ' ' '\n' <<<"$(get "$s|$t|wall")" | sort -g | head -n 1)")" \
				"$(secs "$(median "$s|$t|wall")")" "$(secs "$(maxof "$s|$t|wall")")" \
				"$(secs "$(median "$s|$t|flush")")" "$(secs "$(median "$s|$t|ccpu")")" \
				"$(secs "$(median "$s|$t|scpu")")"
		done
	done
}

# explain_wall SCEN REF GOAL: the paragraph for a wall-time target: CPU,
# overlap and durability of both tools, then the first reading that fits.
explain_wall() {
	local s=$1 ref=$2 goal=$3 wa wb fa fb cca sca ccb scb ca cb pa pb budget rt
	wa=$(median "$s|rpcsync|wall") wb=$(median "$s|$ref|wall")
	fa=$(median "$s|rpcsync|flush") fb=$(median "$s|$ref|flush")
	cca=$(median "$s|rpcsync|ccpu") sca=$(median "$s|rpcsync|scpu")
	ccb=$(median "$s|$ref|ccpu") scb=$(median "$s|$ref|scpu")
	ca=$(calc "$cca + ${sca:-0}") cb=$(calc "$ccb + ${scb:-0}")
	pa=$(ratio "$ca" "$wa") pb=$(ratio "$cb" "$wb")
	budget=$(calc "$goal * $wb")
	printf -- '- **%s wall vs %s** (%s s vs %s s; the goal allows %s s): ' \
		"$s" "$ref" "$(secs "$wa")" "$(secs "$wb")" "$(secs "$budget")"
	printf 'CPU client + server %s + %s s vs %s + %s s, i.e. %s vs %s cores busy on average; ' \
		"$(secs "$cca")" "$(secs "${sca:-0}")" "$(secs "$ccb")" "$(secs "${scb:-0}")" "$pa" "$pb"
	printf 'wall plus a sync right after: %s s vs %s s. ' "$(secs "$fa")" "$(secs "$fb")"
	if [ "$(le "$(ratio "$fa" "$fb")" "$goal")" = 1 ]; then
		printf 'Counting the flush for both, the goal is met: the gap is durability (syncd syncfs()s before it answers; %s returns with the data still dirty in the page cache). ' "$ref"
	else
		if gt "${sca:-0}" "$budget"; then
			printf "syncd's CPU alone (%s s) exceeds the budget: the server's own work has to shrink before overlap can help. " "$(secs "$sca")"
		elif gt "$(calc "$ca / 2")" "$budget"; then
			printf 'Even spread perfectly over both cores, %s s of CPU would not fit the budget. ' "$(secs "$ca")"
		fi
		if gt "$ca" "$(calc "1.2 * $cb")"; then
			printf 'rpcsync spends %s× the CPU of %s for the same result. ' "$(ratio "$ca" "$cb")" "$ref"
		fi
		if gt "$pb" "$pa"; then
			printf 'It overlaps less than %s: its client and server take turns more than they work at once. ' "$ref"
		fi
		if gt 0.7 "$pa"; then
			printf 'Its processes are idle %s%% of the wall time: waiting on the disk (syncfs) or on the network. ' \
				"$(calc "100 - 100 * $pa" | sed 's/\..*//')"
		fi
	fi
	case $s in
	S6*)
		rt=$(median "$s|rpcsync|rt" | sed 's/\..*//')
		[ -z "$rt" ] || printf 'At %s ms each way, its %s round trips (summed over its connections, some of them in parallel) would cost %s s one after another.' \
			"$DELAY_MS" "$rt" "$(calc "$rt * 2 * $DELAY_MS / 1000")"
		;;
	S4)
		printf 'On the wire it moved %s against %s for rsync.' \
			"$(human "$(median "S4|rpcsync|bytes")")" "$(human "$(median "S4|rsync|bytes")")"
		;;
	esac
	[ "$ref" != cp ] || printf '(cp copies inside one process; rpcsync moves every byte through TCP and makes it durable.)'
	printf '\n'
}

# explain ITEM: a short "what limits us" paragraph for one NOT MET target
# (ITEM as targets() recorded it), built from the measured numbers only.
explain() {
	local s=${1%%|*} what a b r g2
	what=$(cut -d'|' -f2 <<<"$1")
	case $what in
	wall)
		explain_wall "$s" "$(cut -d'|' -f3 <<<"$1")" "$(cut -d'|' -f4 <<<"$1")"
		;;
	bytes)
		a=$(median "$s|rpcsync|bytes") b=$(median "$s|rsync|bytes")
		r=$(calc "$a / $BLOB_SIZE")
		printf -- '- **%s bytes**: rpcsync moved %s (%s%% of the 256 MiB file: %s to the server, %s back), rsync %s (%s to the server, %s back). ' \
			"$s" "$(human "$a")" "$(calc "100 * $r")" "$(human "$(median "$s|rpcsync|up")")" "$(human "$(median "$s|rpcsync|down")")" \
			"$(human "$b")" "$(human "$(median "$s|rsync|up")")" "$(human "$(median "$s|rsync|down")")"
		if gt "$r" 0.9; then
			printf 'rpcsync re-sent the whole changed file; rsync sends block checksums and only what changed.\n'
		elif gt "$(calc "$(median "$s|rpcsync|down") - $(median "$s|rsync|down")")" \
			"$(calc "$(median "$s|rpcsync|up") - $(median "$s|rsync|up")")"; then
			printf 'rpcsync sent a delta; most of the excess is the block signature the server sends back (%s× rsync'"'"'s): more blocks or longer checksums per block than rsync, which sizes both per file.\n' \
				"$(ratio "$(median "$s|rpcsync|down")" "$(median "$s|rsync|down")")"
		else
			printf 'rpcsync sent a delta; most of the excess goes to the server: literal data and block references (%s× rsync'"'"'s).\n' \
				"$(ratio "$(median "$s|rpcsync|up")" "$(median "$s|rsync|up")")"
		fi
		;;
	rt)
		printf -- '- **S3 round trips**: %s synchronous calls for a no-change push of 10k files (goal ≤ 8).\n' \
			"$(median "S3|rpcsync|rt" | sed 's/\..*//')"
		;;
	rt100)
		printf -- '- **S3 round trips at 100k**: %s vs %s at 10k. The no-change push of the 100k tree moved %s (10k: %s), almost all of it the LIST reply: a LIST page ends at a size cap before it reaches 131072 entries, so the 100k listing takes a second page, i.e. one more round trip.\n' \
			"$(get "S3|rpcsync|rt100k")" "$(median "S3|rpcsync|rt" | sed 's/\..*//')" \
			"$(human "$(get "S3|rpcsync|bytes100k")")" "$(human "$(median "S3|rpcsync|bytes")")"
		;;
	crss | srss)
		a=$(maxof "S7|rpcsync|$what") b=$(maxof "S7|rsync|$what")
		printf -- '- **S7 %s peak RSS**: rpcsync %s MiB vs rsync %s MiB, i.e. %s vs %s bytes per entry of the 100k tree. syncctl holds one window of the walk (2048 entries) and the remote listing (compact, 64 bytes plus the name per entry); syncd holds one LIST page and its staging queue.\n' \
			"$([ "$what" = crss ] && echo client || echo server)" "$(mib "$a")" "$(mib "$b")" \
			"$(calc "$a * 1024 / $TREE_FILES" | sed 's/\..*//')" "$(calc "$b * 1024 / $TREE_FILES" | sed 's/\..*//')"
		;;
	growth)
		a=$(median "S1|rpcsync|wall") b=$(median "S7|rpcsync|wall")
		g2=$(ratio "$(median "S7|rsync|wall")" "$(median "S1|rsync|wall")")
		printf -- '- **S8 growth**: rpcsync took %s s for 10k files and %s s for 100k (%s → %s ms per file); rsync grew %s×. ' \
			"$(secs "$a")" "$(secs "$b")" "$(calc "$a * 1000 / $SMALL_FILES")" "$(calc "$b * 1000 / $TREE_FILES")" "$g2"
		if gt "$g2" 10.5; then
			printf 'rsync grows as much, so most of it is the machine: 1 GB written instead of 100 MB (writeback, dirty limits), not an algorithm.\n'
		else
			printf 'rsync scales better: some per-entry cost of rpcsync rises with the tree size.\n'
		fi
		;;
	esac
}

# journal_note: ", no journal" if the benchmark's ext4 runs without one.
journal_note() {
	local dev
	dev=$(findmnt -n -o SOURCE -T "$BENCH_DIR" 2>/dev/null)
	[ "$(findmnt -n -o FSTYPE -T "$BENCH_DIR")" = ext4 ] && [ -d /proc/fs/jbd2 ] &&
		! ls -d /proc/fs/jbd2/"${dev##*/}"-* >/dev/null 2>&1 && printf ', no journal'
	return 0
}

# report: writes bench/RESULTS.md and prints it.
report() {
	local tmp=$BENCH_DIR/RESULTS.md.tmp item cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	{
		say "# rpcsync benchmark results"
		say ""
		say "Written by \`make bench\` (bench/run.sh); do not edit by hand."
		say ""
		say "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); source tree at the start: $TREE_REV"
		say "- machine: $(nproc) CPUs (${cpu:-?}), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r)"
		say "- disk: $(findmnt -n -o FSTYPE,OPTIONS -T "$BENCH_DIR" | cut -d, -f1-3 | tr -s ' ')$(journal_note)"
		say "- $(rsync --version | head -n 1 | sed 's/  */ /g'); $("$SYNCD" -V 2>&1 | head -n 1); $("$SYNCCTL" -V 2>&1 | head -n 1) (build $B)"
		say "- scenarios: $SCENARIOS; $RUNS timed runs per tool, medians; run took $(secs "$(calc "$EPOCHREALTIME - $T_START")") s"
		say "- noise: $NOISY of $PUSHES pushes started while other processes kept the machine busy (waited $(secs "$QUIET_SPENT") s in all for quiet); $EXTRA extra rounds where a tool's times spread over ${SPREAD_MAX}×"
		say ""
		say "Method: rsync \`-a --stats\` to its own daemon (\`rsync://127.0.0.1:PORT/bench/DEST/\`, use chroot = no);"
		say "syncctl \`--stats push\` (defaults) to \`syncd --root\`; both over loopback in a private network namespace."
		say "Wall time = the client's (both finish only when the server has). Wire bytes = TCP payload in both"
		say "directions, counted by bench/relay (zero delay) during an untimed warm-up push, the same way for both"
		say "tools. RSS = peak (GNU time %M) of the client, and of the server over the scenario (for rsync's daemon"
		say "this includes its per-connection children). S6 runs through bench/relay with ${DELAY_MS} ms each way."
		say "Every warm-up copy is checked against its source (modes, sizes, ns mtimes, contents)."
		say "Trees of small files are deleted only at the end, and no scenario starts within ${INODE_COOLDOWN} s of a mass"
		say "delete: ext4 without a journal skips recently freed inodes, which slows file creation for minutes."
		say ""
		measurements
		say ""
		say "## Targets"
		say ""
		targets
		say ""
		if [ "${#NOT_MET[@]}" -gt 0 ]; then
			say "## What limits us"
			say ""
			for item in "${NOT_MET[@]}"; do
				explain "$item"
			done
			say ""
		fi
		say "## Details"
		say ""
		details
		say ""
		say "Per-push raw numbers: \`$RUNS_TSV\`; client outputs in \`$LOGS\`."
	} >"$tmp"
	mv "$tmp" "$RESULTS"
	say ""
	cat "$RESULTS"
}

# ---- main ---------------------------------------------------------------

main() {
	local s c want=() t0 avail
	T_START=$EPOCHREALTIME
	# Read-only git: the commit, and whether tracked files outside bench/
	# differ from it (the binaries under test are whatever BUILD_DIR holds).
	TREE_REV="commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	git -C "$ROOT" --no-optional-locks diff-index --quiet HEAD -- . ':(exclude)bench' 2>/dev/null ||
		TREE_REV="$TREE_REV with uncommitted changes outside bench/"
	for f in "$SYNCD" "$SYNCCTL" "$GENCORPUS" "$RELAY"; do
		[ -x "$f" ] || die "$f is missing: run 'make bench' (or make B=$B all and the bench tools)"
	done
	if ! command -v rsync >/dev/null || ! [ -x /usr/bin/time ]; then
		die "rsync and GNU time are needed: make bench-deps"
	fi
	case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive number" ;; esac
	for s in $SCENARIOS; do
		case $s in S[1-8]) want+=("$s") ;; *) die "unknown scenario $s (S1..S8)" ;; esac
	done
	# S8 compares S1 and S7, so it needs both.
	if [[ " ${want[*]} " == *" S8 "* ]]; then
		[[ " ${want[*]} " == *" S1 "* ]] || want=(S1 "${want[@]}")
		[[ " ${want[*]} " == *" S7 "* ]] || want+=(S7)
	fi
	SCENARIOS="${want[*]}"

	mkdir -p "$CORPUS" "$LOGS" || die "cannot create $BENCH_DIR"
	# Leftovers of an interrupted run would slow this one down: remove them first.
	if [ -n "$(find "$DST" -mindepth 2 -maxdepth 2 2>/dev/null | head -n 1)" ]; then
		say "bench: removing the destinations an earlier run left behind"
		rm -rf "$DST" && sync && mark_mass_delete
	fi
	if ! rm -rf "$DST" || ! mkdir -p "$DST/rsync" "$DST/syncd" "$DST/cp"; then
		die "cannot create $DST"
	fi
	rm -f "$LOGS"/*
	HZ=$(getconf CLK_TCK)
	DISK=$(findmnt -n -o SOURCE -T "$BENCH_DIR" 2>/dev/null)
	DISK=${DISK##*/}
	avail=$(df -P -B1G "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
	[ "${avail:-0}" -ge 40 ] || say "bench: warning: only ${avail} GiB free under $BENCH_DIR (up to 40 GiB needed)"
	printf 'scen\ttool\tmode\tlabel\twall\tflush\tclient_rss_kib\tclient_cpu\tserver_cpu\tup\tdown\tround_trips\trc\tothers_cpu_before\n' >"$RUNS_TSV"
	cat >"$BENCH_DIR/rsyncd.conf" <<-EOF
		# rsyncd.conf written by bench/run.sh
		port = $RSYNC_PORT
		address = 127.0.0.1
		use chroot = no
		munge symlinks = no
		reverse lookup = no
		uid = root
		gid = root
		log file = $LOGS/rsyncd.log
		pid file = $BENCH_DIR/rsyncd.pid

		[bench]
		path = $DST/rsync
		read only = no
	EOF

	trap cleanup EXIT
	trap 'exit 130' INT TERM
	start_relay "$RSYNC_COUNT" "$RSYNC_PORT" 0
	start_relay "$SYNCD_COUNT" "$SYNCD_PORT" 0
	start_relay "$RSYNC_LAT" "$RSYNC_PORT" "$DELAY_MS"
	start_relay "$SYNCD_LAT" "$SYNCD_PORT" "$DELAY_MS"

	say "bench: scenarios $SCENARIOS, $RUNS runs each, build $B, data in $BENCH_DIR"
	# All corpora first: replacing a stale one is a mass delete (see inode_cooldown).
	for s in "${want[@]}"; do
		for c in ${NEEDS[$s]}; do
			ensure_corpus "$c"
		done
	done
	for s in "${want[@]}"; do
		[ "$s" = S8 ] && continue
		t0=$EPOCHREALTIME
		say "== $s ${DESC[$s]:-${DESC[${s}a]} / ${DESC[${s}b]:-}}"
		"scenario_$s"
		say "   $s took $(secs "$(calc "$EPOCHREALTIME - $t0")") s"
	done
	cleanup
	say "== cleaning up"
	if compgen -G "$DST/*/s[1367]*-*" >/dev/null || compgen -G "$DST/trash-*" >/dev/null; then
		drop_dests s1 s3 s6a s6b s7 trash
		mark_mass_delete
	fi
	report
}

main
