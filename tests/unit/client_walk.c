/*
 * client_walk.c -- unit tests for syncctl's local tree scan.
 *
 * Builds a small tree with the awkward cases (nested and empty directories,
 * a dangling symlink, names with space, newline, UTF-8 and a leading dash,
 * a fifo, a reserved temp name, setuid and sticky bits) and checks the
 * order and the attributes walk_tree() reports; then walks a tree of names
 * that sort awkwardly, step by step as push.c does, against path_cmp().
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "path.h"
#include "quote.h"
#include "../../client/walk.h"

static char root[64];

/* Creates root/rel as a file holding data, with mode and mtime (sec, nsec). */
static void
make_file(const char *rel, const char *data, mode_t mode, time_t sec, long nsec)
{
	char p[512];
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };
	int fd;

	snprintf(p, sizeof p, "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, data, strlen(data)) < 0)
			perror(p);
		close(fd);
	}
	chmod(p, mode);
	utimensat(AT_FDCWD, p, ts, 0);
}

/* Creates root/rel as a directory with mode. */
static void
make_dir(const char *rel, mode_t mode)
{
	char p[512];

	snprintf(p, sizeof p, "%s/%s", root, rel);
	mkdir(p, 0700);
	chmod(p, mode);
}

/* Creates root/rel as a symlink to target. */
static void
make_link(const char *rel, const char *target)
{
	char p[512];

	snprintf(p, sizeof p, "%s/%s", root, rel);
	if (symlink(target, p) < 0)
		perror(p);
}

/* Creates the test tree in a fresh temp directory (root). */
static void
build_tree(void)
{
	char p[512];

	strcpy(root, "/tmp/client_walk.XXXXXX");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	make_dir("a", 0751);
	make_dir("a/empty", 0755);
	make_file("a/f1", "hello", 0600, 1000000000, 123456789);
	make_file("a-c", "", 0644, 0, 0);
	make_file("a0", "x", 0644, 0, 0);
	make_file("sp ace", "1", 0644, 0, 0);
	make_file("new\nline", "22", 0644, 0, 0);
	make_file("\xc3\xa9t\xc3\xa9", "333", 0644, 0, 0);
	make_file("-dash", "4444", 0644, 0, 0);
	make_file("suid", "", 04755, 0, 0);
	make_dir("sticky", 01777);
	make_file(".syncd-tmp.stale", "junk", 0600, 0, 0);
	make_link("dangling", "nowhere/at all");
	make_link("lnk", "a/f1");
	snprintf(p, sizeof p, "%s/fifo", root);
	mkfifo(p, 0644);
}

/* The expected walk order (path_cmp order). */
static const char *expected[] = {
	"", "-dash", "a", "a/empty", "a/f1", "a-c", "a0", "dangling", "lnk",
	"new\nline", "sp ace", "sticky", "suid", "\xc3\xa9t\xc3\xa9",
};

/* Returns the entry for path in l, or NULL. */
static const struct entry *
find(const struct entry_list *l, const char *path)
{
	long i = entry_list_find(l, path);

	return i < 0 ? NULL : &l->v[i];
}

/* The walk lists exactly the expected entries, in path_cmp() order. */
static void
test_order(const struct entry_list *l)
{
	size_t n = sizeof expected / sizeof expected[0];

	CHECK(l->n == n, "%zu entries (got %zu)", n, l->n);
	for (size_t i = 0; i < n && i < l->n; i++) {
		char q[QUOTE_BUF];

		CHECK(strcmp(l->v[i].path, expected[i]) == 0, "entry %zu is \"%s\"",
		    i, quote_str(expected[i], q));
	}
	for (size_t i = 1; i < l->n; i++)
		CHECK(path_cmp(l->v[i - 1].path, l->v[i].path) < 0,
		    "entry %zu sorts before entry %zu", i - 1, i);
}

/* Types, modes, sizes, mtimes and link targets are as created. */
static void
test_attributes(const struct entry_list *l)
{
	const struct entry *e;

	e = find(l, "");
	CHECK(e && e->type == SYNC_DIR, "the root is a directory");
	e = find(l, "a");
	CHECK(e && e->type == SYNC_DIR && e->mode == 0751, "a: directory 0751");
	e = find(l, "a/empty");
	CHECK(e && e->type == SYNC_DIR && e->flags == 0, "a/empty: directory");
	e = find(l, "a/f1");
	CHECK(e && e->type == SYNC_REG && e->mode == 0600 && e->size == 5,
	    "a/f1: file 0600, 5 bytes");
	CHECK(e && e->mtime.tv_sec == 1000000000 && e->mtime.tv_nsec == 123456789,
	    "a/f1: mtime to the nanosecond");
	CHECK(e && e->target == NULL, "a/f1: no link target");
	e = find(l, "dangling");
	CHECK(e && e->type == SYNC_LNK && e->target && strcmp(e->target, "nowhere/at all") == 0 &&
	    e->size == 14, "dangling: symlink kept verbatim, not followed");
	e = find(l, "lnk");
	CHECK(e && e->type == SYNC_LNK && strcmp(e->target, "a/f1") == 0,
	    "lnk: symlink to a file, not followed");
	e = find(l, "new\nline");
	CHECK(e && e->type == SYNC_REG && e->size == 2, "a name with a newline");
	e = find(l, "-dash");
	CHECK(e && e->size == 4, "a name with a leading dash");
	e = find(l, "\xc3\xa9t\xc3\xa9");
	CHECK(e && e->size == 3, "a UTF-8 name");
	e = find(l, "suid");
	CHECK(e && e->mode == 0755, "setuid is not mirrored (mode %o)", e ? e->mode : 0);
	e = find(l, "sticky");
	CHECK(e && e->mode == 0777, "the sticky bit is not mirrored (mode %o)", e ? e->mode : 0);
	CHECK(find(l, "fifo") == NULL, "a fifo is skipped");
	CHECK(find(l, ".syncd-tmp.stale") == NULL, "a reserved temp name is skipped");
}

/* A missing DIR or a file as DIR fails; an empty DIR lists only its root. */
static void
test_errors(void)
{
	struct entry_list l = { 0 };
	char p[512];
	int fd;

	CHECK(walk_open_root("/nonexistent/client_walk") == -1, "a missing DIR is an error");
	snprintf(p, sizeof p, "%s/a/f1", root);
	CHECK(walk_open_root(p) == -1, "a file as DIR is an error");
	snprintf(p, sizeof p, "%s/a/empty", root);
	fd = walk_open_root(p);
	CHECK(fd >= 0, "an empty directory opens");
	if (fd >= 0) {
		struct walk_stats st = { 0 };

		CHECK(walk_tree(fd, p, &l, &st) == 0 && l.n == 1 && l.v[0].path[0] == '\0',
		    "an empty directory lists only its root");
		entry_list_free(&l);
		close(fd);
	}
}

/* qsort comparator: path_cmp() on an array of strings. */
static int
cmp_paths(const void *a, const void *b)
{
	return path_cmp(*(char *const *)a, *(char *const *)b);
}

#define DEEP 40                 /* levels of the deep chain: more than the first frames */

/*
 * The resumable walk, taken three entries at a time into a list that is
 * emptied in between (as push.c's windows are), hands out a tree of
 * awkward names ("a", "a.b", "a/b", "a-b", "a b", "A", byte 0xff), empty
 * directories and a DEEP-level chain exactly in path_cmp() order, each
 * entry after its directory, with its attributes intact.
 */
static void
test_incremental(void)
{
	static const char *dirs[] = {
		"a", "a/b", "a/b/c", "a/b/c/d", "a-b", "a.b", "a.b/x", "a0",
		"e1", "e2", "e2/e3", "z", "a/b.c",
	};
	static const char *files[] = {
		"a/b/c/d/f", "a/b/c2", "a/b-c", "a/b0", "a/b.c/in", "a.b/x/y",
		"a-b/1", "ab", "a.b.c", "z/z", "A", "a b", "\xff", "a/b/c/d.e",
	};
	char *want[64 + DEEP], *got[64 + DEEP + 8];
	size_t nwant = 0, ngot = 0;
	struct entry_list win = { 0 };
	struct walk_stats st = { 0 };
	struct walk w;
	char deep[DEEP * 2 + 8] = "", saved[64], q[QUOTE_BUF];
	int fd, rc = 0, ordered = 1, same = 1, deep_ok = 0;

	strcpy(saved, root);
	strcpy(root, "/tmp/client_walk_inc.XXXXXX");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	want[nwant++] = strdup("");
	for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
		make_dir(dirs[k], 0755);
		want[nwant++] = strdup(dirs[k]);
	}
	for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
		make_file(files[k], files[k], 0644, 7, 0);
		want[nwant++] = strdup(files[k]);
	}
	for (int k = 0; k < DEEP; k++) {
		strcat(deep, k ? "/n" : "n");
		make_dir(deep, 0700);
		want[nwant++] = strdup(deep);
	}
	strcat(deep, "/leaf");
	make_file(deep, "leaf!", 0640, 9, 9);
	want[nwant++] = strdup(deep);
	qsort(want, nwant, sizeof *want, cmp_paths);

	fd = walk_open_root(root);
	CHECK(fd >= 0 && walk_start(&w, fd, root, &st) == 0, "walk_start(%s)", root);
	while (fd >= 0 && ngot < sizeof got / sizeof got[0] &&
	    (rc = walk_next(&w, &win)) > 0) {
		const struct entry *e = &win.v[win.n - 1];

		got[ngot++] = strdup(e->path);
		if (strcmp(e->path, deep) == 0)
			deep_ok = e->type == SYNC_REG && e->size == 5 && e->mode == 0640 &&
			    e->mtime.tv_sec == 9 && e->mtime.tv_nsec == 9;
		if (win.n == 3)
			entry_list_clear(&win);
	}
	if (fd >= 0)
		walk_end(&w);
	CHECK(rc == 0, "the walk ends without error");
	CHECK(st.errors == 0 && st.skipped == 0, "nothing skipped, no errors");
	CHECK(ngot == nwant, "%zu entries handed out (got %zu)", nwant, ngot);
	for (size_t k = 1; k < ngot; k++)
		ordered &= path_cmp(got[k - 1], got[k]) < 0;
	CHECK(ordered, "every entry sorts after the one before (path_cmp)");
	for (size_t k = 0; k < nwant && k < ngot; k++)
		if (strcmp(want[k], got[k]) != 0) {
			same = 0;
			CHECK(0, "entry %zu is \"%s\"", k, quote_str(want[k], q));
		}
	CHECK(same, "exactly the expected entries in path_cmp order");
	CHECK(deep_ok, "the file %d levels down keeps its attributes", DEEP);
	for (size_t k = 0; k < nwant; k++)
		free(want[k]);
	for (size_t k = 0; k < ngot; k++)
		free(got[k]);
	entry_list_free(&win);
	if (fd >= 0)
		close(fd);
	snprintf(q, sizeof q, "rm -rf '%s'", root);
	if (system(q) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	strcpy(root, saved);
}

/* Builds the tree, walks it, checks it, removes it. */
int
main(void)
{
	struct entry_list l = { 0 };
	struct walk_stats st = { 0 };
	char cmd[600];
	int fd;

	log_init("client_walk", 0);
	build_tree();
	fd = walk_open_root(root);
	CHECK(fd >= 0, "walk_open_root(%s)", root);
	CHECK(walk_tree(fd, root, &l, &st) == 0, "walk_tree succeeds");
	CHECK(st.skipped == 2, "two entries skipped (fifo, temp name): %zu", st.skipped);
	CHECK(st.errors == 0, "no errors");
	test_order(&l);
	test_attributes(&l);
	entry_list_free(&l);
	close(fd);
	test_errors();
	test_incremental();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	return check_done();
}
