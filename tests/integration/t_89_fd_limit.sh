#!/bin/bash
# t_89_fd_limit.sh -- fault matrix row 13: syncd runs with `ulimit -n 64`
# while a tool holds 200 idle connections to it.  syncd lowers its
# connection cap to what 64 descriptors can hold (and says so), so the
# flood meets the cap and idle eviction instead of EMFILE: a new client is
# still served, a push works, syncd does not spin (its CPU time over a
# window of the flood is small), and its descriptors come back afterwards.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
mkdir -p "$E" "$T/src/d"
for i in $(seq 20); do head -c $((i * 3000)) /dev/urandom >"$T/src/d/f$i"; done
ln -s d/f1 "$T/src/l"
stamp_tree "$T/src"

# syncd under a hard limit of 64 descriptors (it cannot raise it again).
printf '#!/bin/sh\nulimit -n 64 || exit 71\nexec "%s" "$@"\n' "$SYNCD" >"$T/syncd64"
chmod +x "$T/syncd64"
real_syncd=$SYNCD
SYNCD="$T/syncd64"
start_syncd --root "$E" || exit 1
SYNCD=$real_syncd
port=$(syncd_port)
is "$(awk '/^Max open files/ { print $4 }' "/proc/$SYNCD_PID/limits")" 64 "syncd runs with 64 descriptors"
like "$(cat "$SYNCD_LOG")" "max connections 64 lowered to [0-9]+: the open-file limit \(64\)" \
    "the connection cap is clamped to the open-file limit, and logged"

fds() { find "/proc/$SYNCD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
fds_back_to() { [ "$(fds)" -le "$1" ]; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SYNCD_PID/stat"; }
base_fds=$(fds)

"$BIN/tests/idleconns" "$port" 200 120 >"$T/idle.out" 2>&1 &
IDLE=$!
wait_for 20 grep -q '^open=200$' "$T/idle.out"
is "$(cat "$T/idle.out")" "open=200" "200 idle connections are open"

start=$(date +%s%N)
run timeout 10 "$RAWCALL" --timeout 5 --port "$port" default hello
end=$(date +%s%N)
is "$OUT" SYNC_OK "a new client is served beside 200 idle connections"
check "... within 1 s ($(((end - start) / 1000000)) ms)" [ $(((end - start) / 1000000)) -lt 1000 ]
run "$SYNCCTL" --port "$port" push 127.0.0.1:default/p "$T/src"
is "$RC" 0 "a push works beside the flood"
assert_trees_equal "$T/src" "$E/p" "... and the tree is exact"

# No busy loop: syncd's CPU time over a 2 s measurement window of the flood.
hz=$(getconf CLK_TCK)
before=$(cpu_ticks)
sleep 2     # the measurement window itself, not a wait for anything
after=$(cpu_ticks)
check "syncd is quiet while the flood holds: $((after - before)) ticks of CPU in 2 s (at most $((hz / 5)))" \
    [ $((after - before)) -le $((hz / 5)) ]
check "syncd never ran out of descriptors ($(grep -c 'accept: Too many open files' "$SYNCD_LOG") EMFILE)" \
    bash -c "! grep -q 'accept: Too many open files' '$SYNCD_LOG'"

kill -TERM "$IDLE"
wait "$IDLE" 2>/dev/null
if wait_for 10 fds_back_to "$base_fds"; then ok "descriptors back to the baseline after the flood"; else not_ok "descriptors back to the baseline ($(fds) > $base_fds)"; fi
run "$RAWCALL" --port "$port" default hello
is "$OUT" SYNC_OK "served after the flood"
stop_syncd
done_testing
