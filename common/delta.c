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
 *     of 32-bit slots; the strong sum of the window is computed only on a
 *     weak hit.  The signature comes from the other side of the wire, so
 *     every loop over it is bounded (DELTA_PROBE_MAX): a signature crafted
 *     to collide costs missed matches, never unbounded CPU.
 *   - Runs of blocks that are contiguous in the basis merge into one COPY:
 *     after a hit the next basis block is tried first, so a file of many
 *     identical blocks still yields one COPY instead of one per block.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "delta.h"
#include "fdio.h"

#define DELTA_READ_SIZE  (4u << 20)     /* least bytes per read */
#define DELTA_PROBE_MAX  64             /* slots examined per insert or lookup */
#define DELTA_EMPTY      UINT32_MAX     /* a free table slot */

/* ---- checksums ---------------------------------------------------------- */

/* Starts the roll: a and b as PROTOCOL.md 5.13 defines them (delta.h). */
void
delta_roll_start(struct delta_roll *r, const unsigned char *p, size_t len)
{
	uint32_t a = 0, b = 0;

	for (size_t i = 0; i < len; i++) {
		a += (uint32_t)p[i] + DELTA_WEAK_OFFSET;
		b += a;         /* adds byte i once for each of the L - i prefixes ending at or after it */
	}
	r->a = a;
	r->b = b;
	r->len = (uint32_t)len;
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
delta_hash_fd(int fd, unsigned char out[DELTA_HASH_LEN], uint64_t *len)
{
	XXH3_state_t *hs = NULL;
	XXH128_canonical_t c;
	unsigned char *buf = NULL;
	uint64_t off = 0;
	ssize_t n;
	int rc = -1, saved;

	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);     /* a hint only */
	if ((buf = malloc(DELTA_READ_SIZE)) == NULL || (hs = XXH3_createState()) == NULL ||
	    XXH3_128bits_reset(hs) != XXH_OK) {
		errno = ENOMEM;
		goto out;
	}
	while ((n = pread_full(fd, buf, DELTA_READ_SIZE, off)) > 0) {
		if (XXH3_128bits_update(hs, buf, (size_t)n) != XXH_OK) {
			errno = EINVAL;
			goto out;
		}
		off += (uint64_t)n;
	}
	if (n < 0)
		goto out;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(hs));
	memcpy(out, c.digest, DELTA_HASH_LEN);
	if (len != NULL)
		*len = off;
	rc = 0;
out:
	saved = errno;
	XXH3_freeState(hs);
	free(buf);
	errno = saved;
	return rc;
}

/* ---- signatures --------------------------------------------------------- */

/* syncd's block size rule: sqrt, power of two, clamped, SIG_MAX-bound (delta.h). */
uint32_t
delta_block_size(uint64_t size)
{
	uint64_t b = DELTA_BLOCK_MIN;

	while (b < DELTA_BLOCK_MAX && b * b < size)
		b <<= 1;
	while (delta_block_count(size, (uint32_t)b) > SYNC_SIG_MAX) {
		b <<= 1;
		if (b > DELTA_BLOCK_LIMIT)
			return 0;
	}
	return (uint32_t)b;
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
	if (sig->n > SYNC_SIG_MAX ||
	    delta_block_count(sig->file_size, sig->block_size) != sig->n)
		return 0;
	return sig->n == 0 || sig->blocks != NULL;
}

/* Weak and strong sums of every block of the first size bytes of fd (delta.h). */
int
delta_signature_fd(int fd, uint64_t size, uint32_t block_size, sync_block *blocks)
{
	unsigned char *buf = NULL;
	uint64_t off = 0, n = 0;
	size_t chunk;
	int rc = -1, saved;

	if (block_size < 1 || block_size > DELTA_BLOCK_LIMIT ||
	    delta_block_count(size, block_size) > SYNC_SIG_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* A whole number of blocks per read, and at least DELTA_READ_SIZE bytes. */
	chunk = block_size * (size_t)(DELTA_READ_SIZE / block_size > 0 ?
	    DELTA_READ_SIZE / block_size : 1);
	if (size < chunk)
		chunk = (size_t)size;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);     /* a hint only */
	if (chunk > 0 && (buf = malloc(chunk)) == NULL) {
		errno = ENOMEM;
		goto out;
	}
	while (off < size) {
		size_t want = size - off < chunk ? (size_t)(size - off) : chunk;
		ssize_t got = pread_full(fd, buf, want, off);

		if (got < 0)
			goto out;
		if ((size_t)got < want) {
			errno = ENODATA;        /* the file shrank under us */
			goto out;
		}
		for (size_t k = 0; k < want; k += block_size, n++) {
			size_t len = want - k < block_size ? want - k : block_size;

			blocks[n].weak = delta_weak(buf + k, len);
			delta_strong(buf + k, len, (unsigned char *)blocks[n].strong);
		}
		off += want;
	}
	rc = 0;
out:
	saved = errno;
	free(buf);
	errno = saved;
	return rc;
}

/* ---- the index ---------------------------------------------------------- */

struct delta_index {
	const struct delta_sig *sig;
	uint32_t *slot;         /* block number, or DELTA_EMPTY */
	size_t    mask;         /* table size - 1 (a power of two) */
	size_t    nfull;        /* blocks of exactly block_size bytes (indexed) */
	uint32_t  tail_len;     /* bytes of the short last block, 0 if none */
};

/* The home slot of weak sum w (multiplicative hashing spreads close values). */
static size_t
home(const struct delta_index *ix, uint32_t w)
{
	return (size_t)((w * 2654435761u) ^ (w >> 16)) & ix->mask;
}

/* Indexes the full blocks of sig by weak sum, duplicates once (delta.h). */
struct delta_index *
delta_index_new(const struct delta_sig *sig)
{
	struct delta_index *ix;
	size_t size = 16;

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
	if ((ix->slot = malloc(size * sizeof *ix->slot)) == NULL) {
		free(ix);
		errno = ENOMEM;
		return NULL;
	}
	memset(ix->slot, 0xff, size * sizeof *ix->slot);
	ix->mask = size - 1;
	for (size_t i = 0; i < ix->nfull; i++) {
		const sync_block *b = &sig->blocks[i];
		size_t h = home(ix, b->weak);

		for (int probe = 0; probe < DELTA_PROBE_MAX; probe++, h = (h + 1) & ix->mask) {
			const sync_block *o;

			if (ix->slot[h] == DELTA_EMPTY) {
				ix->slot[h] = (uint32_t)i;
				break;
			}
			o = &sig->blocks[ix->slot[h]];
			if (o->weak == b->weak && memcmp(o->strong, b->strong, DELTA_HASH_LEN) == 0)
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

/* Returns non-zero if block blk has weak sum w and strong sum *strong. */
static int
block_is(const struct delta_index *ix, size_t blk, uint32_t w,
    const unsigned char strong[DELTA_HASH_LEN])
{
	const sync_block *b = &ix->sig->blocks[blk];

	return b->weak == w && memcmp(b->strong, strong, DELTA_HASH_LEN) == 0;
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

	if (prefer < ix->nfull && ix->sig->blocks[prefer].weak == w) {
		delta_strong(p, ix->sig->block_size, strong);
		have_strong = 1;
		if (block_is(ix, prefer, w, strong))
			return prefer;
	}
	for (int probe = 0; probe < DELTA_PROBE_MAX; probe++, h = (h + 1) & ix->mask) {
		uint32_t blk = ix->slot[h];

		if (blk == DELTA_EMPTY)
			break;
		if (ix->sig->blocks[blk].weak != w)
			continue;
		if (!have_strong) {
			delta_strong(p, ix->sig->block_size, strong);
			have_strong = 1;
		}
		if (block_is(ix, blk, w, strong))
			return blk;
	}
	return SIZE_MAX;
}

/*
 * The scan itself: full-block windows at every offset, then the short last
 * block at the very end.  Returns 0, or -1 (errno set, or m->stopped).
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
		if (fill(m, pos + L < m->size ? pos + L + 1 : pos + L) != 0)
			return -1;
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
		if (w == ix->sig->blocks[blk].weak) {
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
