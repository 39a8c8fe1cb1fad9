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

/*
 * Signs old, matches new against it with opts, and rebuilds.  Fills r
 * (caller frees r->out).  Exits on setup failure.
 */
static void
run(const unsigned char *old, size_t oldlen, const unsigned char *new, size_t newlen,
    const struct delta_match_opts *opts, struct result *r, int stop_after)
{
	struct delta_sig sig = { 0 };
	struct delta_index *ix;
	sync_block *blocks;
	int ofd = mem_fd(old, oldlen), nfd = mem_fd(new, newlen);

	memset(r, 0, sizeof *r);
	r->tiled = r->in_bounds = 1;
	r->old = old;
	r->oldlen = oldlen;
	r->newlen = newlen;
	r->stop_after = stop_after;
	r->out = calloc(1, newlen + 1);
	sig.block_size = delta_block_size(oldlen);
	sig.file_size = oldlen;
	sig.n = (size_t)delta_block_count(oldlen, sig.block_size);
	blocks = calloc(sig.n + 1, sizeof *blocks);
	if (r->out == NULL || blocks == NULL ||
	    delta_signature_fd(ofd, oldlen, sig.block_size, blocks) != 0) {
		perror("signature");
		exit(2);
	}
	sig.blocks = blocks;
	if ((ix = delta_index_new(&sig)) == NULL) {
		perror("index");
		exit(2);
	}
	r->rc = delta_match_fd(ix, nfd, newlen, opts, apply, r, r->hash);
	delta_index_free(ix);
	free(blocks);
	close(ofd);
	close(nfd);
}

/* The tiny windows: many refills and literal splits even in small files. */
static const struct delta_match_opts tiny = { .literal_max = 777, .read_size = 1 };

/*
 * Runs one scenario with default and tiny windows and checks what always
 * holds: success, tiling, bounds, exact rebuild, whole-file hash.  Returns
 * the default run's result in *out (caller frees out->out).
 */
static void
scenario(const char *what, const unsigned char *old, size_t oldlen,
    const unsigned char *new, size_t newlen, struct result *out)
{
	unsigned char want[DELTA_HASH_LEN];
	struct result r;

	delta_strong(new, newlen, want);
	for (int pass = 0; pass < 2; pass++) {
		const char *how = pass == 0 ? "default windows" : "tiny windows";

		run(old, oldlen, new, newlen, pass == 0 ? NULL : &tiny, &r, 0);
		CHECK(r.rc == DELTA_OK, "%s (%s): match succeeds", what, how);
		CHECK(r.tiled && r.next == newlen, "%s (%s): ops tile the new file in order",
		    what, how);
		CHECK(r.in_bounds, "%s (%s): every COPY lies inside the basis", what, how);
		CHECK(memcmp(r.out, new, newlen) == 0, "%s (%s): rebuild equals the new file",
		    what, how);
		CHECK(memcmp(r.hash, want, DELTA_HASH_LEN) == 0,
		    "%s (%s): whole-file hash is XXH3-128 of the new file", what, how);
		if (pass == 1) {
			CHECK(r.literal == out->literal && r.copied == out->copied,
			    "%s: tiny windows find the same matches (%llu literal)", what,
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

/* The block size rule. */
static void
test_block_size(void)
{
	static const uint64_t sizes[] = { 0, 1, 65536, 1u << 22, 1u << 24, (1u << 24) + 1,
	    1ull << 30, 1ull << 36, (1ull << 36) + 1, 1ull << 38, 1ull << 40 };
	int ok = 1;

	CHECK(delta_block_size(0) == DELTA_BLOCK_MIN, "empty file: 2 KiB blocks");
	CHECK(delta_block_size(1u << 24) == 4096, "16 MiB: 4 KiB blocks (sqrt)");
	CHECK(delta_block_size((1u << 24) + 1) == 8192, "16 MiB + 1: rounded up to 8 KiB");
	CHECK(delta_block_size(1ull << 30) == 32768, "1 GiB: 32 KiB blocks");
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

/* Signatures: layout and validation. */
static void
test_signature(void)
{
	unsigned char buf[5000], s[DELTA_HASH_LEN];
	sync_block blocks[3];
	struct delta_sig sig = { 2048, 5000, 3, blocks };
	int fd;

	fill_random(buf, sizeof buf, 3);
	fd = mem_fd(buf, sizeof buf);
	CHECK(delta_signature_fd(fd, 5000, 2048, blocks) == 0, "signature of 5000 bytes");
	delta_strong(buf + 4096, 904, s);
	CHECK(blocks[0].weak == delta_weak(buf, 2048) && blocks[2].weak == delta_weak(buf + 4096, 904) &&
	    memcmp(blocks[2].strong, s, DELTA_HASH_LEN) == 0,
	    "block i covers [i*L, min((i+1)*L, size)): the last one is short");
	CHECK(delta_sig_valid(&sig), "a consistent signature is valid");
	errno = 0;
	CHECK(delta_signature_fd(fd, 6000, 2048, blocks) != 0 && errno == ENODATA,
	    "signature of a file shorter than announced: ENODATA");
	close(fd);
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
	sig = (struct delta_sig){ 2048, 10, 1, NULL };
	CHECK(!delta_sig_valid(&sig), "blocks missing: invalid");
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
	struct delta_sig sig = { 0 };
	struct delta_index *ix;
	struct result r;
	sync_block *blocks;
	int fd;

	fill_random(old, sizeof old, 7);
	run(old, OLDN, old, OLDN, NULL, &r, 1);
	CHECK(r.rc == DELTA_STOPPED && r.ops == 1, "a non-zero callback stops the match");
	free(r.out);

	sig.block_size = BL;
	sig.file_size = OLDN;
	sig.n = (size_t)delta_block_count(OLDN, BL);
	blocks = calloc(sig.n, sizeof *blocks);
	fd = mem_fd(old, OLDN);
	if (blocks == NULL || delta_signature_fd(fd, OLDN, BL, blocks) != 0)
		exit(2);
	sig.blocks = blocks;
	ix = delta_index_new(&sig);
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
	free(blocks);
	close(fd);
}

/* A hostile signature: every block has the same weak sum; work stays bounded. */
static void
test_hostile_signature(void)
{
	static unsigned char zeros[256 * 1024];
	sync_block *blocks = calloc(SYNC_SIG_MAX, sizeof *blocks);
	struct delta_sig sig = { 1, SYNC_SIG_MAX, SYNC_SIG_MAX, NULL };
	struct delta_index *ix;
	struct result r;
	int fd = mem_fd(zeros, sizeof zeros);

	if (blocks == NULL)
		exit(2);
	for (size_t i = 0; i < SYNC_SIG_MAX; i++) {
		blocks[i].weak = delta_weak(zeros, 1);
		fill_random((unsigned char *)blocks[i].strong, DELTA_HASH_LEN, (uint32_t)i + 100);
	}
	sig.blocks = blocks;
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
	free(blocks);
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
	test_signature();
	test_edits();
	test_minimal_ops();
	test_failures();
	test_hostile_signature();
	test_large();
	return check_done();
}
