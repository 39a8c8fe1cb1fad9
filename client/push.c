/*
 * push.c -- compare the local and the remote tree, send the difference.
 *
 * Why it is built this way: every change is a batched call, so the whole
 * push is HELLO + LIST pages + one BARRIER however many entries change,
 * and the order of the batch is what makes it correct without replies:
 *   1. mkdir -p of the destination when it is missing;
 *   2. deletions (--delete, and entries whose type changed), so that names
 *      are free before anything is created under them;
 *   3. new directories, owner-writable (0700 | mode) so they can be filled;
 *   4. symlinks; 5. files (CREATE, WRITE chunks, COMMIT) and mode fixes;
 *   6. directory attributes, deepest first, after their contents changed
 *      (which would otherwise move their mtime again);
 *   7. one BARRIER, whose failures are reported by name.
 * Both lists are in path_cmp() order, so one merge pairs every local entry
 * with its remote namesake, and every subtree is a contiguous run.
 *
 * A changed file of at least DELTA_MIN bytes whose old version the server
 * has goes out as a delta (common/delta.h): one synchronous SIGNATURE, then
 * CREATE with the old file as basis, the matcher's ops as batched COPY and
 * WRITE calls as they are found, and a COMMIT carrying the hash of the new
 * content, so the server refuses a result that differs from our file.  A
 * SIGNATURE that fails (the file vanished, say) just means a whole-file send.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "delta.h"
#include "log.h"
#include "path.h"
#include "push.h"
#include "quote.h"
#include "remote.h"
#include "status.h"
#include "walk.h"

#define PUSH_CHUNK (1024 * 1024)    /* bytes per WRITE */
#define DELTA_MIN  (64 * 1024)      /* smallest file (old and new) sent as a delta */
#define DIR_MODE_PARENT 0755        /* for directories mkdir -p creates above PATH */

/* Everything one push_run() works with. */
struct push {
	const struct push_opts *o;
	struct remote     *r;
	int                rootfd;       /* the local directory */
	struct entry_list  local, remote;
	long              *lmatch;       /* local index -> remote namesake, or -1 */
	long              *rmatch;       /* remote index -> local namesake, or -1 */
	unsigned char     *touch;        /* local dirs that need the final SETATTR */
	int                path_missing; /* the destination does not exist yet */
	sync_handle        next_handle;
	char              *buf;          /* one WRITE chunk */
	size_t             chunk;
	unsigned long      failures;     /* problems reported on our side */
	struct push_stats  st;
	char               dest[PATH_BUF]; /* scratch for destination paths */
};

/* ---- helpers ---------------------------------------------------------- */

/* Maps a remote_* error to the result push_run() returns. */
static enum push_result
from_remote(int rc)
{
	switch (rc) {
	case REMOTE_DOWN:
		return PUSH_UNAVAILABLE;
	case REMOTE_PROTO:
		return PUSH_PROTOCOL;
	default:
		return PUSH_FAILED;
	}
}

/* Returns non-zero if path lies strictly below dir (both relative). */
static int
is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return *path != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Returns non-zero if two times are equal to the nanosecond. */
static int
same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Logs "DIR/rel: what" about a local entry and counts the failure. */
static void
local_error(struct push *p, const char *rel, const char *what)
{
	char full[PATH_BUF * 2], q[QUOTE_BUF];
	size_t n = strlen(p->o->dir);
	const char *sep = *rel == '\0' || (n > 0 && p->o->dir[n - 1] == '/') ? "" : "/";

	snprintf(full, sizeof full, "%s%s%s", p->o->dir, sep, rel);
	log_err("%s: %s", quote_str(full, q), what);
	p->failures++;
}

/*
 * Returns the destination path of rel (PATH/rel, in p->dest), or NULL when
 * it would be too long (reported and counted).
 */
static const char *
dest_of(struct push *p, const char *rel)
{
	if (path_join(p->dest, sizeof p->dest, p->o->path, rel) < 0) {
		local_error(p, rel, "destination path too long");
		return NULL;
	}
	return p->dest;
}

/* Prints one --verbose line: the quoted path, then suffix. */
static void
say(const struct push *p, const char *prefix, const char *path, const char *suffix)
{
	char q[QUOTE_BUF];

	if (p->o->verbose)
		printf("%s%s%s\n", prefix, quote_str(*path ? path : ".", q), suffix);
}

/*
 * Returns the remote namesake of local entry i if it has the same type,
 * else NULL (missing, or to be replaced).
 */
static const struct entry *
counterpart(const struct push *p, size_t i)
{
	long j = p->lmatch[i];

	if (j < 0 || p->remote.v[j].type != p->local.v[i].type)
		return NULL;
	return &p->remote.v[j];
}

/* Marks the local parent directory of rel as changed inside. */
static void
touch_parent(struct push *p, const char *rel)
{
	char parent[PATH_BUF];
	const char *leaf;
	long k;

	if (path_split(rel, parent, &leaf) < 0)
		return;
	k = entry_list_find(&p->local, parent);
	if (k >= 0 && p->local.v[k].type == SYNC_DIR)
		p->touch[k] = 1;
}

/*
 * Opens the local file rel for reading through open_beneath(): beneath the
 * root and through no symlink.  Returns the fd, or -1 with errno set.
 */
static int
open_local(int rootfd, const char *rel)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
	int fd = open_beneath(rootfd, rel, flags, 0);

	if (fd < 0 && errno == ENOSYS)     /* kernel older than 5.6 */
		fd = openat(rootfd, rel, flags | O_CLOEXEC);
	return fd;
}

/* ---- the session ------------------------------------------------------ */

/* Connects and says HELLO.  Returns PUSH_OK or why not (reported). */
static enum push_result
start_session(struct push *p)
{
	const struct push_opts *o = p->o;
	const char *lb = strchr(o->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	struct remote_hello h = { 0 };
	int rc;

	p->r = remote_open(o->host, o->port, o->timeout, &rc);
	if (p->r == NULL)
		return from_remote(rc);
	rc = remote_hello(p->r, o->export, &h);
	if (rc != REMOTE_OK)
		return from_remote(rc);
	if (h.status != SYNC_OK) {
		log_err("%s%s%s:%s: %s", lb, o->host, rb, o->export, status_str(h.status));
		return PUSH_PROTOCOL;
	}
	if (h.flags & SYNC_EXPORT_READONLY) {
		log_err("%s%s%s:%s: export is read-only", lb, o->host, rb, o->export);
		return PUSH_READONLY;
	}
	p->chunk = PUSH_CHUNK;
	if (h.chunk_max != 0 && h.chunk_max < p->chunk)
		p->chunk = h.chunk_max;
	return PUSH_OK;
}

/* Walks the local directory.  Returns PUSH_OK or PUSH_LOCAL_IO (reported). */
static enum push_result
scan_local(struct push *p)
{
	struct walk_stats ws = { 0 };

	p->rootfd = walk_open_root(p->o->dir);
	if (p->rootfd < 0 || walk_tree(p->rootfd, p->o->dir, &p->local, &ws) < 0)
		return PUSH_LOCAL_IO;
	p->failures += ws.errors;
	p->st.scanned = p->local.n - 1;
	return PUSH_OK;
}

/*
 * Lists the destination.  A missing one is fine (it will be created); one
 * that is not a directory is a failure.  Returns PUSH_OK or why not.
 */
static enum push_result
scan_remote(struct push *p)
{
	const char *path = p->o->path;
	char q[QUOTE_BUF];
	sync_status st;
	int rc = remote_list(p->r, path, p->o->checksum, &p->remote, &st);

	quote_str(*path ? path : ".", q);
	if (rc != REMOTE_OK)
		return from_remote(rc);
	if (st == SYNC_ERR_NOENT && *path != '\0') {
		p->path_missing = 1;
		return PUSH_OK;
	}
	if (st != SYNC_OK) {
		log_err("%s: %s", q, status_str(st));
		return PUSH_FAILED;
	}
	if (p->remote.v[0].type != SYNC_DIR) {
		log_err("%s: exists and is not a directory", q);
		return PUSH_FAILED;
	}
	return PUSH_OK;
}

/*
 * Pairs local and remote entries with the same path (one merge of the two
 * sorted lists).  Returns 0, or -1 when out of memory (reported).
 */
static int
match_lists(struct push *p)
{
	size_t nl = p->local.n, nr = p->remote.n, i = 0, j = 0;

	p->lmatch = malloc((nl ? nl : 1) * sizeof *p->lmatch);
	p->rmatch = malloc((nr ? nr : 1) * sizeof *p->rmatch);
	p->touch = calloc(nl ? nl : 1, 1);
	p->buf = malloc(p->chunk);
	if (!p->lmatch || !p->rmatch || !p->touch || !p->buf) {
		log_err("out of memory");
		return -1;
	}
	for (i = 0; i < nl; i++)
		p->lmatch[i] = -1;
	for (j = 0; j < nr; j++)
		p->rmatch[j] = -1;
	for (i = j = 0; i < nl && j < nr;) {
		int c = path_cmp(p->local.v[i].path, p->remote.v[j].path);

		if (c == 0) {
			p->lmatch[i] = (long)j;
			p->rmatch[j] = (long)i;
		}
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

/* ---- the plan, one phase per function ---------------------------------- */

/*
 * Phase 1: creates the missing destination like mkdir -p: every component
 * (existing ones are success), the last owner-writable.  Returns a
 * remote_rc.
 */
static int
make_destination(struct push *p)
{
	const char *path = p->o->path;
	size_t len = strlen(path);
	char prefix[PATH_BUF];
	int rc = REMOTE_OK;

	if (!p->path_missing)
		return REMOTE_OK;
	for (size_t k = 1; k <= len && rc == REMOTE_OK; k++) {
		if (k < len && path[k] != '/')
			continue;
		memcpy(prefix, path, k);
		prefix[k] = '\0';
		if (k < len)
			rc = remote_batch_mkdir(p->r, prefix, DIR_MODE_PARENT);
		else
			rc = remote_batch_mkdir(p->r, prefix, 0700 | p->local.v[0].mode);
	}
	say(p, "", path, "/");
	p->touch[0] = 1;
	return rc;
}

/*
 * Phase 2: deletes remote entries whose type changed, and with --delete
 * those absent locally.  Nothing is deleted below a deleted directory
 * (its DELETE removed it all), nor below a local entry we could not read.
 * Returns a remote_rc.
 */
static int
send_deletes(struct push *p)
{
	const char *skip = NULL;    /* subtree already handled */
	int rc = REMOTE_OK;

	for (size_t j = 1; j < p->remote.n && rc == REMOTE_OK; j++) {
		const struct entry *re = &p->remote.v[j];
		long i = p->rmatch[j];
		const char *d;
		int doomed;

		if (skip != NULL && is_under(re->path, skip))
			continue;
		skip = NULL;
		if (i >= 0 && (p->local.v[i].flags & ENTRY_ERROR)) {
			skip = re->path;        /* unknown locally: leave it alone */
			continue;
		}
		doomed = i < 0 ? p->o->delete : p->local.v[i].type != re->type;
		if (!doomed) {
			if (i >= 0 && (p->local.v[i].flags & ENTRY_INCOMPLETE))
				skip = re->path;    /* contents unknown locally */
			continue;
		}
		if ((d = dest_of(p, re->path)) == NULL)
			continue;
		say(p, "deleting ", d, "");
		rc = remote_batch_delete(p->r, d);
		p->st.deleted++;
		touch_parent(p, re->path);
		skip = re->path;
	}
	return rc;
}

/* Phase 3: creates the missing directories.  Returns a remote_rc. */
static int
send_dirs(struct push *p)
{
	int rc = REMOTE_OK;

	for (size_t i = 1; i < p->local.n && rc == REMOTE_OK; i++) {
		const struct entry *e = &p->local.v[i];
		const char *d;

		if (e->type != SYNC_DIR || (e->flags & ENTRY_ERROR) || counterpart(p, i))
			continue;
		if ((d = dest_of(p, e->path)) == NULL)
			continue;
		say(p, "", d, "/");
		rc = remote_batch_mkdir(p->r, d, 0700 | e->mode);
		p->touch[i] = 1;
		touch_parent(p, e->path);
	}
	return rc;
}

/*
 * Phase 4: creates or replaces symlinks whose target differs; fixes the
 * mtime of the others.  Returns a remote_rc.
 */
static int
send_links(struct push *p)
{
	int rc = REMOTE_OK;

	for (size_t i = 1; i < p->local.n && rc == REMOTE_OK; i++) {
		const struct entry *e = &p->local.v[i], *re = counterpart(p, i);
		const char *d;
		char q[QUOTE_BUF], suffix[QUOTE_BUF + 4];
		int same_target;

		if (e->type != SYNC_LNK || (e->flags & ENTRY_ERROR))
			continue;
		same_target = re != NULL && strcmp(re->target, e->target) == 0;
		if (same_target && same_time(re->mtime, e->mtime))
			continue;
		if ((d = dest_of(p, e->path)) == NULL)
			continue;
		if (same_target) {
			rc = remote_batch_setattr(p->r, d, SYNC_SET_MTIME, 0, e->mtime);
			continue;
		}
		snprintf(suffix, sizeof suffix, " -> %s", quote_str(e->target, q));
		say(p, "", d, suffix);
		rc = remote_batch_symlink(p->r, d, e->target, e->mtime);
		touch_parent(p, e->path);
	}
	return rc;
}

/* How the sending of one file ended. */
enum file_outcome {
	FILE_SENT,              /* COMMIT queued */
	FILE_FAILED,            /* a local problem, reported; the temp ABORTed */
	FILE_FALLBACK,          /* no delta possible: send the whole file instead */
};

/*
 * Sends the size bytes of fd (local file i) as CREATE, WRITE chunks and
 * COMMIT under destination d.  Sets *out.  Returns a remote_rc.
 */
static int
send_whole(struct push *p, size_t i, const char *d, int fd, const struct stat *sb,
    enum file_outcome *out)
{
	uint64_t off = 0, size = (uint64_t)sb->st_size;
	sync_handle h = ++p->next_handle;
	int rc = remote_batch_create(p->r, h, d, 0);

	*out = FILE_SENT;
	while (rc == REMOTE_OK && off < size) {
		size_t want = size - off < p->chunk ? (size_t)(size - off) : p->chunk;
		ssize_t n = pread(fd, p->buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			local_error(p, p->local.v[i].path, n < 0 ? strerror(errno) :
			    "file shrank while being read");
			*out = FILE_FAILED;
			return remote_batch_abort(p->r, h, d);
		}
		rc = remote_batch_write(p->r, h, off, p->buf, (size_t)n, d);
		off += (uint64_t)n;
		p->st.bytes += (uint64_t)n;
	}
	if (rc == REMOTE_OK)
		rc = remote_batch_commit(p->r, h, size, sb->st_mode & 01777, sb->st_mtim,
		    NULL, d);
	return rc;
}

/* What the matcher's callback needs to turn ops into batched calls. */
struct delta_send {
	struct push *p;
	sync_handle  h;
	const char  *d;
	int          rc;        /* the first remote failure */
};

/*
 * delta_emit_fn: queues a COPY or a WRITE for op and counts it.  Returns
 * non-zero (stopping the match) when the call could not be queued.
 */
static int
delta_emit(void *arg, const struct delta_op *op)
{
	struct delta_send *ds = arg;

	if (op->type == DELTA_COPY) {
		ds->rc = remote_batch_copy(ds->p->r, ds->h, op->basis_offset, op->length,
		    op->offset, ds->d);
		ds->p->st.matched += op->length;
	} else {
		ds->rc = remote_batch_write(ds->p->r, ds->h, op->offset, op->data,
		    (size_t)op->length, ds->d);
		ds->p->st.bytes += op->length;
	}
	return ds->rc != REMOTE_OK;
}

/*
 * Sends the size bytes of fd (local file i) as a delta against the server's
 * copy under destination d: SIGNATURE, CREATE with basis, COPY/WRITE as the
 * matcher finds them, COMMIT with the new content's hash.  Sets *out
 * (FILE_FALLBACK when the server gave no signature).  Returns a remote_rc.
 */
static int
send_delta(struct push *p, size_t i, const char *d, int fd, const struct stat *sb,
    enum file_outcome *out)
{
	struct delta_match_opts mo = { .literal_max = p->chunk };
	struct delta_send ds = { .p = p, .d = d, .rc = REMOTE_OK };
	unsigned char hash[DELTA_HASH_LEN];
	struct delta_index *ix = NULL;
	struct delta_sig sig;
	sync_status st;
	int rc, mrc;

	*out = FILE_FALLBACK;
	if ((rc = remote_signature(p->r, d, &sig, &st)) != REMOTE_OK)
		return rc;
	if (st != SYNC_OK) {
		log_debug("%s: no signature (%s): sending the whole file", d, status_str(st));
		goto out;
	}
	if ((ix = delta_index_new(&sig)) == NULL) {
		log_err("%s: delta: %s: sending the whole file", d, strerror(errno));
		goto out;
	}
	*out = FILE_SENT;
	ds.h = ++p->next_handle;
	if ((rc = remote_batch_create(p->r, ds.h, d, 1)) != REMOTE_OK)
		goto out;
	mrc = delta_match_fd(ix, fd, (uint64_t)sb->st_size, &mo, delta_emit, &ds, hash);
	if (mrc == DELTA_STOPPED) {
		rc = ds.rc;
		goto out;
	}
	if (mrc != DELTA_OK) {
		local_error(p, p->local.v[i].path, errno == ENODATA ?
		    "file shrank while being read" : strerror(errno));
		*out = FILE_FAILED;
		rc = remote_batch_abort(p->r, ds.h, d);
		goto out;
	}
	rc = remote_batch_commit(p->r, ds.h, (uint64_t)sb->st_size, sb->st_mode & 01777,
	    sb->st_mtim, hash, d);
out:
	delta_index_free(ix);
	remote_sig_free(&sig);
	return rc;
}

/*
 * Sends local file i under destination d: as a delta when the server holds
 * an old version re (same type) and both are at least DELTA_MIN bytes
 * (unless --whole-file), else whole.  A file that cannot be read is
 * reported (and its temp ABORTed) and the push goes on.  Returns a
 * remote_rc.
 */
static int
send_file(struct push *p, size_t i, const char *d, const struct entry *re)
{
	const struct entry *e = &p->local.v[i];
	enum file_outcome out = FILE_FALLBACK;
	struct stat sb;
	int fd, rc = REMOTE_OK;

	fd = open_local(p->rootfd, e->path);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		local_error(p, e->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		local_error(p, e->path, "no longer a regular file");
		goto out;
	}
	say(p, "", d, "");
	if (!p->o->whole_file && re != NULL && re->size >= DELTA_MIN &&
	    (uint64_t)sb.st_size >= DELTA_MIN)
		rc = send_delta(p, i, d, fd, &sb, &out);
	if (rc == REMOTE_OK && out == FILE_FALLBACK)
		rc = send_whole(p, i, d, fd, &sb, &out);
	if (out == FILE_SENT) {
		p->st.sent++;
		touch_parent(p, e->path);
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * --checksum: returns 1 if local file i has the content hash that the
 * remote entry re lists, 0 if not (or re has none), -1 if the local file
 * cannot be read (reported).
 */
static int
same_content(struct push *p, size_t i, const struct entry *re)
{
	const struct entry *e = &p->local.v[i];
	unsigned char h[DELTA_HASH_LEN];
	struct stat sb;
	int fd, rc = -1;

	if (!re->has_hash)
		return 0;
	fd = open_local(p->rootfd, e->path);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		local_error(p, e->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		local_error(p, e->path, "no longer a regular file");
		goto out;
	}
	if (delta_hash_fd(fd, h, NULL) != 0) {
		local_error(p, e->path, strerror(errno));
		goto out;
	}
	rc = memcmp(h, re->hash, DELTA_HASH_LEN) == 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Phase 5: sends files that are missing or whose size or mtime differ (with
 * --checksum: whose size or content differ); fixes the mode (and, with
 * --checksum, the mtime) of the others.  Returns a remote_rc.
 */
static int
send_files(struct push *p)
{
	int rc = REMOTE_OK;

	for (size_t i = 1; i < p->local.n && rc == REMOTE_OK; i++) {
		const struct entry *e = &p->local.v[i], *re = counterpart(p, i);
		const char *d;
		unsigned int set = 0;
		int changed;

		if (e->type != SYNC_REG || (e->flags & ENTRY_ERROR))
			continue;
		changed = re == NULL || re->size != e->size;
		if (!changed && p->o->checksum) {
			int same = same_content(p, i, re);

			if (same < 0)
				continue;
			changed = !same;
		} else if (!changed) {
			changed = !same_time(re->mtime, e->mtime);
		}
		if (!changed) {
			set = (re->mode != e->mode ? SYNC_SET_MODE : 0) |
			    (same_time(re->mtime, e->mtime) ? 0 : SYNC_SET_MTIME);
			if (set == 0)
				continue;
		}
		if ((d = dest_of(p, e->path)) == NULL)
			continue;
		if (changed)
			rc = send_file(p, i, d, re);
		else
			rc = remote_batch_setattr(p->r, d, set, e->mode, e->mtime);
	}
	return rc;
}

/*
 * Phase 6: sets mode and mtime of every directory that is new, differs, or
 * changed inside, deepest first (reverse path_cmp order puts every
 * directory after all of its contents), the root last.  Returns a remote_rc.
 */
static int
send_dir_attrs(struct push *p)
{
	int rc = REMOTE_OK;

	for (size_t i = p->local.n; i-- > 0 && rc == REMOTE_OK;) {
		const struct entry *e = &p->local.v[i], *re = counterpart(p, i);
		const char *d;

		if (e->type != SYNC_DIR || (e->flags & ENTRY_ERROR))
			continue;
		if (re != NULL && !p->touch[i] && re->mode == e->mode &&
		    same_time(re->mtime, e->mtime))
			continue;
		if ((d = dest_of(p, e->path)) == NULL)
			continue;
		rc = remote_batch_setattr(p->r, d, SYNC_SET_MODE | SYNC_SET_MTIME,
		    e->mode, e->mtime);
	}
	return rc;
}

/*
 * Phase 7: the BARRIER; prints the failures it reports, one line per
 * path (the first failure of each).  Returns
 * PUSH_OK, PUSH_FAILED or an error.
 */
static enum push_result
finish(struct push *p)
{
	struct remote_report rep;
	char q[QUOTE_BUF];
	int failed, rc = remote_barrier(p->r, &rep);

	if (rc != REMOTE_OK)
		return from_remote(rc);
	for (size_t k = 0; k < rep.n; k++) {
		const char *path = rep.v[k].path;

		/* A failed WRITE makes the file's later calls fail too: name it once. */
		if (k > 0 && strcmp(path, rep.v[k - 1].path) == 0)
			continue;
		log_err("%s: %s", quote_str(*path ? path : ".", q),
		    status_str(rep.v[k].status));
	}
	if (rep.failed > rep.n)
		log_err("%zu more failures not itemised by the server",
		    (size_t)rep.failed - rep.n);
	failed = rep.failed != 0 || p->failures != 0;
	remote_report_free(&rep);
	return failed ? PUSH_FAILED : PUSH_OK;
}

/* Prints the --stats counters on stdout. */
static void
print_stats(const struct push *p)
{
	printf("files scanned: %llu\n", p->st.scanned);
	printf("files sent: %llu\n", p->st.sent);
	printf("entries deleted: %llu\n", p->st.deleted);
	printf("bytes sent: %llu\n", p->st.bytes);
	printf("bytes matched: %llu\n", p->st.matched);
	printf("round trips: %lu\n", remote_round_trips(p->r));
}

/* Runs phases 1-6.  Returns a remote_rc. */
static int
send_plan(struct push *p)
{
	int (*const phases[])(struct push *) = {
		make_destination, send_deletes, send_dirs, send_links,
		send_files, send_dir_attrs,
	};
	int rc = REMOTE_OK;

	for (size_t k = 0; k < sizeof phases / sizeof phases[0] && rc == REMOTE_OK; k++)
		rc = phases[k](p);
	return rc;
}

enum push_result
push_run(const struct push_opts *o)
{
	struct push p = { .o = o, .rootfd = -1 };
	enum push_result res;
	int rc;

	if ((res = start_session(&p)) != PUSH_OK)
		goto out;
	if ((res = scan_local(&p)) != PUSH_OK)
		goto out;
	if ((res = scan_remote(&p)) != PUSH_OK)
		goto out;
	if (match_lists(&p) < 0) {
		res = PUSH_FAILED;
		goto out;
	}
	if ((rc = send_plan(&p)) != REMOTE_OK) {
		res = from_remote(rc);
		goto out;
	}
	res = finish(&p);
	if (o->stats && (res == PUSH_OK || res == PUSH_FAILED))
		print_stats(&p);
out:
	fflush(stdout);
	remote_close(p.r);
	if (p.rootfd >= 0)
		close(p.rootfd);
	entry_list_free(&p.local);
	entry_list_free(&p.remote);
	free(p.lmatch);
	free(p.rmatch);
	free(p.touch);
	free(p.buf);
	return res;
}
