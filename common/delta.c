/*
 * delta.c -- checksums, signatures and the block matcher (see delta.h).
 *
 * Why it is built this way:
 *   - Files can be far larger than memory, so both the signature and the
 *     matcher read the file sequentially in large windows (pread, at least
 *     4 MiB at a time, POSIX_FADV_SEQUENTIAL) and keep only one window, the
 *     pending literal bytes and one block in memory.
 *   - The matcher tests every byte offset of the new file, so the weak sum
 *     rolls in O(1) and the lookup by weak sum is an open-addressing table
 *     of slots holding (weak sum, block); the strong sum of the window is
 *     computed only on a weak hit.  The signature comes from the other side
 *     of the wire, so every loop over it is bounded (DELTA_PROBE_MAX): a
 *     signature crafted to collide costs missed matches, never unbounded
 *     CPU.
 *   - Runs of blocks that are contiguous in the basis merge into one COPY:
 *     after a hit the next basis block is tried first, and by strong sum
 *     alone (continues()), so a file of many identical blocks still yields
 *     one COPY instead of one per block, and an unchanged run costs one
 *     XXH3 per block: the weak sum rolls only through changed bytes.
 *   - The signature is small because it is sized per file: blocks near
 *     sqrt(8 size) and strong sums cut to the bytes that the file's size
 *     needs (delta_block_size, delta_strong_size derive both); a match
 *     they get wrong is caught by COMMIT's whole-file hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "delta.h"
#include "fdio.h"

#define DELTA_READ_SIZE  (4u << 20)     /* least bytes per read */
#define DELTA_SIGN_SPLIT (64u << 20)    /* files signed by two threads from here on */
#define DELTA_SIGN_STACK (256u << 10)   /* the second one's stack: it only reads and hashes */
#define DELTA_PROBE_MAX  64             /* slots examined per insert or lookup */
#define DELTA_EMPTY      UINT32_MAX     /* a free table slot */

/* ---- checksums ---------------------------------------------------------- */

/*
 * Starts the roll: a and b as PROTOCOL.md 5.13 defines them (delta.h).
 * The definition's chain (a += x + 31; b += a) is one dependent add per
 * byte; instead, with s1 = sum x[i], a = s1 + 31 L and
 *   b = sum (L - i)(x[i] + 31) = sum (L - i) x[i] + 31 L (L + 1) / 2,
 * and sum (L - i) x[i] is gathered in ROLL_LANES independent lanes: lane j
 * takes the bytes i = ROLL_LANES k + j of the K whole rows k, keeping
 * their sum (row_sum) and the sum of its running values (row_tri, which
 * counts the byte of row k K - k times).  Then, since L - i = (L - R) +
 * ROLL_LANES (K - k) - j with R = ROLL_LANES K,
 *   sum over rows of (L - i) x[i] = (L - R) s1 + ROLL_LANES sum row_tri
 *                                   - sum j row_sum[j]
 * and the last L - R bytes are added one by one.  The lanes are a loop of
 * fixed length the compiler turns into vector code (about 8 times faster
 * here).  Everything is mod 2^32, as the roll keeps it; the value is the
 * same as the definition's, bit for bit (tests/unit/common_delta.c).
 */
#define ROLL_LANES 16

void
delta_roll_start(struct delta_roll *r, const unsigned char *p, size_t len)
{
	uint32_t row_sum[ROLL_LANES] = { 0 }, row_tri[ROLL_LANES] = { 0 };
	uint32_t L = (uint32_t)len, s1 = 0, sum_lx = 0, tri = 0, lane_w = 0;
	size_t rows = len / ROLL_LANES, i;

	for (size_t k = 0; k < rows; k++) {
		const unsigned char *row = p + k * ROLL_LANES;

		for (int j = 0; j < ROLL_LANES; j++) {
			row_sum[j] += row[j];
			row_tri[j] += row_sum[j];
		}
	}
	for (int j = 0; j < ROLL_LANES; j++) {
		s1 += row_sum[j];
		tri += row_tri[j];
		lane_w += (uint32_t)j * row_sum[j];
	}
	i = rows * ROLL_LANES;
	sum_lx = (L - (uint32_t)i) * s1 + ROLL_LANES * tri - lane_w;
	for (; i < len; i++) {
		s1 += p[i];
		sum_lx += (L - (uint32_t)i) * p[i];
	}
	r->a = s1 + DELTA_WEAK_OFFSET * L;
	r->b = sum_lx + DELTA_WEAK_OFFSET * (uint32_t)((uint64_t)L * (L + 1) / 2);
	r->len = L;
}

/* weak() of a whole window, by starting a roll over it (delta.h). */
uint32_t
delta_weak(const unsigned char *p, size_t len)
{
	struct delta_roll r;

	delta_roll_start(&r, p, len);
	return delta_roll_value(&r);
}

/* XXH3-128 of the bytes, canonical big-endian form (delta.h). */
void
delta_strong(const void *p, size_t len, unsigned char out[DELTA_HASH_LEN])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(p, len));
	memcpy(out, c.digest, DELTA_HASH_LEN);
}

/* XXH3-128 of fd from offset 0 to end of file, streamed (delta.h). */
int
delta_hash_start(struct delta_hash *h)
{
	XXH3_state_t *st = XXH3_createState();

	h->state = st;
	if (st == NULL || XXH3_128bits_reset(st) != XXH_OK) {
		delta_hash_end(h);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
delta_hash_add(struct delta_hash *h, const void *p, size_t len)
{
	/* Fails only for a NULL state or NULL input with len != 0. */
	(void)XXH3_128bits_update(h->state, p, len);
}

int
delta_hash_add_fd(struct delta_hash *h, int fd, uint64_t len)
{
	unsigned char *buf;
	uint64_t off = 0;
	int rc = -1, saved;

	if ((buf = malloc(DELTA_READ_SIZE)) == NULL)
		return -1;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);     /* a hint only */
	while (off < len) {
		size_t want = len - off < DELTA_READ_SIZE ? (size_t)(len - off) : DELTA_READ_SIZE;
		ssize_t n = pread_full(fd, buf, want, off);

		if (n < 0)
			goto out;
		if (n == 0) {
			errno = ENODATA;
			goto out;
		}
		delta_hash_add(h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	rc = 0;
out:
	saved = errno;
	free(buf);
	errno = saved;
	return rc;
}

void
delta_hash_digest(const struct delta_hash *h, unsigned char out[DELTA_HASH_LEN])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h->state));
	memcpy(out, c.digest, DELTA_HASH_LEN);
}

void
delta_hash_end(struct delta_hash *h)
{
	XXH3_freeState(h->state);
	h->state = NULL;
}

int
delta_hash_fd(int fd, unsigned char out[DELTA_HASH_LEN], uint64_t *len)
{
	struct delta_hash h;
	struct stat sb;
	int rc = -1;

	if (fstat(fd, &sb) != 0 || delta_hash_start(&h) != 0)
		return -1;
	if (delta_hash_add_fd(&h, fd, (uint64_t)sb.st_size) != 0)
		goto out;
	delta_hash_digest(&h, out);
	if (len != NULL)
		*len = (uint64_t)sb.st_size;
	rc = 0;
out:
	delta_hash_end(&h);
	return rc;
}

/* ---- signatures --------------------------------------------------------- */

/*
 * syncd's block size rule (delta.h).  What a delta costs on the wire is
 * the signature, size / B blocks of 4 + s bytes (weak and strong sum: 12
 * at the usual s = 8), plus the literal bytes around each change: the
 * unchanged part of the blocks a change touches, about one block for an
 * insert and up to two for an overwrite, say 1.5 B per change.  For one
 * change 12 size / B + 1.5 B is least at B = sqrt(8 size); several changes
 * favour smaller blocks, but they also send more literal data, next to
 * which the signature matters less.  B is rounded up to a power of two:
 * in-place edits (databases, images, page-aligned writers) fall on
 * power-of-two boundaries, where such blocks keep both the matches and
 * the COPY ranges aligned, which also lets copy_file_range share extents.
 * Rounding up costs at most 6% over the optimum (1.41 B: (1/1.41 + 1.41)
 * / 2 = 1.06).  For 256 MiB that is 64 KiB blocks: a 48 KiB signature
 * (rsync's rule, sqrt(size) with ~7-byte sums, sends 112 KiB).
 */
uint32_t
delta_block_size(uint64_t size)
{
	uint64_t b = DELTA_BLOCK_MIN;

	while (b < DELTA_BLOCK_MAX && b * b < 8 * size)
		b <<= 1;
	while (delta_block_count(size, (uint32_t)b) > SYNC_SIG_MAX) {
		b <<= 1;
		if (b > DELTA_BLOCK_LIMIT)
			return 0;
	}
	return (uint32_t)b;
}

/* Returns ceil(log2(x)) for x >= 1 (0 for x <= 1). */
static unsigned
ceil_log2(uint64_t x)
{
	unsigned k = 0;

	while (k < 64 && (1ull << k) < x)
		k++;
	return k;
}

/*
 * syncd's strong sum length (delta.h).  A false match is a window of the
 * new file whose weak and strong sums equal a block's while its bytes do
 * not.  The matcher tries at most one window per byte of the new file
 * (about size of them: the new file is rarely much larger than the old,
 * and the bound grows only linearly if it is) against each block with the
 * window's weak sum.  Count the weak sum as 16 bits, half its width (it
 * is a sum of bytes: real data collides far more often than 2^-32), and
 * the strong sum as all of its 8 s bits (XXH3 mixes well).  Then
 *   P(a false match in the file) <= size * blocks * 2^-16 * 2^-8s,
 * and 8 s >= log2(size) + log2(blocks) + 14 keeps it under 2^-30.  Even
 * then a false match costs time, not data: COMMIT's whole-file hash
 * refuses the result (CHECKSUM) and the client sends the file whole.
 * 8 bytes at least, because below that the bytes saved are few (small
 * files have few blocks); 256 MiB in 4096 blocks needs 54 bits, so 8
 * bytes; 1 TiB in 65536 blocks needs 70 bits, so 9.
 */
uint32_t
delta_strong_size(uint64_t size, uint32_t block_size)
{
	unsigned bits = ceil_log2(size) + ceil_log2(delta_block_count(size, block_size)) + 14;
	uint32_t s = (bits + 7) / 8;

	if (s < DELTA_STRONG_MIN)
		s = DELTA_STRONG_MIN;
	return s > DELTA_HASH_LEN ? DELTA_HASH_LEN : s;
}

/* ceil(size / block_size) (delta.h). */
uint64_t
delta_block_count(uint64_t size, uint32_t block_size)
{
	return size / block_size + (size % block_size != 0);
}

/* Non-zero if sig is self-consistent and within the bounds (delta.h). */
int
delta_sig_valid(const struct delta_sig *sig)
{
	if (sig->block_size < 1 || sig->block_size > DELTA_BLOCK_LIMIT)
		return 0;
	if (sig->strong_size < 1 || sig->strong_size > DELTA_HASH_LEN)
		return 0;
	if (sig->n > SYNC_SIG_MAX ||
	    delta_block_count(sig->file_size, sig->block_size) != sig->n)
		return 0;
	return sig->n == 0 || (sig->weak != NULL && sig->strong != NULL);
}

/* One part of a signature: the blocks of bytes [from, to) of fd. */
struct sign_part {
	int            fd;
	uint64_t       from, to;        /* from: a block boundary */
	uint32_t       block_size, strong_size;
	uint32_t      *weak;            /* the whole signature's arrays */
	unsigned char *strong;
	int            err;             /* 0, or the errno it failed with */
};

/*
 * Signs the blocks of one part (see struct sign_part), reading whole
 * blocks, at least DELTA_READ_SIZE bytes at a time.  Sets part->err (ENODATA:
 * the file ended early).  Returns NULL (a pthread start routine).
 */
static void *
sign_part(void *arg)
{
	struct sign_part *pt = arg;
	const uint32_t bs = pt->block_size;
	unsigned char *buf = NULL, sum[DELTA_HASH_LEN];
	uint64_t off = pt->from, n = pt->from / bs;
	size_t chunk = bs * (size_t)(DELTA_READ_SIZE / bs > 0 ? DELTA_READ_SIZE / bs : 1);

	if (pt->to - pt->from < chunk)
		chunk = (size_t)(pt->to - pt->from);
	if (chunk > 0 && (buf = malloc(chunk)) == NULL) {
		pt->err = ENOMEM;
		return NULL;
	}
	while (off < pt->to) {
		size_t want = pt->to - off < chunk ? (size_t)(pt->to - off) : chunk;
		ssize_t got = pread_full(pt->fd, buf, want, off);

		if (got < 0 || (size_t)got < want) {
			pt->err = got < 0 ? errno : ENODATA;   /* ENODATA: it shrank */
			break;
		}
		for (size_t k = 0; k < want; k += bs, n++) {
			size_t len = want - k < bs ? want - k : bs;

			pt->weak[n] = delta_weak(buf + k, len);
			delta_strong(buf + k, len, sum);
			memcpy(pt->strong + n * pt->strong_size, sum, pt->strong_size);
		}
		off += want;
	}
	free(buf);
	return NULL;
}

/*
 * Weak and strong sums of every block of the first size bytes of fd
 * (delta.h).  A file of DELTA_SIGN_SPLIT bytes or more is signed in two
 * halves at once, the second on a thread of its own: the client waits
 * idle for the reply, so the second core halves that wait (256 MiB: about
 * 0.09 -> 0.05 s of CPU time on the critical path).  More threads would
 * only compete with the other sessions of a busy server.
 */
int
delta_signature_fd(int fd, uint64_t size, uint32_t block_size, uint32_t strong_size,
    uint32_t *weak, unsigned char *strong)
{
	struct sign_part part[2];
	pthread_attr_t attr;
	pthread_t tid;
	uint64_t nblocks;
	int threaded = 0;

	if (block_size < 1 || block_size > DELTA_BLOCK_LIMIT ||
	    strong_size < 1 || strong_size > DELTA_HASH_LEN ||
	    (nblocks = delta_block_count(size, block_size)) > SYNC_SIG_MAX) {
		errno = EINVAL;
		return -1;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);     /* a hint only */
	for (int k = 0; k < 2; k++)
		part[k] = (struct sign_part){ .fd = fd, .block_size = block_size,
		    .strong_size = strong_size, .weak = weak, .strong = strong };
	part[0].to = part[1].from = size >= DELTA_SIGN_SPLIT ?
	    nblocks / 2 * block_size : size;
	part[1].to = size;
	if (part[1].from < part[1].to && pthread_attr_init(&attr) == 0) {
		threaded = pthread_attr_setstacksize(&attr, DELTA_SIGN_STACK) == 0 &&
		    pthread_create(&tid, &attr, sign_part, &part[1]) == 0;
		pthread_attr_destroy(&attr);
	}
	sign_part(&part[0]);
	if (threaded)
		pthread_join(tid, NULL);
	else
		sign_part(&part[1]);    /* one thread after all (or nothing left) */
	for (int k = 0; k < 2; k++) {
		if (part[k].err != 0) {
			errno = part[k].err;
			return -1;
		}
	}
	return 0;
}

/* ---- the index ---------------------------------------------------------- */

/*
 * A table slot: the block's weak sum beside its number, so that a probe
 * that finds another weak sum (nearly every probe while rolling through
 * changed bytes) reads only the table, not the signature.
 */
struct slot {
	uint32_t weak;
	uint32_t blk;           /* block number, or DELTA_EMPTY */
};

struct delta_index {
	const struct delta_sig *sig;
	struct slot *slot;
	size_t    mask;         /* table size - 1 (a power of two) */
	uint64_t *seen;         /* one bit per hash of the indexed weak sums */
	uint32_t  seen_shift;   /* 32 - log2(bits in seen) */
	size_t    nfull;        /* blocks of exactly block_size bytes (indexed) */
	uint32_t  tail_len;     /* bytes of the short last block, 0 if none */
};

/* The home slot of weak sum w (multiplicative hashing spreads close values). */
static size_t
home(const struct delta_index *ix, uint32_t w)
{
	return (size_t)((w * 2654435761u) ^ (w >> 16)) & ix->mask;
}

/*
 * The bit of weak sum w in ix->seen.  While the window rolls through
 * changed bytes nearly every weak sum is absent from the signature; the
 * bitmap (16 bits per block, 1 KiB to 128 KiB) answers that from the
 * cache, where the table would cost a probe sequence: rolling through
 * random bytes went from 16.4 to 5.5 ns per byte.
 */
static uint32_t
seen_bit(const struct delta_index *ix, uint32_t w)
{
	return (w * 0x9E3779B1u) >> ix->seen_shift;
}

/* Returns non-zero if some indexed block may have weak sum w. */
static int
maybe_seen(const struct delta_index *ix, uint32_t w)
{
	uint32_t b = seen_bit(ix, w);

	return (ix->seen[b >> 6] >> (b & 63)) & 1;
}

/* Returns the strong sum of block blk (sig->strong_size bytes). */
static const unsigned char *
strong_of(const struct delta_sig *sig, size_t blk)
{
	return sig->strong + blk * sig->strong_size;
}

/* Indexes the full blocks of sig by weak sum, duplicates once (delta.h). */
struct delta_index *
delta_index_new(const struct delta_sig *sig)
{
	struct delta_index *ix;
	size_t size = 16, seen_bits = 1u << 13;

	if (!delta_sig_valid(sig)) {
		errno = EINVAL;
		return NULL;
	}
	if ((ix = calloc(1, sizeof *ix)) == NULL)
		return NULL;
	ix->sig = sig;
	ix->nfull = (size_t)(sig->file_size / sig->block_size);
	ix->tail_len = (uint32_t)(sig->file_size % sig->block_size);
	while (size < 2 * ix->nfull)    /* load factor at most 1/2 */
		size <<= 1;
	ix->seen_shift = 32 - 13;
	while (seen_bits < 16 * ix->nfull && seen_bits < (1u << 20)) {
		seen_bits <<= 1;
		ix->seen_shift--;
	}
	if ((ix->slot = malloc(size * sizeof *ix->slot)) == NULL ||
	    (ix->seen = calloc(seen_bits / 64, sizeof *ix->seen)) == NULL) {
		free(ix->slot);
		free(ix);
		errno = ENOMEM;
		return NULL;
	}
	for (size_t h = 0; h < size; h++)
		ix->slot[h] = (struct slot){ 0, DELTA_EMPTY };
	ix->mask = size - 1;
	for (size_t i = 0; i < ix->nfull; i++) {
		uint32_t w = sig->weak[i], b = seen_bit(ix, w);
		size_t h = home(ix, w);

		ix->seen[b >> 6] |= 1ull << (b & 63);
		for (int probe = 0; probe < DELTA_PROBE_MAX; probe++, h = (h + 1) & ix->mask) {
			struct slot *o = &ix->slot[h];

			if (o->blk == DELTA_EMPTY) {
				*o = (struct slot){ w, (uint32_t)i };
				break;
			}
			if (o->weak == w && memcmp(strong_of(sig, o->blk), strong_of(sig, i),
			    sig->strong_size) == 0)
				break;  /* a duplicate: the first one stands for both */
		}
		/* No free slot within reach (a crafted signature): block not indexed. */
	}
	return ix;
}

/* Frees ix (NULL is allowed). */
void
delta_index_free(struct delta_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->slot);
	free(ix->seen);
	free(ix);
}

/* ---- the matcher -------------------------------------------------------- */

/* One delta_match_fd() run. */
struct matcher {
	const struct delta_index *ix;
	int            fd;
	uint64_t       size;            /* bytes of the new file to match */
	size_t         literal_max;
	size_t         read_size;
	delta_emit_fn  emit;
	void          *ctx;
	XXH3_state_t  *hs;              /* whole-file hash, fed as bytes arrive */

	unsigned char *buf;
	size_t         cap;
	uint64_t       buf_off;         /* file offset of buf[0] */
	size_t         buf_len;         /* valid bytes in buf */

	uint64_t       lit_start;       /* first byte not yet emitted */
	struct delta_op copy;           /* pending COPY (length 0: none) */
	int            stopped;         /* emit returned non-zero */
};

/* Returns a pointer to the byte at file offset off (which is in the buffer). */
static const unsigned char *
at(const struct matcher *m, uint64_t off)
{
	return m->buf + (size_t)(off - m->buf_off);
}

/*
 * Makes bytes up to file offset upto (<= size) available in the buffer,
 * keeping everything from lit_start on; reads at least read_size bytes
 * whenever it reads.  Returns 0, or -1 with errno (ENODATA: file shrank).
 */
static int
fill(struct matcher *m, uint64_t upto)
{
	size_t keep, want;
	ssize_t got;

	if (upto <= m->buf_off + m->buf_len)
		return 0;
	keep = (size_t)(m->buf_off + m->buf_len - m->lit_start);
	memmove(m->buf, at(m, m->lit_start), keep);
	m->buf_off = m->lit_start;
	m->buf_len = keep;
	want = m->cap - keep;
	if (want > m->size - (m->buf_off + keep))
		want = (size_t)(m->size - (m->buf_off + keep));
	got = pread_full(m->fd, m->buf + keep, want, m->buf_off + keep);
	if (got < 0)
		return -1;
	if ((size_t)got < want) {
		errno = ENODATA;
		return -1;
	}
	if (XXH3_128bits_update(m->hs, m->buf + keep, want) != XXH_OK) {
		errno = EINVAL;
		return -1;
	}
	m->buf_len += want;
	if (upto > m->buf_off + m->buf_len) {
		errno = EINVAL;         /* upto beyond size: a caller's bug */
		return -1;
	}
	return 0;
}

/* Calls emit for op unless an earlier call stopped the match.  Returns 0 or -1. */
static int
put(struct matcher *m, const struct delta_op *op)
{
	if (m->stopped || m->emit(m->ctx, op) != 0) {
		m->stopped = 1;
		return -1;
	}
	return 0;
}

/* Emits the pending COPY, if any.  Returns 0 or -1 (stopped). */
static int
flush_copy(struct matcher *m)
{
	int rc = 0;

	if (m->copy.length != 0)
		rc = put(m, &m->copy);
	m->copy.length = 0;
	return rc;
}

/*
 * Emits the literal bytes [lit_start, end) (in the buffer) after the
 * pending COPY, in runs of at most literal_max.  Returns 0 or -1 (stopped).
 */
static int
flush_literal(struct matcher *m, uint64_t end)
{
	struct delta_op op = { .type = DELTA_LITERAL };

	if (m->lit_start == end)
		return 0;
	if (flush_copy(m) != 0)
		return -1;
	while (m->lit_start < end) {
		op.offset = m->lit_start;
		op.length = end - m->lit_start;
		if (op.length > m->literal_max)
			op.length = m->literal_max;
		op.data = at(m, m->lit_start);
		if (put(m, &op) != 0)
			return -1;
		m->lit_start += op.length;
	}
	return 0;
}

/*
 * Emits the literal bytes from lit_start towards end in runs of exactly
 * literal_max, reading them in as it goes (end - lit_start may exceed the
 * buffer), until at most literal_max bytes are left pending; with all set,
 * emits those too.  Returns 0, or -1 (errno set, or m->stopped).
 */
static int
stream_literal(struct matcher *m, uint64_t end, int all)
{
	while (end - m->lit_start > m->literal_max) {
		uint64_t stop = m->lit_start + m->literal_max;

		if (fill(m, stop) != 0 || flush_literal(m, stop) != 0)
			return -1;
	}
	if (all && (fill(m, end) != 0 || flush_literal(m, end) != 0))
		return -1;
	return 0;
}

/*
 * Records that the new file's bytes [pos, pos + len) equal basis block
 * number blk: flushes literals before it and extends the pending COPY when
 * the block continues it in the basis.  Returns 0 or -1 (stopped).
 */
static int
take_block(struct matcher *m, uint64_t pos, size_t blk, uint64_t len)
{
	uint64_t boff = (uint64_t)blk * m->ix->sig->block_size;

	if (flush_literal(m, pos) != 0)
		return -1;
	if (m->copy.length != 0 && m->copy.basis_offset + m->copy.length == boff) {
		m->copy.length += len;
	} else {
		if (flush_copy(m) != 0)
			return -1;
		m->copy.type = DELTA_COPY;
		m->copy.offset = pos;
		m->copy.basis_offset = boff;
		m->copy.length = len;
	}
	m->lit_start = pos + len;
	return 0;
}

/*
 * Returns non-zero if block blk has weak sum w and the strong sum whose
 * full form is strong (only the signature's strong_size bytes count).
 */
static int
block_is(const struct delta_index *ix, size_t blk, uint32_t w,
    const unsigned char strong[DELTA_HASH_LEN])
{
	return ix->sig->weak[blk] == w &&
	    memcmp(strong_of(ix->sig, blk), strong, ix->sig->strong_size) == 0;
}

/*
 * Looks up the full-block window at p (weak sum w): tries block prefer
 * first (the one continuing the last match; SIZE_MAX for none), then the
 * table.  Returns the block number, or SIZE_MAX for no match.
 */
static size_t
lookup(const struct delta_index *ix, const unsigned char *p, uint32_t w, size_t prefer)
{
	unsigned char strong[DELTA_HASH_LEN];
	size_t h = home(ix, w);
	int have_strong = 0;

	if (prefer < ix->nfull && ix->sig->weak[prefer] == w) {
		delta_strong(p, ix->sig->block_size, strong);
		have_strong = 1;
		if (block_is(ix, prefer, w, strong))
			return prefer;
	}
	if (!maybe_seen(ix, w))
		return SIZE_MAX;
	for (int probe = 0; probe < DELTA_PROBE_MAX; probe++, h = (h + 1) & ix->mask) {
		const struct slot *o = &ix->slot[h];

		if (o->blk == DELTA_EMPTY)
			break;
		if (o->weak != w)
			continue;
		if (!have_strong) {
			delta_strong(p, ix->sig->block_size, strong);
			have_strong = 1;
		}
		if (block_is(ix, o->blk, w, strong))
			return o->blk;
	}
	return SIZE_MAX;
}

/*
 * Returns non-zero if the full-block window at p is block prefer (the one
 * continuing the last match) by its strong sum alone, without the weak
 * sum.  Only with strong sums of at least DELTA_STRONG_MIN bytes: this
 * tries one block per block-sized step, not every block at every byte, so
 * at most n tries per file, each false with odds 2^-64 or less.  Skipping
 * the weak sum there spares a pass over every unchanged byte.
 */
static int
continues(const struct delta_index *ix, const unsigned char *p, size_t prefer)
{
	unsigned char strong[DELTA_HASH_LEN];

	if (prefer >= ix->nfull || ix->sig->strong_size < DELTA_STRONG_MIN)
		return 0;
	delta_strong(p, ix->sig->block_size, strong);
	return memcmp(strong_of(ix->sig, prefer), strong, ix->sig->strong_size) == 0;
}

/*
 * The scan itself: full-block windows at every offset, then the short last
 * block at the very end.  Right after a match the next block of the basis
 * is tried first, by strong sum (continues()); elsewhere the window rolls.
 * Returns 0, or -1 (errno set, or m->stopped).
 */
static int
scan(struct matcher *m)
{
	const struct delta_index *ix = m->ix;
	const uint64_t L = ix->sig->block_size;
	struct delta_roll roll;
	uint64_t pos = 0;
	size_t prefer = SIZE_MAX;
	int rolling = 0;

	while (ix->nfull > 0 && pos + L <= m->size) {
		size_t blk;

		/* The window and the byte that would roll in next. */
		if (pos + L + 1 > m->buf_off + m->buf_len &&
		    fill(m, pos + L < m->size ? pos + L + 1 : pos + L) != 0)
			return -1;
		if (!rolling && continues(ix, at(m, pos), prefer)) {
			if (take_block(m, pos, prefer, L) != 0)
				return -1;
			pos += L;
			prefer++;
			continue;
		}
		if (!rolling) {
			delta_roll_start(&roll, at(m, pos), (size_t)L);
			rolling = 1;
		}
		blk = lookup(ix, at(m, pos), delta_roll_value(&roll), prefer);
		if (blk != SIZE_MAX) {
			if (take_block(m, pos, blk, L) != 0)
				return -1;
			pos += L;
			prefer = blk + 1;
			rolling = 0;
			continue;
		}
		if (pos - m->lit_start >= m->literal_max && flush_literal(m, pos) != 0)
			return -1;
		if (pos + L < m->size)
			delta_roll_step(&roll, *at(m, pos), *at(m, pos + L));
		pos++;
	}
	/*
	 * Whatever precedes the place where the short last block would sit is
	 * literal (all but its last run is emitted now, so the rest fits the
	 * buffer); then that block is tried once; the rest is literal.  This
	 * also reads every remaining byte, which the whole-file hash needs.
	 */
	if (ix->tail_len != 0 && m->size - m->lit_start >= ix->tail_len) {
		uint64_t q = m->size - ix->tail_len;
		unsigned char strong[DELTA_HASH_LEN];
		size_t blk = ix->sig->n - 1;
		uint32_t w;

		if (stream_literal(m, q, 0) != 0 || fill(m, m->size) != 0)
			return -1;
		w = delta_weak(at(m, q), ix->tail_len);
		if (w == ix->sig->weak[blk]) {
			delta_strong(at(m, q), ix->tail_len, strong);
			if (block_is(ix, blk, w, strong) &&
			    take_block(m, q, blk, ix->tail_len) != 0)
				return -1;
		}
	}
	if (stream_literal(m, m->size, 1) != 0 || flush_copy(m) != 0)
		return -1;
	return 0;
}

/* Matches fd against ix, emitting COPY and LITERAL ops in file order (delta.h). */
int
delta_match_fd(const struct delta_index *ix, int fd, uint64_t size,
    const struct delta_match_opts *opts, delta_emit_fn emit, void *ctx,
    unsigned char hash[DELTA_HASH_LEN])
{
	struct matcher m = { .ix = ix, .fd = fd, .size = size, .emit = emit, .ctx = ctx };
	XXH128_canonical_t c;
	size_t L = ix->sig->block_size;
	int rc = DELTA_ERROR, saved;

	m.literal_max = opts != NULL && opts->literal_max != 0 ? opts->literal_max :
	    DELTA_LITERAL_MAX;
	m.read_size = opts != NULL && opts->read_size != 0 ? opts->read_size :
	    DELTA_READ_SIZE;
	if (m.read_size < 2 * L)
		m.read_size = 2 * L;
	/* Pending literal + one window + the rolled-in byte + one read. */
	m.cap = m.literal_max + L + 1 + m.read_size;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);     /* a hint only */
	if ((m.buf = malloc(m.cap)) == NULL || (m.hs = XXH3_createState()) == NULL ||
	    XXH3_128bits_reset(m.hs) != XXH_OK) {
		errno = ENOMEM;
		goto out;
	}
	if (scan(&m) != 0) {
		rc = m.stopped ? DELTA_STOPPED : DELTA_ERROR;
		goto out;
	}
	if (hash != NULL) {
		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(m.hs));
		memcpy(hash, c.digest, DELTA_HASH_LEN);
	}
	rc = DELTA_OK;
out:
	saved = errno;
	XXH3_freeState(m.hs);
	free(m.buf);
	errno = saved;
	return rc;
}
