/*
 * walk.c -- scan the local tree into a sorted entry list.
 *
 * Why it is built this way: the tree may change while we read it, and a
 * name may be swapped for a symlink at any moment.  So every step is an
 * *at() call relative to the fd of the directory being read, with
 * AT_SYMLINK_NOFOLLOW / O_NOFOLLOW; a symlink is recorded, never entered.
 * Each directory's names are sorted bytewise and a directory's contents are
 * emitted right after it, which is exactly path_cmp() order, so the list
 * needs no sorting afterwards.
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

/* State of one walk_tree() call. */
struct walker {
	const char        *dir;          /* the tree, as the user named it */
	struct entry_list *out;
	struct walk_stats *st;
	char               rel[PATH_BUF]; /* directory being read, relative */
};

/* Logs "DIR/rel: what" as one line, the name quoted. */
static void
report(const struct walker *w, const char *rel, const char *what)
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
	e->mode = st->st_mode & 01777;
	e->mtime = st->st_mtim;
	e->size = e->type == SYNC_REG ? (uint64_t)st->st_size : 0;
}

/*
 * Reads the target of the symlink dfd/name into e.  Returns 0, or an errno
 * value (ENAMETOOLONG for a target the protocol cannot carry).
 */
static int
read_link(int dfd, const char *name, struct entry *e)
{
	char buf[PATH_BUF + 1];
	ssize_t n = readlinkat(dfd, name, buf, sizeof buf);

	if (n < 0)
		return errno;
	if (n == 0 || n > SYNC_PATH_MAX)
		return ENAMETOOLONG;
	e->target = strndup(buf, (size_t)n);
	if (e->target == NULL)
		return ENOMEM;
	e->size = (uint64_t)n;
	return 0;
}

/* qsort comparator for an array of names. */
static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Frees an array of n names. */
static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Reads the names in directory dfd (without "." and ".."), sorted bytewise,
 * into *names / *n.  Returns 0, or an errno value with nothing allocated.
 */
static int
read_names(int dfd, char ***names, size_t *n)
{
	char **v = NULL;
	size_t len = 0, cap = 0;
	int err = 0;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

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
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nv = realloc(v, ncap * sizeof *nv);

			if (nv == NULL) {
				err = ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[len] = strdup(de->d_name);
		if (v[len] == NULL) {
			err = ENOMEM;
			break;
		}
		len++;
	}
	closedir(d);
	if (err != 0) {
		free_names(v, len);
		return err;
	}
	if (len > 0)
		qsort(v, len, sizeof *v, cmp_names);
	*names = v;
	*n = len;
	return 0;
}

static int walk_dir(struct walker *w, int dfd, size_t dir_index,
    unsigned depth);

/*
 * Opens the subdirectory dfd/name (entry number index, relative path
 * w->rel) and walks it.  An unopenable or too deep directory is reported
 * and flagged ENTRY_INCOMPLETE.  Returns 0, or -1 when out of memory.
 */
static int
descend(struct walker *w, int dfd, const char *name, size_t index,
    unsigned depth)
{
	int cfd, rc;

	if (depth + 1 >= WALK_DEPTH_MAX) {
		report(w, w->rel, "directory tree too deep");
		goto incomplete;
	}
	cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0) {
		report(w, w->rel, strerror(errno));
		goto incomplete;
	}
	rc = walk_dir(w, cfd, index, depth + 1);
	close(cfd);
	return rc;
incomplete:
	w->st->errors++;
	w->out->v[index].flags |= ENTRY_INCOMPLETE;
	return 0;
}

/*
 * Fills e from dfd/name (relative path w->rel).  Returns 1 to keep e, 0 to
 * leave the name out (skipped or vanished), or -1 when out of memory.  An
 * entry that cannot be examined is reported and kept with ENTRY_ERROR.
 */
static int
examine(struct walker *w, int dfd, const char *name, struct entry *e)
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
	if (e->type == SYNC_LNK && (err = read_link(dfd, name, e)) != 0) {
		if (err == ENOMEM)
			return -1;
		goto failed;
	}
	return 1;
failed:
	report(w, w->rel, strerror(err));
	w->st->errors++;
	if (e->type == 0)
		e->type = SYNC_OTHER;
	e->flags = ENTRY_ERROR;
	return 1;
}

/*
 * Examines dfd/name, whose relative path is w->rel, appends its entry and
 * descends into a directory.  Returns 0, or -1 when out of memory.
 */
static int
walk_name(struct walker *w, int dfd, const char *name, unsigned depth)
{
	struct entry e = { 0 };
	int rc = examine(w, dfd, name, &e);

	if (rc <= 0)
		goto out;
	rc = -1;
	e.path = strdup(w->rel);
	if (e.path == NULL)
		goto out;
	if (entry_list_push(w->out, &e) < 0) {
		e.path = e.target = NULL;   /* freed by entry_list_push */
		goto out;
	}
	e.path = e.target = NULL;           /* owned by the list now */
	rc = 0;
	if (e.type == SYNC_DIR && !(e.flags & ENTRY_ERROR))
		rc = descend(w, dfd, name, w->out->n - 1, depth);
out:
	free(e.path);
	free(e.target);
	return rc;
}

/*
 * Appends the contents of directory dfd (relative path w->rel, entry number
 * dir_index) in sorted order.  An unreadable directory is reported and
 * flagged ENTRY_INCOMPLETE.  Returns 0, or -1 when out of memory.
 */
static int
walk_dir(struct walker *w, int dfd, size_t dir_index, unsigned depth)
{
	char **names = NULL;
	size_t n = 0, len = strlen(w->rel);
	int err, rc = 0;

	err = read_names(dfd, &names, &n);
	if (err == ENOMEM)
		return -1;
	if (err != 0) {
		report(w, w->rel, strerror(err));
		w->st->errors++;
		w->out->v[dir_index].flags |= ENTRY_INCOMPLETE;
		return 0;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (path_join(w->rel, sizeof w->rel, w->rel, names[i]) < 0) {
			char long_rel[PATH_BUF + SYNC_NAME_MAX + 2];

			snprintf(long_rel, sizeof long_rel, "%s/%s", w->rel, names[i]);
			report(w, long_rel, "path too long");
			w->st->errors++;
			continue;
		}
		rc = walk_name(w, dfd, names[i], depth);
		w->rel[len] = '\0';
	}
	free_names(names, n);
	return rc;
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
walk_tree(int rootfd, const char *dir, struct entry_list *out,
    struct walk_stats *st)
{
	struct walker w = { .dir = dir, .out = out, .st = st };
	struct entry root = { .type = SYNC_DIR };
	struct stat sb;

	if (fstat(rootfd, &sb) < 0) {
		report(&w, "", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		report(&w, "", "not a directory");
		return -1;
	}
	entry_from_stat(&root, &sb);
	root.path = strdup("");
	if (root.path == NULL || entry_list_push(out, &root) < 0)
		goto fail;
	if (walk_dir(&w, rootfd, 0, 0) < 0)
		goto fail;
	if (out->v[0].flags & ENTRY_INCOMPLETE) {
		entry_list_free(out);   /* the root is unreadable: we know nothing */
		return -1;
	}
	return 0;
fail:
	log_err("out of memory");
	entry_list_free(out);
	return -1;
}

int
entry_list_push(struct entry_list *l, struct entry *e)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		struct entry *nv = realloc(l->v, ncap * sizeof *nv);

		if (nv == NULL) {
			free(e->path);
			free(e->target);
			return -1;
		}
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *e;
	return 0;
}

/* qsort comparator: path_cmp() on entries. */
static int
cmp_entries(const void *a, const void *b)
{
	return path_cmp(((const struct entry *)a)->path,
	    ((const struct entry *)b)->path);
}

void
entry_list_sort(struct entry_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, cmp_entries);
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
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].target);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
