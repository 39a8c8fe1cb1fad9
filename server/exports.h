/*
 * exports.h -- a configuration made live: see exports.c.
 */
#ifndef RPCSYNC_EXPORTS_H
#define RPCSYNC_EXPORTS_H

#include "config.h"

/*
 * Makes a configuration (one reference, the caller's): with root, one
 * read-write export "default" of that directory; else the exports of the
 * file.  Opens the root of every export (O_PATH|O_DIRECTORY, where all
 * later access starts), loads its secrets file and resolves its uid and
 * gid.  Returns 0 and sets *out, or a sysexits status, logged: EX_CONFIG
 * for what the admin must fix (the file, a missing directory, an unsafe
 * secrets file, an unknown user, ids only root may take), EX_OSERR when
 * out of memory.
 */
int exports_load(const char *root, const char *file, struct config **out);

/* Removes the temp files a crash may have left in every export (logged). */
void exports_sweep(const struct config *cfg);

/*
 * Returns "name=path (rw), ..." for the exports of cfg, to be freed, or
 * NULL when out of memory.
 */
char *exports_describe(const struct config *cfg);

#endif
