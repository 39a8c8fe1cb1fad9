/*
 * server_fileops.c -- unit tests for the server's file procedures and their
 * confinement (server/confine.c, list.c, fileops.c, staging.c).
 *
 * These functions are the daemon's security boundary, so the tests call
 * them directly, with hostile paths, on a fresh export beside a sentinel
 * directory `outside/` whose every byte, mode and mtime must be unchanged at
 * the end.  They also pin down the behaviour the client relies on: atomic
 * publication of files and links, canonical listing order, stateless resume.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../server/confine.h"
#include "../../server/ops.h"
#include "check.h"
#include "delta.h"
#include "log.h"
#include "path.h"
#include "status.h"
#include "zstdio.h"

static char base[64];           /* mkdtemp: holds export/ and outside/ */
static char exdir[128];         /* base/export */
static char outdir[128];        /* base/outside */
static struct export ex;
static struct session sess;

/* ---- helpers ---- */

/* How many of the next syncfs() calls fail with EIO (any thread). */
static atomic_int syncfs_failures;

/*
 * Replaces libc's syncfs() for the code under test (this definition wins at
 * link time), so that a failed flush can be provoked: while syncfs_failures
 * is positive, each call takes one and fails with EIO.
 */
int
syncfs(int fd)
{
	int left = atomic_load(&syncfs_failures);

	while (left > 0) {
		if (atomic_compare_exchange_weak(&syncfs_failures, &left, left - 1)) {
			errno = EIO;
			return -1;
		}
	}
	return (int)syscall(SYS_syncfs, fd);
}

/* A sync_path over a C string (not copied). */
static sync_path
sp(const char *str)
{
	sync_path p = { (u_int)strlen(str), (char *)str };

	return p;
}

/* Writes len bytes of data to the export-relative file rel (test setup). */
static void
put_file(const char *rel, const char *data, size_t len)
{
	int fd = openat(ex.root_fd, rel, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(rel);
		exit(2);
	}
	close(fd);
}

/* mkdir for test setup, relative to the export. */
static void
put_dir(const char *rel)
{
	if (mkdirat(ex.root_fd, rel, 0755) != 0) {
		perror(rel);
		exit(2);
	}
}

/* symlink for test setup, relative to the export. */
static void
put_link(const char *target, const char *rel)
{
	if (symlinkat(target, ex.root_fd, rel) != 0) {
		perror(rel);
		exit(2);
	}
}

/* lstat of an export-relative path; returns 0 or -1. */
static int
lst(const char *rel, struct stat *sb)
{
	return fstatat(ex.root_fd, rel, sb, AT_SYMLINK_NOFOLLOW);
}

/* Returns non-zero if rel exists in the export (not following links). */
static int
exists(const char *rel)
{
	struct stat sb;

	return lst(rel, &sb) == 0;
}

/* Reads the export-relative file rel into buf (n bytes); returns length or -1. */
static ssize_t
get_file(const char *rel, char *buf, size_t n)
{
	int fd = openat(ex.root_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -1;
	got = read(fd, buf, n);
	close(fd);
	return got;
}

/* Counts temp names anywhere below the directory dirpath (no link following). */
static int
count_temps_in(const char *dirpath)
{
	DIR *d = opendir(dirpath);
	struct dirent *de;
	char sub[8192];
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, PATH_TEMP_PREFIX, strlen(PATH_TEMP_PREFIX)) == 0)
			n++;
		if (de->d_type == DT_DIR) {
			snprintf(sub, sizeof sub, "%s/%s", dirpath, de->d_name);
			n += count_temps_in(sub);
		}
	}
	closedir(d);
	return n;
}

static int
count_temps(void)
{
	return count_temps_in(exdir);
}

/* Appends a description of dirpath's tree (names, types, modes, mtimes, contents) to out. */
static void
snapshot_dir(const char *dirpath, const char *rel, char **out, size_t *len, FILE *f)
{
	struct dirent **list;
	int n = scandir(dirpath, &list, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		char full[8192], r[8192], tgt[4096];
		struct stat sb;
		const char *nm = list[i]->d_name;

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) {
			free(list[i]);
			continue;
		}
		snprintf(full, sizeof full, "%s/%s", dirpath, nm);
		snprintf(r, sizeof r, "%s/%s", rel, nm);
		if (lstat(full, &sb) != 0) {
			fprintf(f, "%s: gone\n", r);
		} else {
			fprintf(f, "%s %o %lld %lld.%09ld", r, (unsigned)sb.st_mode,
			    (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
			    sb.st_mtim.tv_nsec);
			if (S_ISREG(sb.st_mode)) {
				FILE *in = fopen(full, "r");
				int c;
				unsigned long h = 5381;

				while (in != NULL && (c = fgetc(in)) != EOF)
					h = h * 33 + (unsigned)c;
				if (in != NULL)
					fclose(in);
				fprintf(f, " h=%lx", h);
			} else if (S_ISLNK(sb.st_mode)) {
				ssize_t t = readlink(full, tgt, sizeof tgt - 1);

				tgt[t < 0 ? 0 : t] = '\0';
				fprintf(f, " -> %s", tgt);
			}
			fprintf(f, "\n");
			if (S_ISDIR(sb.st_mode))
				snapshot_dir(full, r, out, len, f);
		}
		free(list[i]);
	}
	free(list);
}

/* Returns a malloc'ed description of outside/ (itself and everything in it). */
static char *
snapshot_outside(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct stat sb;

	if (stat(outdir, &sb) == 0)
		fprintf(f, "outside %o %lld.%09ld\n", (unsigned)sb.st_mode,
		    (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
	snapshot_dir(outdir, "", &out, &len, f);
	fclose(f);
	return out;
}

/* nftw callback for rm -rf. */
static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* Removes the tree at p (test cleanup), never following links. */
static void
rm_tree(const char *p)
{
	nftw(p, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static int count_fds(void);

/* Batched-call wrappers with wire paths. */
static sync_status
do_create(sync_handle h, sync_path p)
{
	create_args a = { h, p, FALSE };

	return op_create(&sess, &a);
}

static sync_status
do_create_basis(sync_handle h, sync_path p)
{
	create_args a = { h, p, TRUE };

	return op_create(&sess, &a);
}

static sync_status
do_copy(sync_handle h, uint64_t boff, uint64_t len, uint64_t off)
{
	copy_args a = { h, boff, len, off };

	return op_copy(&sess, &a);
}

static sync_status
do_write(sync_handle h, uint64_t off, const char *data, size_t len)
{
	write_args a;

	memset(&a, 0, sizeof a);    /* raw_len 0: plain data */
	a.handle = h;
	a.offset = off;
	a.data.data_len = (u_int)len;
	a.data.data_val = (char *)data;
	return op_write(&sess, &a);
}

/* WRITE of a zstd frame (len bytes) that claims raw_len bytes. */
static sync_status
do_write_zstd(sync_handle h, uint64_t off, const void *frame, size_t len,
    unsigned int raw_len)
{
	write_args a;

	memset(&a, 0, sizeof a);
	a.handle = h;
	a.offset = off;
	a.raw_len = raw_len;
	a.data.data_len = (u_int)len;
	a.data.data_val = (char *)frame;
	return op_write(&sess, &a);
}

static sync_status
do_commit(sync_handle h, uint64_t size, unsigned mode, int64_t sec, unsigned nsec)
{
	commit_args a = { h, size, mode, { sec, nsec }, { 0, NULL } };

	return op_commit(&sess, &a);
}

/* COMMIT with a content hash of hlen bytes (mode 0644, mtime 1). */
static sync_status
do_commit_hash(sync_handle h, uint64_t size, const unsigned char *hash, u_int hlen)
{
	commit_args a = { h, size, 0644, { 1, 0 }, { hlen, (char *)hash } };

	return op_commit(&sess, &a);
}

static sync_status
do_signature(sync_path p, signature_res *r)
{
	signature_args a = { p };

	op_signature(&sess, &a, r);
	return r->status;
}

static void
free_signature(signature_res *r)
{
	xdr_free((xdrproc_t)xdr_signature_res, (char *)r);
	memset(r, 0, sizeof *r);
}

static sync_status
do_abort(sync_handle h)
{
	abort_args a = { h };

	return op_abort(&sess, &a);
}

static sync_status
do_mkdir(sync_path p, unsigned mode)
{
	mkdir_args a = { p, mode };

	return op_mkdir(&sess, &a);
}

static sync_status
do_symlink(sync_path p, sync_path target, int64_t sec, unsigned nsec)
{
	symlink_args a = { p, target, { sec, nsec } };

	return op_symlink(&sess, &a);
}

static sync_status
do_setattr(sync_path p, unsigned set, unsigned mode, int64_t sec, unsigned nsec)
{
	setattr_args a = { p, set, mode, { sec, nsec } };

	return op_setattr(&sess, &a);
}

static sync_status
do_delete(sync_path p)
{
	delete_args a = { p };

	return op_delete(&sess, &a);
}

static sync_status
do_read(sync_path p, uint64_t off, unsigned count, read_res *r)
{
	read_args a = { p, off, count };

	op_read(&sess, &a, r);
	return r->status;
}

static sync_status
do_list_opt(sync_path p, int resume, sync_path after, int want_hash, list_res *r)
{
	list_args a = { p, resume, after, want_hash };

	op_list(&sess, &a, r);
	return r->status;
}

static sync_status
do_list(sync_path p, int resume, sync_path after, list_res *r)
{
	return do_list_opt(p, resume, after, FALSE, r);
}

static void
free_list(list_res *r)
{
	xdr_free((xdrproc_t)xdr_list_res, (char *)r);
	memset(r, 0, sizeof *r);
}

static void
free_read(read_res *r)
{
	xdr_free((xdrproc_t)xdr_read_res, (char *)r);
	memset(r, 0, sizeof *r);
}

/* Returns the path of entry i of a list result as a static C string. */
static const char *
ent_path(const list_res *r, u_int i)
{
	static char buf[PATH_BUF];
	const sync_entry *e = &r->list_res_u.ok.entries.entries_val[i];

	if (e->path.sync_path_len != 0)
		memcpy(buf, e->path.sync_path_val, e->path.sync_path_len);
	buf[e->path.sync_path_len] = '\0';
	return buf;
}

/* Number of entries in a list result. */
static u_int
ent_count(const list_res *r)
{
	return r->list_res_u.ok.entries.entries_len;
}

/* Returns non-zero if the entries of r are exactly want[0..n-1], in order. */
static int
list_is(const list_res *r, const char *const *want, size_t n)
{
	if (r->status != SYNC_OK || ent_count(r) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ent_path(r, (u_int)i), want[i]) != 0)
			return 0;
	return 1;
}

/* ---- tests ---- */

/* Every malformed path is refused with BADPATH by every procedure. */
static void
test_bad_paths(void)
{
	static char longname[300], longpath[SYNC_PATH_MAX + 10];
	struct {
		const char *what;
		sync_path p;
	} bad[16];
	size_t nbad = 0;
	signature_res sr;
	read_res rr;
	list_res lr;

	memset(longname, 'n', 256);
	longname[256] = '\0';
	for (size_t i = 0; i < sizeof longpath - 1; i += 2)
		memcpy(longpath + i, "a/", 2);
	longpath[SYNC_PATH_MAX + 1] = '\0';     /* 4097 bytes, ends in a name */
	if (longpath[SYNC_PATH_MAX] == '/')
		longpath[SYNC_PATH_MAX] = 'b';

#define BAD(w, v) do { bad[nbad].what = (w); bad[nbad].p = (v); nbad++; } while (0)
	BAD("..", sp(".."));
	BAD("../x", sp("../x"));
	BAD("../../etc/passwd", sp("../../etc/passwd"));
	BAD("/etc/passwd", sp("/etc/passwd"));
	BAD("a/../../x", sp("a/../../x"));
	BAD("a//b", sp("a//b"));
	BAD("a/", sp("a/"));
	BAD(".", sp("."));
	BAD("./a", sp("./a"));
	BAD("embedded NUL", ((sync_path){ 3, "a\0b" }));
	BAD("256-byte component", sp(longname));
	BAD("path over SYNC_PATH_MAX", sp(longpath));
	BAD("reserved temp name", sp(PATH_TEMP_PREFIX "x"));
#undef BAD

	put_dir("a");
	for (size_t i = 0; i < nbad; i++) {
		const char *w = bad[i].what;
		sync_path p = bad[i].p;

		CHECK(do_create(900 + i, p) == SYNC_ERR_BADPATH, "create '%s': BADPATH", w);
		CHECK(do_create_basis(900 + i, p) == SYNC_ERR_BADPATH,
		    "create with basis '%s': BADPATH", w);
		CHECK(do_signature(p, &sr) == SYNC_ERR_BADPATH &&
		    sr.signature_res_u.ok.weak.weak_val == NULL &&
		    sr.signature_res_u.ok.strong.strong_val == NULL, "signature '%s': BADPATH", w);
		free_signature(&sr);
		CHECK(do_mkdir(p, 0755) == SYNC_ERR_BADPATH, "mkdir '%s': BADPATH", w);
		CHECK(do_symlink(p, sp("x"), 0, 0) == SYNC_ERR_BADPATH,
		    "symlink '%s': BADPATH", w);
		CHECK(do_setattr(p, SYNC_SET_MODE | SYNC_SET_MTIME, 0777, 0, 0) ==
		    SYNC_ERR_BADPATH, "setattr '%s': BADPATH", w);
		CHECK(do_delete(p) == SYNC_ERR_BADPATH, "delete '%s': BADPATH", w);
		CHECK(do_read(p, 0, 10, &rr) == SYNC_ERR_BADPATH &&
		    rr.read_res_u.ok.data.data_val == NULL, "read '%s': BADPATH", w);
		free_read(&rr);
		CHECK(do_list(p, 0, sp(""), &lr) == SYNC_ERR_BADPATH &&
		    lr.list_res_u.ok.entries.entries_val == NULL, "list '%s': BADPATH", w);
		free_list(&lr);
		CHECK(do_list(sp(""), 1, p, &lr) == SYNC_ERR_BADPATH,
		    "list resuming after '%s': BADPATH", w);
		free_list(&lr);
	}
	CHECK(sess.staging == NULL || count_temps() == 0, "no temp created by bad paths");
	CHECK(do_delete(sp("a")) == SYNC_OK && !exists("a"), "cleanup");
}

/* A symlink planted in the export is never traversed. */
static void
test_planted_links(void)
{
	signature_res sr;
	read_res rr;
	list_res lr;
	struct stat sb;

	put_link("../outside", "evil");
	put_link("/etc", "evil_abs");
	put_dir("sub");
	put_link("../../outside", "sub/evil");
	put_link("evil", "chain");

	const char *under[] = { "evil/x", "evil/secret", "evil/dir/file", "evil_abs/passwd",
	    "sub/evil/secret", "chain/secret", "evil/dir" };
	for (size_t i = 0; i < sizeof under / sizeof under[0]; i++) {
		const char *p = under[i];

		CHECK(do_create(70, sp(p)) == SYNC_ERR_BADPATH, "create %s: BADPATH", p);
		CHECK(do_mkdir(sp(p), 0777) == SYNC_ERR_BADPATH, "mkdir %s: BADPATH", p);
		CHECK(do_symlink(sp(p), sp("/tmp"), 0, 0) == SYNC_ERR_BADPATH,
		    "symlink %s: BADPATH", p);
		CHECK(do_setattr(sp(p), SYNC_SET_MODE | SYNC_SET_MTIME, 0777, 1, 0) ==
		    SYNC_ERR_BADPATH, "setattr %s: BADPATH", p);
		CHECK(do_delete(sp(p)) == SYNC_ERR_BADPATH, "delete %s: BADPATH", p);
		CHECK(do_read(sp(p), 0, 100, &rr) == SYNC_ERR_BADPATH, "read %s: BADPATH", p);
		free_read(&rr);
		CHECK(do_signature(sp(p), &sr) == SYNC_ERR_BADPATH, "signature %s: BADPATH", p);
		free_signature(&sr);
		CHECK(do_create_basis(72, sp(p)) == SYNC_ERR_BADPATH,
		    "create with basis %s: BADPATH", p);
		CHECK(do_list(sp(p), 0, sp(""), &lr) == SYNC_ERR_BADPATH, "list %s: BADPATH", p);
		free_list(&lr);
	}
	CHECK(count_temps() == 0, "no temp left by refused calls");

	/* The link itself is an entry: listed, never followed. */
	CHECK(do_list(sp("evil"), 0, sp(""), &lr) == SYNC_OK && ent_count(&lr) == 1 &&
	    lr.list_res_u.ok.eof &&
	    lr.list_res_u.ok.entries.entries_val[0].attr.type == SYNC_LNK &&
	    lr.list_res_u.ok.entries.entries_val[0].target.sync_path_len == 10 &&
	    memcmp(lr.list_res_u.ok.entries.entries_val[0].target.sync_path_val,
	    "../outside", 10) == 0, "list of a link: its root entry, type LNK, target");
	free_list(&lr);
	CHECK(do_read(sp("evil"), 0, 100, &rr) != SYNC_OK, "read of a link refused (%s)",
	    status_name(rr.status));
	free_read(&rr);
	CHECK(do_setattr(sp("evil"), SYNC_SET_MODE, 0777, 0, 0) == SYNC_ERR_INVAL,
	    "setattr mode on a link: INVAL");
	CHECK(do_setattr(sp("evil"), SYNC_SET_MTIME, 0, 1000, 5) == SYNC_OK &&
	    lst("evil", &sb) == 0 && sb.st_mtim.tv_sec == 1000 && sb.st_mtim.tv_nsec == 5,
	    "setattr mtime on a link sets the link's own mtime");
	CHECK(do_mkdir(sp("evil"), 0777) == SYNC_ERR_EXIST, "mkdir over a link: EXIST");
	CHECK(do_signature(sp("evil"), &sr) == SYNC_ERR_INVAL,
	    "signature of a link: INVAL, not followed");
	free_signature(&sr);
	CHECK(do_create_basis(73, sp("sub/evil")) == SYNC_ERR_INVAL && count_temps() == 0,
	    "a link as the basis: INVAL, nothing opened");

	/* A link as the final name of a new file is replaced, not written through. */
	CHECK(do_create(71, sp("sub/evil")) == SYNC_OK && do_write(71, 0, "new", 3) == SYNC_OK &&
	    do_commit(71, 3, 0644, 5, 0) == SYNC_OK, "create over a link to outside");
	staging_flush(&sess);
	CHECK(lst("sub/evil", &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 3,
	    "the link was replaced by a regular file");

	CHECK(do_delete(sp("evil")) == SYNC_OK && !exists("evil"), "delete evil: link gone");
	CHECK(do_delete(sp("chain")) == SYNC_OK && do_delete(sp("evil_abs")) == SYNC_OK &&
	    do_delete(sp("sub")) == SYNC_OK && !exists("sub"), "cleanup");
}

/*
 * Compressed WRITE: refused without SYNC_CAP_ZSTD, decoded with it, and a
 * frame that is not what raw_len says fails the handle, so nothing is
 * published.
 */
static void
test_compressed_write(void)
{
	struct zstdio_enc *e = zstdio_enc_new(ZSTDIO_LEVEL_DEFAULT);
	char raw[8192], frame[8192], buf[8192];
	size_t n;

	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = "compressible "[i % 13];
	n = e != NULL ? zstdio_compress(e, raw, sizeof raw, frame, sizeof frame) : 0;
	CHECK(n > 0 && n < sizeof raw / 4, "a frame of 8 KiB of text (%zu bytes)", n);
	if (n == 0) {
		zstdio_enc_free(e);
		return;
	}

	sess.caps = 0;
	CHECK(do_create(90, sp("z1")) == SYNC_OK &&
	    do_write_zstd(90, 0, frame, n, sizeof raw) == SYNC_ERR_INVAL,
	    "compressed WRITE without SYNC_CAP_ZSTD: INVAL");
	CHECK(do_write(90, 0, "x", 1) == SYNC_ERR_BADHANDLE &&
	    do_commit(90, 1, 0644, 1, 0) == SYNC_ERR_BADHANDLE,
	    "... and the handle failed: its COMMIT fails");
	CHECK(sess.zdec == NULL, "no decoder allocated for a refused WRITE");

	sess.caps = SYNC_CAP_ZSTD;
	CHECK(do_create(91, sp("z2")) == SYNC_OK &&
	    do_write(91, 0, "head", 4) == SYNC_OK &&
	    do_write_zstd(91, 4, frame, n, sizeof raw) == SYNC_OK &&
	    do_commit(91, 4 + sizeof raw, 0644, 1, 0) == SYNC_OK,
	    "plain and compressed WRITEs mixed: OK");
	staging_flush(&sess);
	CHECK(get_file("z2", buf, sizeof buf) == (ssize_t)sizeof buf &&
	    memcmp(buf, "head", 4) == 0 && memcmp(buf + 4, raw, sizeof buf - 4) == 0,
	    "the compressed WRITE landed decoded at its offset");

	CHECK(do_create(92, sp("z3")) == SYNC_OK &&
	    do_write_zstd(92, 0, frame, n, sizeof raw - 1) == SYNC_ERR_INVAL &&
	    do_commit(92, sizeof raw - 1, 0644, 1, 0) == SYNC_ERR_BADHANDLE,
	    "raw_len one short of the frame: INVAL, COMMIT fails");
	CHECK(do_create(93, sp("z3")) == SYNC_OK &&
	    do_write_zstd(93, 0, frame, n, SYNC_CHUNK_MAX + 1u) == SYNC_ERR_INVAL &&
	    do_commit(93, sizeof raw, 0644, 1, 0) == SYNC_ERR_BADHANDLE,
	    "raw_len beyond SYNC_CHUNK_MAX: INVAL, COMMIT fails");
	frame[n / 2] ^= 0x55;
	CHECK(do_create(94, sp("z3")) == SYNC_OK &&
	    do_write_zstd(94, 0, frame, n, sizeof raw) == SYNC_ERR_INVAL &&
	    do_commit(94, sizeof raw, 0644, 1, 0) == SYNC_ERR_BADHANDLE,
	    "a corrupt frame: INVAL, COMMIT fails");
	staging_flush(&sess);
	CHECK(!exists("z1") && !exists("z3") && count_temps() == 0,
	    "nothing published by a refused compressed WRITE, no temp left");
	CHECK(do_delete(sp("z2")) == SYNC_OK, "cleanup");
	sess.caps = 0;
	zstdio_enc_free(e);
}

/* Hard link to an outside file: replacing it swaps the directory entry. */
static void
test_hardlink(void)
{
	char src[256], buf[64];

	snprintf(src, sizeof src, "%s/secret", outdir);
	if (linkat(AT_FDCWD, src, ex.root_fd, "hl", 0) != 0) {
		CHECK(1, "hard link test skipped (%s)", strerror(errno));
		return;
	}
	CHECK(do_create(80, sp("hl")) == SYNC_OK && do_write(80, 0, "overwrite", 9) == SYNC_OK &&
	    do_commit(80, 9, 0600, 7, 0) == SYNC_OK, "create over a hard link");
	staging_flush(&sess);
	CHECK(get_file("hl", buf, sizeof buf) == 9 && memcmp(buf, "overwrite", 9) == 0,
	    "hl has the new content (outside's copy checked at the end)");
	CHECK(do_delete(sp("hl")) == SYNC_OK, "cleanup");
}

/* CREATE/WRITE/COMMIT/ABORT and the group commit. */
static void
test_write_path(void)
{
	char buf[128];
	struct stat sb;
	unsigned int nf;

	/* Chunks rewritten out of order (never past the end), setuid stripped, nanosecond mtime. */
	CHECK(do_create(1, sp("f.txt")) == SYNC_OK, "create f.txt");
	CHECK(count_temps() == 1 && !exists("f.txt"), "a temp exists, the final name not");
	CHECK(do_write(1, 0, "HELLO ", 6) == SYNC_OK && do_write(1, 6, "world", 5) == SYNC_OK &&
	    do_write(1, 0, "hello ", 6) == SYNC_OK, "three writes, the last over the first");
	CHECK(do_commit(1, 11, 04755, 1234567890, 123456789) == SYNC_OK, "commit");
	CHECK(!exists("f.txt"), "not visible before the flush");
	CHECK(do_write(1, 0, "x", 1) == SYNC_ERR_BADHANDLE, "handle closed by commit");
	staging_flush(&sess);
	CHECK(get_file("f.txt", buf, sizeof buf) == 11 && memcmp(buf, "hello world", 11) == 0,
	    "visible after flush with the right content");
	CHECK(lst("f.txt", &sb) == 0 && (sb.st_mode & 07777) == 0755,
	    "mode 04755 became 0755 (got %o)", (unsigned)(sb.st_mode & 07777));
	CHECK(sb.st_mtim.tv_sec == 1234567890 && sb.st_mtim.tv_nsec == 123456789,
	    "mtime to the nanosecond");
	CHECK(count_temps() == 0, "no temp left");

	/* Replace an existing file; zero-length file. */
	CHECK(do_create(1, sp("f.txt")) == SYNC_OK && do_commit(1, 0, 0640, 1, 0) == SYNC_OK,
	    "empty replacement (handle number reused)");
	staging_flush(&sess);
	CHECK(lst("f.txt", &sb) == 0 && sb.st_size == 0 && (sb.st_mode & 07777) == 0640,
	    "replaced by an empty file");

	/* Size mismatch. */
	CHECK(do_create(2, sp("g")) == SYNC_OK && do_write(2, 0, "abc", 3) == SYNC_OK,
	    "create g");
	CHECK(do_commit(2, 5, 0644, 0, 0) == SYNC_ERR_INVAL, "size mismatch: INVAL");
	staging_flush(&sess);
	CHECK(!exists("g") && count_temps() == 0, "size mismatch leaves nothing");
	CHECK(do_commit(2, 3, 0644, 0, 0) == SYNC_ERR_BADHANDLE, "handle gone after failed commit");

	/* Abort. */
	CHECK(do_create(3, sp("h")) == SYNC_OK && do_write(3, 0, "abc", 3) == SYNC_OK &&
	    do_abort(3) == SYNC_OK, "abort");
	CHECK(!exists("h") && count_temps() == 0, "abort leaves nothing");
	CHECK(do_abort(3) == SYNC_ERR_BADHANDLE, "abort twice: BADHANDLE");
	CHECK(do_write(99, 0, "x", 1) == SYNC_ERR_BADHANDLE &&
	    do_commit(99, 0, 0, 0, 0) == SYNC_ERR_BADHANDLE, "unknown handle: BADHANDLE");

	/* Duplicate handle, bad arguments. */
	CHECK(do_create(4, sp("i")) == SYNC_OK && do_create(4, sp("j")) == SYNC_ERR_INVAL,
	    "duplicate handle: INVAL");
	CHECK(do_write(4, UINT64_MAX, "x", 1) == SYNC_ERR_INVAL, "offset 2^64-1: INVAL");
	CHECK(do_write(4, 0, "x", 1) == SYNC_ERR_BADHANDLE, "failed handle refuses writes");
	CHECK(do_commit(4, 0, 0644, 0, 0) == SYNC_ERR_BADHANDLE, "failed handle: commit fails");
	CHECK(!exists("i") && count_temps() == 0, "failed handle leaves nothing");
	CHECK(do_create(5, sp("i")) == SYNC_OK &&
	    do_write(5, (1ULL << 62), "x", 1) == SYNC_ERR_INVAL, "offset beyond 2^62: INVAL");
	CHECK(do_abort(5) == SYNC_OK, "abort 5");
	CHECK(do_create(5, sp("i")) == SYNC_OK && do_write(5, 0, "ab", 2) == SYNC_OK &&
	    do_write(5, 2, "cd", 2) == SYNC_OK && do_write(5, 5, "x", 1) == SYNC_ERR_INVAL,
	    "a WRITE past the temp's end (a hole): INVAL");
	CHECK(do_abort(5) == SYNC_OK, "abort 5");
	CHECK(do_create(6, sp("i")) == SYNC_OK &&
	    do_commit(6, 0, 0644, 0, 1000000000) == SYNC_ERR_INVAL && !exists("i") &&
	    count_temps() == 0, "nsec 10^9: INVAL");
	CHECK(do_create(7, sp("")) == SYNC_ERR_INVAL, "create of the export root: INVAL");
	CHECK(do_create(7, sp("nodir/x")) == SYNC_ERR_NOENT, "create in a missing dir: NOENT");

	/* Final name is a directory: early at CREATE, or at the rename. */
	put_dir("d");
	CHECK(do_create(8, sp("d")) == SYNC_ERR_ISDIR, "create over a directory: ISDIR");
	CHECK(do_create(9, sp("dd")) == SYNC_OK && do_write(9, 0, "z", 1) == SYNC_OK,
	    "create dd");
	put_dir("dd");
	sess.batch_index = 42;
	nf = sess.batch_failed;
	CHECK(do_commit(9, 1, 0644, 0, 0) == SYNC_OK, "commit is queued");
	staging_flush(&sess);
	CHECK(sess.batch_failed == nf + 1 && sess.nfailures > 0 &&
	    sess.failures[sess.nfailures - 1].index == 42 &&
	    sess.failures[sess.nfailures - 1].status == SYNC_ERR_ISDIR &&
	    sess.failures[sess.nfailures - 1].path.sync_path_len == 2 &&
	    memcmp(sess.failures[sess.nfailures - 1].path.sync_path_val, "dd", 2) == 0,
	    "rename over a directory reported as ISDIR under the COMMIT's index and path");
	CHECK(count_temps() == 0, "and its temp removed");
	sess.batch_index = 0;

	/* The handle limit. */
	int ok = 1;
	for (int i = 0; i < 64; i++)
		ok &= do_create(100 + (sync_handle)i, sp("many")) == SYNC_OK;
	CHECK(ok, "64 open handles");
	CHECK(do_create(164, sp("many")) == SYNC_ERR_TOOMANY, "65th: TOOMANY");
	CHECK(count_temps() == 64, "64 temps");
	staging_free(&sess);
	CHECK(sess.staging == NULL && count_temps() == 0 && !exists("many"),
	    "staging_free drops every open temp");

	/* A queued, unflushed commit is dropped by staging_free, not published. */
	CHECK(do_create(1, sp("q")) == SYNC_OK && do_commit(1, 0, 0644, 0, 0) == SYNC_OK,
	    "commit q");
	staging_free(&sess);
	CHECK(!exists("q") && count_temps() == 0, "staging_free drops the queue too");

	/* Procedures that depend on renames flush first. */
	CHECK(do_create(1, sp("r")) == SYNC_OK && do_commit(1, 0, 0600, 0, 0) == SYNC_OK,
	    "commit r");
	CHECK(do_setattr(sp("r"), SYNC_SET_MODE, 0604, 0, 0) == SYNC_OK &&
	    lst("r", &sb) == 0 && (sb.st_mode & 07777) == 0604, "SETATTR sees the committed file");
	CHECK(do_create(1, sp("r2")) == SYNC_OK && do_commit(1, 0, 0600, 0, 0) == SYNC_OK &&
	    do_delete(sp("r2")) == SYNC_OK && !exists("r2"), "DELETE sees the committed file");

	/* The queue flushes itself at 1024 files. */
	put_dir("bulk");
	ok = 1;
	nf = sess.batch_failed;
	for (int i = 0; i < 1024; i++) {
		char p[64];

		snprintf(p, sizeof p, "bulk/f%04d", i);
		sess.batch_index = 1000 + (unsigned int)i;
		ok &= do_create(1, sp(p)) == SYNC_OK && do_write(1, 0, p, 5) == SYNC_OK &&
		    do_commit(1, 5, 0644, 0, 0) == SYNC_OK;
		if (i == 7)
			put_dir("bulk/f0007");  /* queued: only the flusher's rename fails */
	}
	sess.batch_index = 0;
	CHECK(ok, "1024 commits");
	/* The 1024th commit handed the group to a flusher: it publishes with no further call. */
	for (int i = 0; i < 1000 && !(exists("bulk/f0000") && exists("bulk/f1023")); i++)
		usleep(10000);
	CHECK(exists("bulk/f0000") && exists("bulk/f1023"),
	    "the 1024th commit flushed the queue in the background");
	CHECK(sess.batch_failed == nf, "a failure in flight is not recorded before the join");
	staging_flush(&sess);
	CHECK(count_temps() == 0 && sess.batch_failed == nf + 1 && sess.nfailures > 0 &&
	    sess.failures[sess.nfailures - 1].index == 1007 &&
	    sess.failures[sess.nfailures - 1].status == SYNC_ERR_ISDIR &&
	    sess.failures[sess.nfailures - 1].path.sync_path_len == 10 &&
	    memcmp(sess.failures[sess.nfailures - 1].path.sync_path_val, "bulk/f0007", 10) == 0,
	    "joined: the flusher's ISDIR recorded under the COMMIT's index and path, no temp left");
	CHECK(lst("bulk/f0007", &sb) == 0 && S_ISDIR(sb.st_mode), "the directory is untouched");

	/* Out of descriptors at CREATE: the queue's directory fds are released by a flush. */
	ok = 1;
	for (int i = 0; i < 20; i++) {
		char p[64];

		snprintf(p, sizeof p, "bulk/d%02d", i);
		ok &= do_mkdir(sp(p), 0755) == SYNC_OK;
		strcat(p, "/f");
		ok &= do_create(1, sp(p)) == SYNC_OK && do_commit(1, 0, 0644, 0, 0) == SYNC_OK;
	}
	struct rlimit old, low;
	int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);

	close(lowest);
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = (rlim_t)lowest + 1;      /* room for exactly one more fd */
	setrlimit(RLIMIT_NOFILE, &low);
	sync_status cst = do_create(2, sp("bulk/emfile"));
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK(ok && cst == SYNC_OK, "EMFILE at CREATE: flush and retry (%s)", status_name(cst));
	CHECK(exists("bulk/d00/f") && exists("bulk/d19/f"), "the queued commits were published");
	CHECK(do_commit(2, 0, 0644, 0, 0) == SYNC_OK, "the retried create commits");
	staging_flush(&sess);
	CHECK(exists("bulk/emfile") && count_temps() == 0, "and is published");

	CHECK(do_delete(sp("bulk")) == SYNC_OK && do_delete(sp("f.txt")) == SYNC_OK &&
	    do_delete(sp("d")) == SYNC_OK && do_delete(sp("dd")) == SYNC_OK &&
	    do_delete(sp("r")) == SYNC_OK, "cleanup");
}

/* Stale temps are swept at any depth, and never through a link. */
static void
test_sweep(void)
{
	char p[256];
	struct stat osb;
	int fd;

	stat(outdir, &osb);
	put_dir("s1");
	put_dir("s1/s2");
	put_dir("s1/s2/s3");
	put_file(PATH_TEMP_PREFIX "a", "x", 1);
	put_file("s1/s2/s3/" PATH_TEMP_PREFIX "b", "x", 1);
	put_file("s1/s2/" PATH_TEMP_PREFIX "c", "x", 1);
	put_file("s1/keep", "x", 1);
	put_link("../outside", "s1/out");
	snprintf(p, sizeof p, "%s/" PATH_TEMP_PREFIX "outside", outdir);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	close(fd);
	CHECK(export_sweep_temps(&ex) == 3, "sweep removes the 3 planted temps");
	CHECK(!exists(PATH_TEMP_PREFIX "a") && !exists("s1/s2/s3/" PATH_TEMP_PREFIX "b") &&
	    !exists("s1/s2/" PATH_TEMP_PREFIX "c") && exists("s1/keep"), "only temps removed");
	CHECK(access(p, F_OK) == 0, "a temp name behind a link is not touched");
	unlink(p);
	utimensat(AT_FDCWD, outdir, (struct timespec[2]){ osb.st_atim, osb.st_mtim }, 0);
	CHECK(export_sweep_temps(&ex) == 0, "second sweep: nothing");
	CHECK(do_delete(sp("s1")) == SYNC_OK, "cleanup");
}

/* LIST order, attributes, resume, and the special cases. */
static void
test_list(void)
{
	static const char *const all[] = {
		"", "A", "a", "a/b", "a/c", "a/c/d", "a/c/e", "a.b", "a0", "b", "lnk", "z",
		"z/empty",
	};
	static const char *const sub[] = { "", "b", "c", "c/d", "c/e" };
	const size_t nall = sizeof all / sizeof all[0];
	list_res lr, tail;
	struct stat sb;
	const sync_entry *e;

	put_dir("a");
	put_file("a/b", "12345", 5);
	put_dir("a/c");
	put_file("a/c/d", "", 0);
	put_file("a/c/e", "", 0);
	put_file("a.b", "", 0);
	put_file("a0", "", 0);
	put_file("A", "", 0);
	put_file("b", "bee", 3);
	put_link("nowhere/at/all", "lnk");
	put_dir("z");
	put_dir("z/empty");
	put_file("a/c/" PATH_TEMP_PREFIX "hidden", "", 0);
	put_file(PATH_TEMP_PREFIX "hidden", "", 0);
	utimensat(ex.root_fd, "b", (struct timespec[2]){ { 0, UTIME_OMIT }, { 77, 88 } }, 0);

	CHECK(do_list(sp(""), 0, sp(""), &lr) == SYNC_OK && list_is(&lr, all, nall) &&
	    lr.list_res_u.ok.eof, "export listing in path_cmp order, temps hidden");
	int sorted = 1;
	for (u_int i = 1; i < ent_count(&lr); i++) {
		char prev[PATH_BUF];

		strcpy(prev, ent_path(&lr, i - 1));
		sorted &= path_cmp(prev, ent_path(&lr, i)) < 0;
	}
	CHECK(sorted, "strictly increasing by path_cmp");
	e = lr.list_res_u.ok.entries.entries_val;
	CHECK(fstat(ex.root_fd, &sb) == 0 && e[0].attr.type == SYNC_DIR &&
	    e[0].attr.mtime.sec == sb.st_mtim.tv_sec &&
	    e[0].attr.mtime.nsec == (u_int)sb.st_mtim.tv_nsec, "root entry: the export's attrs");
	CHECK(e[9].attr.type == SYNC_REG && e[9].attr.size == 3 && e[9].attr.mode == 0644 &&
	    e[9].attr.mtime.sec == 77 && e[9].attr.mtime.nsec == 88, "file attrs");
	CHECK(e[10].attr.type == SYNC_LNK && e[10].target.sync_path_len == 14 &&
	    memcmp(e[10].target.sync_path_val, "nowhere/at/all", 14) == 0 &&
	    e[10].attr.size == 14, "dangling link listed with its target");
	CHECK(e[2].attr.type == SYNC_DIR && e[2].target.sync_path_len == 0, "dir attrs");

	/* Resume after every entry reproduces the tail exactly. */
	int tails = 1;
	for (size_t k = 0; k < nall; k++) {
		list_res t;

		if (do_list(sp(""), 1, sp(all[k]), &t) != SYNC_OK ||
		    !list_is(&t, all + k + 1, nall - k - 1) || !t.list_res_u.ok.eof) {
			tails = 0;
			printf("# resume after '%s' gave %u entries\n", all[k], ent_count(&t));
		}
		free_list(&t);
	}
	CHECK(tails, "resume after each entry gives exactly the tail");
	CHECK(do_list(sp(""), 1, sp("a/bb"), &tail) == SYNC_OK &&
	    list_is(&tail, all + 4, nall - 4), "resume after a vanished entry");
	free_list(&tail);
	CHECK(do_list(sp(""), 1, sp("a/c/d/x/y"), &tail) == SYNC_OK &&
	    list_is(&tail, all + 6, nall - 6), "resume after a path below a file");
	free_list(&tail);
	free_list(&lr);

	CHECK(do_list(sp("a"), 0, sp(""), &lr) == SYNC_OK && list_is(&lr, sub, 5),
	    "listing a subdirectory: paths relative to it");
	free_list(&lr);
	CHECK(do_list(sp("b"), 0, sp(""), &lr) == SYNC_OK && ent_count(&lr) == 1 &&
	    lr.list_res_u.ok.eof && lr.list_res_u.ok.entries.entries_val[0].path.sync_path_len == 0 &&
	    lr.list_res_u.ok.entries.entries_val[0].attr.type == SYNC_REG, "listing a file: its root entry");
	free_list(&lr);
	CHECK(do_list(sp("nope"), 0, sp(""), &lr) == SYNC_ERR_NOENT &&
	    lr.list_res_u.ok.entries.entries_len == 0, "listing a missing path: NOENT");
	free_list(&lr);
	CHECK(do_list(sp("b/x"), 0, sp(""), &lr) == SYNC_ERR_NOTDIR, "below a file: NOTDIR");
	free_list(&lr);

	const char *names[] = { "a", "a.b", "a0", "A", "b", "lnk", "z" };
	int ok = 1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		ok &= do_delete(sp(names[i])) == SYNC_OK;
	CHECK(do_delete(sp(PATH_TEMP_PREFIX "hidden")) == SYNC_ERR_BADPATH,
	    "a temp name cannot be deleted by a client");
	unlinkat(ex.root_fd, PATH_TEMP_PREFIX "hidden", 0);
	CHECK(ok && !exists("a") && !exists("z"), "cleanup");
}

/* A page ends at SYNC_LIST_MAX entries; the next one continues exactly. */
static void
test_list_pages(void)
{
	const int nfiles = SYNC_LIST_MAX + 40;
	list_res p1, p2;
	int dfd, ok = 1;
	char name[32], last[PATH_BUF];

	put_dir("big");
	dfd = openat(ex.root_fd, "big", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < nfiles && ok; i++) {
		int fd;

		snprintf(name, sizeof name, "%06d", i);
		fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		ok = fd >= 0;
		close(fd);
	}
	close(dfd);
	CHECK(ok, "%d files created", nfiles);
	CHECK(do_list(sp("big"), 0, sp(""), &p1) == SYNC_OK &&
	    ent_count(&p1) == SYNC_LIST_MAX && !p1.list_res_u.ok.eof,
	    "first page: SYNC_LIST_MAX entries, not eof");
	strcpy(last, ent_path(&p1, ent_count(&p1) - 1));
	CHECK(strcmp(last, "131070") == 0, "first page ends at 131070 (got %s)", last);
	CHECK(do_list(sp("big"), 1, sp(last), &p2) == SYNC_OK &&
	    ent_count(&p2) == (u_int)(nfiles + 1 - SYNC_LIST_MAX) && p2.list_res_u.ok.eof &&
	    strcmp(ent_path(&p2, 0), "131071") == 0, "second page: the rest, eof");
	free_list(&p1);
	free_list(&p2);
	CHECK(do_delete(sp("big")) == SYNC_OK && !exists("big"), "delete a big directory");
}

/* Trees deeper than CONFINE_DEPTH_MAX are refused, not half-processed. */
static void
test_depth(void)
{
	char *p = malloc(3 * (CONFINE_DEPTH_MAX + 10)), full[256];
	size_t len = 0;
	list_res lr;
	int ok = 1;

	for (int i = 0; i < CONFINE_DEPTH_MAX + 5 && ok; i++) {
		if (len != 0)
			p[len++] = '/';
		p[len++] = 'd';
		p[len] = '\0';
		ok = mkdirat(ex.root_fd, p, 0755) == 0;
	}
	CHECK(ok, "deep tree built (%zu bytes)", len);
	CHECK(do_list(sp("d"), 0, sp(""), &lr) == SYNC_ERR_INVAL &&
	    lr.list_res_u.ok.entries.entries_len == 0, "list of a too-deep tree: INVAL");
	free_list(&lr);
	CHECK(do_list(sp(p + 2 * 10), 0, sp(""), &lr) == SYNC_OK, "list of its lower part works");
	free_list(&lr);
	CHECK(do_delete(sp("d")) == SYNC_ERR_INVAL, "delete of a too-deep tree: INVAL");
	free(p);
	snprintf(full, sizeof full, "%s/d", exdir);
	rm_tree(full);
	CHECK(!exists("d"), "cleanup");
}

static void
test_mkdir(void)
{
	struct stat sb;

	put_file("file", "x", 1);
	CHECK(do_mkdir(sp("m"), 0750) == SYNC_OK && lst("m", &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    (sb.st_mode & 07777) == 0750, "mkdir m 0750");
	CHECK(do_mkdir(sp("m"), 0700) == SYNC_OK && lst("m", &sb) == 0 &&
	    (sb.st_mode & 07777) == 0750, "mkdir existing dir: OK, mode untouched");
	CHECK(do_mkdir(sp("m/n"), 06777) == SYNC_OK && lst("m/n", &sb) == 0 &&
	    (sb.st_mode & 06000) == 0, "setuid/setgid stripped (%o)", (unsigned)(sb.st_mode & 07777));
	CHECK(do_mkdir(sp("file"), 0755) == SYNC_ERR_EXIST, "mkdir over a file: EXIST");
	CHECK(do_mkdir(sp("nope/x"), 0755) == SYNC_ERR_NOENT, "mkdir below a missing dir: NOENT");
	CHECK(do_mkdir(sp("file/x"), 0755) == SYNC_ERR_NOTDIR, "mkdir below a file: NOTDIR");
	CHECK(do_mkdir(sp(""), 0755) == SYNC_OK, "mkdir of the export root: OK");
	CHECK(do_delete(sp("m")) == SYNC_OK && do_delete(sp("file")) == SYNC_OK, "cleanup");
}

static void
test_symlink(void)
{
	char t[PATH_BUF];
	struct stat sb, sb2;
	ssize_t n;

	CHECK(do_symlink(sp("s"), sp("target1"), 100, 200) == SYNC_OK &&
	    (n = readlinkat(ex.root_fd, "s", t, sizeof t)) == 7 && memcmp(t, "target1", 7) == 0,
	    "symlink created");
	CHECK(lst("s", &sb) == 0 && sb.st_mtim.tv_sec == 100 && sb.st_mtim.tv_nsec == 200,
	    "its mtime");
	CHECK(do_symlink(sp("s"), sp("../../dangling/x"), 300, 0) == SYNC_OK &&
	    (n = readlinkat(ex.root_fd, "s", t, sizeof t)) == 16 &&
	    memcmp(t, "../../dangling/x", 16) == 0, "replaced; dangling target stored verbatim");
	CHECK(lst("s", &sb2) == 0 && sb2.st_ino != sb.st_ino && sb2.st_mtim.tv_sec == 300,
	    "replaced by a new inode (rename), new mtime");
	put_file("f", "x", 1);
	CHECK(do_symlink(sp("f"), sp("/abs"), 0, 0) == SYNC_OK && lst("f", &sb) == 0 &&
	    S_ISLNK(sb.st_mode), "link replaces a file");
	put_dir("dir");
	CHECK(do_symlink(sp("dir"), sp("x"), 0, 0) == SYNC_ERR_ISDIR && lst("dir", &sb) == 0 &&
	    S_ISDIR(sb.st_mode), "link over a directory: ISDIR, directory kept");
	CHECK(count_temps() == 0, "no temp left");
	CHECK(do_symlink(sp("e"), sp(""), 0, 0) == SYNC_ERR_INVAL, "empty target: INVAL");
	CHECK(do_symlink(sp("e"), ((sync_path){ 3, "a\0b" }), 0, 0) == SYNC_ERR_INVAL,
	    "target with NUL: INVAL");
	CHECK(do_symlink(sp("e"), sp("x"), 0, 1000000000) == SYNC_ERR_INVAL, "nsec 10^9: INVAL");
	CHECK(do_symlink(sp(""), sp("x"), 0, 0) == SYNC_ERR_INVAL, "link as export root: INVAL");
	CHECK(do_symlink(sp("nope/e"), sp("x"), 0, 0) == SYNC_ERR_NOENT, "in a missing dir: NOENT");
	CHECK(!exists("e") && count_temps() == 0, "nothing created by the failures");
	CHECK(do_delete(sp("s")) == SYNC_OK && do_delete(sp("f")) == SYNC_OK &&
	    do_delete(sp("dir")) == SYNC_OK, "cleanup");
}

static void
test_setattr(void)
{
	struct stat sb;

	put_file("f", "x", 1);
	put_dir("dir");
	CHECK(do_setattr(sp("f"), SYNC_SET_MODE, 04640, 0, 0) == SYNC_OK && lst("f", &sb) == 0 &&
	    (sb.st_mode & 07777) == 0640, "mode, setuid stripped");
	CHECK(do_setattr(sp("f"), SYNC_SET_MTIME, 0777, 555, 666) == SYNC_OK && lst("f", &sb) == 0 &&
	    (sb.st_mode & 07777) == 0640 && sb.st_mtim.tv_sec == 555 && sb.st_mtim.tv_nsec == 666,
	    "mtime only");
	CHECK(do_setattr(sp("dir"), SYNC_SET_MODE | SYNC_SET_MTIME, 07777, 9, 9) == SYNC_OK &&
	    lst("dir", &sb) == 0 && (sb.st_mode & 07777) == 0777 && sb.st_mtim.tv_sec == 9,
	    "directory mode: setuid, setgid and sticky stripped; mtime set");
	CHECK(do_setattr(sp(""), SYNC_SET_MTIME, 0, 4242, 1) == SYNC_OK &&
	    fstat(ex.root_fd, &sb) == 0 && sb.st_mtim.tv_sec == 4242 && sb.st_mtim.tv_nsec == 1,
	    "the export root itself");
	CHECK(do_setattr(sp(""), SYNC_SET_MODE, 0755, 0, 0) == SYNC_OK &&
	    fstat(ex.root_fd, &sb) == 0 && (sb.st_mode & 07777) == 0755, "export root mode");
	CHECK(do_setattr(sp("nope"), SYNC_SET_MTIME, 0, 1, 0) == SYNC_ERR_NOENT, "missing: NOENT");
	CHECK(do_setattr(sp("f"), 4, 0, 0, 0) == SYNC_ERR_INVAL, "unknown selector bit: INVAL");
	CHECK(do_setattr(sp("f"), SYNC_SET_MTIME, 0, 0, 1000000000) == SYNC_ERR_INVAL,
	    "nsec 10^9: INVAL");
	CHECK(do_delete(sp("f")) == SYNC_OK && do_delete(sp("dir")) == SYNC_OK, "cleanup");
}

static void
test_delete(void)
{
	put_dir("t");
	put_dir("t/a");
	put_dir("t/a/b");
	put_file("t/a/b/file", "x", 1);
	put_file("t/x", "x", 1);
	put_link("../../outside", "t/a/out");
	put_link("../outside/secret", "t/secret");
	put_dir("t/a/empty");
	CHECK(do_delete(sp("t")) == SYNC_OK && !exists("t"), "recursive delete");
	CHECK(do_delete(sp("t")) == SYNC_OK, "missing: OK");
	CHECK(do_delete(sp("t/a/b")) == SYNC_OK, "missing parent: OK");
	CHECK(do_delete(sp("")) == SYNC_ERR_INVAL, "the export root: INVAL");
	put_file("f", "x", 1);
	CHECK(do_delete(sp("f")) == SYNC_OK && !exists("f"), "a file");
	CHECK(mkfifoat(ex.root_fd, "fifo", 0600) == 0 && do_delete(sp("fifo")) == SYNC_OK &&
	    !exists("fifo"), "a fifo");
}

static void
test_read(void)
{
	static char data[10000];
	char *big;
	read_res r;
	int fd;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 7 + 3);
	put_file("f", data, sizeof data);
	CHECK(do_read(sp("f"), 0, 4096, &r) == SYNC_OK && r.read_res_u.ok.data.data_len == 4096 &&
	    memcmp(r.read_res_u.ok.data.data_val, data, 4096) == 0 && !r.read_res_u.ok.eof,
	    "first chunk");
	free_read(&r);
	CHECK(do_read(sp("f"), 8192, 4096, &r) == SYNC_OK && r.read_res_u.ok.data.data_len == 1808 &&
	    memcmp(r.read_res_u.ok.data.data_val, data + 8192, 1808) == 0 && r.read_res_u.ok.eof,
	    "last chunk, eof");
	free_read(&r);
	CHECK(do_read(sp("f"), 5904, 4096, &r) == SYNC_OK && r.read_res_u.ok.data.data_len == 4096 &&
	    r.read_res_u.ok.eof, "chunk ending exactly at the end: eof");
	free_read(&r);
	CHECK(do_read(sp("f"), 10000, 10, &r) == SYNC_OK && r.read_res_u.ok.data.data_len == 0 &&
	    r.read_res_u.ok.eof, "at the end: empty, eof");
	free_read(&r);
	CHECK(do_read(sp("f"), 0, 0, &r) == SYNC_OK && r.read_res_u.ok.data.data_len == 0 &&
	    !r.read_res_u.ok.eof, "count 0");
	free_read(&r);
	CHECK(do_read(sp("f"), (uint64_t)INT64_MAX, 10, &r) == SYNC_OK &&
	    r.read_res_u.ok.data.data_len == 0 && r.read_res_u.ok.eof, "offset 2^63-1: empty, eof");
	free_read(&r);
	CHECK(do_read(sp("f"), (uint64_t)INT64_MAX + 1, 10, &r) == SYNC_ERR_INVAL,
	    "offset 2^63: INVAL");
	free_read(&r);
	CHECK(do_read(sp("f"), UINT64_MAX, 10, &r) == SYNC_ERR_INVAL, "offset 2^64-1: INVAL");
	free_read(&r);

	big = calloc(1, SYNC_CHUNK_MAX + 100);
	fd = openat(ex.root_fd, "big", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, big, SYNC_CHUNK_MAX + 100) == SYNC_CHUNK_MAX + 100,
	    "big file");
	close(fd);
	free(big);
	CHECK(do_read(sp("big"), 0, UINT32_MAX, &r) == SYNC_OK &&
	    r.read_res_u.ok.data.data_len == SYNC_CHUNK_MAX && !r.read_res_u.ok.eof,
	    "count over SYNC_CHUNK_MAX: clamped");
	free_read(&r);

	put_dir("dir");
	put_link("f", "lnk");
	mkfifoat(ex.root_fd, "fifo", 0600);
	CHECK(do_read(sp("dir"), 0, 10, &r) == SYNC_ERR_ISDIR, "a directory: ISDIR");
	free_read(&r);
	CHECK(do_read(sp(""), 0, 10, &r) == SYNC_ERR_ISDIR, "the export root: ISDIR");
	free_read(&r);
	CHECK(do_read(sp("lnk"), 0, 10, &r) == SYNC_ERR_INVAL, "a link: INVAL, not followed");
	free_read(&r);
	CHECK(do_read(sp("fifo"), 0, 10, &r) == SYNC_ERR_INVAL, "a fifo: INVAL, no hang");
	free_read(&r);
	CHECK(do_read(sp("nope"), 0, 10, &r) == SYNC_ERR_NOENT, "missing: NOENT");
	free_read(&r);
	CHECK(do_delete(sp("f")) == SYNC_OK && do_delete(sp("big")) == SYNC_OK &&
	    do_delete(sp("dir")) == SYNC_OK && do_delete(sp("lnk")) == SYNC_OK &&
	    do_delete(sp("fifo")) == SYNC_OK, "cleanup");
}

/* SIGNATURE, CREATE with a basis, COPY, COMMIT with a hash, LIST with hashes. */
static void
test_delta(void)
{
	static char data[10000];
	unsigned char h[DELTA_HASH_LEN], bad[DELTA_HASH_LEN];
	char buf[8192], want[4000];
	signature_res sr;
	signature_ok *ok = &sr.signature_res_u.ok;
	list_res lr;
	int fds, hashed;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 13 + 5);
	put_file("base", data, sizeof data);
	put_dir("dir");
	put_link("base", "lnk");
	mkfifoat(ex.root_fd, "fifo", 0600);

	/* SIGNATURE */
	delta_strong(data + 8192, 1808, h);
	CHECK(do_signature(sp("base"), &sr) == SYNC_OK && ok->block_size == 2048 &&
	    ok->file_size == sizeof data && ok->weak.weak_len == 5,
	    "signature: 5 blocks of 2 KiB for 10000 bytes");
	CHECK(sr.status == SYNC_OK && ok->strong_size == DELTA_STRONG_MIN &&
	    ok->strong.strong_len == 5 * DELTA_STRONG_MIN,
	    "signature: 8-byte strong sums, packed (40 bytes for 5 blocks)");
	CHECK(sr.status == SYNC_OK &&
	    ok->weak.weak_val[0] == delta_weak((unsigned char *)data, 2048) &&
	    ok->weak.weak_val[4] == delta_weak((unsigned char *)data + 8192, 1808) &&
	    memcmp(ok->strong.strong_val + 4 * DELTA_STRONG_MIN, h, DELTA_STRONG_MIN) == 0,
	    "signature: weak and strong sums of each block, the last one short");
	free_signature(&sr);
	put_file("empty", "", 0);
	CHECK(do_signature(sp("empty"), &sr) == SYNC_OK && ok->weak.weak_len == 0 &&
	    ok->strong.strong_len == 0 &&
	    ok->file_size == 0, "signature of an empty file: no blocks");
	free_signature(&sr);
	CHECK(do_signature(sp("dir"), &sr) == SYNC_ERR_ISDIR, "signature of a directory: ISDIR");
	free_signature(&sr);
	CHECK(do_signature(sp(""), &sr) == SYNC_ERR_ISDIR, "signature of the export root: ISDIR");
	free_signature(&sr);
	CHECK(do_signature(sp("fifo"), &sr) == SYNC_ERR_INVAL, "signature of a fifo: INVAL, no hang");
	free_signature(&sr);
	CHECK(do_signature(sp("nope"), &sr) == SYNC_ERR_NOENT, "signature of nothing: NOENT");
	free_signature(&sr);

	/* CREATE with basis + COPY + WRITE + COMMIT with the right hash. */
	memcpy(want, data + 8192, 1808);
	memcpy(want + 1808, "xyz", 3);
	memcpy(want + 1811, data, 2048);
	delta_strong(want, 3859, h);
	CHECK(do_create_basis(1, sp("base")) == SYNC_OK, "create with basis");
	CHECK(do_copy(1, 8192, 1808, 0) == SYNC_OK && do_write(1, 1808, "xyz", 3) == SYNC_OK &&
	    do_copy(1, 0, 2048, 1811) == SYNC_OK && do_copy(1, sizeof data, 0, 0) == SYNC_OK,
	    "copy, write, copy, and an empty copy at the basis's end");
	CHECK(do_commit_hash(1, 3859, h, DELTA_HASH_LEN) == SYNC_OK, "commit with the right hash");
	staging_flush(&sess);
	CHECK(get_file("base", buf, sizeof buf) == 3859 && memcmp(buf, want, 3859) == 0,
	    "the new file is rebuilt from the old one and the literal");

	/* COPY out of bounds, without a basis, on unknown handles. */
	put_file("base", data, sizeof data);
	CHECK(do_create_basis(2, sp("base")) == SYNC_OK &&
	    do_copy(2, 0, sizeof data + 1, 0) == SYNC_ERR_INVAL, "copy past the basis's end: INVAL");
	CHECK(do_copy(2, 0, 1, 0) == SYNC_ERR_BADHANDLE &&
	    do_commit(2, 1, 0644, 0, 0) == SYNC_ERR_BADHANDLE, "the handle is failed");
	CHECK(do_create_basis(3, sp("base")) == SYNC_OK &&
	    do_copy(3, sizeof data + 1, 0, 0) == SYNC_ERR_INVAL, "copy starting past the end: INVAL");
	CHECK(do_create_basis(4, sp("base")) == SYNC_OK &&
	    do_copy(4, UINT64_MAX, 2, 0) == SYNC_ERR_INVAL, "copy at 2^64-1 (wraps): INVAL");
	CHECK(do_create_basis(5, sp("base")) == SYNC_OK &&
	    do_copy(5, 0, 10, (1ULL << 62) - 5) == SYNC_ERR_INVAL, "copy to beyond 2^62: INVAL");
	CHECK(do_create(6, sp("nobasis")) == SYNC_OK && do_copy(6, 0, 1, 0) == SYNC_ERR_INVAL,
	    "copy on a handle without a basis: INVAL");
	CHECK(do_copy(99, 0, 1, 0) == SYNC_ERR_BADHANDLE, "copy on an unknown handle: BADHANDLE");
	CHECK(do_commit(3, 0, 0644, 0, 0) == SYNC_ERR_BADHANDLE && do_abort(4) == SYNC_OK &&
	    do_abort(5) == SYNC_OK && do_commit(6, 0, 0644, 0, 0) == SYNC_ERR_BADHANDLE,
	    "failed handles: COMMIT fails, ABORT works");
	staging_flush(&sess);
	CHECK(!exists("nobasis") && count_temps() == 0, "failed copies leave nothing");

	/* A basis that cannot be one. */
	CHECK(do_create_basis(7, sp("missing")) == SYNC_ERR_NOENT, "missing basis: NOENT");
	CHECK(do_create_basis(8, sp("dir")) == SYNC_ERR_ISDIR, "a directory as basis: ISDIR");
	CHECK(do_create_basis(9, sp("fifo")) == SYNC_ERR_INVAL, "a fifo as basis: INVAL");
	CHECK(do_create_basis(10, sp("lnk")) == SYNC_ERR_INVAL, "a link as basis: INVAL");
	CHECK(count_temps() == 0, "refused bases leave no temp");

	/* The basis shrinks after CREATE. */
	CHECK(do_create_basis(11, sp("base")) == SYNC_OK, "create with basis");
	put_file("base", "x", 1);
	CHECK(do_copy(11, 0, 2048, 0) == SYNC_ERR_IO, "copy from a basis that shrank: IO");
	CHECK(do_abort(11) == SYNC_OK && count_temps() == 0, "abort");

	/* COMMIT hash mismatch and malformed hash. */
	memcpy(bad, h, sizeof bad);
	bad[0] ^= 1;
	CHECK(do_create(12, sp("hashed")) == SYNC_OK && do_write(12, 0, want, 3859) == SYNC_OK &&
	    do_commit_hash(12, 3859, bad, DELTA_HASH_LEN) == SYNC_ERR_CHECKSUM,
	    "commit with a wrong hash: CHECKSUM");
	CHECK(do_create(13, sp("hashed")) == SYNC_OK && do_write(13, 0, want, 3859) == SYNC_OK &&
	    do_commit_hash(13, 3859, h, DELTA_HASH_LEN - 1) == SYNC_ERR_INVAL,
	    "commit with a 15-byte hash: INVAL");
	staging_flush(&sess);
	CHECK(!exists("hashed") && count_temps() == 0, "a refused commit publishes nothing");

	/* The basis fd is closed by COMMIT, ABORT and session end. */
	fds = count_fds();
	CHECK(do_create_basis(14, sp("base")) == SYNC_OK && count_fds() == fds + 3,
	    "an open write with a basis holds three fds (parent, temp, basis)");
	CHECK(do_abort(14) == SYNC_OK && count_fds() == fds, "abort closes the basis");
	CHECK(do_create_basis(15, sp("base")) == SYNC_OK && do_copy(15, 0, 1, 0) == SYNC_OK &&
	    do_commit(15, 1, 0644, 0, 0) == SYNC_OK, "commit of a delta without a hash");
	staging_flush(&sess);
	CHECK(count_fds() == fds, "commit closes the basis");
	CHECK(do_create_basis(16, sp("base")) == SYNC_OK, "an open write with a basis, left open");
	staging_free(&sess);
	CHECK(count_fds() < fds && count_temps() == 0,
	    "session end closes the basis and removes the temp");

	/* LIST with hashes: regular files only, never the root entry. */
	put_file("base", data, sizeof data);
	delta_strong(data, sizeof data, h);
	CHECK(do_list_opt(sp(""), 0, sp(""), TRUE, &lr) == SYNC_OK, "list with hashes");
	hashed = 0;
	for (u_int i = 0; lr.status == SYNC_OK && i < ent_count(&lr); i++) {
		const sync_entry *e = &lr.list_res_u.ok.entries.entries_val[i];

		if (strcmp(ent_path(&lr, i), "base") == 0 && e->hash.sync_hash_len == DELTA_HASH_LEN &&
		    memcmp(e->hash.sync_hash_val, h, DELTA_HASH_LEN) == 0)
			hashed++;
		else if (e->hash.sync_hash_len != 0 && e->attr.type != SYNC_REG)
			hashed = -100;
		else if (e->hash.sync_hash_len != 0 && e->attr.size == 0 && i > 0)
			hashed++;       /* "empty": the hash of no bytes */
	}
	CHECK(hashed == 2, "files carry their XXH3-128, nothing else has a hash");
	free_list(&lr);
	CHECK(do_list(sp(""), 0, sp(""), &lr) == SYNC_OK &&
	    lr.list_res_u.ok.entries.entries_val[1].hash.sync_hash_len == 0,
	    "list without want_hash: no hashes");
	free_list(&lr);
	CHECK(do_list_opt(sp("base"), 0, sp(""), TRUE, &lr) == SYNC_OK && ent_count(&lr) == 1 &&
	    lr.list_res_u.ok.entries.entries_val[0].hash.sync_hash_len == 0,
	    "the root entry carries no hash");
	free_list(&lr);

	CHECK(do_delete(sp("base")) == SYNC_OK && do_delete(sp("empty")) == SYNC_OK &&
	    do_delete(sp("dir")) == SYNC_OK && do_delete(sp("lnk")) == SYNC_OK &&
	    do_delete(sp("fifo")) == SYNC_OK, "cleanup");
}

/* Forgets the session's batch accounting (as a BARRIER reply would). */
static void
reset_batch(void)
{
	barrier_ok r;

	session_take_barrier(&sess, &r);
	xdr_free((xdrproc_t)xdr_barrier_ok, (char *)&r);
}

/* Returns 1 if every itemised failure has status st (and there are n of them). */
static int
failures_are(unsigned int n, sync_status st)
{
	if (sess.batch_failed != n)
		return 0;
	for (unsigned int i = 0; i < sess.nfailures; i++)
		if (sess.failures[i].status != st)
			return 0;
	return 1;
}

/*
 * A failed syncfs: nothing of the group is published, inline or in the
 * background; and since the lost data may be any written so far, the files
 * queued after the group in flight and the open writes fail too.
 */
/*
 * CREATE reuses the parent directory of the previous CREATE by name; a
 * directory deleted and made again in between must be resolved afresh, or
 * the file would be renamed into the removed one and lost.
 */
static void
test_parent_reuse(void)
{
	char buf[8];
	struct stat sb;

	put_dir("pr");
	reset_batch();
	CHECK(do_create(1, sp("pr/a")) == SYNC_OK && do_write(1, 0, "a", 1) == SYNC_OK &&
	    do_commit(1, 1, 0644, 0, 0) == SYNC_OK && do_create(2, sp("pr/b")) == SYNC_OK &&
	    do_write(2, 0, "b", 1) == SYNC_OK, "two files in pr, the second still open");
	CHECK(do_delete(sp("pr")) == SYNC_OK && !exists("pr"), "pr deleted (after a's rename)");
	CHECK(do_mkdir(sp("pr"), 0755) == SYNC_OK && do_create(3, sp("pr/c")) == SYNC_OK &&
	    do_write(3, 0, "c", 1) == SYNC_OK && do_commit(3, 1, 0644, 0, 0) == SYNC_OK,
	    "pr made again, c written into it");
	staging_flush(&sess);
	CHECK(get_file("pr/c", buf, sizeof buf) == 1 && buf[0] == 'c', "c is in the new pr");
	CHECK(do_commit(2, 1, 0644, 0, 0) == SYNC_OK, "b's commit queues (its dir is gone)");
	staging_flush(&sess);
	CHECK(lst("pr/b", &sb) != 0 && !exists("pr/a") && count_temps() == 0,
	    "b was never published into the new pr, nothing left behind");
	CHECK(do_delete(sp("pr")) == SYNC_OK, "cleanup");
	reset_batch();
}

static void
test_syncfs_failure(void)
{
	char p[64];
	int ok = 1;

	put_dir("io");
	reset_batch();
	CHECK(do_create(1, sp("io/a")) == SYNC_OK && do_write(1, 0, "a", 1) == SYNC_OK &&
	    do_commit(1, 1, 0644, 0, 0) == SYNC_OK && do_create(2, sp("io/b")) == SYNC_OK &&
	    do_commit(2, 0, 0644, 0, 0) == SYNC_OK, "two commits queued");
	atomic_store(&syncfs_failures, 1);
	staging_flush(&sess);
	CHECK(failures_are(2, SYNC_ERR_IO) && !exists("io/a") && !exists("io/b") &&
	    count_temps() == 0, "inline: first syncfs fails, nothing renamed, both IO, temps gone");

	reset_batch();
	CHECK(do_create(7, sp("io/open")) == SYNC_OK && do_write(7, 0, "o", 1) == SYNC_OK,
	    "an open write spans the failure");
	for (int i = 0; i < 1024; i++) {
		snprintf(p, sizeof p, "io/g%04d", i);
		if (i == 1023)
			atomic_store(&syncfs_failures, 1);      /* the flusher's first syncfs */
		ok &= do_create(1, sp(p)) == SYNC_OK && do_write(1, 0, p, 5) == SYNC_OK &&
		    do_commit(1, 5, 0644, 0, 0) == SYNC_OK;
	}
	ok &= do_create(1, sp("io/x0")) == SYNC_OK && do_commit(1, 0, 0644, 0, 0) == SYNC_OK &&
	    do_create(1, sp("io/x1")) == SYNC_OK && do_commit(1, 0, 0644, 0, 0) == SYNC_OK;
	CHECK(ok, "1024 commits handed to the flusher, 2 more queued");
	staging_flush(&sess);
	CHECK(failures_are(1026, SYNC_ERR_IO) && !exists("io/g0000") && !exists("io/g1023") &&
	    !exists("io/x0") && !exists("io/x1"),
	    "background: the group and the files queued behind it fail with IO, none published");
	CHECK(do_commit(7, 1, 0644, 0, 0) == SYNC_ERR_IO && count_temps() == 0,
	    "the open write's COMMIT fails with IO; no temp left");

	reset_batch();
	CHECK(do_create(1, sp("io/later")) == SYNC_OK && do_commit(1, 0, 0644, 0, 0) == SYNC_OK,
	    "a file written after the failure");
	staging_flush(&sess);
	CHECK(failures_are(0, SYNC_OK) && exists("io/later"), "is published");
	CHECK(do_delete(sp("io")) == SYNC_OK, "cleanup");
	reset_batch();
}

/* Returns the number of open file descriptors of this process. */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Builds base/{export,outside}, with files in outside/ to guard. */
static void
setup(void)
{
	char p[256];
	int fd;

	/* tmpfs when there is one: the paging test creates 131 112 files. */
	snprintf(base, sizeof base, "%s/rpcsync-fileops.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(exdir, sizeof exdir, "%s/export", base);
	snprintf(outdir, sizeof outdir, "%s/outside", base);
	mkdir(exdir, 0755);
	mkdir(outdir, 0755);
	snprintf(p, sizeof p, "%s/secret", outdir);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "secret\n", 7) != 7)
		exit(2);
	close(fd);
	snprintf(p, sizeof p, "%s/dir", outdir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/dir/file", outdir);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	memset(&ex, 0, sizeof ex);
	ex.name = "test";
	ex.path = exdir;
	ex.root_fd = open(exdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ex.root_fd < 0)
		exit(2);
	session_init(&sess, "unit", NULL, 0);
	sess.export = &ex;
}

int
main(void)
{
	char *before, *after;
	struct stat sb;
	int fds;

	log_init("server_fileops", 0);
	log_set_level(getenv("TEST_DEBUG") != NULL ? LOG_DEBUG : LOG_ERR);
	umask(0);
	setup();
	before = snapshot_outside();
	fds = count_fds();

	test_bad_paths();
	test_planted_links();
	test_hardlink();
	test_write_path();
	test_parent_reuse();
	test_syncfs_failure();
	test_compressed_write();
	test_sweep();
	test_list();
	test_list_pages();
	test_depth();
	test_mkdir();
	test_symlink();
	test_setattr();
	test_delete();
	test_read();
	test_delta();

	session_end(&sess);
	CHECK(count_fds() == fds, "no descriptor leaked (%d open, %d at start)", count_fds(), fds);
	after = snapshot_outside();
	CHECK(strcmp(before, after) == 0, "outside/ unchanged (names, modes, mtimes, contents)");
	if (strcmp(before, after) != 0)
		printf("# before:\n%s# after:\n%s", before, after);
	CHECK(fstatat(ex.root_fd, ".", &sb, 0) == 0 && count_temps() == 0,
	    "no temp left in the export");
	free(before);
	free(after);
	close(ex.root_fd);
	rm_tree(base);
	return check_done();
}
