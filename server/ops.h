/*
 * ops.h -- the file procedures of sync.x, as the server performs them.
 *
 * The dispatcher (conn.c) decodes a call, checks that a HELLO selected an
 * export (s->export != NULL) and, for procedures that change files, that the
 * export is writable; only then does it call one of these.  Every path
 * argument is raw wire bytes: each function passes it through path_check()
 * and the confinement layer (confine.c) before any filesystem call.
 *
 * Synchronous procedures fill a result whose variable parts are malloc'ed;
 * the dispatcher frees it with xdr_free().  Batched procedures return a
 * status; the dispatcher records a failure with session_fail().  A COMMIT
 * may be deferred for group durability: it returns SYNC_OK when queued, and a
 * later failure is recorded by staging itself under the COMMIT's index.
 */
#ifndef RPCSYNC_OPS_H
#define RPCSYNC_OPS_H

#include "session.h"

/* LIST: one page of the subtree below a->path, in path_cmp() order. */
void op_list(struct session *s, const list_args *a, list_res *r);

/* READ: up to a->count bytes of a regular file at a->offset. */
void op_read(struct session *s, const read_args *a, read_res *r);

/*
 * SIGNATURE: the block checksums (common/delta.h) of the regular file
 * a->path, for a delta transfer.
 */
void op_signature(struct session *s, const signature_args *a, signature_res *r);

/*
 * PARTIAL: the length and hash of what the server keeps of an interrupted
 * file for a->key beside a->path (partial.c); NOENT if nothing.
 */
void op_partial(struct session *s, const partial_args *a, partial_res *r);

/*
 * Batched procedures (staging.c: create/resume/write/copy/commit/abort; fileops.c:
 * the rest).
 */
sync_status op_create(struct session *s, const create_args *a);
sync_status op_resume(struct session *s, const resume_args *a);
sync_status op_write(struct session *s, const write_args *a);
sync_status op_copy(struct session *s, const copy_args *a);
sync_status op_commit(struct session *s, const commit_args *a);
sync_status op_abort(struct session *s, const abort_args *a);
sync_status op_mkdir(struct session *s, const mkdir_args *a);
sync_status op_symlink(struct session *s, const symlink_args *a);
sync_status op_setattr(struct session *s, const setattr_args *a);
sync_status op_delete(struct session *s, const delete_args *a);

/*
 * Group commit: waits for the group a flusher thread is publishing, if any,
 * then makes the data of every other pending COMMIT durable (one syncfs),
 * renames each temp over its final name, and makes the renames durable.  On
 * return every COMMIT so far is published or its failure recorded with
 * session_fail() (a file whose data could not be made durable is never
 * renamed).  Called by BARRIER, before procedures that depend on earlier
 * renames, by a HELLO that switches export, and by session_end().
 */
void staging_flush(struct session *s);

/*
 * Waits for the group in flight (its failures recorded), drops every open
 * (uncommitted) or still queued temp, and frees the staging state.
 */
void staging_free(struct session *s);

/*
 * Removes stale temp files (PATH_TEMP_PREFIX) left anywhere in the export by
 * a crash, but keeps partials young enough to be resumed (partial.h).
 * Returns the number removed, or -1 on error (logged).
 */
int export_sweep_temps(const struct export *e);

#endif
