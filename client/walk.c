/*
 * walk.c -- the local tree, one entry at a time, in path_cmp() order.
 *
 * Why it is built this way: the tree may change while we read it, and a
 * name may be swapped for a symlink at any moment.  So every step is an
 * *at() call relative to the fd of the directory being read, with
 * AT_SYMLINK_NOFOLLOW / O_NOFOLLOW; a symlink is recorded, never entered.
 * Each directory's names are sorted bytewise and a directory's contents are
 * handed out right after it, which is exactly path_cmp() order.  The walk
 * is an explicit stack of frames instead of a recursion, so that it can
 * stop after any entry and go on later: plan.c takes the tree a window at
 * a time and never holds more of it than that.  A directory is opened and
 * read when its own entry is handed out, so an unreadable one already
 * carries ENTRY_INCOMPLETE when the caller sees it.
 *
 * This file also holds the entry list and its string arena, which the
 * remote listing shares.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "quote.h"
#include "walk.h"

/* The server refuses to list deeper trees; we refuse to walk them. */
#define WALK_DEPTH_MAX 1024

/* Bytes per arena block: room for many paths, and for any one of them. */
#define ARENA_BLOCK (64 * 1024)

/* One directory being read: its fd and its names, sorted. */
struct walk_frame {
	int     fd;              /* the directory (the root's is the caller's) */
	char   *names;           /* NUL-terminated names, back to back */
	size_t  names_len, names_cap;
	size_t *off;             /* offset of each name in names, sorted */
	size_t  n, cap;
	size_t  next;            /* the next name to hand out */
	size_t  rel_len;         /* strlen of the directory's relative path */
};

/* Logs "DIR/rel: what" as one line, the name quoted. */
static void
report(const struct walk *w, const char *rel, const char *what)
{
	char full[PATH_BUF * 2], q[QUOTE_BUF];
	size_t n = strlen(w->dir);
	const char *sep = *rel == '\0' || (n > 0 && w->dir[n - 1] == '/') ? "" : "/";

	snprintf(full, sizeof full, "%s%s%s", w->dir, sep, rel);
	log_err("%s: %s", quote_str(full, q), what);
}

/* Fills the attributes of e from st (type must already be set). */
static void
entry_from_stat(struct entry *e, const struct stat *st)
{
	e->mode = st->st_mode & SYNC_MODE_MASK;
	e->mtime = st->st_mtim;
	e->size = e->type == SYNC_REG ? (uint64_t)st->st_size : 0;
}

/*
 * Reads the target of the symlink dfd/name into w->target and points e at
 * it.  Returns 0, or an errno value (ENAMETOOLONG for a target the
 * protocol cannot carry).
 */
static int
read_link(struct walk *w, int dfd, const char *name, struct entry *e)
{
	char buf[PATH_BUF + 1];
	ssize_t n = readlinkat(dfd, name, buf, sizeof buf);

	if (n < 0)
		return errno;
	if (n == 0 || n > SYNC_PATH_MAX)
		return ENAMETOOLONG;
	memcpy(w->target, buf, (size_t)n);
	w->target[n] = '\0';
	e->target = w->target;
	e->size = (uint64_t)n;
	return 0;
}

/* qsort_r comparator for offsets into a block of names (arg). */
static int
cmp_names(const void *a, const void *b, void *arg)
{
	const char *names = arg;

	return strcmp(names + *(const size_t *)a, names + *(const size_t *)b);
}

/*
 * Appends the name s (len bytes) to f's names.  Returns 0, or ENOMEM.
 */
static int
frame_add_name(struct walk_frame *f, const char *s, size_t len)
{
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 32;
		size_t *nv = realloc(f->off, ncap * sizeof *nv);

		if (nv == NULL)
			return ENOMEM;
		f->off = nv;
		f->cap = ncap;
	}
	if (f->names_len + len + 1 > f->names_cap) {
		size_t ncap = f->names_cap ? f->names_cap * 2 : 1024;
		char *nv;

		while (ncap < f->names_len + len + 1)
			ncap *= 2;
		if ((nv = realloc(f->names, ncap)) == NULL)
			return ENOMEM;
		f->names = nv;
		f->names_cap = ncap;
	}
	memcpy(f->names + f->names_len, s, len + 1);
	f->off[f->n++] = f->names_len;
	f->names_len += len + 1;
	return 0;
}

/*
 * Reads the names in directory f->fd (without "." and ".."), sorted
 * bytewise, into f (whose buffers are reused).  Returns 0, or an errno
 * value (f then holds no names).
 */
static int
read_names(struct walk_frame *f)
{
	int err = 0;
	int fd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	f->n = f->names_len = f->next = 0;
	if (d == NULL) {
		err = errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			err = errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((err = frame_add_name(f, de->d_name, strlen(de->d_name))) != 0)
			break;
	}
	closedir(d);
	if (err != 0) {
		f->n = f->names_len = 0;
		return err;
	}
	if (f->n > 1)
		qsort_r(f->off, f->n, sizeof *f->off, cmp_names, f->names);
	return 0;
}

/*
 * Pushes a frame for directory fd (owned by the frame unless it is the
 * root's) whose relative path is w->rel, and reads its names.  Returns 0,
 * ENOMEM (fd is then closed unless it is the root's), or the errno value
 * of the failed read (the frame is then popped again and fd closed).
 */
static int
push_frame(struct walk *w, int fd)
{
	struct walk_frame *f;
	int err;

	if (w->depth == w->nframes) {
		size_t ncap = w->nframes ? w->nframes * 2 : 16;
		struct walk_frame *nv = realloc(w->frame, ncap * sizeof *nv);

		if (nv == NULL) {
			err = ENOMEM;
			goto fail;
		}
		memset(nv + w->nframes, 0, (ncap - w->nframes) * sizeof *nv);
		w->frame = nv;
		w->nframes = ncap;
	}
	f = &w->frame[w->depth];
	f->fd = fd;
	f->rel_len = strlen(w->rel);
	if ((err = read_names(f)) != 0)
		goto fail;
	w->depth++;
	return 0;
fail:
	if (w->depth > 0)       /* never the root's fd */
		close(fd);
	return err;
}

/* Pops the innermost frame, closing its fd (not the root's). */
static void
pop_frame(struct walk *w)
{
	w->depth--;
	if (w->depth > 0)
		close(w->frame[w->depth].fd);
	w->frame[w->depth].fd = -1;
}

/*
 * Opens the directory dfd/name (entry e, relative path w->rel) and pushes
 * its frame, so its contents come next.  An unopenable, unreadable or too
 * deep directory is reported and flagged ENTRY_INCOMPLETE.  Returns 0, or
 * -1 when out of memory.
 */
static int
descend(struct walk *w, int dfd, const char *name, struct entry *e)
{
	int cfd, err;

	if (w->depth >= WALK_DEPTH_MAX) {
		report(w, w->rel, "directory tree too deep");
		goto incomplete;
	}
	cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0) {
		report(w, w->rel, strerror(errno));
		goto incomplete;
	}
	err = push_frame(w, cfd);
	if (err == ENOMEM)
		return -1;
	if (err != 0) {
		report(w, w->rel, strerror(err));
		goto incomplete;
	}
	return 0;
incomplete:
	w->st->errors++;
	e->flags |= ENTRY_INCOMPLETE;
	return 0;
}

/*
 * Fills e from dfd/name (relative path w->rel).  Returns 1 to keep e, 0 to
 * leave the name out (skipped or vanished).  An entry that cannot be
 * examined is reported and kept with ENTRY_ERROR.
 */
static int
examine(struct walk *w, int dfd, const char *name, struct entry *e)
{
	struct stat st;
	int err;

	if (!path_name_ok(name)) {
		report(w, w->rel, "skipped: reserved or invalid name");
		w->st->skipped++;
		return 0;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;       /* removed since readdir: not part of the tree */
		err = errno;
		goto failed;
	}
	if (S_ISREG(st.st_mode)) {
		e->type = SYNC_REG;
	} else if (S_ISDIR(st.st_mode)) {
		e->type = SYNC_DIR;
	} else if (S_ISLNK(st.st_mode)) {
		e->type = SYNC_LNK;
	} else {
		report(w, w->rel, "skipped: not a regular file, directory or symlink");
		w->st->skipped++;
		return 0;
	}
	entry_from_stat(e, &st);
	if (e->type == SYNC_LNK && (err = read_link(w, dfd, name, e)) != 0)
		goto failed;
	return 1;
failed:
	report(w, w->rel, strerror(err));
	w->st->errors++;
	if (e->type == 0)
		e->type = SYNC_OTHER;
	e->flags = ENTRY_ERROR;
	return 1;
}

int
walk_open_root(const char *dir)
{
	char q[QUOTE_BUF];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		log_err("%s: %s", quote_str(dir, q), strerror(errno));
	return fd;
}

int
walk_start(struct walk *w, int rootfd, const char *dir, struct walk_stats *st)
{
	struct stat sb;
	int err;

	memset(w, 0, sizeof *w);
	w->dir = dir;
	w->st = st;
	if (fstat(rootfd, &sb) < 0) {
		report(w, "", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		report(w, "", "not a directory");
		return -1;
	}
	w->root.type = SYNC_DIR;
	w->root.path = "";
	entry_from_stat(&w->root, &sb);
	if ((err = push_frame(w, rootfd)) != 0) {
		/* The root is unreadable: we know nothing. */
		report(w, "", err == ENOMEM ? "out of memory" : strerror(err));
		st->errors++;
		walk_end(w);
		return -1;
	}
	w->root_pending = 1;
	return 0;
}

int
walk_next(struct walk *w, struct entry_list *out)
{
	if (w->root_pending) {
		w->root_pending = 0;
		goto add;
	}
	while (w->depth > 0) {
		struct walk_frame *f = &w->frame[w->depth - 1];
		struct entry e = { 0 };
		const char *name;
		int dfd = f->fd;

		if (f->next == f->n) {
			pop_frame(w);
			continue;
		}
		name = f->names + f->off[f->next++];
		w->rel[f->rel_len] = '\0';
		if (path_join(w->rel, sizeof w->rel, w->rel, name) < 0) {
			char long_rel[PATH_BUF + SYNC_NAME_MAX + 2];

			snprintf(long_rel, sizeof long_rel, "%s/%s", w->rel, name);
			report(w, long_rel, "path too long");
			w->st->errors++;
			continue;
		}
		if (examine(w, dfd, name, &e) == 0)
			continue;
		e.path = w->rel;
		/* f may move: descend() can grow the frames. */
		if (e.type == SYNC_DIR && !(e.flags & ENTRY_ERROR) &&
		    descend(w, dfd, name, &e) < 0)
			goto nomem;
		if (entry_list_add(out, &e) < 0)
			goto nomem;
		return 1;
	}
	return 0;
add:
	if (entry_list_add(out, &w->root) < 0)
		goto nomem;
	return 1;
nomem:
	log_err("out of memory");
	return -1;
}

void
walk_end(struct walk *w)
{
	while (w->depth > 0)
		pop_frame(w);
	for (size_t k = 0; k < w->nframes; k++) {
		free(w->frame[k].names);
		free(w->frame[k].off);
	}
	free(w->frame);
	w->frame = NULL;
	w->nframes = 0;
}

int
walk_tree(int rootfd, const char *dir, struct entry_list *out,
    struct walk_stats *st)
{
	struct walk w;
	int rc;

	if (walk_start(&w, rootfd, dir, st) < 0)
		return -1;
	while ((rc = walk_next(&w, out)) > 0)
		;
	walk_end(&w);
	if (rc < 0)
		entry_list_free(out);
	return rc;
}

/* ---- the entry list and its arena -------------------------------------- */

/*
 * Copies the len bytes at s and a NUL into a, which never moves them.
 * Returns the copy, or NULL when out of memory.
 */
static char *
arena_put(struct arena *a, const char *s, size_t len)
{
	char *dst;

	if (a->nblocks == 0 || a->used + len + 1 > ARENA_BLOCK) {
		size_t next = a->nblocks == 0 ? 0 : a->cur + 1;

		if (next == a->nblocks) {
			char **nv = realloc(a->block, (a->nblocks + 1) * sizeof *nv);

			if (nv == NULL)
				return NULL;
			a->block = nv;
			if ((a->block[a->nblocks] = malloc(ARENA_BLOCK)) == NULL)
				return NULL;
			a->nblocks++;
		}
		a->cur = next;
		a->used = 0;
	}
	dst = a->block[a->cur] + a->used;
	memcpy(dst, s, len);
	dst[len] = '\0';
	a->used += len + 1;
	return dst;
}

int
entry_list_add(struct entry_list *l, const struct entry *e)
{
	struct entry *ne;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		struct entry *nv = realloc(l->v, ncap * sizeof *nv);

		if (nv == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	ne = &l->v[l->n];
	*ne = *e;
	ne->path = arena_put(&l->strings, e->path, strlen(e->path));
	if (ne->path == NULL)
		return -1;
	if (e->target != NULL &&
	    (ne->target = arena_put(&l->strings, e->target, strlen(e->target))) == NULL)
		return -1;
	l->n++;
	return 0;
}

void
entry_list_clear(struct entry_list *l)
{
	l->n = 0;
	l->strings.cur = 0;
	l->strings.used = 0;
}

long
entry_list_find(const struct entry_list *l, const char *path)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = path_cmp(l->v[mid].path, path);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void
entry_list_free(struct entry_list *l)
{
	for (size_t k = 0; k < l->strings.nblocks; k++)
		free(l->strings.block[k]);
	free(l->strings.block);
	free(l->v);
	memset(l, 0, sizeof *l);
}
