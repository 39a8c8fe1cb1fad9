/*
 * path.h -- relative paths as the protocol defines them.
 *
 * Every path that arrives from the wire, on either side, is judged here and
 * nowhere else: path_check() is the gate.  The same module defines the one
 * canonical order of entries in a tree, so that the server's listing and the
 * client's walk can be merged without re-sorting by other rules.
 */
#ifndef RPCSYNC_PATH_H
#define RPCSYNC_PATH_H

#include <stddef.h>
#include "sync.h"

/* A buffer that holds any valid path plus its NUL. */
#define PATH_BUF (SYNC_PATH_MAX + 1)

/*
 * Names starting with this prefix are the server's temp files.  They are
 * reserved: path_check() refuses them, listings hide them, and syncd removes
 * stale ones at startup.
 */
#define PATH_TEMP_PREFIX ".syncd-tmp."

/*
 * Judges the len bytes at p as a protocol path: relative, components separated
 * by single '/', none empty, ".", ".." or reserved, each at most SYNC_NAME_MAX
 * bytes, no NUL, at most SYNC_PATH_MAX bytes in all.  The empty path is valid
 * (it names the root of the request).  On success copies the path,
 * NUL-terminated, into out and returns 0; returns -1 if it is not valid.
 */
int path_check(const char *p, size_t len, char out[PATH_BUF]);

/* Returns non-zero if name (one component) is a valid entry name. */
int path_name_ok(const char *name);

/*
 * Returns 1 if the len bytes at s are a name of the small alphabet that
 * export and user names share -- 1 to max bytes of [A-Za-z0-9._-] -- whose
 * first byte is not bad_first; else 0.
 */
int path_token_ok(const char *s, size_t len, size_t max, char bad_first);

/*
 * Canonical order: compares component by component, each bytewise, so a
 * directory sorts immediately before everything beneath it.  Returns <0, 0
 * or >0 like strcmp.
 */
int path_cmp(const char *a, const char *b);

/*
 * Writes "a/b" into out (n bytes), omitting the slash when either side is
 * empty.  Returns 0, or -1 if the result does not fit.
 */
int path_join(char *out, size_t n, const char *a, const char *b);

/*
 * Splits path at its last '/': *leaf points into path at the final component,
 * and the parent part (possibly empty) is copied into parent (PATH_BUF
 * bytes).  Returns 0, or -1 for the empty path, which has no leaf.
 */
int path_split(const char *path, char parent[PATH_BUF], const char **leaf);

#endif
