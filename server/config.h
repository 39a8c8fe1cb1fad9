/*
 * config.h -- syncd.conf: named exports.
 *
 *   # comment
 *   max connections = 64          (before any section: the whole daemon)
 *   idle timeout = 900            (seconds a connection may sit idle)
 *   partial expiry = 86400        (seconds an interrupted large file's
 *                                  partial is kept for a resume; 0: never)
 *   drain timeout = 10            (seconds SIGTERM lets sessions finish)
 *   [name]
 *   path = /srv/mirror
 *   read only = yes|no
 *   secrets file = /etc/syncd.secrets    (AUTH required; see secrets.h)
 *   hosts allow = 192.0.2.0/24, 2001:db8::/32
 *   hosts deny = 192.0.2.66
 *   max connections = 8            (sessions using this export at once)
 *   uid = backup                   (touch its files as this user and group;
 *   gid = backup                    names are resolved by main.c)
 *
 * Parsing is pure: it does not touch the exported directories or the secrets
 * files, so it can be unit-tested; main.c opens the export roots and loads
 * the secrets afterwards.
 *
 * Why a configuration is reference-counted: SIGHUP replaces it while
 * sessions are still working in exports of the old one (and the partial
 * expiry list remembers exports too).  Each connection holds the
 * configuration it started with, each kept partial the one of its export;
 * the last to let go frees it, closing its export roots.
 */
#ifndef RPCSYNC_CONFIG_H
#define RPCSYNC_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>

#include "session.h"

struct config {
	struct export *exports;     /* root_fd is -1 until opened */
	size_t         nexports;
	unsigned int   max_conn;    /* global "max connections"; 0: not set */
	unsigned int   idle_s;      /* "idle timeout" in seconds; 0: not set */
	unsigned int   partial_s;   /* "partial expiry" in seconds; 0: keep none */
	unsigned int   drain_s;     /* "drain timeout" in seconds; 0: not set */
	atomic_uint    refs;        /* holders; see config_hold */
};

#define CONFIG_PARTIAL_DEFAULT 86400        /* a day */
#define CONFIG_PARTIAL_MAX     (30 * 86400)

/*
 * Parses the text of a configuration; origin names it in messages.  Returns
 * 0 and fills cfg (one reference, the caller's; its exports point back at
 * cfg, which must therefore not move), or -1 with a one-line reason ("origin:LINE: unknown key
 * 'foo'") in err, leaving cfg empty.  Unknown keys, bad values, duplicate
 * sections or keys, keys outside a section, exports without a path, relative
 * paths and names that are not valid export names are all errors.
 */
int config_parse(const char *text, const char *origin, struct config *cfg,
    char *err, size_t errlen);

/* Reads file and parses it as above. */
int config_load(const char *file, struct config *cfg, char *err, size_t errlen);

/* Finds the export called name, or NULL. */
const struct export *config_find(const struct config *cfg, const char *name);

/*
 * Closes open roots and frees everything cfg holds, leaving it empty: for a
 * configuration nobody else holds (one parsed on the stack, say); shared
 * ones go with config_drop.
 */
void config_free(struct config *cfg);

/*
 * Shares a configuration allocated with malloc: config_hold takes one more
 * reference, config_drop lets one go and, with the last, frees everything
 * (config_free) and cfg itself.  Thread-safe.  const because holders only
 * read what a configuration says.
 */
void config_hold(const struct config *cfg);
void config_drop(const struct config *cfg);

#endif
