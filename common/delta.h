/*
 * delta.h -- the delta-transfer engine both sides share (rsync-style).
 *
 * Why it exists: a changed file usually keeps most of its bytes, so instead
 * of sending all of it the client asks the server for a signature of its
 * copy (per-block checksums: SIGNATURE), finds those blocks anywhere in the
 * new version, and sends only "copy this block of the old file" (COPY) and
 * the bytes it could not find (WRITE).  The server computes signatures, the
 * client matches, and both must agree bit for bit on the checksums, the
 * block layout and the whole-file hash -- so all of it lives here, once, free
 * of RPC and of either program's state, and is unit-tested on its own.
 *
 * The checksums (docs/PROTOCOL.md section 5.13 has the same text):
 *
 *   weak(x[0..L-1]) = (a mod 2^16) | (b mod 2^16) << 16, where, with every
 *     byte taken as an unsigned value plus DELTA_WEAK_OFFSET (31):
 *       a = sum over i of (x[i] + 31)
 *       b = sum over i of (L - i) * (x[i] + 31)
 *     Rolling one byte (drop x[0], append x[L], same L):
 *       a' = a - x[0] + x[L]
 *       b' = b - L * (x[0] + 31) + a'
 *   strong(block) = XXH3-128 (XXH3_128bits, seed 0) of the block's bytes,
 *     as 16 bytes in canonical (big-endian) form (XXH128_canonicalFromHash);
 *     a signature carries only its first strong_size bytes (1..16), the
 *     same prefix for every block of that signature.
 *   The whole-file hash is the same XXH3-128 over the whole file, always
 *     all 16 bytes.
 *
 * Block layout: blocks of block_size bytes from offset 0, the last one
 * shorter when block_size does not divide the file size.  delta_block_size()
 * and delta_strong_size() are syncd's rules for choosing block_size and
 * strong_size; a client accepts any pair that delta_sig_valid() accepts.
 */
#ifndef RPCSYNC_DELTA_H
#define RPCSYNC_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "sync.h"

#define DELTA_HASH_LEN     SYNC_HASH_LEN        /* 16: XXH3-128, canonical form */
#define DELTA_WEAK_OFFSET  31u                  /* added to every byte by weak() */
#define DELTA_BLOCK_MIN    (2u << 10)           /* 2 KiB */
#define DELTA_BLOCK_MAX    (1u << 20)           /* 1 MiB: the sqrt rule's ceiling */
#define DELTA_BLOCK_LIMIT  (16u << 20)          /* absolute ceiling (SIG_MAX may force > 1 MiB) */
#define DELTA_LITERAL_MAX  (1u << 20)           /* default longest LITERAL op */
#define DELTA_STRONG_MIN   8u                   /* syncd's shortest strong sum (bytes) */

/* ---- checksums ---------------------------------------------------------- */

/* The rolling state of weak() over a window of len bytes. */
struct delta_roll {
	uint32_t a, b;          /* kept mod 2^32; only the low 16 bits matter */
	uint32_t len;
};

/* Starts r over the len bytes at p (len <= DELTA_BLOCK_LIMIT).  O(len). */
void delta_roll_start(struct delta_roll *r, const unsigned char *p, size_t len);

/*
 * Slides r one byte: out leaves the window at its start, in joins at its
 * end (the window length is unchanged).  O(1).
 */
static inline void
delta_roll_step(struct delta_roll *r, unsigned char out, unsigned char in)
{
	r->a += (uint32_t)in - (uint32_t)out;
	r->b += r->a - r->len * ((uint32_t)out + DELTA_WEAK_OFFSET);
}

/* Returns the weak checksum of r's window. */
static inline uint32_t
delta_roll_value(const struct delta_roll *r)
{
	return (r->a & 0xffffu) | (r->b << 16);
}

/* Returns weak() of the len bytes at p (same as a started roll's value). */
uint32_t delta_weak(const unsigned char *p, size_t len);

/* Writes strong() (XXH3-128, canonical) of the len bytes at p into out. */
void delta_strong(const void *p, size_t len, unsigned char out[DELTA_HASH_LEN]);

/*
 * Hashes everything fd holds from offset 0 to end of file (pread, large
 * reads, POSIX_FADV_SEQUENTIAL) into out; *len (if not NULL) gets the
 * number of bytes hashed.  Returns 0, or -1 with errno.
 */
int delta_hash_fd(int fd, unsigned char out[DELTA_HASH_LEN], uint64_t *len);

/*
 * A whole-file hash (XXH3-128) computed piece by piece, for bytes that are
 * read for something else anyway (a file being sent).  Start it, add bytes
 * in order, read the hash of what was added so far at any point (that does
 * not end it), and free it with delta_hash_end() on every path.
 */
struct delta_hash {
	void *state;
};

/* Starts h empty.  Returns 0, or -1 with errno ENOMEM. */
int delta_hash_start(struct delta_hash *h);

/* Adds the len bytes at p to h. */
void delta_hash_add(struct delta_hash *h, const void *p, size_t len);

/*
 * Adds the len bytes of fd at offset 0 (pread; h must be empty or hold the
 * bytes before them) to h.  Returns 0, or -1 with errno (ENODATA if fd
 * ends before len bytes).
 */
int delta_hash_add_fd(struct delta_hash *h, int fd, uint64_t len);

/* Writes the hash of everything added to h so far into out. */
void delta_hash_digest(const struct delta_hash *h, unsigned char out[DELTA_HASH_LEN]);

/* Frees h (started or zeroed). */
void delta_hash_end(struct delta_hash *h);

/* ---- signatures --------------------------------------------------------- */

/*
 * syncd's block size for a file of size bytes: the smallest power of two
 * whose square is >= 8 * size (about 2.8 to 5.7 x sqrt(size); delta.c says
 * why), clamped to [DELTA_BLOCK_MIN, DELTA_BLOCK_MAX], then doubled while
 * the file would need more than SYNC_SIG_MAX blocks.  Returns 0 if that
 * exceeds DELTA_BLOCK_LIMIT (file above 1 TiB: no delta).
 */
uint32_t delta_block_size(uint64_t size);

/*
 * syncd's strong sum length, in bytes, for a file of size bytes cut into
 * blocks of block_size: the least whole number of bytes s with 8 * s >=
 * ceil(log2(size)) + ceil(log2(blocks)) + 14, but at least
 * DELTA_STRONG_MIN and at most DELTA_HASH_LEN (delta.c derives it).
 * block_size must be >= 1 (what delta_block_size() returns when not 0).
 */
uint32_t delta_strong_size(uint64_t size, uint32_t block_size);

/* Returns ceil(size / block_size), the number of blocks (block_size >= 1). */
uint64_t delta_block_count(uint64_t size, uint32_t block_size);

/* A signature: the server's reply, or what delta_signature_fd() fills. */
struct delta_sig {
	uint32_t             block_size;
	uint32_t             strong_size;   /* bytes of each strong sum */
	uint64_t             file_size;
	size_t               n;             /* delta_block_count(file_size, block_size) */
	const uint32_t      *weak;          /* n weak sums */
	const unsigned char *strong;        /* n strong sums, strong_size bytes each */
};

/*
 * Returns non-zero if sig is self-consistent: 1 <= block_size <=
 * DELTA_BLOCK_LIMIT, 1 <= strong_size <= DELTA_HASH_LEN, n ==
 * ceil(file_size / block_size) <= SYNC_SIG_MAX, and weak and strong
 * non-NULL when n > 0 (the caller checks that they hold n and n *
 * strong_size items).  Anything else must not reach the matcher.
 */
int delta_sig_valid(const struct delta_sig *sig);

/*
 * Fills weak[0..n-1] and strong[0..n * strong_size - 1] (n =
 * delta_block_count(size, block_size), at most SYNC_SIG_MAX) with the weak
 * sums and the strong_size-byte strong sums of the blocks of the first
 * size bytes of fd, read from offset 0 with large preads and
 * POSIX_FADV_SEQUENTIAL; a file of 64 MiB or more in two halves at once,
 * the second on a thread of its own (joined before the return).  Returns
 * 0, or -1 with errno (ENODATA if the file holds fewer than size bytes: it
 * shrank; EINVAL for a bad block or strong size; ENOMEM).
 */
int delta_signature_fd(int fd, uint64_t size, uint32_t block_size, uint32_t strong_size,
    uint32_t *weak, unsigned char *strong);

/* ---- the matcher -------------------------------------------------------- */

/* A signature indexed for lookups by weak sum (open addressing). */
struct delta_index;

/*
 * Indexes sig (which must pass delta_sig_valid(); it is referenced, not
 * copied, and must outlive the index).  Identical blocks are indexed once
 * (the first).  Returns the index, or NULL with errno (EINVAL, ENOMEM).
 */
struct delta_index *delta_index_new(const struct delta_sig *sig);

/* Frees ix (NULL is allowed). */
void delta_index_free(struct delta_index *ix);

enum delta_op_type {
	DELTA_COPY    = 1,      /* length bytes of the basis at basis_offset */
	DELTA_LITERAL = 2,      /* length bytes of data */
};

/*
 * One step of rebuilding the new file: the bytes [offset, offset + length)
 * of the new file are either a run of the basis (COPY) or given (LITERAL).
 * Ops come in file order, cover the file exactly once, and each is non-empty.
 */
struct delta_op {
	enum delta_op_type   type;
	uint64_t             offset;        /* in the new file */
	uint64_t             length;
	uint64_t             basis_offset;  /* COPY only */
	const unsigned char *data;          /* LITERAL only; valid during the callback */
};

/* Receives each op; a non-zero return stops the match (DELTA_STOPPED). */
typedef int (*delta_emit_fn)(void *ctx, const struct delta_op *op);

/* Tuning; 0 in a field means the default. */
struct delta_match_opts {
	size_t literal_max;     /* longest LITERAL op (DELTA_LITERAL_MAX) */
	size_t read_size;       /* least bytes read at a time (4 MiB; at least 2 blocks) */
};

enum delta_match_rc {
	DELTA_OK      = 0,
	DELTA_STOPPED = 1,      /* emit returned non-zero */
	DELTA_ERROR   = -1,     /* read error, ENODATA (file shrank) or ENOMEM; errno set */
};

/*
 * Matches the first size bytes of fd (read sequentially from offset 0 in
 * large windows, never all at once) against the indexed signature and
 * emits the ops that rebuild them from the basis: each window position is
 * looked up by weak sum, confirmed by strong sum (its first strong_size
 * bytes), and a hit becomes a COPY
 * (adjacent hits, contiguous in the basis, merge into one COPY); bytes no
 * block covers become LITERAL runs of at most literal_max bytes.  The
 * basis's short last block can match only at the very end of the new file.
 * hash (if not NULL) gets the whole-file hash of the size bytes read.
 * Returns a delta_match_rc.
 */
int delta_match_fd(const struct delta_index *ix, int fd, uint64_t size,
    const struct delta_match_opts *opts, delta_emit_fn emit, void *ctx,
    unsigned char hash[DELTA_HASH_LEN]);

#endif
