/*
 * plan.c -- compare the trees and plan each window.
 *
 * Why it is built this way: every change is a batched call, so a push is
 * HELLO + LIST pages + a few BARRIERs however many entries change, and the
 * order of the batch is what makes it correct without replies:
 *   1. mkdir -p of the destination when it is missing;
 *   2. deletions (--delete, and entries whose type changed), so that names
 *      are free before anything is created under them;
 *   3. new directories, owner-writable (0700 | mode) so they can be filled;
 *   4. symlinks; 5. files (CREATE, WRITE chunks, COMMIT) and mode fixes;
 *   6. directory attributes, deepest first, after their contents changed
 *      (which would otherwise move their mtime again);
 *   7. a BARRIER, whose failures are reported by name.
 *
 * Windows.  The client's memory must not grow with the tree (rsync's
 * incremental recursion sets the bar), so the local tree is never held
 * whole: the walk (walk.c) hands it out in path_cmp() order and it is
 * taken a window at a time (WINDOW_ENTRIES entries, WINDOW_BYTES of
 * names).  Both the window and the remote listing are in path_cmp()
 * order, so the window is merged with the stretch of the listing up to
 * its last path, and that stretch's deletions, the window's directories,
 * symlinks and files are sent (phases 2-5 per window); then the window is
 * dropped.  Deletions and creations of one window never touch the names
 * of another (a subtree is a contiguous run, its directory first), so the
 * phase order holds within each window, and that is all the order needs.
 * What outlives a window: the subtree the deletions are skipping, and the
 * directories (dir_list: path, mode, mtime, "changed inside"), far fewer
 * than the files, for phase 6 at the very end.  The remote listing is
 * fetched whole (its pages are what keeps a no-change push at a constant
 * number of round trips) and stored compactly (walk.h's entry arena).
 *
 * Phases 1-4 and 6 are queued here, on the primary stream; phase 5 is
 * only planned here (a window's file jobs), for push.c to hand to a
 * stream and send.c to send.  A worker stream repeats phases 1 and 3 for
 * the files it sends (plan_parents, send_parents): MKDIR of an existing
 * directory is success, so it needs no word from the primary that they
 * exist, only that the names are free (push.c: the BARRIER after
 * deletions).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "delta.h"
#include "log.h"
#include "path.h"
#include "push_int.h"
#include "quote.h"
#include "remote.h"
#include "streams.h"
#include "walk.h"

#define DIR_MODE_PARENT 0755        /* for directories mkdir -p creates above PATH */

/* ---- helpers ---------------------------------------------------------- */

/* Returns non-zero if path lies strictly below dir (both relative). */
static int
is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return *path != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

int
open_local(int rootfd, const char *rel)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
	int fd = open_beneath(rootfd, rel, flags, 0);

	if (fd < 0 && errno == ENOSYS)     /* kernel older than 5.6 */
		fd = openat(rootfd, rel, flags | O_CLOEXEC);
	return fd;
}

const struct entry *
counterpart(const struct push *p, const struct window *w, size_t i)
{
	long j = w->lmatch[i];

	if (j < 0 || p->remote.v[j].type != w->local.v[i].type)
		return NULL;
	return &p->remote.v[j];
}

/* Returns the directory path in p->dirs, or NULL if it is not there. */
static struct dir_attr *
dir_find(struct push *p, const char *path)
{
	size_t lo = 0, hi = p->dirs.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = path_cmp(p->dirs.names + p->dirs.v[mid].path, path);

		if (c == 0)
			return &p->dirs.v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Appends directory e to p->dirs (after every directory before it in
 * path order); settled says the server's copy already has its mode and
 * mtime, made that the server has no directory there (this push creates
 * it).  Returns 0, or -1 when out of memory (reported).
 */
static int
dir_add(struct push *p, const struct entry *e, int settled, int made)
{
	struct dir_list *dl = &p->dirs;
	size_t len = strlen(e->path) + 1;

	if (dl->n == dl->cap) {
		size_t ncap = dl->cap ? dl->cap * 2 : 256;
		struct dir_attr *nv = realloc(dl->v, ncap * sizeof *nv);

		if (nv == NULL)
			goto nomem;
		dl->v = nv;
		dl->cap = ncap;
	}
	if (dl->names_len + len > dl->names_cap) {
		size_t ncap = dl->names_cap ? dl->names_cap * 2 : 16384;
		char *nv;

		while (ncap < dl->names_len + len)
			ncap *= 2;
		if ((nv = realloc(dl->names, ncap)) == NULL)
			goto nomem;
		dl->names = nv;
		dl->names_cap = ncap;
	}
	memcpy(dl->names + dl->names_len, e->path, len);
	dl->v[dl->n++] = (struct dir_attr){ .path = dl->names_len, .mtime = e->mtime,
	    .mode = e->mode, .settled = (unsigned char)settled, .made = (unsigned char)made };
	dl->names_len += len;
	return 0;
nomem:
	log_err("out of memory");
	return -1;
}

/* Marks the local directory path as needing its final SETATTR. */
static void
touch_dir(struct push *p, const char *path)
{
	struct dir_attr *d = dir_find(p, path);

	if (d != NULL)
		d->touch = 1;
}

/* Marks the local parent directory of rel as changed inside. */
static void
touch_parent(struct push *p, const char *rel)
{
	char parent[PATH_BUF];
	const char *leaf;

	if (path_split(rel, parent, &leaf) < 0)
		return;
	touch_dir(p, parent);
}

int
window_init(struct window *w)
{
	w->lmatch = malloc(WINDOW_ENTRIES * sizeof *w->lmatch);
	w->same = malloc(WINDOW_ENTRIES);
	w->cand = malloc(WINDOW_ENTRIES * sizeof *w->cand);
	w->jobs = malloc(WINDOW_ENTRIES * sizeof *w->jobs);
	if (!w->lmatch || !w->same || !w->cand || !w->jobs) {
		log_err("out of memory");
		return -1;
	}
	return 0;
}

void
window_clear(struct window *w)
{
	entry_list_clear(&w->local);
	w->bytes = 0;
	w->njobs = 0;
	work_queue_free(&w->queue);
}

void
window_free(struct window *w)
{
	entry_list_free(&w->local);
	free(w->lmatch);
	free(w->rmatch);
	free(w->same);
	free(w->cand);
	free(w->jobs);
	free(w->makes);
	work_queue_free(&w->queue);
	memset(w, 0, sizeof *w);
}

int
fill_window(struct push *p, struct window *w)
{
	while (w->local.n < WINDOW_ENTRIES && w->bytes < WINDOW_BYTES) {
		int rc = walk_next(&p->walk, &w->local);
		const struct entry *e;

		if (rc <= 0)
			return rc;
		e = &w->local.v[w->local.n - 1];
		w->bytes += strlen(e->path) + 1 + (e->target ? strlen(e->target) + 1 : 0);
		if (*e->path != '\0')
			p->s[0].st.scanned++;
	}
	return 1;
}

/*
 * Pairs the entries of window w with their remote namesakes, and picks the
 * remote entries it settles: those up to its last path (all that are left
 * when last says the walk has ended).  Returns 0, or -1 when out of memory
 * (reported).
 */
static int
match_window(struct push *p, struct window *w, int last)
{
	size_t nl = w->local.n, nr, i, j;

	w->rfirst = j = p->rnext;
	if (last)
		j = p->remote.n;
	else if (nl > 0)
		while (j < p->remote.n &&
		    path_cmp(p->remote.v[j].path, w->local.v[nl - 1].path) <= 0)
			j++;
	w->rend = p->rnext = j;
	nr = w->rend - w->rfirst;
	if (nr > w->rmatch_cap) {
		long *nv = realloc(w->rmatch, nr * sizeof *nv);

		if (nv == NULL) {
			log_err("out of memory");
			return -1;
		}
		w->rmatch = nv;
		w->rmatch_cap = nr;
	}
	for (i = 0; i < nl; i++)
		w->lmatch[i] = -1;
	for (j = 0; j < nr; j++)
		w->rmatch[j] = -1;
	for (i = j = 0; i < nl && j < nr;) {
		int c = path_cmp(w->local.v[i].path, p->remote.v[w->rfirst + j].path);

		if (c == 0) {
			w->lmatch[i] = (long)(w->rfirst + j);
			w->rmatch[j] = (long)i;
		}
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

/*
 * Keeps the attributes of window w's directories for phase 6 (but those
 * that could not be examined).  Returns 0, or -1 when out of memory
 * (reported).
 */
static int
note_dirs(struct push *p, struct window *w)
{
	for (size_t i = 0; i < w->local.n; i++) {
		const struct entry *e = &w->local.v[i], *re = counterpart(p, w, i);

		if (e->type != SYNC_DIR || (e->flags & ENTRY_ERROR))
			continue;
		if (dir_add(p, e, re != NULL && re->mode == e->mode &&
		    same_time(re->mtime, e->mtime), re == NULL) < 0)
			return -1;
	}
	return 0;
}

/* ---- the plan, one phase per function ---------------------------------- */

/*
 * Queues on s the MKDIRs that create the missing destination like
 * mkdir -p: every component (existing ones are success), the last
 * owner-writable.  Returns a remote_rc.
 */
static int
mkdir_destination(struct stream *s)
{
	struct push *p = s->p;
	const char *path = p->o->path;
	size_t len = strlen(path);
	char prefix[PATH_BUF];
	int rc = REMOTE_OK;

	for (size_t k = 1; k <= len && rc == REMOTE_OK; k++) {
		if (k < len && path[k] != '/')
			continue;
		memcpy(prefix, path, k);
		prefix[k] = '\0';
		if (k < len)
			rc = remote_batch_mkdir(s->r, prefix, DIR_MODE_PARENT);
		else
			rc = remote_batch_mkdir(s->r, prefix, 0700 | p->walk.root.mode);
	}
	return rc;
}

/*
 * Phase 1 (first window only): creates the missing destination.  Returns
 * a remote_rc.
 */
static int
make_destination(struct stream *s, struct window *w)
{
	struct push *p = s->p;
	int rc;

	(void)w;
	if (!p->path_missing || p->windows != 1)
		return REMOTE_OK;
	rc = mkdir_destination(s);
	say(p, "", p->o->path, "/");
	touch_dir(p, "");
	return rc;
}

/*
 * Phase 2: deletes the remote entries window w settles whose type changed,
 * and with --delete those absent locally.  Nothing is deleted below a
 * deleted directory (its DELETE removed it all), nor below a local entry
 * we could not read; p->skip carries that subtree over to the next window.
 * Returns a remote_rc.
 */
static int
send_deletes(struct stream *s, struct window *w)
{
	struct push *p = s->p;
	int rc = REMOTE_OK;

	for (size_t j = w->rfirst; j < w->rend && rc == REMOTE_OK; j++) {
		const struct entry *re = &p->remote.v[j];
		long i = w->rmatch[j - w->rfirst];
		const char *d;
		int doomed;

		if (j == 0)
			continue;       /* the root: never deleted */
		if (p->skip != NULL && is_under(re->path, p->skip))
			continue;
		p->skip = NULL;
		if (i >= 0 && (w->local.v[i].flags & ENTRY_ERROR)) {
			p->skip = re->path;     /* unknown locally: leave it alone */
			continue;
		}
		doomed = i < 0 ? p->o->delete : w->local.v[i].type != re->type;
		if (!doomed) {
			if (i >= 0 && (w->local.v[i].flags & ENTRY_INCOMPLETE))
				p->skip = re->path; /* contents unknown locally */
			continue;
		}
		if ((d = dest_of(s, re->path)) == NULL)
			continue;
		say(p, "deleting ", d, "");
		rc = remote_batch_delete(s->r, d);
		s->st.deleted++;
		p->unsettled = 1;
		touch_parent(p, re->path);
		p->skip = re->path;
		if (rc == REMOTE_OK)
			rc = settle_if_full(s);
	}
	return rc;
}

/* Phase 3: creates window w's missing directories.  Returns a remote_rc. */
static int
send_dirs(struct stream *s, struct window *w)
{
	struct push *p = s->p;
	int rc = REMOTE_OK;

	for (size_t i = 0; i < w->local.n && rc == REMOTE_OK; i++) {
		const struct entry *e = &w->local.v[i];
		const char *d;

		if (e->type != SYNC_DIR || (e->flags & ENTRY_ERROR) || *e->path == '\0' ||
		    counterpart(p, w, i))
			continue;
		if ((d = dest_of(s, e->path)) == NULL)
			continue;
		say(p, "", d, "/");
		rc = remote_batch_mkdir(s->r, d, 0700 | e->mode);
		touch_dir(p, e->path);
		touch_parent(p, e->path);
		if (rc == REMOTE_OK)
			rc = settle_if_full(s);
	}
	return rc;
}

/*
 * Phase 4: creates or replaces window w's symlinks whose target differs;
 * fixes the mtime of the others.  Returns a remote_rc.
 */
static int
send_links(struct stream *s, struct window *w)
{
	struct push *p = s->p;
	int rc = REMOTE_OK;

	for (size_t i = 0; i < w->local.n && rc == REMOTE_OK; i++) {
		const struct entry *e = &w->local.v[i], *re = counterpart(p, w, i);
		const char *d;
		char q[QUOTE_BUF], suffix[QUOTE_BUF + 4];
		int same_target;

		if (e->type != SYNC_LNK || (e->flags & ENTRY_ERROR))
			continue;
		same_target = re != NULL && strcmp(re->target, e->target) == 0;
		if (same_target && same_time(re->mtime, e->mtime))
			continue;
		if ((d = dest_of(s, e->path)) == NULL)
			continue;
		if (same_target) {
			rc = remote_batch_setattr(s->r, d, SYNC_SET_MTIME, 0, e->mtime);
		} else {
			snprintf(suffix, sizeof suffix, " -> %s", quote_str(e->target, q));
			say(p, "", d, suffix);
			rc = remote_batch_symlink(s->r, d, e->target, e->mtime);
			touch_parent(p, e->path);
		}
		if (rc == REMOTE_OK)
			rc = settle_if_full(s);
	}
	return rc;
}

/*
 * --checksum: returns 1 if local file i has the content hash that the
 * remote entry re lists, 0 if not (or re has none), -1 if the local file
 * cannot be read (reported, counted in s).
 */
static int
same_content(struct stream *s, size_t i, const struct entry *re)
{
	const struct entry *e = &s->w->local.v[i];
	unsigned char h[DELTA_HASH_LEN];
	struct stat sb;
	int fd, rc = -1;

	if (!re->has_hash)
		return 0;
	fd = open_local(s->p->rootfd, e->path);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		local_error(s, e->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		local_error(s, e->path, "no longer a regular file");
		goto out;
	}
	if (delta_hash_fd(fd, h, NULL) != 0) {
		local_error(s, e->path, strerror(errno));
		goto out;
	}
	rc = memcmp(h, re->hash, DELTA_HASH_LEN) == 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Thread body of the --checksum pass on stream s (its connection unused):
 * hashes the files of s->w that its queue hands out into s->w->same, each
 * at its own index.
 */
static void *
hash_files(void *arg)
{
	struct stream *s = arg;
	struct push *p = s->p;
	struct window *w = s->w;
	size_t k;

	while (work_queue_take(&w->queue, &k)) {
		size_t i = w->cand[k];

		w->same[i] = (signed char)same_content(s, i, counterpart(p, w, i));
	}
	return NULL;
}

/*
 * --checksum: finds out, for every file of window w whose remote namesake
 * has the same size, whether the contents are the same too (w->same),
 * hashing on up to --streams threads of their own (local work: no
 * connection), biggest files first; their failures are counted on the
 * primary.  Returns 0, or -1 when out of memory (reported).
 */
static int
compare_contents(struct push *p, struct window *w)
{
	size_t nl = w->local.n, n = 0, nthreads;
	struct crew crew = { .n = 0 };
	void *args[STREAMS_MAX];
	uint64_t w8[WINDOW_ENTRIES];

	for (size_t i = 0; i < nl; i++) {
		const struct entry *e = &w->local.v[i], *re = counterpart(p, w, i);

		w->same[i] = 0;
		if (e->type != SYNC_REG || (e->flags & ENTRY_ERROR) || re == NULL ||
		    re->size != e->size)
			continue;
		w8[n] = re->has_hash ? e->size : 0;
		w->cand[n++] = i;
	}
	nthreads = n < p->nmax ? n : p->nmax;
	if (work_queue_init(&w->queue, nthreads > 1 ? w8 : NULL, n) < 0) {
		log_err("out of memory");
		return -1;
	}
	for (size_t k = 0; k < nthreads; k++) {
		p->hs[k].w = w;
		args[k] = &p->hs[k];
	}
	if (nthreads > 1)
		crew_start(&crew, nthreads - 1, hash_files, args + 1);
	if (nthreads > 0)
		hash_files(&p->hs[0]);
	crew_join(&crew);
	work_queue_free(&w->queue);
	for (size_t k = 0; k < nthreads; k++) {
		p->s[0].failures += p->hs[k].failures;
		p->hs[k].failures = 0;
	}
	return 0;
}

/*
 * Plans window w's phase 5: a job for every file that is missing or whose
 * size or mtime differ (with --checksum: whose size or content differ),
 * and one for every other file whose mode (with --checksum: or mtime)
 * differs.  Marks the directory of every file to send as changed inside,
 * so that phase 6 needs no word from the streams.  Returns 0, or -1 when
 * out of memory (reported).
 */
static int
plan_files(struct push *p, struct window *w)
{
	if (p->o->checksum && compare_contents(p, w) < 0)
		return -1;
	w->njobs = 0;
	for (size_t i = 0; i < w->local.n; i++) {
		const struct entry *e = &w->local.v[i], *re = counterpart(p, w, i);
		unsigned int set = 0;
		int changed;

		if (e->type != SYNC_REG || (e->flags & ENTRY_ERROR))
			continue;
		changed = re == NULL || re->size != e->size;
		if (!changed && p->o->checksum) {
			if (w->same[i] < 0)
				continue;
			changed = !w->same[i];
		} else if (!changed) {
			changed = !same_time(re->mtime, e->mtime);
		}
		if (!changed) {
			set = (re->mode != e->mode ? SYNC_SET_MODE : 0) |
			    (same_time(re->mtime, e->mtime) ? 0 : SYNC_SET_MTIME);
			if (set == 0)
				continue;
		}
		w->jobs[w->njobs++] = (struct file_job){ .i = i, .set = set };
		if (changed)
			touch_parent(p, e->path);
	}
	return 0;
}

int
send_dir_attrs(struct stream *s)
{
	struct push *p = s->p;
	int rc = REMOTE_OK;

	for (size_t k = p->dirs.n; k-- > 0 && rc == REMOTE_OK;) {
		const struct dir_attr *da = &p->dirs.v[k];
		const char *d;

		if (da->settled && !da->touch)
			continue;
		if ((d = dest_of(s, p->dirs.names + da->path)) == NULL)
			continue;
		rc = remote_batch_setattr(s->r, d, SYNC_SET_MODE | SYNC_SET_MTIME,
		    da->mode, da->mtime);
		if (rc == REMOTE_OK)
			rc = settle_if_full(s);
	}
	return rc;
}

int
resend_parent_attrs(struct stream *s, const char *rel)
{
	char parent[PATH_BUF];
	const struct dir_attr *da;
	const char *leaf, *d;

	if (path_split(rel, parent, &leaf) < 0 || (da = dir_find(s->p, parent)) == NULL ||
	    (d = dest_of(s, parent)) == NULL)
		return REMOTE_OK;
	return remote_batch_setattr(s->r, d, SYNC_SET_MODE | SYNC_SET_MTIME, da->mode,
	    da->mtime);
}

int
plan_window(struct stream *s, struct window *w, int last)
{
	int (*const phases[])(struct stream *, struct window *) = {
		make_destination, send_deletes, send_dirs, send_links,
	};
	struct push *p = s->p;
	int rc = REMOTE_OK;

	p->windows++;
	if (match_window(p, w, last) < 0 || note_dirs(p, w) < 0)
		return REMOTE_NOMEM;
	for (size_t k = 0; k < sizeof phases / sizeof phases[0] && rc == REMOTE_OK; k++)
		rc = phases[k](s, w);
	if (rc == REMOTE_OK && plan_files(p, w) < 0)
		rc = REMOTE_NOMEM;
	return rc;
}

/*
 * Appends to w->makes the directory made of the first len bytes of the
 * path of local entry i, if this push creates it.  Returns 0, or -1 when
 * out of memory (reported).
 */
static int
make_add(struct push *p, struct window *w, size_t i, size_t len)
{
	char dir[PATH_BUF];
	const struct dir_attr *da;

	memcpy(dir, w->local.v[i].path, len);
	dir[len] = '\0';
	if ((da = dir_find(p, dir)) == NULL || !da->made)
		return 0;
	if (w->nmakes == w->makes_cap) {
		size_t ncap = w->makes_cap ? w->makes_cap * 2 : 64;
		struct dir_make *nv = realloc(w->makes, ncap * sizeof *nv);

		if (nv == NULL) {
			log_err("out of memory");
			return -1;
		}
		w->makes = nv;
		w->makes_cap = ncap;
	}
	w->makes[w->nmakes++] = (struct dir_make){ .i = i, .len = len, .mode = da->mode };
	return 0;
}

int
plan_parents(struct push *p, struct window *w)
{
	const char *prev = "";      /* the parent of the last file, "" at first */
	size_t prev_len = 0;

	/*
	 * The files are in path order, so a directory's files are a run: only
	 * the components of a parent that the previous file's parent does not
	 * share are new to the list, and they come parents first.
	 */
	w->nmakes = 0;
	for (size_t k = 0; k < w->njobs; k++) {
		size_t i = w->jobs[k].i, len, c = 0;
		const char *path = w->local.v[i].path, *slash = strrchr(path, '/');

		if (w->jobs[k].set != 0 || slash == NULL)
			continue;
		len = (size_t)(slash - path);
		while (c < len && c < prev_len && path[c] == prev[c])
			c++;
		while (c > 0 && !((c == len || path[c] == '/') && (c == prev_len || prev[c] == '/')))
			c--;    /* back to the last component both share */
		for (size_t e = c + 1; e <= len; e++)
			if ((e == len || path[e] == '/') && make_add(p, w, i, e) < 0)
				return -1;
		prev = path;
		prev_len = len;
	}
	return 0;
}

int
send_parents(struct stream *s, struct window *w)
{
	struct push *p = s->p;
	char dir[PATH_BUF];
	int rc = REMOTE_OK;

	if (p->path_missing)
		rc = mkdir_destination(s);
	for (size_t k = 0; k < w->nmakes && rc == REMOTE_OK; k++) {
		const struct dir_make *m = &w->makes[k];

		memcpy(dir, w->local.v[m->i].path, m->len);
		dir[m->len] = '\0';
		/* A path too long was reported by the primary, which made it. */
		if (path_join(s->dest, sizeof s->dest, p->o->path, dir) < 0)
			continue;
		rc = remote_batch_mkdir(s->r, s->dest, 0700 | m->mode);
		if (rc == REMOTE_OK)
			rc = settle_if_full(s);
	}
	return rc;
}
