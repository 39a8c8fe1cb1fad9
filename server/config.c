/*
 * config.c -- the syncd.conf parser.
 *
 * Why it is strict: the configuration decides which directories the network
 * may write to.  A typo that is silently ignored ("read-only = yes", a second
 * [section] with the same name, a relative path) would widen that exposure
 * without anyone noticing, so every such line is an error naming the file
 * and line.  Parsing is pure (no filesystem access besides reading the file
 * in config_load, through fdio_read_text), which keeps it unit-testable.
 *
 * Syntax: one item per line; leading and trailing blanks are ignored.
 *   # or ; at the start of a line   comment (whole lines only: a path may
 *                                   contain '#')
 *   [name]                          starts the export called name
 *   key = value                     keys are case-insensitive and runs of
 *                                   blanks inside them count as one space
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "fdio.h"
#include "path.h"

#define CONFIG_LINE_MAX  4096               /* bytes in one line, without '\n' */
#define CONFIG_FILE_MAX  (1024 * 1024)      /* a larger file is surely a mistake */
#define CONFIG_QUOTE_MAX 64                 /* bytes of user text quoted in errors */

/* What the parser knows about the section being read. */
struct section {
	struct export *e;       /* the export being filled, NULL before any [name] */
	unsigned int line;      /* where its header was */
	int have_path;
	int have_read_only;
	int have_secrets;
	int have_allow, have_deny;
	int have_max;
	int have_uid, have_gid;
	struct config *cfg;     /* for the global keys (before any section) */
	int have_global_max, have_idle, have_partial, have_drain;
};

/*
 * Formats "origin:LINE: reason" (or "origin: reason" when line is 0) into err.
 * Always returns -1 so that callers can `return config_error(...)`.
 */
static int __attribute__((format(printf, 5, 6)))
config_error(char *err, size_t errlen, const char *origin, unsigned int line,
    const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (errlen == 0)
		return -1;
	if (line > 0)
		snprintf(err, errlen, "%s:%u: %s", origin, line, reason);
	else
		snprintf(err, errlen, "%s: %s", origin, reason);
	return -1;
}

/*
 * Copies at most CONFIG_QUOTE_MAX bytes of the len bytes at s into out
 * (CONFIG_QUOTE_MAX + 4 bytes), replacing unprintable bytes with '?' and
 * marking a cut with "...", so that error messages stay one clean line.
 */
static void
quote(char out[CONFIG_QUOTE_MAX + 4], const char *s, size_t len)
{
	size_t i, n = len < CONFIG_QUOTE_MAX ? len : CONFIG_QUOTE_MAX;

	for (i = 0; i < n; i++)
		out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (n < len)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = '\0';
}

/* Returns non-zero if c is a blank that the syntax ignores around items. */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Narrows [*s, *s + *len) by dropping blanks at both ends. */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_blank(**s))
		(*s)++, (*len)--;
	while (*len > 0 && is_blank((*s)[*len - 1]))
		(*len)--;
}

/*
 * Normalises the key of len bytes at s into out (CONFIG_LINE_MAX + 1 bytes):
 * lower case, runs of blanks replaced by one space.  The key is already
 * trimmed, so the result has no leading or trailing space.
 */
static void
normalise_key(char *out, const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (is_blank(s[i])) {
			if (n > 0 && out[n - 1] != ' ')
				out[n++] = ' ';
			continue;
		}
		out[n++] = (char)tolower((unsigned char)s[i]);
	}
	out[n] = '\0';
}

/*
 * Parses a boolean value (yes/no, true/false, 1/0, any case).  Returns 0 and
 * sets *out, or -1 if v is none of those.
 */
static int
parse_bool(const char *v, size_t len, int *out)
{
	static const struct {
		const char *word;
		int value;
	} words[] = {
		{ "yes", 1 }, { "true", 1 }, { "1", 1 },
		{ "no", 0 }, { "false", 0 }, { "0", 0 },
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (strlen(words[i].word) == len &&
		    strncasecmp(words[i].word, v, len) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return -1;
}

/*
 * Parses a decimal number in [min, max] (no sign, no blanks).  Returns 0 and
 * sets *out, or -1.
 */
static int
parse_uint(const char *v, size_t len, unsigned int min, unsigned int max,
    unsigned int *out)
{
	unsigned long n = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (n < min || n > max)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

/* Frees the strings of every export in cfg and the array; leaves cfg empty. */
static void
exports_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nexports; i++) {
		struct export *e = &cfg->exports[i];

		if (e->root_fd >= 0)
			close(e->root_fd);
		free(e->name);
		free(e->path);
		free(e->secrets_file);
		free(e->uid_name);
		free(e->gid_name);
		secrets_free(&e->secrets);
		hostacl_free(&e->hosts_allow);
		hostacl_free(&e->hosts_deny);
	}
	free(cfg->exports);
	cfg->exports = NULL;
	cfg->nexports = 0;
}

/*
 * Checks that the section being closed is complete.  Returns 0, or -1 with
 * the reason in err.
 */
static int
section_end(const struct section *sec, const char *origin, char *err,
    size_t errlen)
{
	if (sec->e != NULL && !sec->have_path)
		return config_error(err, errlen, origin, sec->line,
		    "export '%s' has no path", sec->e->name);
	return 0;
}

/*
 * Handles a "[name]" line (the len bytes at s, trimmed, brackets included):
 * checks the name, refuses duplicates and appends a new export to cfg with
 * defaults (read-write, root_fd -1).  Returns 0, or -1 with err set.
 */
static int
section_begin(struct config *cfg, struct section *sec, const char *s,
    size_t len, const char *origin, unsigned int line, char *err, size_t errlen)
{
	char q[CONFIG_QUOTE_MAX + 4];
	const char *name = s + 1;
	size_t nlen;
	struct export *grown, *e;

	if (section_end(sec, origin, err, errlen) != 0)
		return -1;
	if (len < 2 || s[len - 1] != ']')
		return config_error(err, errlen, origin, line,
		    "section header must be '[name]'");
	nlen = len - 2;
	trim(&name, &nlen);
	quote(q, name, nlen);
	if (!path_token_ok(name, nlen, SYNC_EXPORT_MAX, '.'))
		return config_error(err, errlen, origin, line,
		    "invalid export name '%s' (1-%d characters of A-Z a-z 0-9 . _ -, "
		    "not starting with '.')", q, SYNC_EXPORT_MAX);
	for (size_t i = 0; i < cfg->nexports; i++)
		if (strlen(cfg->exports[i].name) == nlen &&
		    memcmp(cfg->exports[i].name, name, nlen) == 0)
			return config_error(err, errlen, origin, line,
			    "duplicate export '%s'", q);

	grown = realloc(cfg->exports, (cfg->nexports + 1) * sizeof *grown);
	if (grown == NULL)
		return config_error(err, errlen, origin, line, "out of memory");
	cfg->exports = grown;
	e = &cfg->exports[cfg->nexports];
	memset(e, 0, sizeof *e);
	e->root_fd = -1;
	e->uid = e->gid = -1;
	e->name = strndup(name, nlen);
	if (e->name == NULL)
		return config_error(err, errlen, origin, line, "out of memory");
	cfg->nexports++;

	sec->e = e;
	sec->line = line;
	sec->have_path = sec->have_read_only = sec->have_secrets = 0;
	sec->have_allow = sec->have_deny = sec->have_max = 0;
	sec->have_uid = sec->have_gid = 0;
	return 0;
}

/*
 * Handles key (normalised) = v (vlen bytes, trimmed) before any section:
 * the daemon-wide settings.  Returns 0, or -1 with err set.
 */
static int
global_key(struct section *sec, const char *key, const char *v, size_t vlen,
    const char *origin, unsigned int line, char *err, size_t errlen)
{
	char q[CONFIG_QUOTE_MAX + 4];

	quote(q, v, vlen);
	if (strcmp(key, "max connections") == 0) {
		if (sec->have_global_max)
			return config_error(err, errlen, origin, line,
			    "duplicate key 'max connections'");
		if (parse_uint(v, vlen, 1, 65536, &sec->cfg->max_conn) != 0)
			return config_error(err, errlen, origin, line,
			    "'max connections' must be a number from 1 to 65536, not '%s'", q);
		sec->have_global_max = 1;
	} else if (strcmp(key, "idle timeout") == 0) {
		if (sec->have_idle)
			return config_error(err, errlen, origin, line,
			    "duplicate key 'idle timeout'");
		if (parse_uint(v, vlen, 1, 86400, &sec->cfg->idle_s) != 0)
			return config_error(err, errlen, origin, line,
			    "'idle timeout' must be 1 to 86400 seconds, not '%s'", q);
		sec->have_idle = 1;
	} else if (strcmp(key, "partial expiry") == 0) {
		if (sec->have_partial)
			return config_error(err, errlen, origin, line,
			    "duplicate key 'partial expiry'");
		if (parse_uint(v, vlen, 0, CONFIG_PARTIAL_MAX, &sec->cfg->partial_s) != 0)
			return config_error(err, errlen, origin, line,
			    "'partial expiry' must be 0 to %d seconds, not '%s'",
			    CONFIG_PARTIAL_MAX, q);
		sec->have_partial = 1;
	} else if (strcmp(key, "drain timeout") == 0) {
		if (sec->have_drain)
			return config_error(err, errlen, origin, line,
			    "duplicate key 'drain timeout'");
		if (parse_uint(v, vlen, 1, 3600, &sec->cfg->drain_s) != 0)
			return config_error(err, errlen, origin, line,
			    "'drain timeout' must be 1 to 3600 seconds, not '%s'", q);
		sec->have_drain = 1;
	} else {
		quote(q, key, strlen(key));
		return config_error(err, errlen, origin, line,
		    "key '%s' outside a section (only 'max connections', "
		    "'idle timeout', 'drain timeout' and 'partial expiry' apply to the whole daemon)", q);
	}
	return 0;
}

/*
 * Handles a "key = value" line (the len bytes at s, trimmed) for the current
 * section, or before any section for the global keys.  Returns 0, or -1
 * with err set.
 */
static int
key_value(struct section *sec, const char *s, size_t len, const char *origin,
    unsigned int line, char *err, size_t errlen)
{
	char key[CONFIG_LINE_MAX + 1], q[CONFIG_QUOTE_MAX + 4];
	const char *eq = memchr(s, '=', len), *k = s, *v;
	size_t klen, vlen;

	if (eq == NULL)
		return config_error(err, errlen, origin, line,
		    "expected '[name]' or 'key = value'");
	klen = (size_t)(eq - s);
	v = eq + 1;
	vlen = len - klen - 1;
	trim(&k, &klen);
	trim(&v, &vlen);
	quote(q, k, klen);
	if (klen == 0)
		return config_error(err, errlen, origin, line, "missing key before '='");
	normalise_key(key, k, klen);
	if (sec->e == NULL)
		return global_key(sec, key, v, vlen, origin, line, err, errlen);

	if (strcmp(key, "path") == 0) {
		if (sec->have_path)
			return config_error(err, errlen, origin, line,
			    "duplicate key 'path'");
		if (vlen == 0 || v[0] != '/')
			return config_error(err, errlen, origin, line,
			    "path must be absolute");
		sec->e->path = strndup(v, vlen);
		if (sec->e->path == NULL)
			return config_error(err, errlen, origin, line, "out of memory");
		sec->have_path = 1;
	} else if (strcmp(key, "read only") == 0) {
		if (sec->have_read_only)
			return config_error(err, errlen, origin, line,
			    "duplicate key 'read only'");
		if (parse_bool(v, vlen, &sec->e->read_only) != 0) {
			quote(q, v, vlen);
			return config_error(err, errlen, origin, line,
			    "'read only' must be yes or no, not '%s'", q);
		}
		sec->have_read_only = 1;
	} else if (strcmp(key, "secrets file") == 0) {
		if (sec->have_secrets)
			return config_error(err, errlen, origin, line,
			    "duplicate key 'secrets file'");
		if (vlen == 0 || v[0] != '/')
			return config_error(err, errlen, origin, line,
			    "'secrets file' must be an absolute path");
		sec->e->secrets_file = strndup(v, vlen);
		if (sec->e->secrets_file == NULL)
			return config_error(err, errlen, origin, line, "out of memory");
		sec->have_secrets = 1;
	} else if (strcmp(key, "hosts allow") == 0 || strcmp(key, "hosts deny") == 0) {
		int allow = key[6] == 'a';
		int *have = allow ? &sec->have_allow : &sec->have_deny;
		char list[CONFIG_LINE_MAX + 1], why[160];

		if (*have)
			return config_error(err, errlen, origin, line, "duplicate key '%s'", key);
		if (vlen == 0)
			return config_error(err, errlen, origin, line,
			    "'%s' needs at least one address or prefix", key);
		memcpy(list, v, vlen);
		list[vlen] = '\0';
		if (hostacl_parse(list, allow ? &sec->e->hosts_allow : &sec->e->hosts_deny,
		    why, sizeof why) != 0)
			return config_error(err, errlen, origin, line, "%s: %s", key, why);
		*have = 1;
	} else if (strcmp(key, "max connections") == 0) {
		if (sec->have_max)
			return config_error(err, errlen, origin, line,
			    "duplicate key 'max connections'");
		if (parse_uint(v, vlen, 1, 65536, &sec->e->max_sessions) != 0) {
			quote(q, v, vlen);
			return config_error(err, errlen, origin, line,
			    "'max connections' must be a number from 1 to 65536, not '%s'", q);
		}
		sec->have_max = 1;
	} else if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
		int is_uid = key[0] == 'u';
		int *have = is_uid ? &sec->have_uid : &sec->have_gid;
		char **out = is_uid ? &sec->e->uid_name : &sec->e->gid_name;

		if (*have)
			return config_error(err, errlen, origin, line, "duplicate key '%s'", key);
		if (vlen == 0 || vlen > 64 || memchr(v, ' ', vlen) != NULL)
			return config_error(err, errlen, origin, line,
			    "'%s' must be a user or group name or number", key);
		if ((*out = strndup(v, vlen)) == NULL)
			return config_error(err, errlen, origin, line, "out of memory");
		*have = 1;
	} else {
		return config_error(err, errlen, origin, line,
		    "unknown key '%s'", q);
	}
	return 0;
}

int
config_parse(const char *text, const char *origin, struct config *cfg,
    char *err, size_t errlen)
{
	struct section sec = { 0 };
	const char *p = text;
	unsigned int line = 0;

	memset(cfg, 0, sizeof *cfg);
	cfg->partial_s = CONFIG_PARTIAL_DEFAULT;
	sec.cfg = cfg;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *s = p;

		line++;
		p = nl != NULL ? nl + 1 : p + len;
		if (len > CONFIG_LINE_MAX) {
			config_error(err, errlen, origin, line,
			    "line longer than %d bytes", CONFIG_LINE_MAX);
			goto fail;
		}
		trim(&s, &len);
		if (len == 0 || s[0] == '#' || s[0] == ';')
			continue;
		if (s[0] == '[') {
			if (section_begin(cfg, &sec, s, len, origin, line, err,
			    errlen) != 0)
				goto fail;
		} else if (key_value(&sec, s, len, origin, line, err, errlen) != 0) {
			goto fail;
		}
	}
	if (section_end(&sec, origin, err, errlen) != 0)
		goto fail;
	if (cfg->nexports == 0) {
		config_error(err, errlen, origin, 0, "no export defined");
		goto fail;
	}
	for (size_t i = 0; i < cfg->nexports; i++)
		cfg->exports[i].config = cfg;
	atomic_init(&cfg->refs, 1);
	return 0;

fail:
	exports_free(cfg);
	memset(cfg, 0, sizeof *cfg);
	return -1;
}

int
config_load(const char *file, struct config *cfg, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	cfg->exports = NULL;
	cfg->nexports = 0;
	if (fdio_read_text(file, CONFIG_FILE_MAX, 0, &text, &len, err, errlen) != 0)
		return -1;
	rc = config_parse(text, file, cfg, err, errlen);
	free(text);
	return rc;
}

const struct export *
config_find(const struct config *cfg, const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->nexports; i++)
		if (strcmp(cfg->exports[i].name, name) == 0)
			return &cfg->exports[i];
	return NULL;
}

void
config_free(struct config *cfg)
{
	exports_free(cfg);
}

/* The reference count, writable: holders see the configuration as const. */
static atomic_uint *
refs_of(const struct config *cfg)
{
	return (atomic_uint *)&cfg->refs;
}

void
config_hold(const struct config *cfg)
{
	atomic_fetch_add(refs_of(cfg), 1);
}

void
config_drop(const struct config *cfg)
{
	struct config *owned = (struct config *)cfg;

	if (atomic_fetch_sub(refs_of(cfg), 1) != 1)
		return;
	config_free(owned);
	free(owned);
}
