#!/bin/bash
# t_98_two_writers.sh -- fault matrix row 15: two clients push different
# content to the same files at once, round after round (by delta and whole),
# while a reader hashes the destination all along.  Every read sees the old
# content, A's or B's, whole, never a mixture; after each round every file
# is exactly A's or B's, content and mtime from the same writer (the last
# writer wins, atomically); no temp is left.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

E="$T/export"
ROUNDS=20
FILES=(f1 f2 f3)
mkdir -p "$E" "$T/old" "$T/A" "$T/B"
for f in "${FILES[@]}"; do
	for v in old A B; do
		head -c $((3 * 1024 * 1024)) /dev/urandom >"$T/$v/$f"
	done
done
# sums: "FILE HASH" lines of every acceptable version; reader output is
# checked against them.
for v in old A B; do
	(cd "$T/$v" && md5sum "${FILES[@]}") | awk -v v="$v" '{ print $2, $1, v }'
done | sort >"$T/sums"

start_syncd --root "$E" || exit 1
run "$SYNCCTL" push 127.0.0.1/dst "$T/old"
is "$RC" 0 "the old version is in place"

# The reader: hashes every file of the destination until told to stop (a
# bounded loop; each hash opens the file once, so it sees one version).
reader() {
	local i f
	for ((i = 0; i < 100000; i++)); do
		[ -e "$T/stop" ] && return 0
		for f in "${FILES[@]}"; do
			md5sum "$E/dst/$f" | awk -v f="$f" '{ print f, $1 }'
		done
	done
}
reader >"$T/reads" 2>&1 &
READER=$!

bad_final=0 failed=0
for r in $(seq "$ROUNDS"); do
	# Both sources differ from the destination each round: new mtimes.
	ta=$((1500000000 + r * 10)) tb=$((1500000000 + r * 10 + 5))
	touch -d "@$ta" "$T/A"/*
	touch -d "@$tb" "$T/B"/*
	opt=()
	[ $((r % 2)) -eq 0 ] && opt=(-W)
	"$SYNCCTL" "${opt[@]}" push 127.0.0.1/dst "$T/A" >"$T/a.$r" 2>&1 &
	pa=$!
	"$SYNCCTL" "${opt[@]}" push 127.0.0.1/dst "$T/B" >"$T/b.$r" 2>&1 &
	pb=$!
	ra=0 rb=0
	wait "$pa" || ra=$?
	wait "$pb" || rb=$?
	if [ "$ra" -ne 0 ] || [ "$rb" -ne 0 ]; then
		failed=$((failed + 1))
		diag "round $r: A exited $ra, B exited $rb:" "$(cat "$T/a.$r" "$T/b.$r")"
	fi
	winners=
	for f in "${FILES[@]}"; do
		sum=$(md5sum "$E/dst/$f" | cut -d' ' -f1)
		mt=$(stat -c %Y "$E/dst/$f")
		who=$(awk -v f="$f" -v s="$sum" '$1 == f && $2 == s { print $3 }' "$T/sums")
		winners="$winners $f=$who"
		if ! { [ "$who" = A ] && [ "$mt" = "$ta" ]; } && ! { [ "$who" = B ] && [ "$mt" = "$tb" ]; }; then
			bad_final=$((bad_final + 1))
			diag "round $r: $f has the content of '${who:-nobody}' and mtime $mt (A: $ta, B: $tb)"
		fi
	done
	diag "round $r${opt[0]:+ (${opt[0]})}:$winners"
done
touch "$T/stop"
wait "$READER"
is "$failed" 0 "both pushes of every round exited 0"
is "$bad_final" 0 "after every round each file is exactly A's or B's (content and mtime)"
reads=$(wc -l <"$T/reads")
check "the reader hashed the files all along ($reads reads)" [ "$reads" -ge $((ROUNDS * 3)) ]
mixed=$(awk 'NR == FNR { ok[$1 " " $2] = 1; next } !ok[$1 " " $2]' "$T/sums" "$T/reads" | wc -l)
is "$mixed" 0 "every read saw the old, A's or B's content whole"
seen=$(awk 'NR == FNR { v[$1 " " $2] = $3; next } { print v[$1 " " $2] }' "$T/sums" "$T/reads" | sort -u | tr '\n' ' ')
diag "versions the reader saw: $seen"
is "$(find "$E" -name '.syncd-tmp.*' | wc -l)" 0 "no temp left"
stop_syncd
done_testing
