#!/bin/bash
# t_99_stress.sh -- 32 clients push 32 different trees (about 300 entries
# each: directories, files from empty to over 1 MiB, symlinks) into 32
# destinations of one export at once.  Every client exits 0, every tree is
# exact afterwards (content, modes, mtimes, link targets), no temp is left,
# and syncd's descriptors and threads come back to their baseline.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
N=32
mkdir -p "$E" "$T/base"

# The base tree: 15 directories, 240 small files, one file over 1 MiB,
# 30 symlinks (relative, absolute, dangling).
for d in $(seq 15); do
	mkdir -p "$T/base/d$d/sub"
done
for i in $(seq 240); do
	d=$((i % 15 + 1))
	where="$T/base/d$d"
	[ $((i % 3)) -eq 0 ] && where="$where/sub"
	head -c $(((i * 7919) % 12000)) /dev/urandom >"$where/f$i"
done
chmod 600 "$T/base/d1/sub/f15"
chmod 755 "$T/base/d2/f1"
head -c $((1024 * 1024 + 4321)) /dev/urandom >"$T/base/big"
for i in $(seq 30); do
	case $((i % 3)) in
	0) ln -s "../d$((i % 15 + 1))/f$i" "$T/base/d$((i % 15 + 1))/l$i" ;;
	1) ln -s "/nonexistent/$i" "$T/base/d$((i % 15 + 1))/l$i" ;;
	2) ln -s "f$i" "$T/base/l$i" ;;
	esac
done
# 32 variants: each with its own files, link and a changed big file.
for c in $(seq "$N"); do
	cp -a "$T/base" "$T/t$c"
	printf 'tree %d\n' "$c" >"$T/t$c/only$c"
	printf '%d' "$c" >>"$T/t$c/big"
	printf 'x%.0s' $(seq "$c") >>"$T/t$c/d2/f1"
	ln -s "only$c" "$T/t$c/lonly"
	mkdir "$T/t$c/dir$c"
	stamp_tree "$T/t$c" "@$((1400000000 + c)).$c"
done
entries=$(find "$T/t1" | wc -l)
check "each tree has a few hundred entries ($entries)" [ "$entries" -ge 280 ]

# Each push opens 1 + --streams connections: room for all of them.
printf 'max connections = 512\n[default]\npath = %s\n' "$E" >"$T/syncd.conf"
start_syncd -c "$T/syncd.conf" || exit 1
fds() { find "/proc/$SYNCD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$SYNCD_PID/status"; }
at_baseline() { [ "$(fds)" -le "$1" ] && [ "$(threads)" -le "$2" ]; }
base_fds=$(fds) base_threads=$(threads)

start=$(date +%s)
pids=()
for c in $(seq "$N"); do
	timeout 200 "$SYNCCTL" push "127.0.0.1/dst$c" "$T/t$c" >"$T/out.$c" 2>&1 &
	pids+=("$!")
done
failed=0
for c in $(seq "$N"); do
	rc=0
	wait "${pids[$((c - 1))]}" || rc=$?
	if [ "$rc" -ne 0 ]; then
		failed=$((failed + 1))
		diag "client $c exited $rc:" "$(head -n 10 "$T/out.$c")"
	fi
done
diag "$N pushes in $(($(date +%s) - start)) s"
is "$failed" 0 "all $N clients exited 0"
unlike "$(cat "$T"/out.*)" "$SANITIZER_RE" "no sanitizer report from any client"

bad=0
for c in $(seq "$N"); do
	d=$(diff <(tree_manifest "$T/t$c") <(tree_manifest "$E/dst$c"))
	if [ -n "$d" ]; then
		bad=$((bad + 1))
		diag "tree $c differs:" "$(head -n 10 <<<"$d")"
	fi
done
is "$bad" 0 "all $N trees are exact (content, modes, mtimes, link targets)"
is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "no temp left"
if wait_for 10 at_baseline "$base_fds" "$base_threads"; then
	ok "syncd's descriptors and threads are back to the baseline ($base_fds, $base_threads)"
else
	not_ok "syncd's descriptors and threads back to the baseline ($(fds) > $base_fds or $(threads) > $base_threads)"
fi
run "$SYNCCTL" push 127.0.0.1/dst1 "$T/t1"
is "$RC" 0 "a re-push after the storm succeeds"
stop_syncd
done_testing
