/*
 * walk.h -- the local tree as a sorted list of entries.
 *
 * syncctl compares two trees: the one on this machine (walk_tree) and the
 * one the server lists (remote_list).  Both become the same struct entry
 * list, sorted in path_cmp() order, so push.c can merge them in one pass.
 * The walk opens every name relative to its directory's fd and never follows
 * a symlink, so a concurrent rename cannot steer it outside DIR.
 */
#ifndef RPCSYNC_WALK_H
#define RPCSYNC_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sync.h"

/* Entry flags (struct entry.flags). */
#define ENTRY_ERROR      1   /* could not be examined: never send, delete or replace it */
#define ENTRY_INCOMPLETE 2   /* a directory whose contents could not be read */

/* One file, directory or symlink of a tree. */
struct entry {
	char           *path;    /* relative to the tree root, "" for the root */
	sync_ftype      type;
	unsigned int    mode;    /* permission bits and sticky bit (01777) */
	uint64_t        size;    /* bytes, for files and links */
	struct timespec mtime;
	char           *target;  /* symlink target; NULL for other types */
	unsigned int    flags;   /* ENTRY_* */
	unsigned char   has_hash; /* hash is set (remote files listed with want_hash) */
	unsigned char   hash[SYNC_HASH_LEN]; /* XXH3-128 of the content (common/delta.h) */
};

/* A growable array of entries; the list owns every path and target. */
struct entry_list {
	struct entry *v;
	size_t        n, cap;
};

/* What the walk left out, for the caller's summary. */
struct walk_stats {
	size_t skipped;          /* reserved names and special files, each warned about */
	size_t errors;           /* entries that could not be read, each reported */
};

/*
 * Opens the directory dir (following it if it is a symlink: the user named
 * it) for walk_tree() and for reading files later.  Returns the fd, or -1
 * with a message logged.
 */
int walk_open_root(const char *dir);

/*
 * Scans the tree below rootfd into out, which must be empty: the root
 * first (path ""), then every entry in path_cmp() order.  dir names the tree
 * in messages.  Names that path_name_ok() refuses and special files are
 * skipped with a warning; entries that cannot be examined are reported and
 * kept with ENTRY_ERROR or ENTRY_INCOMPLETE, and counted in st->errors.
 * Returns 0, or -1 if the root itself cannot be read or memory runs out
 * (message logged; out is then freed).
 */
int walk_tree(int rootfd, const char *dir, struct entry_list *out,
    struct walk_stats *st);

/*
 * Appends a copy of e to l, taking ownership of e->path and e->target.
 * Returns 0, or -1 when out of memory (e's strings are freed then).
 */
int entry_list_push(struct entry_list *l, struct entry *e);

/* Sorts l in path_cmp() order. */
void entry_list_sort(struct entry_list *l);

/* Returns the index of path in the sorted list l, or -1. */
long entry_list_find(const struct entry_list *l, const char *path);

/* Frees every entry of l and leaves it empty. */
void entry_list_free(struct entry_list *l);

#endif
