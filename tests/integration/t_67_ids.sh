#!/bin/bash
# t_67_ids.sh -- an export's "uid"/"gid": a root syncd touches that export's
# files as the given user and group (filesystem ids of the session's own
# thread), so files arrive owned by them and the user's permissions apply;
# unknown users stop syncd at startup.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

if [ "$(id -u)" != 0 ] || ! getent passwd nobody >/dev/null; then
	ok "# SKIP needs root and the user nobody"
	done_testing
	exit 0
fi
NOGROUP=$(id -gn nobody)
E="$T/mine"
R="$T/roots"
S="$T/src"
mkdir -p "$E" "$R" "$S/sub"
chown nobody:"$NOGROUP" "$E"
printf 'data\n' >"$S/sub/f"
printf '[mine]\npath = %s\nuid = nobody\n[roots]\npath = %s\nuid = 65534\ngid = %s\n[plain]\npath = %s\n' \
    "$E" "$R" "$(id -g nobody)" "$T/plain" >"$T/syncd.conf"
mkdir -p "$T/plain"
start_syncd -c "$T/syncd.conf" || exit 1

run "$SYNCCTL" push 127.0.0.1:mine/dst "$S"
is "$RC" 0 "push into an export with uid = nobody"
is "$(stat -c %U:%G "$E/dst" "$E/dst/sub" "$E/dst/sub/f" | sort -u)" "nobody:$NOGROUP" \
    "every file and directory belongs to nobody and its group"
assert_trees_equal "$S" "$E/dst" "the tree arrived"

run "$SYNCCTL" push 127.0.0.1:roots/dst "$S"
is "$RC" 1 "uid = 65534 in a directory only root may write: the push fails"
like "$OUT" "permission denied" "... with 'permission denied'"
check "nothing was created" [ ! -e "$R/dst" ]

run "$SYNCCTL" push 127.0.0.1:plain/dst "$S"
is "$RC" 0 "an export without uid on the same daemon"
is "$(stat -c %U "$T/plain/dst/sub/f")" root "... writes as the daemon itself"
stop_syncd

printf '[x]\npath = %s\nuid = no-such-user-here\n' "$E" >"$T/bad.conf"
run "$SYNCD" -f -c "$T/bad.conf"
is "$RC" 78 "an unknown user: exit 78"
like "$OUT" "export 'x': no such user 'no-such-user-here'" "... naming it"
done_testing
