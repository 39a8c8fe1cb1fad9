/*
 * server_config.c -- unit tests for the syncd.conf parser (server/config.c).
 *
 * The parser decides what the network may write to, so every class of
 * mistake it must reject gets a case here, each checked for the file:line
 * prefix of its message and for leaving the configuration empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/config.h"
#include "check.h"

/*
 * Parses text as "t.conf" and checks that it fails with a message that
 * contains want (e.g. "t.conf:3: unknown key"), leaving cfg empty.
 */
static void
expect_error(const char *what, const char *text, const char *want)
{
	struct config cfg = { .exports = (struct export *)1, .nexports = 99,
	    .max_conn = 7, .idle_s = 7, .partial_s = 7, .drain_s = 7 };
	char err[512] = "";
	int rc = config_parse(text, "t.conf", &cfg, err, sizeof err);

	CHECK(rc == -1, "%s: rejected", what);
	CHECK(strstr(err, want) != NULL, "%s: message '%s' contains '%s'", what,
	    err, want);
	CHECK(cfg.exports == NULL && cfg.nexports == 0, "%s: config left empty",
	    what);
	CHECK(strchr(err, '\n') == NULL, "%s: message is one line", what);
}

/* A valid file with several exports, comments and odd spacing. */
static void
test_valid(void)
{
	const char *text =
	    "# syncd.conf\n"
	    "; another comment style\n"
	    "\n"
	    "[default]\n"
	    "path = /srv/mirror\n"
	    "\n"
	    "  [backup.2024_a-b]  \r\n"
	    "\tpath=/var/lib/syncd/backup dir   \n"
	    "READ    ONLY\t=  Yes\n"
	    "   # indented comment\n"
	    "[ro0]\n"
	    "read only = 0\n"
	    "path = /x\n"
	    "[t]\n"
	    "path = /t\n"
	    "read only = TRUE";           /* no final newline */
	struct config cfg;
	const struct export *e;
	char err[512] = "";

	CHECK(config_parse(text, "t.conf", &cfg, err, sizeof err) == 0,
	    "valid file parses (%s)", err);
	CHECK(cfg.nexports == 4, "four exports");
	e = config_find(&cfg, "default");
	CHECK(e != NULL && strcmp(e->path, "/srv/mirror") == 0,
	    "default export path");
	CHECK(e != NULL && e->read_only == 0, "read only defaults to no");
	CHECK(e != NULL && e->root_fd == -1, "root_fd is -1 after parse");
	e = config_find(&cfg, "backup.2024_a-b");
	CHECK(e != NULL && strcmp(e->path, "/var/lib/syncd/backup dir") == 0,
	    "blanks around section names and values trimmed, inside kept");
	CHECK(e != NULL && e->read_only == 1, "key case and blank runs ignored");
	e = config_find(&cfg, "ro0");
	CHECK(e != NULL && e->read_only == 0 && strcmp(e->path, "/x") == 0,
	    "read only = 0, keys in any order");
	e = config_find(&cfg, "t");
	CHECK(e != NULL && e->read_only == 1, "last line without newline");
	CHECK(config_find(&cfg, "nope") == NULL, "unknown name not found");
	CHECK(config_find(&cfg, "Default") == NULL, "names are case-sensitive");
	CHECK(config_find(&cfg, NULL) == NULL, "NULL name not found");
	config_free(&cfg);
	CHECK(cfg.exports == NULL && cfg.nexports == 0, "config_free empties");
}

/*
 * Sharing: a parsed configuration starts with one reference, its exports
 * point back at it, and it is freed with the last config_drop (the ASan
 * build of this test would catch a leak, or a use after the first drop).
 */
static void
test_refs(void)
{
	struct config *cfg = calloc(1, sizeof *cfg);
	char err[512] = "";
	int back = 1;

	CHECK(cfg != NULL && config_parse("[a]\npath=/a\n[b]\npath=/b\n", "t.conf",
	    cfg, err, sizeof err) == 0, "parsed (%s)", err);
	if (cfg == NULL || cfg->nexports != 2)
		return;
	for (size_t i = 0; i < cfg->nexports; i++)
		back &= cfg->exports[i].config == cfg;
	CHECK(back, "every export points back at its configuration");
	CHECK(atomic_load(&cfg->refs) == 1, "one reference after parsing");
	config_hold(cfg);
	config_drop(cfg);
	CHECK(atomic_load(&cfg->refs) == 1 && strcmp(cfg->exports[1].name, "b") == 0,
	    "a held configuration outlives one drop");
	config_drop(cfg);
}

/* Every spelling of a boolean. */
static void
test_bools(void)
{
	static const struct {
		const char *word;
		int value;
	} cases[] = {
		{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
		{ "1", 1 }, { "0", 0 }, { "NO", 0 }, { "False", 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[128], err[256] = "";
		struct config cfg;

		snprintf(text, sizeof text, "[a]\npath=/a\nread only = %s\n",
		    cases[i].word);
		CHECK(config_parse(text, "t.conf", &cfg, err, sizeof err) == 0 &&
		    cfg.exports[0].read_only == cases[i].value,
		    "read only = %s", cases[i].word);
		config_free(&cfg);
	}
}

/* Export names at and beyond the limits. */
static void
test_names(void)
{
	char name[SYNC_EXPORT_MAX + 2], text[256], err[256] = "";
	struct config cfg;

	memset(name, 'n', SYNC_EXPORT_MAX);
	name[SYNC_EXPORT_MAX] = '\0';
	snprintf(text, sizeof text, "[%s]\npath=/a\n", name);
	CHECK(config_parse(text, "t.conf", &cfg, err, sizeof err) == 0,
	    "name of %d bytes accepted", SYNC_EXPORT_MAX);
	config_free(&cfg);

	strcat(name, "n");
	snprintf(text, sizeof text, "[%s]\npath=/a\n", name);
	expect_error("name too long", text, "t.conf:1: invalid export name");
	expect_error("empty name", "[]\npath=/a\n", "t.conf:1: invalid export name");
	expect_error("blank name", "[  ]\npath=/a\n", "t.conf:1: invalid export name");
	expect_error("leading dot", "[.hidden]\npath=/a\n",
	    "t.conf:1: invalid export name '.hidden'");
	expect_error("slash", "[a/b]\npath=/a\n", "t.conf:1: invalid export name");
	expect_error("space inside", "[a b]\npath=/a\n",
	    "t.conf:1: invalid export name");
	expect_error("non-ascii", "[caf\xc3\xa9]\npath=/a\n",
	    "t.conf:1: invalid export name 'caf?" "?'");
	expect_error("unclosed", "[abc\npath=/a\n", "t.conf:1: section header");
	expect_error("trailing junk", "[abc] x\npath=/a\n", "t.conf:1: section header");
}

/* Each class of error, with the line it names. */
static void
test_errors(void)
{
	char *big;

	expect_error("unknown key", "[a]\npath = /a\nreadonly = yes\n",
	    "t.conf:3: unknown key 'readonly'");
	expect_error("bad bool", "[a]\npath = /a\nread only = maybe\n",
	    "t.conf:3: 'read only' must be yes or no, not 'maybe'");
	expect_error("empty bool", "[a]\npath = /a\nread only =\n",
	    "t.conf:3: 'read only' must be yes or no");
	expect_error("duplicate section", "[a]\npath=/a\n[b]\npath=/b\n[a]\npath=/c\n",
	    "t.conf:5: duplicate export 'a'");
	expect_error("duplicate path", "[a]\npath=/a\npath=/b\n",
	    "t.conf:3: duplicate key 'path'");
	expect_error("duplicate read only", "[a]\npath=/a\nread only=no\nRead  Only=no\n",
	    "t.conf:4: duplicate key 'read only'");
	expect_error("key before section", "# c\npath = /a\n[a]\npath=/a\n",
	    "t.conf:2: key 'path' outside a section");
	expect_error("missing path", "[a]\nread only = yes\n[b]\npath=/b\n",
	    "t.conf:1: export 'a' has no path");
	expect_error("missing path in last section", "[a]\npath=/a\n\n[b]\n",
	    "t.conf:4: export 'b' has no path");
	expect_error("relative path", "[a]\npath = srv/a\n",
	    "t.conf:2: path must be absolute");
	expect_error("empty path", "[a]\npath =   \n", "t.conf:2: path must be absolute");
	expect_error("no equals sign", "[a]\npath /a\n",
	    "t.conf:2: expected '[name]' or 'key = value'");
	expect_error("missing key", "[a]\n= /a\n", "t.conf:2: missing key");
	expect_error("empty file", "", "t.conf: no export defined");
	expect_error("only comments", "# nothing\n\n; here\n",
	    "t.conf: no export defined");
	expect_error("control bytes quoted", "[a]\nfo\x01o = 1\n",
	    "t.conf:2: unknown key 'fo?o'");

	/* A line of exactly 4096 bytes is fine; 4097 is an error. */
	big = malloc(8192);
	if (big == NULL)
		return;
	strcpy(big, "[a]\npath = /");
	memset(big + strlen(big), 'x', 4096 - strlen("path = /"));
	strcpy(big + 4 + 4096, "\n");
	{
		struct config cfg;
		char err[256] = "";

		CHECK(config_parse(big, "t.conf", &cfg, err, sizeof err) == 0 &&
		    strlen(cfg.exports[0].path) == 4096 - strlen("path = "),
		    "line of 4096 bytes accepted (%s)", err);
		config_free(&cfg);
	}
	strcpy(big, "[a]\npath = /a\n#");
	memset(big + strlen(big), 'x', 4096);
	strcpy(big + strlen("[a]\npath = /a\n") + 4097, "\n");
	expect_error("overlong comment line", big, "t.conf:3: line longer than 4096");
	free(big);

	/* A small error buffer truncates the message but stays terminated. */
	{
		struct config cfg;
		char err[8];

		CHECK(config_parse("[a]\n", "t.conf", &cfg, err, sizeof err) == -1 &&
		    strlen(err) == sizeof err - 1, "small error buffer");
	}
}

/* The daemon-wide keys and the access keys of an export. */
static void
test_access_keys(void)
{
	const char *text =
	    "max connections = 200\n"
	    "Idle  Timeout = 30\n"
	    "[locked]\n"
	    "path = /srv/l\n"
	    "secrets file = /etc/syncd.secrets\n"
	    "hosts allow = 10.0.0.0/8, 2001:db8::/32\n"
	    "hosts deny = 10.6.6.6\n"
	    "max connections = 4\n"
	    "uid = backup\n"
	    "gid = 34\n"
	    "[open]\n"
	    "path = /srv/o\n";
	struct config cfg;
	char err[512] = "";

	CHECK(config_parse(text, "t.conf", &cfg, err, sizeof err) == 0, "parsed (%s)", err);
	if (cfg.nexports == 2) {
		const struct export *l = &cfg.exports[0], *o = &cfg.exports[1];

		CHECK(cfg.max_conn == 200 && cfg.idle_s == 30, "global keys");
		CHECK(strcmp(l->secrets_file, "/etc/syncd.secrets") == 0 && l->secrets.n == 0,
		    "secrets file kept as a path (loaded later, not by the parser)");
		CHECK(l->hosts_allow.n == 2 && l->hosts_deny.n == 1 && l->max_sessions == 4,
		    "host lists and the export's max connections");
		CHECK(strcmp(l->uid_name, "backup") == 0 && strcmp(l->gid_name, "34") == 0 &&
		    l->uid == -1 && l->gid == -1, "uid and gid kept as written (resolved later)");
		CHECK(o->secrets_file == NULL && o->hosts_allow.n == 0 && o->hosts_deny.n == 0 &&
		    o->max_sessions == 0 && o->uid_name == NULL && o->uid == -1,
		    "an export without them has no restriction");
	}
	config_free(&cfg);
	CHECK(config_parse("[a]\npath=/a\n", "t.conf", &cfg, err, sizeof err) == 0 &&
	    cfg.max_conn == 0 && cfg.idle_s == 0 && cfg.drain_s == 0 &&
	    cfg.partial_s == CONFIG_PARTIAL_DEFAULT,
	    "without global keys: unset (0), partials kept a day");
	config_free(&cfg);
	CHECK(config_parse("partial expiry = 0\n[a]\npath=/a\n", "t.conf", &cfg, err,
	    sizeof err) == 0 && cfg.partial_s == 0, "partial expiry 0: partials never kept");
	config_free(&cfg);
	CHECK(config_parse("drain timeout = 3\n[a]\npath=/a\n", "t.conf", &cfg, err,
	    sizeof err) == 0 && cfg.drain_s == 3, "drain timeout");
	config_free(&cfg);
	expect_error("drain timeout 0", "drain timeout = 0\n[a]\npath=/a\n",
	    "t.conf:1: 'drain timeout' must be 1 to 3600 seconds, not '0'");

	expect_error("global key unknown", "read only = yes\n[a]\npath=/a\n",
	    "t.conf:1: key 'read only' outside a section");
	expect_error("max connections 0", "max connections = 0\n[a]\npath=/a\n",
	    "t.conf:1: 'max connections' must be a number from 1 to 65536, not '0'");
	expect_error("max connections word", "[a]\npath=/a\nmax connections = many\n",
	    "t.conf:3: 'max connections' must be a number");
	expect_error("idle timeout sign", "idle timeout = -5\n[a]\npath=/a\n",
	    "t.conf:1: 'idle timeout' must be 1 to 86400 seconds");
	expect_error("duplicate global", "idle timeout = 5\nidle timeout = 6\n[a]\npath=/a\n",
	    "t.conf:2: duplicate key 'idle timeout'");
	expect_error("partial expiry too long", "partial expiry = 2592001\n[a]\npath=/a\n",
	    "t.conf:1: 'partial expiry' must be 0 to 2592000 seconds");
	expect_error("relative secrets file", "[a]\npath=/a\nsecrets file = s.txt\n",
	    "t.conf:3: 'secrets file' must be an absolute path");
	expect_error("host name", "[a]\npath=/a\nhosts allow = 10.0.0.1, example.com\n",
	    "t.conf:3: hosts allow: 'example.com' is not an IP address or CIDR prefix");
	expect_error("empty hosts deny", "[a]\npath=/a\nhosts deny =\n",
	    "t.conf:3: 'hosts deny' needs at least one address");
	expect_error("duplicate hosts allow",
	    "[a]\npath=/a\nhosts allow = ::1\nhosts allow = ::2\n",
	    "t.conf:4: duplicate key 'hosts allow'");
	expect_error("duplicate uid", "[a]\npath=/a\nuid = 1\nuid = 2\n",
	    "t.conf:4: duplicate key 'uid'");
	expect_error("empty gid", "[a]\npath=/a\ngid =\n",
	    "t.conf:3: 'gid' must be a user or group name or number");
	expect_error("duplicate export max", "[a]\npath=/a\nmax connections=1\nmax connections=2\n",
	    "t.conf:4: duplicate key 'max connections'");
}

/* config_load: reading files, and refusing what is not a text file. */
static void
test_load(void)
{
	char dir[] = "/tmp/server_config.XXXXXX", file[64], err[512] = "";
	struct config cfg;
	FILE *f;

	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(file, sizeof file, "%s/syncd.conf", dir);
	f = fopen(file, "w");
	if (f == NULL) {
		CHECK(0, "fopen");
		return;
	}
	fputs("[default]\npath = /srv\nread only = yes\n", f);
	fclose(f);
	CHECK(config_load(file, &cfg, err, sizeof err) == 0 && cfg.nexports == 1 &&
	    cfg.exports[0].read_only == 1, "config_load reads a file (%s)", err);
	config_free(&cfg);

	f = fopen(file, "w");
	if (f != NULL) {
		fputs("[a]\npath = /srv\nbogus = 1\n", f);
		fclose(f);
	}
	CHECK(config_load(file, &cfg, err, sizeof err) == -1 &&
	    strncmp(err, file, strlen(file)) == 0 &&
	    strstr(err, ":3: unknown key 'bogus'") != NULL,
	    "errors name the file and line: %s", err);

	f = fopen(file, "w");
	if (f != NULL) {
		fwrite("[a]\npath = /s\0rv\n", 1, 17, f);
		fclose(f);
	}
	CHECK(config_load(file, &cfg, err, sizeof err) == -1 &&
	    strstr(err, "NUL") != NULL, "NUL byte refused: %s", err);

	CHECK(config_load(dir, &cfg, err, sizeof err) == -1 &&
	    strstr(err, "not a regular file") != NULL, "directory refused: %s", err);
	unlink(file);
	CHECK(config_load(file, &cfg, err, sizeof err) == -1 &&
	    strstr(err, "No such file") != NULL, "missing file: %s", err);
	CHECK(cfg.exports == NULL && cfg.nexports == 0, "failed load leaves cfg empty");
	rmdir(dir);
}

int
main(void)
{
	test_valid();
	test_refs();
	test_bools();
	test_names();
	test_errors();
	test_access_keys();
	test_load();
	return check_done();
}
