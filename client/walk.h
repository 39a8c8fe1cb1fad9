/*
 * walk.h -- the local tree, one entry at a time, in path_cmp() order.
 *
 * syncctl compares two trees: the one on this machine (the walk) and the
 * one the server lists (remote_list).  Both become struct entry lists in
 * path_cmp() order, so plan.c can merge them in one pass.  The walk is
 * resumable (walk_next hands out one entry per call), so a push holds a
 * bounded window of the local tree, never all of it.  It opens every name
 * relative to its directory's fd and never follows a symlink, so a
 * concurrent rename cannot steer it outside DIR.
 */
#ifndef RPCSYNC_WALK_H
#define RPCSYNC_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "path.h"
#include "sync.h"

/* Entry flags (struct entry.flags). */
#define ENTRY_ERROR      1   /* could not be examined: never send, delete or replace it */
#define ENTRY_INCOMPLETE 2   /* a directory whose contents could not be read */

/*
 * One file, directory or symlink of a tree: 64 bytes, its strings in the
 * arena of the list that holds it (a remote listing of 100,000 entries is
 * one array and a few string blocks, not 200,000 allocations).
 */
struct entry {
	const char     *path;    /* relative to the tree root, "" for the root */
	const char     *target;  /* symlink target; NULL for other types */
	uint64_t        size;    /* bytes, for files and links */
	struct timespec mtime;
	uint16_t        mode;    /* permission bits (SYNC_MODE_MASK), all a server applies */
	unsigned char   type;    /* sync_ftype */
	unsigned char   flags;   /* ENTRY_* */
	unsigned char   has_hash; /* hash is set (remote files listed with want_hash) */
	unsigned char   hash[SYNC_HASH_LEN]; /* XXH3-128 of the content (common/delta.h) */
};

/*
 * Strings stored back to back in blocks that never move, so an entry's
 * pointers stay valid while the list grows.  Emptying keeps the blocks
 * for reuse.
 */
struct arena {
	char  **block;
	size_t  nblocks;         /* allocated */
	size_t  cur;             /* block being filled */
	size_t  used;            /* bytes used in block[cur] */
};

/* A growable array of entries; its arena owns every path and target. */
struct entry_list {
	struct entry *v;
	size_t        n, cap;
	struct arena  strings;
};

/* What the walk left out, for the caller's summary. */
struct walk_stats {
	size_t skipped;          /* reserved names and special files, each warned about */
	size_t errors;           /* entries that could not be read, each reported */
};

struct walk_frame;

/*
 * A walk in progress: one frame per directory being read (the root's and
 * those of its descendants on the way down), each with its sorted names
 * and an open fd.  Memory is bounded by the depth times the largest
 * directory, not by the size of the tree.
 */
struct walk {
	const char        *dir;          /* the tree, as the user named it */
	struct walk_stats *st;
	struct walk_frame *frame;        /* frame[0] the root's */
	size_t             depth;        /* frames in use */
	size_t             nframes;      /* frames allocated (kept for reuse) */
	int                root_pending; /* the root entry is still to come */
	struct entry       root;         /* the root's attributes (path "") */
	char               rel[PATH_BUF]; /* path of the entry at hand */
	char               target[PATH_BUF]; /* its symlink target */
};

/*
 * Opens the directory dir (following it if it is a symlink: the user named
 * it) for the walk and for reading files later.  Returns the fd, or -1
 * with a message logged.
 */
int walk_open_root(const char *dir);

/*
 * Starts a walk of the tree below rootfd (which stays the caller's); dir
 * names the tree in messages, st gathers what was skipped or unreadable.
 * Returns 0, or -1 if the root cannot be read or memory runs out (message
 * logged; nothing to free then).
 */
int walk_start(struct walk *w, int rootfd, const char *dir, struct walk_stats *st);

/*
 * Appends the next entry of the tree to out: the root first (path ""),
 * then every entry in path_cmp() order.  Names that path_name_ok() refuses
 * and special files are skipped with a warning; entries that cannot be
 * examined are reported and given ENTRY_ERROR, directories whose contents
 * cannot be read ENTRY_INCOMPLETE, each counted in st->errors.  Returns 1
 * (one entry appended), 0 at the end of the tree, or -1 when out of memory
 * (logged).
 */
int walk_next(struct walk *w, struct entry_list *out);

/* Closes every fd the walk holds and frees it (after any walk_next result). */
void walk_end(struct walk *w);

/*
 * The whole tree at once: walk_start, then walk_next until the end, into
 * out, which must be empty.  Returns 0, or -1 (out is then freed).
 */
int walk_tree(int rootfd, const char *dir, struct entry_list *out,
    struct walk_stats *st);

/*
 * Appends a copy of e to l, its path and target copied into l's arena.
 * Returns 0, or -1 when out of memory.
 */
int entry_list_add(struct entry_list *l, const struct entry *e);

/* Empties l but keeps its memory for the next entries. */
void entry_list_clear(struct entry_list *l);

/* Returns the index of path in the sorted list l, or -1. */
long entry_list_find(const struct entry_list *l, const char *path);

/* Frees every entry of l and leaves it empty. */
void entry_list_free(struct entry_list *l);

#endif
