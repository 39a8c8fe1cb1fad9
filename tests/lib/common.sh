# shellcheck shell=bash disable=SC2034
# (SC2034: OUT, RC, SYNCCTL, ... are set here for the tests that source us.)
# common.sh -- helpers sourced by every integration test (tests/integration).
#
# A test is a bash script run by tests/run inside tests/lib/netns.sh (its own
# rpcbind) with BIN naming the build directory.  It prints TAP: "ok N - what"
# or "not ok N - what" per assertion, "# ..." diagnostics, and the plan
# "1..N" at the end (done_testing, or the EXIT trap if the script stops
# early).  Its exit status is non-zero if any assertion failed.
#
# Provided:
#   T                      per-test temp dir, removed at exit
#   SYNCD SYNCCTL RAWCALL  the binaries under test; PROG = program number
#   ok/not_ok/is/isnt/like/unlike/check/diag/done_testing   TAP helpers
#   run CMD...             run, capture stdout+stderr in OUT and status in RC
#   wait_for SECS CMD...   poll CMD (bounded) until it succeeds
#   start_syncd ARGS / stop_syncd / syncd_port / registered / in_rpcbind
#   stop_rpcbind / start_rpcbind ARGS
#   stamp_tree DIR [WHEN]
#   tree_manifest DIR / assert_trees_equal A B [WHAT]
#   stat_of NAME           a value from the last "syncctl --stats" output
set -u

: "${BIN:?BIN must name the build directory (tests/run sets it)}"
BIN=$(cd "$BIN" && pwd) || exit 1
SYNCD="$BIN/syncd"
SYNCCTL="$BIN/syncctl"
RAWCALL="$BIN/tests/rawcall"
PROG=542333262
export LC_ALL=C

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "/tmp/rpcsync-$TEST_NAME.XXXXXX") || exit 1

_tap_n=0
_tap_failed=0
_tap_done=0
SYNCD_PID=
SYNCD_LOG=
_syncd_n=0

# --- TAP --------------------------------------------------------------------

# diag TEXT...: prints each line of TEXT as a TAP comment.
diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

# ok WHAT: records a passed assertion.
ok() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s\n' "$_tap_n" "$*"
}

# not_ok WHAT: records a failed assertion.
not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	printf 'not ok %d - %s\n' "$_tap_n" "$*"
}

# check WHAT CMD...: passes if CMD succeeds.  Returns CMD's status.
check() {
	local what=$1 rc=0
	shift
	"$@" || rc=$?
	if [ "$rc" -eq 0 ]; then ok "$what"; else not_ok "$what"; diag "command failed ($rc): $*"; fi
	return "$rc"
}

# is GOT WANT WHAT: passes if the strings are equal.
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "got:  '$1'" "want: '$2'"
		[ -z "${OUT:-}" ] || diag "output of the last command:" "$(head -n 40 <<<"$OUT")"
		return 1
	fi
}

# isnt GOT UNWANTED WHAT: passes if the strings differ.
isnt() {
	if [ "$1" != "$2" ]; then ok "$3"; else not_ok "$3"; diag "got '$1', which was not wanted"; return 1; fi
}

# like TEXT REGEX WHAT: passes if TEXT matches the extended regex.
like() {
	if grep -Eq -- "$2" <<<"$1"; then
		ok "$3"
	else
		not_ok "$3"
		diag "no match for /$2/ in:" "$1"
		return 1
	fi
}

# unlike TEXT REGEX WHAT: passes if TEXT does not match the extended regex.
unlike() {
	if ! grep -Eq -- "$2" <<<"$1"; then ok "$3"; else not_ok "$3"; diag "unwanted match for /$2/ in:" "$1"; return 1; fi
}

# done_testing: prints the plan; the script's exit status follows failures.
done_testing() {
	_tap_done=1
	printf '1..%d\n' "$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}

# --- running and waiting ----------------------------------------------------

SANITIZER_RE='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer'

# run CMD...: runs CMD with stdin from /dev/null; OUT = stdout+stderr, RC =
# status.  A sanitizer report in the output is a failed assertion by itself.
run() {
	RC=0
	OUT=$("$@" </dev/null 2>&1) || RC=$?
	if grep -Eq "$SANITIZER_RE" <<<"$OUT"; then
		not_ok "sanitizer report from: $*"
		diag "$OUT"
	fi
	return 0
}

# wait_for SECS CMD...: polls CMD every 20 ms for at most SECS seconds.
# Returns 0 as soon as CMD succeeds, 1 if it never did.
wait_for() {
	local secs=$1 tries i
	shift
	tries=$((secs * 50))
	for ((i = 0; i < tries; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	"$@" >/dev/null 2>&1
}

# gone PID: true if PID no longer runs (exited, or a zombie).
gone() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "${st#Z}" != "$st" ]
}

# --- syncd ------------------------------------------------------------------

# registered: true if rpcbind has syncd and syncd answers NULL through it.
registered() {
	rpcinfo -t 127.0.0.1 "$PROG" 1 >/dev/null 2>&1
}

# in_rpcbind: true if rpcbind lists the program (whether or not it answers).
in_rpcbind() {
	rpcinfo -p 127.0.0.1 2>/dev/null | awk -v p="$PROG" '$1 == p { f = 1 } END { exit !f }'
}

# syncd_port: prints the TCP port rpcbind has for syncd.
syncd_port() {
	rpcinfo -p 127.0.0.1 2>/dev/null | awk -v p="$PROG" '$1 == p && $3 == "tcp" { print $4; exit }'
}

# start_syncd ARGS...: starts "syncd -f ARGS" in the background (SYNCD_PID,
# log in SYNCD_LOG) and waits up to 10 s until it answers through rpcbind.
# Returns 1 (after a failed assertion and the log) if it died or never answered.
start_syncd() {
	local i
	_syncd_n=$((_syncd_n + 1))
	SYNCD_LOG="$T/syncd.$_syncd_n.log"
	: >"$SYNCD_LOG"
	"$SYNCD" -f "$@" </dev/null >>"$SYNCD_LOG" 2>&1 &
	SYNCD_PID=$!
	for ((i = 0; i < 200; i++)); do
		registered && return 0
		if gone "$SYNCD_PID"; then
			local rc=0
			wait "$SYNCD_PID" || rc=$?
			not_ok "syncd $* started (it exited with status $rc)"
			diag "$(cat "$SYNCD_LOG")"
			SYNCD_PID=
			return 1
		fi
		sleep 0.05
	done
	not_ok "syncd $* answered through rpcbind within 10 s"
	diag "$(cat "$SYNCD_LOG")"
	return 1
}

# check_syncd_log [LOG]: fails an assertion if the log holds a sanitizer report.
# shellcheck disable=SC2120 # the arguments are optional
check_syncd_log() {
	local log=${1:-$SYNCD_LOG}
	if grep -Eq "$SANITIZER_RE" "$log" 2>/dev/null; then
		not_ok "no sanitizer report in $(basename "$log")"
		diag "$(cat "$log")"
		return 1
	fi
	return 0
}

# stop_syncd [SIG]: sends SIG (TERM) to syncd, waits up to 10 s for it to
# exit (then SIGKILL), asserts status 0 for TERM and a log free of sanitizer
# reports.
# shellcheck disable=SC2120 # the arguments are optional
stop_syncd() {
	local sig=${1:-TERM} rc=0
	[ -n "$SYNCD_PID" ] || return 0
	kill -"$sig" "$SYNCD_PID" 2>/dev/null
	if ! wait_for 10 gone "$SYNCD_PID"; then
		not_ok "syncd exits within 10 s of SIG$sig"
		kill -KILL "$SYNCD_PID" 2>/dev/null
	fi
	wait "$SYNCD_PID" 2>/dev/null || rc=$?
	if [ "$sig" = TERM ]; then
		is "$rc" 0 "syncd exits with status 0 on SIGTERM"
	fi
	check_syncd_log "$SYNCD_LOG" && ok "no sanitizer report in syncd's log"
	SYNCD_PID=
}

# --- rpcbind ----------------------------------------------------------------

# The rpcbind of this namespace (netns.sh started it; restart_rpcbind replaces it).
RPCBIND_PID=${RPCNS_RPCBIND_PID:-}

# stop_rpcbind [SIG]: stops the namespace's rpcbind and waits until it is gone.
# shellcheck disable=SC2120 # the arguments are optional
stop_rpcbind() {
	[ -n "$RPCBIND_PID" ] || return 0
	kill -"${1:-TERM}" "$RPCBIND_PID" 2>/dev/null
	wait_for 10 gone "$RPCBIND_PID" || { not_ok "rpcbind stopped"; return 1; }
	RPCBIND_PID=
}

# start_rpcbind [ARGS]: starts "rpcbind -f ARGS" (no -w unless asked) and
# waits up to 5 s until it answers.
# shellcheck disable=SC2120 # the arguments are optional
start_rpcbind() {
	/sbin/rpcbind -f "$@" </dev/null >"$T/rpcbind.log" 2>&1 &
	RPCBIND_PID=$!
	wait_for 5 rpcinfo -p 127.0.0.1 || { not_ok "rpcbind $* started"; diag "$(cat "$T/rpcbind.log")"; return 1; }
}

# --- trees ------------------------------------------------------------------

# stamp_tree DIR [WHEN]: sets the mtime of every entry of DIR (links
# themselves, contents before their directory) to WHEN, a nanosecond
# timestamp that a push must reproduce exactly.
stamp_tree() {
	find "$1" -depth -exec touch -h -d "${2:-@1234567890.123456789}" {} +
}

# tree_manifest DIR: one line per entry of DIR (DIR itself is "."), sorted:
#   NAME TYPE MODE SIZE MTIME TARGET SHA256
# NAME and TARGET are quoted with printf %q, so any byte (newline, tab,
# leading dash) is safe; SIZE only for regular files, SHA256 of the content
# for regular files, TARGET for symlinks, MTIME to the nanosecond.
tree_manifest() {
	local dir=$1 line name type mode size mtime target sum
	local -A sums=()
	while IFS= read -r -d '' line; do
		# "HASH  ./name" (sha256sum -z does not escape names)
		sums["${line:66}"]=${line:0:64}
	done < <(cd "$dir" && find . -type f -print0 | xargs -0 -r sha256sum -z --)
	(cd "$dir" && find . -printf '%p\0%y\0%m\0%s\0%T@\0%l\0') |
		while IFS= read -r -d '' name && IFS= read -r -d '' type &&
			IFS= read -r -d '' mode && IFS= read -r -d '' size &&
			IFS= read -r -d '' mtime && IFS= read -r -d '' target; do
			sum=-
			if [ "$type" = f ]; then
				sum=${sums["$name"]:-?}
			else
				size=-
			fi
			[ "$type" = l ] || target=
			printf '%q %s %s %s %s %q %s\n' "$name" "$type" "$mode" "$size" "$mtime" "$target" "$sum"
		done | sort
}

# assert_trees_equal A B [WHAT]: passes if the manifests are identical
# (content, types, modes, sizes, mtimes to the ns, link targets, directories
# included); shows the diff otherwise (or why diff could not compare).
assert_trees_equal() {
	local what=${3:-"trees $1 and $2 are equal"} d rc=0
	d=$(diff -u <(tree_manifest "$1") <(tree_manifest "$2") 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$what"
	else
		not_ok "$what"
		diag "$d"
		return 1
	fi
}

# stat_of NAME: the number after "NAME:" in OUT (from syncctl --stats).
stat_of() {
	sed -n "s/^$1: *\\([0-9][0-9]*\\).*/\\1/p" <<<"$OUT" | head -n 1
}

# --- lifetime ---------------------------------------------------------------

_cleanup() {
	local rc=$?
	if [ -n "$SYNCD_PID" ]; then
		kill -KILL "$SYNCD_PID" 2>/dev/null
		wait "$SYNCD_PID" 2>/dev/null
		check_syncd_log "$SYNCD_LOG"
	fi
	if [ "$_tap_done" = 0 ]; then
		not_ok "$TEST_NAME reached done_testing (it stopped early)"
		printf '1..%d\n' "$_tap_n"
	fi
	rm -rf "$T"
	if [ "$_tap_failed" -ne 0 ]; then exit 1; fi
	exit "$rc"
}
trap _cleanup EXIT

# Preconditions every test relies on.
for _b in "$SYNCD" "$SYNCCTL" "$RAWCALL"; do
	if [ ! -x "$_b" ]; then
		not_ok "$_b is built"
		exit 1
	fi
done
unset _b
