#!/bin/bash
# t_59_group_commit.sh -- group commit in the background (server/staging.c):
# a group of 1024 COMMITs is published by a flusher while the session goes
# on, and nothing observable changes.  Failures only the rename finds (a
# directory in the way, an immutable final name) are reported by BARRIER
# under the COMMIT's index with its path, next to failures of later calls;
# DELETE, SETATTR and SYMLINK right after the hand-off see the renamed
# files; a second COMMIT of the same name wins; a session that ends (or
# switches export with HELLO) with a group in flight still publishes all
# of it; no temp is left anywhere.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
O="$T/other"
mkdir -p "$E/g" "$O"
printf 'old' >"$E/g/immutable"
immutable=0
if chattr +i "$E/g/immutable" 2>/dev/null; then
	immutable=1
else
	diag "chattr +i not supported here: the immutable-name case is skipped"
fi
cat >"$T/syncd.conf" <<CONF
[default]
path = $E

[other]
path = $O
CONF
start_syncd -c "$T/syncd.conf" || exit 1

SCRIPT="$T/script"
IDX=0           # batch index of the next call
COMMITS=0       # COMMITs sent since the last BARRIER
WANT=()         # expected failures: "INDEX STATUS PATH"

# add WORDS...: one script line of one batched call.
add() { printf '%s\n' "$*" >>"$SCRIPT"; IDX=$((IDX + 1)); }
# put H PATH DATA: CREATE + WRITE + COMMIT (3 calls).
put() { printf 'put %s %s %s\n' "$1" "$2" "$3" >>"$SCRIPT"; IDX=$((IDX + 3)); COMMITS=$((COMMITS + 1)); }
# temps DIR: the number of temp names below DIR.
temps() { find "$1" -name '.syncd-tmp.*' | wc -l; }

# --- one batch: group 1 (handed off at its 1024th COMMIT) fails twice at rename time
: >"$SCRIPT"
for i in 0 1 2 3 4 5 6 7 8 9; do put 1 "g/a$i" "data$i"; done
add create 2 g/isdir
add write 2 dddd
add mkdir g/isdir                   # a directory appears under the name ...
add commit 2 4                      # ... so only the rename can fail
COMMITS=$((COMMITS + 1))
WANT+=("$((IDX - 1)) SYNC_ERR_ISDIR g/isdir")
if [ "$immutable" = 1 ]; then
	put 1 g/immutable new
	WANT+=("$((IDX - 1)) SYNC_ERR_ACCES g/immutable")
fi
i=0
while [ "$COMMITS" -lt 1024 ]; do put 1 "g/b$i" "b$i"; i=$((i + 1)); done
nb=$i
# Right after the hand-off: calls that depend on the renames in flight.
add delete g/a5
add setattr g/a6 600
add symlink g/a7 target7
put 1 g/a8 newer                    # the same name again, in the next group
put 1 nodir/x lost                  # CREATE fails (NOENT), then WRITE and COMMIT (BADHANDLE)
WANT+=("$((IDX - 3)) SYNC_ERR_NOENT nodir/x" "$((IDX - 2)) SYNC_ERR_BADHANDLE " \
	"$((IDX - 1)) SYNC_ERR_BADHANDLE ")
for i in $(seq 0 99); do put 1 "g/c$i" "c$i"; done
echo barrier >>"$SCRIPT"

# (not `run`: it reads stdin from /dev/null)
OUT=$("$RAWCALL" default script <"$SCRIPT" 2>&1) && RC=0 || RC=$?
is "$RC" 0 "script of $IDX batched calls ran"
is "$(grep '^barrier' <<<"$OUT")" "barrier done=$IDX failed=${#WANT[@]}" \
	"BARRIER counts every call and each failure once"
is "$(grep '^fail' <<<"$OUT" | sed 's/^fail //' | sort -n -k1,1)" \
	"$(printf '%s\n' "${WANT[@]}" | sort -n -k1,1)" \
	"failures found by the flusher: exact indices, statuses and paths"
n=0
for i in 0 1 2 3 4 6 9; do [ "$(cat "$E/g/a$i")" = "data$i" ] && n=$((n + 1)); done
is "$n" 7 "group 1 published"
is "$(find "$E/g" -maxdepth 1 -name 'b*' -type f | wc -l)" "$nb" "all $nb filler files of group 1 published"
is "$(find "$E/g" -maxdepth 1 -name 'c*' -type f | wc -l)" 100 "the last group published by BARRIER"
if [ -e "$E/g/a5" ]; then not_ok "DELETE right after the hand-off removed the renamed file"
else ok "DELETE right after the hand-off removed the renamed file"; fi
is "$(stat -c %a "$E/g/a6")" 600 "SETATTR right after the hand-off applied to the renamed file"
is "$(readlink "$E/g/a7")" target7 "SYMLINK right after the hand-off replaced the renamed file"
is "$(cat "$E/g/a8")" newer "the second COMMIT of a name wins"
if [ -d "$E/g/isdir" ]; then ok "the directory in the way is untouched"; else not_ok "the directory in the way is untouched"; fi
if [ "$immutable" = 1 ]; then
	is "$(cat "$E/g/immutable")" old "the immutable name is untouched"
	chattr -i "$E/g/immutable"
fi
is "$(temps "$E")" 0 "no temp left after BARRIER"

# --- the session ends with a group in flight and more queued: the full
# group (1024 files) that was being published is, the rest is dropped
# (no BARRIER confirmed it: the client will send it again)
: >"$SCRIPT"
mkdir "$E/h"
for i in $(seq 0 1099); do put 1 "h/$i" "h$i"; done
echo null >>"$SCRIPT"                # every call has reached the server
OUT=$("$RAWCALL" default script <"$SCRIPT" 2>&1) && RC=0 || RC=$?
is "$RC" 0 "1100 files sent, no BARRIER, connection closed"
all_h() { [ "$(find "$E/h" -type f | wc -l)" = 1024 ] && [ "$(temps "$E")" = 0 ]; }
if wait_for 60 all_h; then ok "session end published the group in flight, dropped the rest, left no temp"
else not_ok "session end published the group in flight, dropped the rest, left no temp"; diag "$(find "$E/h" -type f | wc -l) files, $(temps "$E") temps"; fi

# --- HELLO switching export waits for the group in flight and the rest
: >"$SCRIPT"
mkdir "$E/k"
for i in $(seq 0 1029); do put 1 "k/$i" "k$i"; done
echo "hello other" >>"$SCRIPT"
put 1 o1 other
echo barrier >>"$SCRIPT"
OUT=$("$RAWCALL" default script <"$SCRIPT" 2>&1) && RC=0 || RC=$?
is "$RC" 0 "1030 files, HELLO other, one more file, BARRIER"
like "$OUT" "^hello SYNC_OK" "HELLO switched export"
like "$OUT" "^barrier done=[0-9]+ failed=0$" "no failure"
is "$(find "$E/k" -type f | wc -l) $(temps "$E")" "1030 0" "every file of the old export published"
is "$(cat "$O/o1")" other "the file of the new export published"

stop_syncd
check_syncd_log
done_testing
