/*
 * common_zstdio.c -- unit tests for common/zstdio.c.
 *
 * The decoder is what syncd runs on frames from unauthenticated peers, so
 * every way a frame can disagree with its raw_len is tried here (including
 * frames built with libzstd directly, which our encoder never makes: no
 * content size, two frames, a skippable one, one that expands beyond the
 * bound); the encoder's "raw unless it saves 1/32" rule and the loopback
 * test that picks syncctl's default are checked too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <zstd.h>

#include "check.h"
#include "zstdio.h"

#define MiB (1024 * 1024)

/* Fills buf with len bytes of repetitive text. */
static void
fill_text(unsigned char *buf, size_t len)
{
	static const char words[] = "the quick brown fox jumps over the lazy dog 0123\n";

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)words[(i * 7 / 5) % (sizeof words - 1)];
}

/* Fills buf with len pseudo-random bytes (xorshift64*: incompressible). */
static void
fill_random(unsigned char *buf, size_t len)
{
	uint64_t x = 0x9E3779B97F4A7C15ull;

	for (size_t i = 0; i < len; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		buf[i] = (unsigned char)((x * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

/*
 * Builds a frame of src with libzstd directly, with or without the content
 * size in its header, into dst (cap bytes).  Returns its size, 0 on error.
 */
static size_t
raw_frame(const void *src, size_t len, void *dst, size_t cap, int with_size)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t n = 0;

	if (c == NULL)
		return 0;
	if (!with_size) {
		/* Streaming with an unknown size: the header cannot state it. */
		ZSTD_outBuffer out = { dst, cap, 0 };
		ZSTD_inBuffer in = { src, len, 0 };

		if (!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0)) &&
		    ZSTD_compressStream2(c, &out, &in, ZSTD_e_end) == 0)
			n = out.pos;
	} else {
		n = ZSTD_compress2(c, dst, cap, src, len);
		if (ZSTD_isError(n))
			n = 0;
	}
	ZSTD_freeCCtx(c);
	return n;
}

/* Round trips of text, the gain rule, and what stays raw. */
static void
test_encode(void)
{
	size_t len = MiB, n;
	unsigned char *src = malloc(len), *frame = malloc(len), *rnd = malloc(len);
	struct zstdio_enc *e = zstdio_enc_new(ZSTDIO_LEVEL_DEFAULT);
	struct zstdio_dec *d = zstdio_dec_new(4 * MiB);
	const void *out;
	const char *why = NULL;

	if (!src || !frame || !rnd || !e || !d) {
		CHECK(0, "setup");
		goto out;
	}
	fill_text(src, len);
	n = zstdio_compress(e, src, len, frame, len);
	CHECK(n > 0 && n < len / 10, "1 MiB of text compresses well (%zu bytes)", n);
	CHECK(zstdio_decompress(d, frame, n, len, &out, &why) == 0 && out != NULL &&
	    memcmp(out, src, len) == 0, "round trip of 1 MiB of text");
	n = zstdio_compress(e, src, 100, frame, len);
	CHECK(n > 0 && zstdio_decompress(d, frame, n, 100, &out, &why) == 0 &&
	    memcmp(out, src, 100) == 0, "the reused context: round trip of 100 bytes");

	fill_random(rnd, len);
	CHECK(zstdio_compress(e, rnd, len, frame, len) == 0, "random data stays raw");
	CHECK(zstdio_compress(e, src, 0, frame, len) == 0, "empty data stays raw");
	CHECK(zstdio_compress(e, src, 1, frame, len) == 0, "one byte stays raw");
	CHECK(zstdio_compress(e, src, 24, frame, len) == 0,
	    "24 bytes stay raw (a frame is bigger)");
	CHECK(zstdio_compress(e, src, len, frame, 16) == 0, "no room in dst: raw");

	/* Half random, half text: about 50% smaller, so compressed. */
	memcpy(rnd + len / 2, src, len / 2);
	n = zstdio_compress(e, rnd, len, frame, len);
	CHECK(n > 0 && n < len - len / 32, "half-compressible data is compressed (%zu)", n);
	/* 99% random: less than 1/32 saved, so raw. */
	fill_random(rnd, len);
	memset(rnd, 0, len / 100);
	CHECK(zstdio_compress(e, rnd, len, frame, len) == 0,
	    "a gain under 1/32 stays raw");

	zstdio_enc_free(NULL);
	zstdio_dec_free(NULL);
	CHECK(1, "freeing NULL is allowed");
	{
		struct zstdio_enc *lo = zstdio_enc_new(-5), *hi = zstdio_enc_new(1000);

		CHECK(lo != NULL && hi != NULL && zstdio_compress(lo, src, 4096, frame, len) > 0 &&
		    zstdio_compress(hi, src, 4096, frame, len) > 0, "levels out of range are clamped");
		zstdio_enc_free(lo);
		zstdio_enc_free(hi);
	}
out:
	zstdio_enc_free(e);
	zstdio_dec_free(d);
	free(src);
	free(frame);
	free(rnd);
}

/* Every disagreement between a frame and raw_len, and every broken frame. */
static void
test_decode_refusals(void)
{
	size_t len = 64 * 1024, n, m;
	unsigned char *src = malloc(len), *frame = malloc(2 * len + 64);
	unsigned char *bad = malloc(2 * len + 64);
	struct zstdio_enc *e = zstdio_enc_new(3);
	struct zstdio_dec *d = zstdio_dec_new(len);
	const void *out;
	const char *why = NULL;

	if (!src || !frame || !bad || !e || !d) {
		CHECK(0, "setup");
		goto out;
	}
	fill_text(src, len);
	n = zstdio_compress(e, src, len, frame, len);
	CHECK(n > 0, "a frame of 64 KiB (%zu bytes)", n);

	CHECK(zstdio_decompress(d, frame, n, len - 1, &out, &why) < 0 && out == NULL,
	    "raw_len one short: refused (%s)", why);
	CHECK(zstdio_decompress(d, frame, n, len + 1, &out, &why) < 0,
	    "raw_len beyond the bound: refused (%s)", why);
	CHECK(zstdio_decompress(d, frame, n, 0, &out, &why) < 0, "raw_len 0: refused (%s)", why);
	CHECK(zstdio_decompress(d, frame, 0, len, &out, &why) < 0, "empty data: refused (%s)", why);
	CHECK(zstdio_decompress(d, NULL, 0, 1, &out, &why) < 0, "no data at all: refused");
	CHECK(zstdio_decompress(d, frame, 3, len, &out, &why) < 0, "3 bytes: refused (%s)", why);

	memcpy(bad, frame, n);
	bad[n / 2] ^= 0x5a;
	CHECK(zstdio_decompress(d, bad, n, len, &out, &why) < 0,
	    "a byte flipped in the middle: refused (%s)", why);
	memcpy(bad, frame, n);
	bad[n - 1] ^= 0x01;
	CHECK(zstdio_decompress(d, bad, n, len, &out, &why) < 0,
	    "a flipped checksum byte: refused (%s)", why);
	CHECK(zstdio_decompress(d, frame, n - 5, len, &out, &why) < 0,
	    "a truncated frame: refused (%s)", why);
	memcpy(bad, frame, n);
	bad[0] ^= 0xff;
	CHECK(zstdio_decompress(d, bad, n, len, &out, &why) < 0, "a bad magic: refused (%s)", why);
	memcpy(bad, frame, n);
	memcpy(bad + n, frame, n);
	CHECK(zstdio_decompress(d, bad, 2 * n, len, &out, &why) < 0,
	    "two frames back to back: refused (%s)", why);
	memcpy(bad, frame, n);
	bad[n] = 0;
	CHECK(zstdio_decompress(d, bad, n + 1, len, &out, &why) < 0,
	    "a byte after the frame: refused (%s)", why);
	/* A skippable frame: magic 0x184D2A50, 4-byte length, 4 bytes of payload. */
	{
		static const unsigned char skip[] = { 0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0,
		    'a', 'b', 'c', 'd' };

		CHECK(zstdio_decompress(d, skip, sizeof skip, 4, &out, &why) < 0,
		    "a skippable frame: refused (%s)", why);
	}
	fill_random(bad, 1000);
	CHECK(zstdio_decompress(d, bad, 1000, len, &out, &why) < 0, "garbage: refused (%s)", why);

	/* Frames without a content size: only the decoded length can tell. */
	m = raw_frame(src, len / 2, bad, 2 * len, 0);
	CHECK(m > 0 && ZSTD_getFrameContentSize(bad, m) == ZSTD_CONTENTSIZE_UNKNOWN,
	    "a frame with no content size (%zu bytes)", m);
	CHECK(zstdio_decompress(d, bad, m, len / 2, &out, &why) == 0 &&
	    memcmp(out, src, len / 2) == 0, "... decodes when raw_len is right");
	CHECK(zstdio_decompress(d, bad, m, len / 2 + 1, &out, &why) < 0,
	    "... raw_len one too many: refused (%s)", why);
	CHECK(zstdio_decompress(d, bad, m, len / 2 - 1, &out, &why) < 0,
	    "... raw_len one too few: refused (%s)", why);

	/* The decoder is still good after all that. */
	CHECK(zstdio_decompress(d, frame, n, len, &out, &why) == 0 && memcmp(out, src, len) == 0,
	    "the decoder still works after refusals");
out:
	zstdio_enc_free(e);
	zstdio_dec_free(d);
	free(src);
	free(frame);
	free(bad);
}

/* A bomb: 64 MiB of zeros in a frame of a few KiB, against a 1 MiB bound. */
static void
test_bomb(void)
{
	size_t big = 64 * MiB, cap = 64 * 1024, n;
	unsigned char *zeros = calloc(1, big), *frame = malloc(cap);
	struct zstdio_dec *d = zstdio_dec_new(MiB);
	const void *out;
	const char *why = NULL;

	if (!zeros || !frame || !d) {
		CHECK(0, "setup");
		goto out;
	}
	n = raw_frame(zeros, big, frame, cap, 0);
	CHECK(n > 0 && n < cap, "64 MiB of zeros in %zu bytes, size not stated", n);
	CHECK(zstdio_decompress(d, frame, n, MiB, &out, &why) < 0,
	    "it cannot expand beyond raw_len (%s)", why);
	CHECK(zstdio_decompress(d, frame, n, big, &out, &why) < 0,
	    "raw_len beyond the decoder's bound: refused (%s)", why);
	n = raw_frame(zeros, big, frame, cap, 1);
	CHECK(n > 0 && zstdio_decompress(d, frame, n, MiB, &out, &why) < 0,
	    "with its size stated: refused before decoding (%s)", why);
out:
	zstdio_dec_free(d);
	free(zeros);
	free(frame);
}

/* Returns zstdio_addr_is_loopback() of the IPv4 or IPv6 literal s. */
static int
loop(const char *s)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, s, &s4.sin_addr) == 1)
		return zstdio_addr_is_loopback((struct sockaddr *)&s4, sizeof s4);
	if (inet_pton(AF_INET6, s, &s6.sin6_addr) == 1)
		return zstdio_addr_is_loopback((struct sockaddr *)&s6, sizeof s6);
	return -1;
}

/* Which peers count as loopback (compression off by default). */
static void
test_loopback(void)
{
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	CHECK(loop("127.0.0.1") == 1, "127.0.0.1 is loopback");
	CHECK(loop("127.254.3.9") == 1, "127.254.3.9 is loopback (127/8)");
	CHECK(loop("::1") == 1, "::1 is loopback");
	CHECK(loop("::ffff:127.0.0.2") == 1, "::ffff:127.0.0.2 is loopback");
	CHECK(loop("128.0.0.1") == 0, "128.0.0.1 is not");
	CHECK(loop("192.0.2.7") == 0, "192.0.2.7 is not");
	CHECK(loop("126.255.255.255") == 0, "126.255.255.255 is not");
	CHECK(loop("::2") == 0, "::2 is not");
	CHECK(loop("::") == 0, ":: is not");
	CHECK(loop("::ffff:192.0.2.7") == 0, "::ffff:192.0.2.7 is not");
	CHECK(loop("2001:db8::1") == 0, "2001:db8::1 is not");
	CHECK(zstdio_addr_is_loopback((struct sockaddr *)&su, sizeof su) == 0,
	    "a unix socket is not");
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(zstdio_addr_is_loopback((struct sockaddr *)&s4, 4) == 0,
	    "a truncated address is not");
	CHECK(zstdio_addr_is_loopback(NULL, 0) == 0, "no address is not");
}

/* Runs every check; TAP on stdout, exit status 1 if any failed. */
int
main(void)
{
	test_encode();
	test_decode_refusals();
	test_bomb();
	test_loopback();
	return check_done();
}
