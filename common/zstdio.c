/*
 * zstdio.c -- zstd frames for WRITE data (zstdio.h).
 *
 * Why the decoder is this strict: the frame comes from an unauthenticated
 * peer.  Decoding into a buffer of exactly raw_len bytes (never more than
 * the bound the buffer was made with) is what makes a decompression bomb
 * impossible: libzstd stops with an error as soon as the output would
 * overflow it.  The rest (one frame, standard magic, stated size) keeps the
 * accepted input to what a conforming sender produces, so nothing but one
 * plain frame ever reaches the library's decoder.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "zstdio.h"

struct zstdio_enc {
	ZSTD_CCtx *cctx;
};

struct zstdio_dec {
	ZSTD_DCtx *dctx;
	size_t     raw_max;
	void      *buf;             /* raw_max bytes: the only place output goes */
};

struct zstdio_enc *
zstdio_enc_new(int level)
{
	struct zstdio_enc *e = calloc(1, sizeof *e);

	if (level < 1)
		level = 1;
	if (level > ZSTDIO_LEVEL_MAX)
		level = ZSTDIO_LEVEL_MAX;
	if (e == NULL || (e->cctx = ZSTD_createCCtx()) == NULL)
		goto fail;
	/* Parameters stick to the context; ZSTD_compress2 reuses them per chunk. */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_contentSizeFlag, 1)))
		goto fail;
	return e;
fail:
	zstdio_enc_free(e);
	errno = ENOMEM;
	return NULL;
}

void
zstdio_enc_free(struct zstdio_enc *e)
{
	if (e == NULL)
		return;
	ZSTD_freeCCtx(e->cctx);
	free(e);
}

/* One frame, only if it is at least len/32 smaller than len (zstdio.h). */
size_t
zstdio_compress(struct zstdio_enc *e, const void *src, size_t len, void *dst,
    size_t dstcap)
{
	size_t limit, n;

	if (len == 0)
		return 0;
	/* The largest frame worth sending: len - len/32 - 1 bytes. */
	limit = len - len / 32 - 1;
	if (dstcap > limit)
		dstcap = limit;
	if (dstcap == 0)
		return 0;
	/* A frame that does not fit in dstcap fails with dstSize_tooSmall: raw. */
	n = ZSTD_compress2(e->cctx, dst, dstcap, src, len);
	if (ZSTD_isError(n) || n == 0 || n > dstcap)
		return 0;
	return n;
}

struct zstdio_dec *
zstdio_dec_new(size_t raw_max)
{
	struct zstdio_dec *d = calloc(1, sizeof *d);

	if (d == NULL || raw_max == 0)
		goto fail;
	d->raw_max = raw_max;
	if ((d->buf = malloc(raw_max)) == NULL || (d->dctx = ZSTD_createDCtx()) == NULL)
		goto fail;
	return d;
fail:
	zstdio_dec_free(d);
	errno = ENOMEM;
	return NULL;
}

void
zstdio_dec_free(struct zstdio_dec *d)
{
	if (d == NULL)
		return;
	ZSTD_freeDCtx(d->dctx);
	free(d->buf);
	free(d);
}

/* Checks, then decodes one frame into d->buf (zstdio.h). */
int
zstdio_decompress(struct zstdio_dec *d, const void *src, size_t len,
    size_t raw_len, const void **out, const char **why)
{
	const unsigned char *p = src;
	unsigned long long fcs;
	size_t n;

	*out = NULL;
	if (raw_len == 0 || raw_len > d->raw_max) {
		*why = "raw length out of range";
		return -1;
	}
	/* The magic number is little-endian; this also refuses skippable frames. */
	if (len < 4 || src == NULL ||
	    ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24) != ZSTD_MAGICNUMBER) {
		*why = "not a zstd frame";
		return -1;
	}
	fcs = ZSTD_getFrameContentSize(src, len);
	if (fcs == ZSTD_CONTENTSIZE_ERROR) {
		*why = "corrupt frame header";
		return -1;
	}
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != raw_len) {
		*why = "frame content size differs from the raw length";
		return -1;
	}
	n = ZSTD_findFrameCompressedSize(src, len);
	if (ZSTD_isError(n) || n != len) {
		*why = ZSTD_isError(n) ? "corrupt or truncated frame" :
		    "data after the frame";
		return -1;
	}
	/* The output capacity is raw_len: a frame that decodes to more fails here. */
	n = ZSTD_decompressDCtx(d->dctx, d->buf, raw_len, src, len);
	if (ZSTD_isError(n)) {
		if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
			*why = "frame decodes to more than the raw length";
		else if (ZSTD_getErrorCode(n) == ZSTD_error_checksum_wrong)
			*why = "frame checksum mismatch";
		else
			*why = "corrupt frame";
		return -1;
	}
	if (n != raw_len) {
		*why = "frame decodes to less than the raw length";
		return -1;
	}
	*out = d->buf;
	return 0;
}

int
zstdio_addr_is_loopback(const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return 0;
}
