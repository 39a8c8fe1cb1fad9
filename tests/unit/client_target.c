/*
 * client_target.c -- unit tests for syncctl's "HOST[:EXPORT][/PATH]" parser.
 *
 * The parser decides where data goes, so every accepted form is checked
 * field by field and every refused form is checked to fail before any
 * connection could be made.
 */
#include <string.h>

#include "check.h"
#include "../../client/target.h"

/* One accepted form and what it must parse to (path NULL: not given). */
struct good {
	const char *spec, *host, *export, *path;
};

/* Every accepted form parses to the expected host, export and path. */
static void
test_good(void)
{
	static const struct good cases[] = {
		{ "h", "h", "default", NULL },
		{ "h:exp", "h", "exp", NULL },
		{ "h:exp/a/b", "h", "exp", "a/b" },
		{ "h:exp/a/b/", "h", "exp", "a/b" },
		{ "h/a", "h", "default", "a" },
		{ "h/", "h", "default", "" },
		{ "h:exp/", "h", "exp", "" },
		{ "host.example.org:my_exp-1.x/dir", "host.example.org", "my_exp-1.x", "dir" },
		{ "10.0.0.1:e/p q", "10.0.0.1", "e", "p q" },
		{ "[::1]:exp/p", "::1", "exp", "p" },
		{ "[::1]", "::1", "default", NULL },
		{ "h:-x", "h", "-x", NULL },
		{ "[fe80::1%eth0]/x", "fe80::1%eth0", "default", "x" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct good *c = &cases[i];
		struct target t;
		char err[256] = "";
		int rc = target_parse(c->spec, &t, err, sizeof err);

		CHECK(rc == 0, "\"%s\" is accepted %s", c->spec, err);
		if (rc != 0)
			continue;
		CHECK(strcmp(t.host, c->host) == 0, "\"%s\": host \"%s\"", c->spec, t.host);
		CHECK(strcmp(t.export, c->export) == 0, "\"%s\": export \"%s\"",
		    c->spec, t.export);
		if (c->path == NULL)
			CHECK(!t.has_path, "\"%s\": no path given", c->spec);
		else
			CHECK(t.has_path && strcmp(t.path, c->path) == 0,
			    "\"%s\": path \"%s\"", c->spec, t.path);
	}
}

/* Every malformed target is refused with a reason. */
static void
test_bad(void)
{
	static const char *cases[] = {
		"", ":exp", "/a", ":exp/a", "h:exp/../x", "h:exp/a/../b", "h:exp/..",
		"h:exp/.", "h:exp//", "h:exp//a", "h:exp/a//b", "h:exp/.syncd-tmp.x",
		"h:", "h:/a", "h:ex*p", "h:ex p/a", "h:.hidden", "h:\xc3\xa9",
		"h:exp:x", "[::1", "[::1]x", "[]:exp", "h h:exp",
		"h:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct target t;
		char err[256] = "";

		CHECK(target_parse(cases[i], &t, err, sizeof err) == -1 && err[0] != '\0',
		    "\"%s\" is refused (%s)", cases[i], err);
	}
}

/* The default destination (DIR's name) is checked like any PATH. */
static void
test_set_path(void)
{
	struct target t;
	char err[256];

	CHECK(target_parse("h:exp", &t, err, sizeof err) == 0, "parse h:exp");
	CHECK(target_set_path(&t, "src", err, sizeof err) == 0 && t.has_path &&
	    strcmp(t.path, "src") == 0, "default path from the directory name");
	CHECK(target_set_path(&t, ".syncd-tmp.src", err, sizeof err) == -1,
	    "a reserved directory name is refused");
	CHECK(target_set_path(&t, "..", err, sizeof err) == -1, "\"..\" is refused");
}

/* Export names: length bounds and allowed characters. */
static void
test_export_names(void)
{
	char name[SYNC_EXPORT_MAX + 2];

	memset(name, 'e', sizeof name);
	CHECK(target_export_ok(name, SYNC_EXPORT_MAX), "a %d-byte export name", SYNC_EXPORT_MAX);
	CHECK(!target_export_ok(name, SYNC_EXPORT_MAX + 1), "a %d-byte export name",
	    SYNC_EXPORT_MAX + 1);
	CHECK(!target_export_ok("", 0), "an empty export name");
	CHECK(!target_export_ok("a/b", 3), "an export name with a slash");
}

/* Runs every test; the exit status says whether all passed. */
int
main(void)
{
	test_good();
	test_bad();
	test_set_path();
	test_export_names();
	return check_done();
}
