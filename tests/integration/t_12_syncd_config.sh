#!/bin/bash
# t_12_syncd_config.sh -- syncd refuses bad configurations and options
# before it registers: unknown keys and bad values exit 78 (EX_CONFIG) with
# the file and line named, bad options exit 64, and nothing is registered;
# -t checks a file the same way and exits.
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

mkdir -p "$T/export"

# syncd_fails WHAT WANT_RC WANT_RE ARGS...: runs syncd (bounded), which must
# exit with WANT_RC, print something matching WANT_RE, and not register.
syncd_fails() {
	local what=$1 want=$2 re=$3
	shift 3
	run timeout 20 "$SYNCD" -f "$@"
	is "$RC" "$want" "$what: exit $want"
	like "$OUT" "$re" "$what: message"
	if in_rpcbind; then not_ok "$what: nothing registered"; else ok "$what: nothing registered"; fi
}

conf() {
	printf '%s\n' "$@" >"$T/syncd.conf"
}

conf '[default]' "path = $T/export" 'colour = blue'
syncd_fails "unknown key" 78 "syncd\\.conf:3.*colour" -c "$T/syncd.conf"

conf '[default]' "path = $T/export" 'read only = perhaps'
syncd_fails "bad 'read only' value" 78 "syncd\\.conf:3" -c "$T/syncd.conf"

conf "path = $T/export"
syncd_fails "key outside a section" 78 "syncd\\.conf:1" -c "$T/syncd.conf"

conf '[default]' "path = $T/export" '[default]' "path = $T/export"
syncd_fails "duplicate section" 78 "syncd\\.conf:3" -c "$T/syncd.conf"

conf '[default]' 'read only = no'
syncd_fails "export without a path" 78 "syncd\\.conf" -c "$T/syncd.conf"

conf '[default]' 'path = relative/dir'
syncd_fails "relative path" 78 "syncd\\.conf:2" -c "$T/syncd.conf"

run timeout 20 "$SYNCD" -f -c "$T/no-such.conf"
isnt "$RC" 0 "missing config file: non-zero exit"
like "$OUT" "no-such\\.conf" "missing config file: named in the message"

run timeout 20 "$SYNCD" -f --root "$T/no-such-dir"
isnt "$RC" 0 "missing export directory: non-zero exit"
like "$OUT" "no-such-dir" "missing export directory: named in the message"

run timeout 20 "$SYNCD" -f --no-such-option --root "$T/export"
is "$RC" 64 "unknown option: exit 64"

run timeout 20 "$SYNCD" -f
is "$RC" 64 "neither --root nor -c: exit 64"

run timeout 20 "$SYNCD" -f --root "$T/export" --port 70000
is "$RC" 64 "--port out of range: exit 64"

# A good configuration starts, for contrast.
conf '# a comment' '' '[default]' "path = $T/export" 'read only = no'
start_syncd -c "$T/syncd.conf" && ok "a valid configuration starts and registers"
stop_syncd

# -t checks a configuration as a start would, and says so; it serves nothing.
run timeout 20 "$SYNCD" -t -c "$T/syncd.conf"
is "$RC:$OUT" "0:syncd: $T/syncd.conf: configuration OK; exports: default=$T/export (rw)" \
    "-t on a good file: exit 0, OK and its exports"
conf '[default]' "path = $T/missing"
run timeout 20 "$SYNCD" -t -c "$T/syncd.conf"
is "$RC" 78 "-t on a file whose export is missing: exit 78"
like "$OUT" "export 'default': cannot open directory $T/missing" "... and why"
conf '[default]' "path = $T/export" 'no such key = 1'
run timeout 20 "$SYNCD" --test-config -c "$T/syncd.conf"
is "$RC" 78 "--test-config on an unknown key: exit 78"
like "$OUT" "syncd.conf:3: unknown key 'no such key'" "... naming the line"
check "-t registers nothing" eval '! in_rpcbind'

done_testing
