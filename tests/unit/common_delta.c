/*
 * common_delta.c -- unit tests for the delta engine (common/delta.c).
 *
 * The engine decides what a changed file costs on the wire and, more
 * importantly, whether the server rebuilds it exactly; so every scenario
 * here rebuilds the new file from the old one and the ops alone and
 * compares it byte for byte, checks that the ops tile the file in order,
 * and pins down how much is sent as literal data.  Each scenario runs twice:
 * with the default windows and with tiny ones, so that the matcher's window
 * refills and literal splitting happen inside small files too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xxhash.h>

#include "check.h"
#include "delta.h"

/* What one match produced. */
struct result {
	int            rc;
	unsigned char *out;             /* rebuilt new file */
	size_t         ops, copies, literals;
	uint64_t       copied, literal;
	uint64_t       next;            /* offset the next op must start at */
	int            tiled;           /* ops came in order, contiguous, non-empty */
	int            in_bounds;       /* every COPY lay inside the basis */
	unsigned char  hash[DELTA_HASH_LEN];
	const unsigned char *old;
	size_t         oldlen, newlen;
	int            stop_after;      /* > 0: stop after this many ops */
};

/* A deterministic byte stream (xorshift), so failures reproduce. */
static void
fill_random(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* Returns an fd (memfd) holding the n bytes at p, offset 0; exits on failure. */
static int
mem_fd(const void *p, size_t n)
{
	int fd = memfd_create("delta", MFD_CLOEXEC);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n)) {
		perror("memfd");
		exit(2);
	}
	return fd;
}

/* The delta_emit_fn of the tests: checks and applies each op to r->out. */
static int
apply(void *ctx, const struct delta_op *op)
{
	struct result *r = ctx;

	r->ops++;
	if (op->offset != r->next || op->length == 0 || op->offset + op->length > r->newlen)
		r->tiled = 0;
	if (op->type == DELTA_COPY) {
		r->copies++;
		r->copied += op->length;
		if (op->basis_offset > r->oldlen || op->length > r->oldlen - op->basis_offset)
			r->in_bounds = 0;
		else if (r->tiled)
			memcpy(r->out + op->offset, r->old + op->basis_offset, op->length);
	} else {
		r->literals++;
		r->literal += op->length;
		if (r->tiled)
			memcpy(r->out + op->offset, op->data, op->length);
	}
	r->next = op->offset + op->length;
	return r->stop_after > 0 && r->ops >= (size_t)r->stop_after;
}

/* A signature with the storage of its sums (sig points into it). */
struct signed_file {
	struct delta_sig sig;
	uint32_t        *weak;
	unsigned char   *strong;
};

/*
 * Signs the first len bytes of fd into f with block_size and strong_size
 * (0: syncd's rules for len).  Exits on failure.
 */
static void
sign(int fd, size_t len, uint32_t block_size, uint32_t strong_size, struct signed_file *f)
{
	memset(f, 0, sizeof *f);
	f->sig.block_size = block_size != 0 ? block_size : delta_block_size(len);
	f->sig.strong_size = strong_size != 0 ? strong_size :
	    delta_strong_size(len, f->sig.block_size);
	f->sig.file_size = len;
	f->sig.n = (size_t)delta_block_count(len, f->sig.block_size);
	f->weak = calloc(f->sig.n + 1, sizeof *f->weak);
	f->strong = calloc(f->sig.n + 1, f->sig.strong_size);
	if (f->weak == NULL || f->strong == NULL ||
	    delta_signature_fd(fd, len, f->sig.block_size, f->sig.strong_size, f->weak,
	    f->strong) != 0) {
		perror("signature");
		exit(2);
	}
	f->sig.weak = f->weak;
	f->sig.strong = f->strong;
}

/* Frees what sign() allocated. */
static void
unsign(struct signed_file *f)
{
	free(f->weak);
	free(f->strong);
	memset(f, 0, sizeof *f);
}

/*
 * Signs old (strong sums of strong_size bytes, 0: syncd's rule), matches
 * new against it with opts, and rebuilds.  Fills r (caller frees r->out).
 * Exits on setup failure.
 */
static void
run_sized(const unsigned char *old, size_t oldlen, const unsigned char *new, size_t newlen,
    const struct delta_match_opts *opts, uint32_t strong_size, struct result *r,
    int stop_after)
{
	struct signed_file f;
	struct delta_index *ix;
	int ofd = mem_fd(old, oldlen), nfd = mem_fd(new, newlen);

	memset(r, 0, sizeof *r);
	r->tiled = r->in_bounds = 1;
	r->old = old;
	r->oldlen = oldlen;
	r->newlen = newlen;
	r->stop_after = stop_after;
	r->out = calloc(1, newlen + 1);
	if (r->out == NULL)
		exit(2);
	sign(ofd, oldlen, 0, strong_size, &f);
	if ((ix = delta_index_new(&f.sig)) == NULL) {
		perror("index");
		exit(2);
	}
	r->rc = delta_match_fd(ix, nfd, newlen, opts, apply, r, r->hash);
	delta_index_free(ix);
	unsign(&f);
	close(ofd);
	close(nfd);
}

/* run_sized() with syncd's strong sum length. */
static void
run(const unsigned char *old, size_t oldlen, const unsigned char *new, size_t newlen,
    const struct delta_match_opts *opts, struct result *r, int stop_after)
{
	run_sized(old, oldlen, new, newlen, opts, 0, r, stop_after);
}

/* The tiny windows: many refills and literal splits even in small files. */
static const struct delta_match_opts tiny = { .literal_max = 777, .read_size = 1 };

/*
 * Runs one scenario with default and tiny windows (syncd's strong sum
 * length), and with strong sums cut to 4 bytes and left whole (16), and
 * checks what always holds: success, tiling, bounds, exact rebuild,
 * whole-file hash, and the same matches every time.  Returns the first
 * run's result in *out (caller frees out->out).
 */
static void
scenario(const char *what, const unsigned char *old, size_t oldlen,
    const unsigned char *new, size_t newlen, struct result *out)
{
	static const struct { const struct delta_match_opts *opts; uint32_t strong; const char *how; }
	    pass[] = {
		{ NULL, 0, "default windows" },
		{ &tiny, 0, "tiny windows" },
		{ NULL, 4, "4-byte strong sums" },
		{ NULL, DELTA_HASH_LEN, "16-byte strong sums" },
	};
	unsigned char want[DELTA_HASH_LEN];
	struct result r;

	delta_strong(new, newlen, want);
	for (size_t k = 0; k < sizeof pass / sizeof pass[0]; k++) {
		const char *how = pass[k].how;

		run_sized(old, oldlen, new, newlen, pass[k].opts, pass[k].strong, &r, 0);
		CHECK(r.rc == DELTA_OK, "%s (%s): match succeeds", what, how);
		CHECK(r.tiled && r.next == newlen, "%s (%s): ops tile the new file in order",
		    what, how);
		CHECK(r.in_bounds, "%s (%s): every COPY lies inside the basis", what, how);
		CHECK(memcmp(r.out, new, newlen) == 0, "%s (%s): rebuild equals the new file",
		    what, how);
		CHECK(memcmp(r.hash, want, DELTA_HASH_LEN) == 0,
		    "%s (%s): whole-file hash is XXH3-128 of the new file", what, how);
		if (k > 0) {
			CHECK(r.literal == out->literal && r.copied == out->copied,
			    "%s (%s): the same matches (%llu literal)", what, how,
			    (unsigned long long)r.literal);
			free(r.out);
		} else {
			*out = r;
		}
	}
}

/* Builds old[0..a) + ins[0..n) + old[b..oldlen) into a fresh buffer of *len bytes. */
static unsigned char *
splice(const unsigned char *old, size_t oldlen, size_t a, size_t b,
    const unsigned char *ins, size_t n, size_t *len)
{
	unsigned char *p = malloc(a + n + (oldlen - b) + 1);

	if (p == NULL)
		exit(2);
	memcpy(p, old, a);
	memcpy(p + a, ins, n);
	memcpy(p + a + n, old + b, oldlen - b);
	*len = a + n + (oldlen - b);
	return p;
}

/* ---- tests ---------------------------------------------------------- */

/* The weak sum: documented vector, and rolling == recomputation everywhere. */
static void
test_weak(void)
{
	static const size_t lens[] = { 1, 2, 3, 64, 2048, 5000 };
	unsigned char buf[20000];
	int all;

	/* "abc": a = 128+129+130 = 387, b = 3*128 + 2*129 + 130 = 772. */
	CHECK(delta_weak((const unsigned char *)"abc", 3) == (387u | 772u << 16),
	    "weak(\"abc\") follows the documented formula (0x%08x)",
	    delta_weak((const unsigned char *)"abc", 3));
	CHECK(delta_weak(NULL, 0) == 0, "weak of no bytes is 0");
	fill_random(buf, sizeof buf, 1);
	memset(buf + 7000, 0xff, 3000);        /* saturated bytes roll too */
	memset(buf + 12000, 0, 3000);
	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		size_t L = lens[k];
		struct delta_roll r;

		delta_roll_start(&r, buf, L);
		all = 1;
		for (size_t off = 0; off + L <= sizeof buf; off++) {
			if (delta_roll_value(&r) != delta_weak(buf + off, L)) {
				all = 0;
				break;
			}
			if (off + L < sizeof buf)
				delta_roll_step(&r, buf[off], buf[off + L]);
		}
		CHECK(all, "rolled weak sum equals recomputation at every offset (L=%zu)", L);
	}
}

/* The strong sum is XXH3-128 in canonical form; file hashing agrees. */
static void
test_strong(void)
{
	unsigned char buf[100000], got[DELTA_HASH_LEN], fh[DELTA_HASH_LEN];
	XXH128_canonical_t c;
	uint64_t len = 0;
	int fd;

	fill_random(buf, sizeof buf, 2);
	delta_strong(buf, sizeof buf, got);
	XXH128_canonicalFromHash(&c, XXH3_128bits(buf, sizeof buf));
	CHECK(memcmp(got, c.digest, DELTA_HASH_LEN) == 0, "strong sum is canonical XXH3-128");
	fd = mem_fd(buf, sizeof buf);
	CHECK(delta_hash_fd(fd, fh, &len) == 0 && len == sizeof buf &&
	    memcmp(fh, got, DELTA_HASH_LEN) == 0, "delta_hash_fd hashes the whole file");
	close(fd);
	fd = mem_fd(buf, 0);
	delta_strong(buf, 0, got);
	CHECK(delta_hash_fd(fd, fh, &len) == 0 && len == 0 &&
	    memcmp(fh, got, DELTA_HASH_LEN) == 0, "delta_hash_fd of an empty file");
	close(fd);
}

/* The block size rule: the power of two at or above sqrt(8 size), bounded. */
static void
test_block_size(void)
{
	static const uint64_t sizes[] = { 0, 1, 65536, 1u << 22, 1u << 24, (1u << 24) + 1,
	    1u << 28, 1ull << 30, 1ull << 36, (1ull << 36) + 1, 1ull << 38, 1ull << 40 };
	int ok = 1;

	CHECK(delta_block_size(0) == DELTA_BLOCK_MIN, "empty file: 2 KiB blocks");
	CHECK(delta_block_size(64 * 1024) == DELTA_BLOCK_MIN, "64 KiB: 2 KiB blocks (the floor)");
	CHECK(delta_block_size(1u << 21) == 4096, "2 MiB: 4 KiB blocks (sqrt(8 size), exact)");
	CHECK(delta_block_size((1u << 21) + 1) == 8192, "2 MiB + 1: rounded up to 8 KiB");
	CHECK(delta_block_size(1u << 24) == 16384, "16 MiB: 16 KiB blocks");
	CHECK(delta_block_size(1u << 28) == 65536, "256 MiB: 64 KiB blocks, 4096 of them");
	CHECK(delta_block_size(1ull << 30) == 131072, "1 GiB: 128 KiB blocks");
	CHECK(delta_block_size(1ull << 36) == DELTA_BLOCK_MAX, "64 GiB: 1 MiB (the sqrt ceiling)");
	CHECK(delta_block_size((1ull << 36) + 1) == 2u << 20,
	    "64 GiB + 1: raised to 2 MiB so the count fits SYNC_SIG_MAX");
	CHECK(delta_block_size(1ull << 40) == DELTA_BLOCK_LIMIT, "1 TiB: 16 MiB blocks");
	CHECK(delta_block_size((1ull << 40) + 1) == 0, "beyond 1 TiB: no signature");
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint32_t b = delta_block_size(sizes[i]);

		if (b == 0 || (b & (b - 1)) != 0 || b < DELTA_BLOCK_MIN ||
		    delta_block_count(sizes[i], b) > SYNC_SIG_MAX)
			ok = 0;
	}
	CHECK(ok, "block sizes are powers of two >= 2 KiB, counts <= SYNC_SIG_MAX");
	CHECK(delta_block_count(0, 2048) == 0 && delta_block_count(1, 2048) == 1 &&
	    delta_block_count(4096, 2048) == 2 && delta_block_count(4097, 2048) == 3,
	    "block count is ceil(size / block)");
}

/* Returns ceil(log2(x)) (0 for x <= 1), the slow way. */
static unsigned
bits_for(uint64_t x)
{
	unsigned k = 0;

	while (k < 64 && (1ull << k) < x)
		k++;
	return k;
}

/*
 * The strong sum rule: at least 8 bytes, at most 16, and enough bits for
 * size x blocks x 2^-16 x 2^-8s <= 2^-30 at every size syncd signs.
 */
static void
test_strong_size(void)
{
	int ok = 1;

	CHECK(delta_strong_size(0, DELTA_BLOCK_MIN) == DELTA_STRONG_MIN,
	    "empty file: 8-byte strong sums (the floor)");
	CHECK(delta_strong_size(64 * 1024, DELTA_BLOCK_MIN) == 8, "64 KiB: 8 bytes");
	CHECK(delta_strong_size(1u << 28, 65536) == 8,
	    "256 MiB in 4096 blocks: 8 bytes (54 bits needed)");
	CHECK(delta_strong_size(1ull << 35, 1u << 19) == 9,
	    "32 GiB in 65536 blocks: 9 bytes (65 bits needed)");
	CHECK(delta_strong_size(1ull << 40, DELTA_BLOCK_LIMIT) == 9,
	    "1 TiB in 65536 blocks: 9 bytes (70 bits needed)");
	CHECK(delta_strong_size(1ull << 60, 1) == DELTA_HASH_LEN,
	    "an absurd block count: capped at 16 bytes");
	for (unsigned e = 0; e <= 40; e++) {
		for (uint64_t size = (1ull << e) - (e > 0); size <= (1ull << e) + 1; size++) {
			uint32_t b = delta_block_size(size), ss;
			unsigned need;

			if (b == 0)
				continue;       /* beyond 1 TiB: no signature */
			ss = delta_strong_size(size, b);
			need = bits_for(size) + bits_for(delta_block_count(size, b)) + 14;
			if (ss < DELTA_STRONG_MIN || ss > DELTA_HASH_LEN || 8 * ss < need ||
			    (ss > DELTA_STRONG_MIN && 8 * (ss - 1) >= need))
				ok = 0;
		}
	}
	CHECK(ok, "from 1 byte to 1 TiB: the least bytes that hold the bits needed, >= 8");
}

/* Signatures: layout, truncated strong sums, and validation. */
static void
test_signature(void)
{
	unsigned char buf[5000], s[DELTA_HASH_LEN], s0[DELTA_HASH_LEN];
	unsigned char strong[3 * DELTA_HASH_LEN + 1];
	uint32_t weak[3];
	struct delta_sig sig = { .block_size = 2048, .strong_size = 8, .file_size = 5000,
	    .n = 3, .weak = weak, .strong = strong };
	int fd, prefixes = 1;

	fill_random(buf, sizeof buf, 3);
	fd = mem_fd(buf, sizeof buf);
	CHECK(delta_signature_fd(fd, 5000, 2048, 8, weak, strong) == 0, "signature of 5000 bytes");
	delta_strong(buf + 4096, 904, s);
	delta_strong(buf, 2048, s0);
	CHECK(weak[0] == delta_weak(buf, 2048) && weak[2] == delta_weak(buf + 4096, 904) &&
	    memcmp(strong + 2 * 8, s, 8) == 0,
	    "block i covers [i*L, min((i+1)*L, size)): the last one is short");
	CHECK(delta_sig_valid(&sig), "a consistent signature is valid");
	for (uint32_t ss = 1; ss <= DELTA_HASH_LEN; ss++) {
		memset(strong, 0xee, sizeof strong);
		if (delta_signature_fd(fd, 5000, 2048, ss, weak, strong) != 0 ||
		    memcmp(strong, s0, ss) != 0 || memcmp(strong + 2 * ss, s, ss) != 0 ||
		    strong[3 * ss] != 0xee)
			prefixes = 0;
	}
	CHECK(prefixes, "strong sums of 1..16 bytes: packed prefixes of canonical XXH3-128");
	errno = 0;
	CHECK(delta_signature_fd(fd, 5000, 2048, 0, weak, strong) != 0 && errno == EINVAL,
	    "signature with 0-byte strong sums: EINVAL");
	errno = 0;
	CHECK(delta_signature_fd(fd, 5000, 2048, 17, weak, strong) != 0 && errno == EINVAL,
	    "signature with 17-byte strong sums: EINVAL");
	errno = 0;
	CHECK(delta_signature_fd(fd, 6000, 2048, 8, weak, strong) != 0 && errno == ENODATA,
	    "signature of a file shorter than announced: ENODATA");
	close(fd);
	sig.strong_size = 0;
	CHECK(!delta_sig_valid(&sig), "strong size 0: invalid");
	sig.strong_size = DELTA_HASH_LEN + 1;
	CHECK(!delta_sig_valid(&sig), "strong size 17: invalid");
	sig.strong_size = 1;
	CHECK(delta_sig_valid(&sig), "strong size 1: valid (a server may choose it)");
	sig.strong_size = 8;
	sig.n = 2;
	CHECK(!delta_sig_valid(&sig), "block count not ceil(size/block): invalid");
	sig.n = 3;
	sig.block_size = 0;
	CHECK(!delta_sig_valid(&sig), "block size 0: invalid");
	sig.block_size = DELTA_BLOCK_LIMIT + 1;
	sig.n = 1;
	CHECK(!delta_sig_valid(&sig), "block size above the limit: invalid");
	sig.block_size = 1;
	sig.file_size = SYNC_SIG_MAX + 1;
	sig.n = SYNC_SIG_MAX + 1;
	CHECK(!delta_sig_valid(&sig), "more than SYNC_SIG_MAX blocks: invalid");
	errno = 0;
	CHECK(delta_index_new(&sig) == NULL && errno == EINVAL, "an invalid signature is not indexed");
	sig = (struct delta_sig){ .block_size = 2048, .strong_size = 8, .file_size = 10, .n = 1,
	    .weak = NULL, .strong = strong };
	CHECK(!delta_sig_valid(&sig), "weak sums missing: invalid");
	sig.weak = weak;
	sig.strong = NULL;
	CHECK(!delta_sig_valid(&sig), "strong sums missing: invalid");
}

/*
 * A file of 64 MiB or more is signed by two threads, in halves: the sums
 * must be those of each block all the same, and a file that ends early
 * still fails with ENODATA.
 */
static void
test_split_signature(void)
{
	const size_t N = (64u << 20) + 12345;
	unsigned char *buf = malloc(N), *strong, s[DELTA_HASH_LEN];
	uint32_t L = delta_block_size(N), ss = delta_strong_size(N, L), *weak;
	size_t n = (size_t)delta_block_count(N, L);
	int fd, same = 1;

	weak = calloc(n, sizeof *weak);
	strong = calloc(n, ss);
	if (buf == NULL || weak == NULL || strong == NULL)
		exit(2);
	fill_random(buf, N, 14);
	fd = mem_fd(buf, N);
	CHECK(delta_signature_fd(fd, N, L, ss, weak, strong) == 0,
	    "64 MiB + 12345 bytes: signed (two threads, %zu blocks of %u)", n, L);
	for (size_t i = 0; i < n; i++) {
		size_t len = i + 1 < n ? L : N - (n - 1) * (size_t)L;

		delta_strong(buf + i * L, len, s);
		if (weak[i] != delta_weak(buf + i * L, len) || memcmp(strong + i * ss, s, ss) != 0)
			same = 0;
	}
	CHECK(same, "two threads: every block's sums are its own, the halves meet exactly");
	errno = 0;
	CHECK(delta_signature_fd(fd, N + 1, L, ss, weak, strong) != 0 && errno == ENODATA,
	    "two threads, file shorter than announced: ENODATA");
	close(fd);
	free(buf);
	free(weak);
	free(strong);
}

/* Edits of a file of OLDN bytes (not a whole number of blocks). */
#define OLDN (256 * 1024 + 777)
#define BL   2048                      /* delta_block_size(OLDN) */

static void
test_edits(void)
{
	static unsigned char old[OLDN], even[256 * 1024], ins[100000];
	unsigned char *n;
	struct result r;
	size_t len;

	fill_random(old, sizeof old, 4);
	fill_random(ins, sizeof ins, 5);
	memcpy(even, old, sizeof even);
	CHECK(delta_block_size(OLDN) == BL, "the edit tests use 2 KiB blocks");

	scenario("identical", old, OLDN, old, OLDN, &r);
	CHECK(r.ops == 1 && r.copies == 1 && r.copied == OLDN,
	    "identical: one COPY of everything (short last block included)");
	free(r.out);

	n = splice(old, OLDN, 100000, 100100, ins, 100, &len);
	scenario("100 bytes overwritten mid-block", old, OLDN, n, len, &r);
	CHECK(r.ops == 3 && r.literal == BL, "overwrite mid-block: COPY, one block LITERAL, COPY");
	free(r.out);
	free(n);

	n = splice(old, OLDN, 50 * BL, 50 * BL + 100, ins, 100, &len);
	scenario("overwrite at a block boundary", old, OLDN, n, len, &r);
	CHECK(r.ops == 3 && r.literal == BL, "overwrite at a boundary: one block literal");
	free(r.out);
	free(n);

	n = splice(old, OLDN, 50 * BL - 50, 50 * BL + 50, ins, 100, &len);
	scenario("overwrite across a boundary", old, OLDN, n, len, &r);
	CHECK(r.ops == 3 && r.literal == 2 * BL, "overwrite across a boundary: two blocks literal");
	free(r.out);
	free(n);

	n = splice(old, OLDN, 0, 0, ins, 100, &len);
	scenario("100 bytes inserted at the start", old, OLDN, n, len, &r);
	CHECK(r.ops == 2 && r.literal == 100 && r.copied == OLDN,
	    "insert at start: the 100 bytes, then one COPY of everything");
	free(r.out);
	free(n);

	n = splice(old, OLDN, 100001, 100001, ins, 100, &len);
	scenario("100 bytes inserted in the middle", old, OLDN, n, len, &r);
	CHECK(r.ops == 3 && r.literal <= BL + 100, "insert in the middle: at most a block + 100 literal");
	free(r.out);
	free(n);

	n = splice(old, OLDN, OLDN, OLDN, ins, 100, &len);
	scenario("100 bytes appended (short last block)", old, OLDN, n, len, &r);
	CHECK(r.ops == 2 && r.literal == 777 + 100,
	    "append after a short block: that block + 100 literal");
	free(r.out);
	free(n);

	n = splice(even, sizeof even, sizeof even, sizeof even, ins, 100, &len);
	scenario("100 bytes appended (whole blocks)", even, sizeof even, n, len, &r);
	CHECK(r.ops == 2 && r.literal == 100, "append after whole blocks: only the 100 bytes");
	free(r.out);
	free(n);

	n = splice(old, OLDN, OLDN, OLDN, ins, sizeof ins, &len);
	scenario("100000 bytes appended", old, OLDN, n, len, &r);
	CHECK(r.literal == 777 + sizeof ins && r.copied == OLDN - 777,
	    "large append: literal is the append plus the old short block");
	free(r.out);
	free(n);

	n = splice(old, OLDN, 0, 100, ins, 0, &len);
	scenario("100 bytes deleted at the start", old, OLDN, n, len, &r);
	CHECK(r.ops == 2 && r.literal == BL - 100, "delete at start: the rest of block 0 literal");
	free(r.out);
	free(n);

	n = splice(old, OLDN, 100000, 100100, ins, 0, &len);
	scenario("100 bytes deleted in the middle", old, OLDN, n, len, &r);
	CHECK(r.ops == 3 && r.literal <= 2 * BL, "delete in the middle: at most two blocks literal");
	free(r.out);
	free(n);

	n = splice(old, OLDN, OLDN - 100, OLDN, ins, 0, &len);
	scenario("100 bytes deleted at the end", old, OLDN, n, len, &r);
	CHECK(r.ops == 2 && r.literal == 677, "delete at end: the shortened last block literal");
	free(r.out);
	free(n);

	n = splice(old, OLDN, OLDN / 2, OLDN, ins, 0, &len);
	scenario("truncated to half", old, OLDN, n, len, &r);
	CHECK(r.literal < BL && r.copies == 1, "truncate: one COPY, less than a block literal");
	free(r.out);
	free(n);

	scenario("old file empty", old, 0, old, OLDN, &r);
	CHECK(r.copies == 0 && r.literal == OLDN && r.ops == 1,
	    "empty old file: everything literal, in 1 MiB runs");
	free(r.out);

	run(old, 0, old, OLDN, &tiny, &r, 0);
	CHECK(r.rc == DELTA_OK && r.literals == (OLDN + 776) / 777 && r.tiled && r.next == OLDN,
	    "literal runs are at most literal_max bytes (%zu runs)", r.literals);
	free(r.out);

	scenario("new file empty", old, OLDN, old, 0, &r);
	CHECK(r.ops == 0, "empty new file: no ops at all");
	free(r.out);

	scenario("both empty", old, 0, old, 0, &r);
	CHECK(r.ops == 0, "both empty: no ops");
	free(r.out);

	scenario("file smaller than a block, unchanged", old, 1000, old, 1000, &r);
	CHECK(r.ops == 1 && r.copied == 1000, "small unchanged file: one COPY (its short block)");
	free(r.out);

	n = splice(old, 1000, 500, 501, ins, 1, &len);
	scenario("file smaller than a block, one byte changed", old, 1000, n, len, &r);
	CHECK(r.ops == 1 && r.literal == 1000, "small changed file: one LITERAL");
	free(r.out);
	free(n);
}

/* Op counts: adjacent matches merge, repeats do not confuse the merge. */
static void
test_minimal_ops(void)
{
	static unsigned char zeros[64 * 1024 * 2], ab[2 * BL * 2];
	struct result r;

	scenario("all-zero file, unchanged", zeros, sizeof zeros / 2, zeros, sizeof zeros / 2, &r);
	CHECK(r.ops == 1 && r.copied == sizeof zeros / 2,
	    "identical blocks: still one COPY (the next basis block is tried first)");
	free(r.out);

	scenario("all-zero file doubled", zeros, sizeof zeros / 2, zeros, sizeof zeros, &r);
	CHECK(r.ops == 2 && r.literal == 0, "doubled zeros: two COPYs, nothing literal");
	free(r.out);

	fill_random(ab, 2 * BL, 6);
	memcpy(ab + 2 * BL, ab, 2 * BL);        /* A B A B from A B */
	scenario("A B -> A B A B", ab, 2 * BL, ab, sizeof ab, &r);
	CHECK(r.ops == 2 && r.copies == 2 && r.literal == 0, "A B A B: two COPYs of A B");
	free(r.out);
}

/* Failures: a file shorter than announced, a callback that stops. */
static void
test_failures(void)
{
	static unsigned char old[OLDN];
	struct signed_file f;
	struct delta_index *ix;
	struct result r;
	int fd;

	fill_random(old, sizeof old, 7);
	run(old, OLDN, old, OLDN, NULL, &r, 1);
	CHECK(r.rc == DELTA_STOPPED && r.ops == 1, "a non-zero callback stops the match");
	free(r.out);

	fd = mem_fd(old, OLDN);
	sign(fd, OLDN, BL, 0, &f);
	ix = delta_index_new(&f.sig);
	memset(&r, 0, sizeof r);
	r.out = calloc(1, OLDN + 100);
	r.old = old;
	r.oldlen = OLDN;
	r.newlen = OLDN + 100;
	r.tiled = r.in_bounds = 1;
	errno = 0;
	CHECK(ix != NULL && delta_match_fd(ix, fd, OLDN + 100, NULL, apply, &r, NULL) ==
	    DELTA_ERROR && errno == ENODATA, "a new file shorter than announced: ENODATA");
	free(r.out);
	delta_index_free(ix);
	unsign(&f);
	close(fd);
}

/*
 * A basis that changed after its signature (or, alike, a false match of
 * truncated strong sums): the ops then rebuild something else, and only
 * the whole-file hash, which describes what the matcher read, tells --
 * which is why COMMIT carries it and the client resends on CHECKSUM.
 */
static void
test_stale_basis(void)
{
	static unsigned char signed_old[OLDN], real_old[OLDN];
	unsigned char want[DELTA_HASH_LEN], got[DELTA_HASH_LEN];
	struct signed_file f;
	struct delta_index *ix;
	struct result r;
	int sfd, nfd;

	fill_random(signed_old, sizeof signed_old, 11);
	memcpy(real_old, signed_old, sizeof real_old);
	real_old[5 * BL + 17] ^= 0x55;          /* changed after SIGNATURE */
	sfd = mem_fd(signed_old, OLDN);
	nfd = mem_fd(signed_old, OLDN);         /* the new file: what was signed */
	sign(sfd, OLDN, 0, 0, &f);
	ix = delta_index_new(&f.sig);
	memset(&r, 0, sizeof r);
	r.out = calloc(1, OLDN);
	r.old = real_old;
	r.oldlen = r.newlen = OLDN;
	r.tiled = r.in_bounds = 1;
	CHECK(ix != NULL && delta_match_fd(ix, nfd, OLDN, NULL, apply, &r, r.hash) == DELTA_OK &&
	    r.literal == 0, "stale basis: everything matches the signature");
	delta_strong(signed_old, OLDN, want);
	delta_strong(r.out, OLDN, got);
	CHECK(memcmp(r.hash, want, DELTA_HASH_LEN) == 0 && memcmp(got, want, DELTA_HASH_LEN) != 0,
	    "stale basis: the rebuild differs and the whole-file hash says so");
	free(r.out);
	delta_index_free(ix);
	unsign(&f);
	close(sfd);
	close(nfd);
}

/*
 * Edits at block boundaries and file ends with the larger blocks of the
 * sqrt(8 size) rule (8 KiB for this 2 MiB file, short last block): every
 * match around them is still found.
 */
static void
test_boundaries(void)
{
	const size_t N = (2u << 20) + 3333;
	unsigned char *old = malloc(N), ins[8192];
	uint32_t L = delta_block_size(N);
	size_t full = N / L * L, len;
	unsigned char *n;
	struct result r;

	if (old == NULL)
		exit(2);
	fill_random(old, N, 12);
	fill_random(ins, sizeof ins, 13);
	CHECK(L == 8192 && delta_strong_size(N, L) == 8, "2 MiB + 3333: 8 KiB blocks, 8-byte sums");

	n = splice(old, N, 100 * L, 100 * L, ins, 100, &len);
	scenario("100 bytes inserted at a block boundary", old, N, n, len, &r);
	CHECK(r.literal == 100 && r.copies == 2, "insert at a boundary: only the 100 bytes");
	free(r.out);
	free(n);

	n = splice(old, N, 100 * L - 1, 100 * L + 1, ins, 0, &len);
	scenario("2 bytes deleted across a block boundary", old, N, n, len, &r);
	CHECK(r.literal == 2 * L - 2 && r.copies == 2, "delete across a boundary: two blocks less 2");
	free(r.out);
	free(n);

	n = splice(old, N, 100 * L, 101 * L, ins, L, &len);
	scenario("exactly one block overwritten", old, N, n, len, &r);
	CHECK(r.literal == L && r.copies == 2, "one block overwritten: that block literal");
	free(r.out);
	free(n);

	n = splice(old, N, 0, L, ins, 0, &len);
	scenario("first block deleted", old, N, n, len, &r);
	CHECK(r.literal == 0 && r.copies == 1, "first block deleted: one COPY, nothing literal");
	free(r.out);
	free(n);

	n = splice(old, N, full, full, ins, 100, &len);
	scenario("100 bytes inserted before the short last block", old, N, n, len, &r);
	CHECK(r.literal == 100 && r.copied == N && r.copies == 2,
	    "insert before the short block: only the insert (the short block still ends the file)");
	free(r.out);
	free(n);

	n = splice(old, N, full - 1, full - 1, ins, 1, &len);
	scenario("1 byte inserted in the last full block", old, N, n, len, &r);
	CHECK(r.literal == L + 1 && r.copied == full - L + (N - full),
	    "insert in the last full block: that block + 1, the short block still matches");
	free(r.out);
	free(n);

	n = splice(old, N, N, N, ins, 5000, &len);
	scenario("5000 bytes appended", old, N, n, len, &r);
	CHECK(r.literal == 5000 + (N - full) && r.copied == full,
	    "append: the new bytes and the old short block");
	free(r.out);
	free(n);

	n = splice(old, N, 0, 0, ins, 5000, &len);
	scenario("5000 bytes inserted at the start", old, N, n, len, &r);
	CHECK(r.literal == 5000 && r.copied == N, "insert at the start: one COPY of all");
	free(r.out);
	free(n);

	scenario("truncated at a block boundary", old, N, old, 200 * L, &r);
	CHECK(r.literal == 0 && r.copies == 1, "truncate at a boundary: one COPY");
	free(r.out);
	free(old);
}

/*
 * A hostile signature: every block has the same weak sum; work stays
 * bounded.
 */
static void
test_hostile_signature(void)
{
	static unsigned char zeros[256 * 1024];
	uint32_t *weak = calloc(SYNC_SIG_MAX, sizeof *weak);
	unsigned char *strong = malloc((size_t)SYNC_SIG_MAX * DELTA_HASH_LEN);
	struct delta_sig sig = { .block_size = 1, .strong_size = DELTA_HASH_LEN,
	    .file_size = SYNC_SIG_MAX, .n = SYNC_SIG_MAX };
	struct delta_index *ix;
	struct result r;
	int fd = mem_fd(zeros, sizeof zeros);

	if (weak == NULL || strong == NULL)
		exit(2);
	for (size_t i = 0; i < SYNC_SIG_MAX; i++) {
		weak[i] = delta_weak(zeros, 1);
		fill_random(strong + i * DELTA_HASH_LEN, DELTA_HASH_LEN, (uint32_t)i + 100);
	}
	sig.weak = weak;
	sig.strong = strong;
	ix = delta_index_new(&sig);
	memset(&r, 0, sizeof r);
	r.out = calloc(1, sizeof zeros);
	r.old = zeros;
	r.oldlen = SYNC_SIG_MAX;
	r.newlen = sizeof zeros;
	r.tiled = r.in_bounds = 1;
	CHECK(ix != NULL && delta_match_fd(ix, fd, sizeof zeros, NULL, apply, &r, NULL) == DELTA_OK &&
	    r.literal == sizeof zeros && r.tiled,
	    "65536 colliding blocks: the match ends (bounded probing), all literal");
	free(r.out);
	delta_index_free(ix);
	free(weak);
	free(strong);
	close(fd);
}

/* A 4 MiB file with 1 MiB rewritten in the middle, default windows. */
static void
test_large(void)
{
	size_t n = 4u << 20;
	unsigned char *old = malloc(n), *new = malloc(n);
	uint32_t L = delta_block_size(n);
	struct result r;

	if (old == NULL || new == NULL)
		exit(2);
	fill_random(old, n, 8);
	memcpy(new, old, n);
	fill_random(new + (3u << 19) + 123, 1u << 20, 9);
	scenario("4 MiB, 1 MiB rewritten in the middle", old, n, new, n, &r);
	CHECK(r.literal <= (1u << 20) + 2 * L && r.copies == 2,
	    "1 MiB rewrite: at most 1 MiB + 2 blocks literal (%llu)", (unsigned long long)r.literal);
	free(r.out);
	free(old);
	free(new);
}

int
main(void)
{
	test_weak();
	test_strong();
	test_block_size();
	test_strong_size();
	test_signature();
	test_split_signature();
	test_edits();
	test_minimal_ops();
	test_failures();
	test_stale_basis();
	test_boundaries();
	test_hostile_signature();
	test_large();
	return check_done();
}
