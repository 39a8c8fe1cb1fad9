/*
 * zstdio.h -- zstd compression of WRITE data, as both sides do it.
 *
 * Why one module for both sides: the wire rule (PROTOCOL.md, "Compressed
 * WRITE data") is one zstd frame that decodes to exactly raw_len bytes, and
 * the sender's "is it worth it" rule and the receiver's checks are two
 * halves of that rule; keeping them together keeps them in step, and lets the
 * test tools build frames the way syncctl does.  The encoder wraps one
 * ZSTD_CCtx reused for every chunk; the decoder one ZSTD_DCtx and one output
 * buffer of a fixed size, so a hostile frame can never make the receiver
 * write (or allocate) more than that bound.  The loopback test that decides
 * syncctl's default lives here too: it is pure and unit-tested with the rest.
 */
#ifndef RPCSYNC_ZSTDIO_H
#define RPCSYNC_ZSTDIO_H

#include <stddef.h>
#include <sys/socket.h>

#define ZSTDIO_LEVEL_DEFAULT 1      /* fast: the link, not the CPU, should limit */
#define ZSTDIO_LEVEL_MAX     19     /* above this zstd needs far more memory */

struct zstdio_enc;                  /* a reusable compressor */
struct zstdio_dec;                  /* a reusable, bounded decompressor */

/*
 * Creates a compressor at level (1..ZSTDIO_LEVEL_MAX; other values are
 * clamped) whose frames carry their content size and a checksum.  Returns
 * it, or NULL (out of memory, errno ENOMEM).
 */
struct zstdio_enc *zstdio_enc_new(int level);

/* Frees e (NULL is allowed). */
void zstdio_enc_free(struct zstdio_enc *e);

/*
 * Compresses the len bytes at src into one frame at dst (dstcap bytes) when
 * that saves at least 1/32 of len (about 3%).  Returns the frame's size
 * (then 0 < size < len and size <= dstcap), or 0 when the data should go
 * raw: empty, too small a gain, no room in dstcap, or a compressor error.
 * A dst of len bytes is always enough.
 */
size_t zstdio_compress(struct zstdio_enc *e, const void *src, size_t len,
    void *dst, size_t dstcap);

/*
 * Creates a decompressor whose output buffer holds raw_max bytes (the
 * largest raw_len it will accept).  Returns it, or NULL (errno ENOMEM).
 */
struct zstdio_dec *zstdio_dec_new(size_t raw_max);

/* Frees d and its buffer (NULL is allowed). */
void zstdio_dec_free(struct zstdio_dec *d);

/*
 * Decodes src (len bytes), which must be exactly one standard zstd frame
 * (no skippable or legacy frame, nothing after it) decoding to exactly
 * raw_len bytes, 1..raw_max; a frame that states its content size must
 * state raw_len, and a checksum, when present, must match.  Returns 0 with
 * *out pointing at the raw_len bytes inside d (valid until the next call on
 * d), or -1 with *why saying what was wrong (a static string).
 */
int zstdio_decompress(struct zstdio_dec *d, const void *src, size_t len,
    size_t raw_len, const void **out, const char **why);

/*
 * Returns 1 if sa (len bytes) is a loopback address: IPv4 127.0.0.0/8,
 * IPv6 ::1, or an IPv4-mapped IPv6 address in 127.0.0.0/8; else 0 (other
 * families and short addresses included).
 */
int zstdio_addr_is_loopback(const struct sockaddr *sa, socklen_t len);

#endif
