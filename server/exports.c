/*
 * exports.c -- puts a configuration to work: the exports of --root or of a
 * syncd.conf, their root directories opened, secrets loaded, users and
 * groups resolved.
 *
 * Why apart from config.c: parsing is pure and unit-tested; this is where
 * the parsed names meet the filesystem and the user database, once at
 * startup and again at each SIGHUP (main.c), the same way both times, so a
 * reload fails exactly where a start would.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "exports.h"
#include "log.h"
#include "ops.h"

/*
 * Makes cfg a configuration with one read-write export "default" at the
 * canonical form of dir, and a configuration file's defaults otherwise.
 * Returns 0, or EX_CONFIG / EX_OSERR (logged).
 */
static int
config_from_root(const char *dir, struct config *cfg)
{
	struct export *e;
	char *real;

	real = realpath(dir, NULL);
	if (real == NULL) {
		log_err("--root %s: %s", dir, strerror(errno));
		return EX_CONFIG;
	}
	e = calloc(1, sizeof *e);
	if (e == NULL || (e->name = strdup("default")) == NULL) {
		log_err("out of memory");
		free(e);
		free(real);
		return EX_OSERR;
	}
	e->config = cfg;
	e->path = real;
	e->root_fd = -1;
	e->uid = e->gid = -1;
	cfg->exports = e;
	cfg->nexports = 1;
	cfg->partial_s = CONFIG_PARTIAL_DEFAULT;
	atomic_init(&cfg->refs, 1);
	return 0;
}

/*
 * Resolves a "uid"/"gid" value: a decimal number or a name (passwd/group
 * database).  Returns the id, or -1 if there is none such.
 */
static long
resolve_id(const char *v, int is_uid)
{
	char *end;
	unsigned long n;

	if (v[0] >= '0' && v[0] <= '9') {
		errno = 0;
		n = strtoul(v, &end, 10);
		return errno == 0 && *end == '\0' && n < 0xFFFFFFFFUL ? (long)n : -1;
	}
	if (is_uid) {
		struct passwd *pw = getpwnam(v);

		return pw != NULL ? (long)pw->pw_uid : -1;
	}
	struct group *gr = getgrnam(v);

	return gr != NULL ? (long)gr->gr_gid : -1;
}

/*
 * Resolves e's uid and gid (a uid given by name brings that user's group
 * when no gid is given) and checks that the daemon may take them: only
 * root may act as another user.  Returns 0, or EX_CONFIG (logged).
 */
static int
export_ids(struct export *e)
{
	if (e->uid_name != NULL && (e->uid = resolve_id(e->uid_name, 1)) < 0) {
		log_err("export '%s': no such user '%s'", e->name, e->uid_name);
		return EX_CONFIG;
	}
	if (e->gid_name != NULL && (e->gid = resolve_id(e->gid_name, 0)) < 0) {
		log_err("export '%s': no such group '%s'", e->name, e->gid_name);
		return EX_CONFIG;
	}
	if (e->uid_name != NULL && e->gid_name == NULL) {
		struct passwd *pw = getpwuid((uid_t)e->uid);

		e->gid = pw != NULL ? (long)pw->pw_gid : e->uid;
	}
	if (geteuid() != 0 && ((e->uid >= 0 && (uid_t)e->uid != geteuid()) ||
	    (e->gid >= 0 && (gid_t)e->gid != getegid()))) {
		log_err("export '%s': only root can act as uid %ld / gid %ld", e->name,
		    e->uid, e->gid);
		return EX_CONFIG;
	}
	return 0;
}

/*
 * Opens the root of every export (O_PATH|O_DIRECTORY) so that every later
 * access starts from that fd, loads its secrets file if it has one, and
 * resolves its uid and gid.
 * Returns 0, or EX_CONFIG naming the export whose directory is missing or
 * not a directory, whose secrets file is unsafe or malformed, or whose
 * uid/gid cannot be had.
 */
static int
open_exports(struct config *cfg)
{
	char err[512];

	for (size_t i = 0; i < cfg->nexports; i++) {
		struct export *e = &cfg->exports[i];

		e->root_fd = open(e->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (e->root_fd < 0) {
			log_err("export '%s': cannot open directory %s: %s",
			    e->name, e->path, strerror(errno));
			return EX_CONFIG;
		}
		if (e->secrets_file != NULL &&
		    secrets_load(e->secrets_file, &e->secrets, err, sizeof err) != 0) {
			log_err("export '%s': %s", e->name, err);
			return EX_CONFIG;
		}
		if (export_ids(e) != 0)
			return EX_CONFIG;
	}
	return 0;
}

int
exports_load(const char *root, const char *file, struct config **out)
{
	struct config *cfg;
	char err[512];
	int rc;

	if ((cfg = calloc(1, sizeof *cfg)) == NULL) {
		log_err("out of memory");
		return EX_OSERR;
	}
	if (root != NULL) {
		rc = config_from_root(root, cfg);
	} else if (config_load(file, cfg, err, sizeof err) != 0) {
		log_err("%s", err);
		rc = EX_CONFIG;
	} else {
		rc = 0;
	}
	if (rc != 0) {
		config_free(cfg);
		free(cfg);
		return rc;
	}
	if ((rc = open_exports(cfg)) != 0) {
		config_drop(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

void
exports_sweep(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nexports; i++) {
		const struct export *e = &cfg->exports[i];
		int n = export_sweep_temps(e);

		if (n > 0)
			log_info("export '%s': removed %d stale temp file%s",
			    e->name, n, n == 1 ? "" : "s");
		else if (n < 0)
			log_warn("export '%s': could not remove all stale temp "
			    "files", e->name);
	}
}

char *
exports_describe(const struct config *cfg)
{
	char *list = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->nexports; i++) {
		const struct export *e = &cfg->exports[i];

		fprintf(f, "%s%s=%s (%s)", i > 0 ? ", " : "", e->name, e->path,
		    e->read_only ? "ro" : "rw");
	}
	if (fclose(f) != 0) {
		free(list);
		return NULL;
	}
	return list;
}
