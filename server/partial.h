/*
 * partial.h -- resumable temps: what is left of a large file whose transfer
 * was interrupted, kept so that the client can send only the rest.
 *
 * A resumable write (RESUME, sync.x) writes into a temp named after the
 * client's key instead of a random one: PARTIAL_PREFIX followed by the key
 * in hex, beside the final name.  Being a temp name (PATH_TEMP_PREFIX), it
 * is hidden from LIST and no client path can name it.  When the connection
 * ends before the COMMIT, staging keeps that file instead of removing it,
 * and this module removes it once nobody has written to it for the
 * daemon's 'partial expiry' seconds: a thread expires the partials that
 * connections left behind, and the startup sweep expires old ones and
 * hands the young ones to that thread (a crash leaves them too).
 *
 * Exclusion: a partial is written by one connection at a time, which holds
 * an exclusive flock() on it (released by the kernel when the fd closes,
 * whatever ends the connection); another connection asking for the same key
 * meanwhile gets a fresh random temp instead, and PARTIAL answers NOENT for
 * it.  COMMIT renames a partial to a random temp name before queueing it
 * for publication, so the key is free again at once.
 */
#ifndef RPCSYNC_PARTIAL_H
#define RPCSYNC_PARTIAL_H

#include <stdint.h>

#include "path.h"
#include "session.h"
#include "sync.h"

#define PARTIAL_PREFIX PATH_TEMP_PREFIX "part."
/* PARTIAL_PREFIX, the key in hex and a NUL. */
#define PARTIAL_NAME_BUF (sizeof(PARTIAL_PREFIX) + 2 * SYNC_HASH_LEN)

/* Writes the name of the partial for key into out. */
void partial_name(const char key[SYNC_HASH_LEN], char out[PARTIAL_NAME_BUF]);

/* Returns 1 if name (one component) is the name of a partial, else 0. */
int partial_is_name(const char *name);

/*
 * Opens the partial name in the directory dirfd for writing and takes its
 * lock: with offset 0 it is created if missing and emptied; otherwise it
 * must exist with at least offset bytes and is cut to offset.  It must be
 * a regular file with a single link, owned by the user the calling thread
 * writes as (another user's file is never written into, nor published).
 * Returns the fd (O_RDWR), or -1 with errno: EBUSY if another connection
 * holds it (or took it away meanwhile), ENOENT if missing, ENODATA if
 * shorter than offset, EINVAL if not such a plain file; others as open.
 */
int partial_open(int dirfd, const char *name, uint64_t offset);

/*
 * Remembers that the partial name in the directory parent (relative to the
 * root of e) outlived its connection, so that it expires.  With an expiry
 * of 0 it is removed at once.  Thread-safe.
 */
void partials_keep(const struct export *e, const char *parent, const char *name);

/*
 * The startup sweep found the partial name in dirfd (the directory parent
 * of e): removes it if it is older than the expiry, else keeps it as above.
 * Returns 1 if it was removed, 0 if kept, -1 on error (logged).
 */
int partials_sweep_one(const struct export *e, int dirfd, const char *parent,
    const char *name);

/*
 * Makes cfg the configuration in force for partials (held until replaced):
 * its partial expiry applies from now on (0: partials are no longer kept;
 * when it shrinks, waiting partials are judged again at once), and the
 * partials waiting to expire move to its export of the same name and
 * directory; those of an export it no longer has are removed as soon as
 * nobody writes to them.  Call before the startup sweep and at each reload.
 */
void partials_set_config(const struct config *cfg);

/*
 * Starts the thread that removes expired partials (after any fork: the
 * thread would not survive it), whatever the expiry: a reload may start
 * keeping partials.  Returns 0, or -1 (logged).
 */
int partials_start(void);

#endif
