#!/bin/bash
# t_40_exports.sh -- named exports from a config file: HOST:EXPORT/PATH and
# HOST:EXPORT/ land in the right directory, a read-only export refuses every
# write (exit 77, nothing changes), an unknown export is a clear error, and
# --port reaches syncd directly.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

mkdir -p "$T/default" "$T/pub" "$T/whole" "$T/ro/existing" "$T/src/sub"
printf 'ro data\n' >"$T/ro/existing/file"
printf 'one\n' >"$T/src/one"
printf 'two\n' >"$T/src/sub/two"
stamp_tree "$T/src"
stamp_tree "$T/ro"
cat >"$T/syncd.conf" <<CONF
# test exports
[default]
path = $T/default

[pub]
path = $T/pub
read only = no

[whole]
path = $T/whole

[ro]
path = $T/ro
read only = yes
CONF
start_syncd -c "$T/syncd.conf" || exit 1

run "$SYNCCTL" push 127.0.0.1:pub/x "$T/src"
is "$RC" 0 "push to HOST:pub/x: exit 0"
assert_trees_equal "$T/src" "$T/pub/x" "HOST:pub/x lands in pub's directory"
is "$(find "$T/default" -mindepth 1 | wc -l)" 0 "nothing written to the default export"

run "$SYNCCTL" push 127.0.0.1:pub "$T/src"
is "$RC" 0 "push to HOST:pub (PATH defaults to the base name): exit 0"
assert_trees_equal "$T/src" "$T/pub/src" "HOST:pub lands in pub/<basename DIR>"

run "$SYNCCTL" push 127.0.0.1:whole/ "$T/src"
is "$RC" 0 "push to HOST:whole/ (the export root): exit 0"
assert_trees_equal "$T/src" "$T/whole" "HOST:whole/ fills the export root itself"

run "$SYNCCTL" push 127.0.0.1 "$T/src"
is "$RC" 0 "push without EXPORT uses [default]: exit 0"
assert_trees_equal "$T/src" "$T/default/src" "default export used when none is named"

# --- read-only export
before=$(tree_manifest "$T/ro")
run "$SYNCCTL" push 127.0.0.1:ro/new "$T/src"
is "$RC" 77 "push to a read-only export: exit 77"
like "$OUT" "read-only" "push to a read-only export: says read-only"
run "$SYNCCTL" --delete push 127.0.0.1:ro/ "$T/src"
is "$RC" 77 "push --delete to a read-only export root: exit 77"
is "$(tree_manifest "$T/ro")" "$before" "read-only export unchanged"

for op in "mkdir newdir" "put newfile data" "delete existing" "symlink newlink target" "setattr existing 700"; do
	# shellcheck disable=SC2086 # op is split into OP ARGS on purpose
	run "$RAWCALL" ro $op
	is "$OUT" SYNC_ERR_ROFS "rawcall $op on the read-only export: SYNC_ERR_ROFS"
done
run "$RAWCALL" ro list existing
like "$OUT" "^SYNC_OK" "LIST on a read-only export is allowed"
is "$(tree_manifest "$T/ro")" "$before" "read-only export unchanged by raw writes"

# --- unknown export
run "$SYNCCTL" push 127.0.0.1:nosuch/x "$T/src"
isnt "$RC" 0 "push to an unknown export: non-zero exit"
like "$OUT" "nosuch" "unknown export: the message names it"
like "$OUT" "no such export" "unknown export: the message says so"
run "$RAWCALL" nosuch hello
is "$OUT" SYNC_ERR_NOEXPORT "HELLO with an unknown export: SYNC_ERR_NOEXPORT"

# --- --port straight to syncd, even without rpcbind
port=$(syncd_port)
like "$port" '^[0-9]+$' "rpcbind reports syncd's port"
run "$SYNCCTL" --port "$port" push 127.0.0.1:pub/viaport "$T/src"
is "$RC" 0 "--port PORT push: exit 0"
assert_trees_equal "$T/src" "$T/pub/viaport" "--port PORT push lands"
stop_rpcbind
run "$SYNCCTL" --port "$port" push 127.0.0.1:pub/norpcbind "$T/src"
is "$RC" 0 "--port PORT push with rpcbind stopped: exit 0"
assert_trees_equal "$T/src" "$T/pub/norpcbind" "--port PORT push without rpcbind lands"
start_rpcbind

stop_syncd
done_testing
