/*
 * gencorpus.c -- the benchmark's corpora, and the edits it makes to them.
 *
 *   gencorpus tree DIR NFILES TOTAL SEED       text-like files in nested dirs
 *   gencorpus random DIR NFILES SIZE SEED      NFILES files of SIZE random bytes
 *   gencorpus overwrite FILE OFFSET LEN SEED   replace LEN bytes at OFFSET
 *   gencorpus insert FILE OFFSET LEN SEED      insert LEN bytes at OFFSET
 *
 * Why it exists: a benchmark is only comparable run to run if its input is
 * the same, and a shell loop over 100,000 files takes minutes.  So this is
 * one C program whose output depends on its arguments alone: a splitmix64
 * generator seeded with SEED decides every size, name, byte, mode and
 * (nanosecond) mtime.  The same arguments give a byte-identical tree.
 *
 * "tree": NFILES files whose sizes are log-normal (median 4 KiB before
 * scaling, sigma 1.34, i.e. a long tail of larger files), then scaled so that
 * they add up to exactly TOTAL bytes; content is lines of words (text-like);
 * about 25 files per directory in a random tree of directories at most 6
 * deep.  "random": incompressible data, the worst case for any transfer.
 * "overwrite" and "insert" make the two kinds of edit the delta scenarios
 * need, and give the file a fixed new mtime so every tool sees a change.
 *
 * DIR must not exist; it is created.  Exit status 0, or 1 after a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POOL_SIZE     (16u << 20)     /* text pool that files are cut from */
#define FILE_MAX      (16u << 20)     /* largest "tree" file before scaling */
#define FILES_PER_DIR 25
#define DEPTH_MAX     6
#define IO_CHUNK      (1u << 20)
#define MTIME_BASE    1704067200      /* 2024-01-01T00:00:00Z */
#define MTIME_EDIT    1717200000      /* 2024-06-01: mtime of an edited file */
#define LOGN_MU       8.317766166719343  /* ln(4096): median 4 KiB */
#define LOGN_SIGMA    1.34            /* mean ~2.45 x median, as in real trees */

/* splitmix64: small, fast, and the same sequence everywhere. */
struct rng {
	uint64_t s;
};

/* Returns the next 64 random bits of r. */
static uint64_t
rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Returns a uniform number in [0, n); n > 0. */
static uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* Returns a uniform double in (0, 1]. */
static double
rng_unit(struct rng *r)
{
	return ((double)(rng_next(r) >> 11) + 1.0) / 9007199254740992.0;
}

/* Returns a standard normal deviate (Box-Muller, one of the pair). */
static double
rng_normal(struct rng *r)
{
	double u = rng_unit(r), v = rng_unit(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Fills buf[0..n) with random bytes from r. */
static void
rng_fill(struct rng *r, unsigned char *buf, size_t n)
{
	size_t i;
	uint64_t x;

	for (i = 0; i + 8 <= n; i += 8) {
		x = rng_next(r);
		memcpy(buf + i, &x, 8);
	}
	if (i < n) {
		x = rng_next(r);
		memcpy(buf + i, &x, n - i);
	}
}

/* Parses s as an unsigned decimal number; exits with a message if it is not. */
static uint64_t
parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-') {
		fprintf(stderr, "gencorpus: %s: not a number: %s\n", what, s);
		exit(1);
	}
	return v;
}

/* Writes all n bytes of buf to fd.  Returns 0, or -1 with errno set. */
static int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sets the mtime (and atime) of path to sec.nsec; symlinks are not followed. */
static int
set_mtime(const char *path, int64_t sec, long nsec)
{
	struct timespec ts[2] = {{(time_t)sec, nsec}, {(time_t)sec, nsec}};

	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

/* Reports what failed on path with errno's text and returns 1. */
static int
fail(const char *what, const char *path)
{
	fprintf(stderr, "gencorpus: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

/*
 * Fills pool[0..n) with lines of words drawn from a small vocabulary:
 * text that looks like source or logs (compressible, many distinct lines).
 */
static void
make_text_pool(struct rng *r, char *pool, size_t n)
{
	static const char *const words[] = {
	    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as",
	    "with", "was", "on", "be", "by", "this", "are", "or", "from", "at",
	    "file", "sync", "server", "client", "error", "return", "static",
	    "const", "struct", "int", "char", "void", "if", "else", "while",
	    "buffer", "length", "offset", "request", "reply", "status", "path",
	    "directory", "mode", "time", "count", "value", "index", "result",
	    "data", "write", "read", "open", "close", "free", "size", "next",
	    "{", "}", "(", ")", ";", "=", "==", "->", "0", "1", "NULL",
	    "2024-01-01", "INFO", "DEBUG", "WARN", "connection", "accepted",
	    "timeout", "retry", "batch", "commit", "rename", "list", "entry",
	};
	const size_t nwords = sizeof words / sizeof words[0];
	size_t pos = 0, len, col = 0;
	const char *w;

	while (pos < n) {
		w = words[rng_below(r, nwords)];
		len = strlen(w);
		if (pos + len + 1 > n)
			len = n - pos - 1;
		memcpy(pool + pos, w, len);
		pos += len;
		col += len + 1;
		if (pos < n)
			pool[pos++] = (col > 60 + rng_below(r, 20)) ? '\n' : ' ';
		if (pool[pos - 1] == '\n')
			col = 0;
	}
}

/* One directory of the generated tree. */
struct gdir {
	char *path;    /* DIR/... */
	int   depth;   /* 0 for DIR itself */
};

/* Writes size bytes of text (cut from pool at a random offset) to path. */
static int
write_text_file(struct rng *r, const char *pool, const char *path,
    uint64_t size, mode_t mode)
{
	uint64_t done = 0, off = rng_below(r, POOL_SIZE), n;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0)
		return fail("create", path);
	while (done < size) {
		n = POOL_SIZE - off;
		if (n > size - done)
			n = size - done;
		if (write_all(fd, pool + off, n) < 0) {
			close(fd);
			return fail("write", path);
		}
		done += n;
		off = 0;
	}
	if (fchmod(fd, mode) < 0) {   /* mode without the umask */
		close(fd);
		return fail("chmod", path);
	}
	if (close(fd) < 0)
		return fail("close", path);
	return 0;
}

/*
 * "tree": creates dir with nfiles text-like files adding up to exactly total
 * bytes, in a nested directory tree.  Returns 0 or 1 (reported).
 */
static int
gen_tree(const char *dir, uint64_t nfiles, uint64_t total, uint64_t seed)
{
	static const char *const ext[] = {"c", "h", "txt", "md", "log", "json"};
	struct rng r = {seed};
	uint64_t *sizes = NULL, sum = 0, ndirs, i, j, p;
	struct gdir *dirs = NULL;
	char *pool = NULL, path[4096];
	double s;
	mode_t mode;
	int rc = 1;

	if (nfiles == 0 || nfiles > 10000000) {
		fprintf(stderr, "gencorpus: NFILES must be 1..10000000\n");
		return 1;
	}
	ndirs = nfiles / FILES_PER_DIR + 1;
	sizes = calloc(nfiles, sizeof *sizes);
	dirs = calloc(ndirs, sizeof *dirs);
	pool = malloc(POOL_SIZE);
	if (sizes == NULL || dirs == NULL || pool == NULL) {
		fprintf(stderr, "gencorpus: out of memory\n");
		goto out;
	}
	make_text_pool(&r, pool, POOL_SIZE);

	/* Sizes: log-normal, capped, then scaled to add up to total exactly. */
	for (i = 0; i < nfiles; i++) {
		s = exp(LOGN_MU + LOGN_SIGMA * rng_normal(&r));
		sizes[i] = s > FILE_MAX ? FILE_MAX : (uint64_t)s;
		sum += sizes[i];
	}
	p = 0;
	for (i = 0; i < nfiles; i++) {
		sizes[i] = (uint64_t)((double)sizes[i] * (double)total / (double)sum);
		p += sizes[i];
	}
	for (i = 0; p < total; i = (i + 1) % nfiles, p++)   /* rounding leftovers */
		sizes[i]++;

	/* Directories: each new one goes under a random earlier one. */
	if (mkdir(dir, 0755) < 0) {
		fail("mkdir", dir);
		goto out;
	}
	dirs[0].path = strdup(dir);
	if (dirs[0].path == NULL)
		goto oom;
	for (j = 1; j < ndirs; j++) {
		p = rng_below(&r, j);
		if (dirs[p].depth >= DEPTH_MAX)
			p = 0;
		if (asprintf(&dirs[j].path, "%s/dir%05" PRIu64, dirs[p].path, j) < 0) {
			dirs[j].path = NULL;
			goto oom;
		}
		dirs[j].depth = dirs[p].depth + 1;
		if (mkdir(dirs[j].path, 0755) < 0) {
			fail("mkdir", dirs[j].path);
			goto out;
		}
	}

	/* Files: a random directory each; 1 in 16 executable, 1 in 64 private. */
	for (i = 0; i < nfiles; i++) {
		p = rng_below(&r, ndirs);
		j = rng_below(&r, 64);
		mode = j == 0 ? 0600 : j < 4 ? 0755 : 0644;
		if ((size_t)snprintf(path, sizeof path, "%s/f%06" PRIu64 ".%s",
		    dirs[p].path, i, ext[rng_below(&r, 6)]) >= sizeof path) {
			fprintf(stderr, "gencorpus: path too long\n");
			goto out;
		}
		if (write_text_file(&r, pool, path, sizes[i], mode) != 0)
			goto out;
		if (set_mtime(path, MTIME_BASE + (int64_t)i * 37,
		    (long)rng_below(&r, 1000000000)) < 0) {
			fail("utimensat", path);
			goto out;
		}
	}

	/* Directory mtimes last, children (higher index) before parents. */
	for (j = ndirs; j-- > 0;) {
		if (set_mtime(dirs[j].path, MTIME_BASE + 86400 + (int64_t)j,
		    (long)rng_below(&r, 1000000000)) < 0) {
			fail("utimensat", dirs[j].path);
			goto out;
		}
	}
	rc = 0;
	goto out;
oom:
	fprintf(stderr, "gencorpus: out of memory\n");
out:
	if (dirs != NULL)
		for (j = 0; j < ndirs; j++)
			free(dirs[j].path);
	free(dirs);
	free(sizes);
	free(pool);
	return rc;
}

/*
 * "random": creates dir with nfiles files blobNN.bin of size random bytes
 * each (file i from seed + i).  Returns 0 or 1 (reported).
 */
static int
gen_random(const char *dir, uint64_t nfiles, uint64_t size, uint64_t seed)
{
	unsigned char *buf = malloc(IO_CHUNK);
	char path[4096];
	struct rng r;
	uint64_t i, done, n;
	int fd = -1, rc = 1;

	if (buf == NULL) {
		fprintf(stderr, "gencorpus: out of memory\n");
		return 1;
	}
	if (mkdir(dir, 0755) < 0) {
		fail("mkdir", dir);
		goto out;
	}
	for (i = 0; i < nfiles; i++) {
		r.s = seed + i;
		if ((size_t)snprintf(path, sizeof path, "%s/blob%02" PRIu64 ".bin",
		    dir, i) >= sizeof path) {
			fprintf(stderr, "gencorpus: path too long\n");
			goto out;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			fail("create", path);
			goto out;
		}
		for (done = 0; done < size; done += n) {
			n = size - done < IO_CHUNK ? size - done : IO_CHUNK;
			rng_fill(&r, buf, n);
			if (write_all(fd, buf, n) < 0) {
				fail("write", path);
				goto out;
			}
		}
		if (close(fd) < 0) {
			fd = -1;
			fail("close", path);
			goto out;
		}
		fd = -1;
		if (set_mtime(path, MTIME_BASE + (int64_t)i * 3600, 123456789) < 0) {
			fail("utimensat", path);
			goto out;
		}
	}
	if (set_mtime(dir, MTIME_BASE + 86400, 0) < 0) {
		fail("utimensat", dir);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/*
 * "overwrite": replaces len bytes of file at offset with random bytes (the
 * size is unchanged; offset + len must not pass the end) and sets the edit
 * mtime.  Returns 0 or 1 (reported).
 */
static int
edit_overwrite(const char *file, uint64_t offset, uint64_t len, uint64_t seed)
{
	struct rng r = {seed};
	unsigned char *buf = malloc(len > 0 ? len : 1);
	struct stat st;
	int fd, rc = 1;

	if (buf == NULL) {
		fprintf(stderr, "gencorpus: out of memory\n");
		return 1;
	}
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fail("open", file);
		goto out;
	}
	if (offset > (uint64_t)st.st_size || len > (uint64_t)st.st_size - offset) {
		fprintf(stderr, "gencorpus: %s: edit past the end\n", file);
		goto out;
	}
	rng_fill(&r, buf, len);
	if (pwrite(fd, buf, len, (off_t)offset) != (ssize_t)len) {
		fail("pwrite", file);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = fail("close", file);
	if (rc == 0 && set_mtime(file, MTIME_EDIT, 0) < 0)
		rc = fail("utimensat", file);
	free(buf);
	return rc;
}

/* Copies n bytes (or to EOF if n is UINT64_MAX) from in to out through buf. */
static int
copy_bytes(int in, int out, unsigned char *buf, uint64_t n)
{
	ssize_t got;
	size_t want;

	while (n > 0) {
		want = n < IO_CHUNK ? (size_t)n : IO_CHUNK;
		got = read(in, buf, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			return n == UINT64_MAX ? 0 : (errno = EIO, -1);
		if (write_all(out, buf, (size_t)got) < 0)
			return -1;
		if (n != UINT64_MAX)
			n -= (uint64_t)got;
	}
	return 0;
}

/*
 * "insert": makes file its first offset bytes, then len random bytes, then
 * the rest (written to FILE.tmp, renamed over file, same mode), and sets the
 * edit mtime.  Returns 0 or 1 (reported).
 */
static int
edit_insert(const char *file, uint64_t offset, uint64_t len, uint64_t seed)
{
	struct rng r = {seed};
	unsigned char *buf = malloc(IO_CHUNK), *ins = malloc(len > 0 ? len : 1);
	char tmp[4096];
	struct stat st;
	int in = -1, out = -1, rc = 1;

	if (buf == NULL || ins == NULL) {
		fprintf(stderr, "gencorpus: out of memory\n");
		goto done;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", file) >= sizeof tmp) {
		fprintf(stderr, "gencorpus: path too long\n");
		goto done;
	}
	in = open(file, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0) {
		fail("open", file);
		goto done;
	}
	if (offset > (uint64_t)st.st_size) {
		fprintf(stderr, "gencorpus: %s: offset past the end\n", file);
		goto done;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0) {
		fail("create", tmp);
		goto done;
	}
	rng_fill(&r, ins, len);
	if (copy_bytes(in, out, buf, offset) < 0 || write_all(out, ins, len) < 0
	    || copy_bytes(in, out, buf, UINT64_MAX) < 0) {
		fail("copy to", tmp);
		goto done;
	}
	if (close(out) < 0) {
		out = -1;
		fail("close", tmp);
		goto done;
	}
	out = -1;
	if (set_mtime(tmp, MTIME_EDIT, 0) < 0 || rename(tmp, file) < 0) {
		fail("publish", tmp);
		goto done;
	}
	rc = 0;
done:
	if (out >= 0) {
		close(out);
		unlink(tmp);
	}
	if (in >= 0)
		close(in);
	free(ins);
	free(buf);
	return rc;
}

/* Prints the usage text to stderr and returns 1. */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: gencorpus tree DIR NFILES TOTAL SEED\n"
	    "       gencorpus random DIR NFILES SIZE SEED\n"
	    "       gencorpus overwrite FILE OFFSET LEN SEED\n"
	    "       gencorpus insert FILE OFFSET LEN SEED\n");
	return 1;
}

/* Runs the subcommand argv[1] (see the top); returns its exit status. */
int
main(int argc, char **argv)
{
	uint64_t a, b, seed;

	if (argc != 6)
		return usage();
	a = parse_u64(argv[3], "third argument");
	b = parse_u64(argv[4], "fourth argument");
	seed = parse_u64(argv[5], "SEED");
	umask(022);
	if (strcmp(argv[1], "tree") == 0)
		return gen_tree(argv[2], a, b, seed);
	if (strcmp(argv[1], "random") == 0)
		return gen_random(argv[2], a, b, seed);
	if (strcmp(argv[1], "overwrite") == 0)
		return edit_overwrite(argv[2], a, b, seed);
	if (strcmp(argv[1], "insert") == 0)
		return edit_insert(argv[2], a, b, seed);
	return usage();
}
