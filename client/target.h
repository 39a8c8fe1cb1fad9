/*
 * target.h -- "HOST[:EXPORT][/PATH]": where a push goes.
 *
 * Kept apart from main.c so that the unit tests can reach the parser, and
 * kept pure (no network, no filesystem) so that they can test every form.
 */
#ifndef RPCSYNC_TARGET_H
#define RPCSYNC_TARGET_H

#include <stddef.h>

#include "path.h"

#define TARGET_HOST_MAX 255              /* a DNS name or an address literal */
#define TARGET_DEFAULT_EXPORT "default"

struct target {
	char host[TARGET_HOST_MAX + 1];  /* without the [] of an IPv6 literal */
	char export[SYNC_EXPORT_MAX + 1];
	char path[PATH_BUF];             /* valid per path_check(); "" = export root */
	int  has_path;                   /* 0: PATH was not given (see target_set_path) */
};

/*
 * Parses spec: HOST ends at the first ':' or '/' (an IPv6 literal is written
 * in brackets), EXPORT (default "default") at the next '/', and the rest is
 * PATH; "HOST:EXPORT/" names the export root.  One trailing '/' of PATH is
 * dropped.  Returns 0 and fills t, or -1 with a one-line reason in err.
 */
int target_parse(const char *spec, struct target *t, char *err, size_t errlen);

/*
 * Sets t's PATH to name (the base name of the local directory, when the
 * target gave none).  Returns 0, or -1 with a reason in err if name is not
 * a valid path.
 */
int target_set_path(struct target *t, const char *name, char *err, size_t errlen);

/*
 * Returns non-zero if the len bytes at name are a valid export name (the
 * rule syncd.conf applies): 1-64 of [A-Za-z0-9._-], not starting with '.'.
 */
int target_export_ok(const char *name, size_t len);

#endif
