/*
 * fuzz_sequence.c -- libFuzzer harness: sequences of file procedures.
 *
 * Why: one call at a time cannot find what needs several -- a directory
 * replaced by a symlink between a CREATE and its COMMIT, a DELETE of a
 * parent with writes open below it, a COPY from a basis that was renamed
 * over.  Each input is read as a sequence of 4-byte steps (operation, two
 * operands, a size or mode), run directly against syncd's procedures on
 * the stage of fuzzlib.h, with paths drawn from a small table that aims at
 * the planted traps ("l", "abs", "hl", "..", deep and odd names).  Oracle:
 * the sentinel outside the export is unchanged after every sequence, with
 * no crash, leak or sanitizer report.
 *
 * Resumable writes: RESUME and PARTIAL draw their keys from a set of three
 * and their offsets from a small table (beyond any partial's length
 * included), and a step can end the session and start another, as a new
 * connection would, so that partials are left behind, asked about and
 * resumed.  Partials are kept as syncd keeps them (partials_set_config with a
 * day's expiry; the expiry thread is not started): the list of kept ones
 * can only hold a (directory, key) pair once, and the paths and keys here
 * make a few dozen pairs at most, so it stays small across iterations.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../server/config.h"
#include "../server/ops.h"
#include "../server/partial.h"
#include "fuzzlib.h"
#include "log.h"

static const char *const paths[] = {
	"", "d", "d/f", "d/g", "d/e", "d/e/x", "l", "l/secret", "l/sub", "l/sub/deep",
	"abs", "abs/secret", "hl", "n", "n/m", "..", "d/..", "../outside/secret",
	"/etc/passwd", "d//f", ".syncd-tmp.x", "d/f/", "x\001y",
};
#define NPATHS (sizeof paths / sizeof paths[0])

static const char *const targets[] = { "../outside", "/", "d", "..", "l/sub", "x" };
#define NTARGETS (sizeof targets / sizeof targets[0])

#define NKEYS 3                 /* RESUME and PARTIAL keys: 16 bytes of 'A', 'B' or 'C' */

/* RESUME offsets: afresh, inside or at the end of a partial, beyond it, absurd. */
static const uint64_t offsets[] = { 0, 1, 16, 100, 4096, 1ULL << 62, UINT64_MAX };
#define NOFFSETS (sizeof offsets / sizeof offsets[0])

#define EXPIRY_S 86400          /* partials are kept, as by default */

/* The harness's reference to cfg is never dropped: kept partials hold it too. */
static struct config cfg = { .refs = 1 };
static struct export ex = { .config = &cfg };
static struct session sess;

/* Starts the session of a new connection on the export. */
static void
session_start(void)
{
	session_init(&sess, "fuzz", NULL, 0);
	sess.export = &ex;
}

/* A sync_path for paths[i % NPATHS] (points into the table). */
static sync_path
sp(unsigned int i)
{
	const char *p = paths[i % NPATHS];
	sync_path r = { (u_int)strlen(p), (char *)(uintptr_t)p };

	return r;
}

/* Runs one step: op, a, b, n. */
static void
step(uint8_t op, uint8_t a, uint8_t b, uint8_t n)
{
	static char data[256];
	sync_time t = { 1000 + n, 0 };

	switch (op % 17) {
	case 0: {
		create_args x = { a % 4, sp(b), n & 1 };
		(void)op_create(&sess, &x);
		break;
	}
	case 1: {
		write_args x = { a % 4, (uint64_t)b * 16, 0, { n, data } };
		(void)op_write(&sess, &x);
		break;
	}
	case 2: {
		copy_args x = { a % 4, b, n, (uint64_t)b * 8 };
		(void)op_copy(&sess, &x);
		break;
	}
	case 3: {
		/* b's top bit: with a hash (the data buffer's first bytes). */
		commit_args x = { a % 4, n, 0600 | ((unsigned)b << 3), t,
		    { (b & 0x80) ? SYNC_HASH_LEN : 0, data } };
		(void)op_commit(&sess, &x);
		break;
	}
	case 4: {
		abort_args x = { a % 4 };
		(void)op_abort(&sess, &x);
		break;
	}
	case 5: {
		mkdir_args x = { sp(a), 0700 | n };
		(void)op_mkdir(&sess, &x);
		break;
	}
	case 6: {
		const char *tg = targets[b % NTARGETS];
		symlink_args x = { sp(a), { (u_int)strlen(tg), (char *)(uintptr_t)tg }, t };
		(void)op_symlink(&sess, &x);
		break;
	}
	case 7: {
		setattr_args x = { sp(a), b % 4, 0400 | ((unsigned)n << 2), t };
		(void)op_setattr(&sess, &x);
		break;
	}
	case 8: {
		delete_args x = { sp(a) };
		(void)op_delete(&sess, &x);
		break;
	}
	case 9: {
		list_args x = { sp(a), b & 1, sp(n), (b & 2) != 0 };
		list_res r;

		memset(&r, 0, sizeof r);
		op_list(&sess, &x, &r);
		xdr_free((xdrproc_t)xdr_list_res, (char *)&r);
		break;
	}
	case 10: {
		read_args x = { sp(a), b, n };
		read_res r;

		memset(&r, 0, sizeof r);
		op_read(&sess, &x, &r);
		if (r.status == SYNC_OK && r.read_res_u.ok.data.data_len > 0 &&
		    memmem(r.read_res_u.ok.data.data_val, r.read_res_u.ok.data.data_len,
		    "OUTSIDE", 7) != NULL)
			abort();        /* read a byte of the sentinel */
		xdr_free((xdrproc_t)xdr_read_res, (char *)&r);
		break;
	}
	case 11: {
		signature_args x = { sp(a) };
		signature_res r;

		memset(&r, 0, sizeof r);
		op_signature(&sess, &x, &r);
		xdr_free((xdrproc_t)xdr_signature_res, (char *)&r);
		break;
	}
	case 12:
		staging_flush(&sess);
		break;
	case 13:
		memset(data, n, sizeof data);
		break;
	case 14: {
		resume_args x = { a % 4, sp(b), { 0 }, offsets[(n / NKEYS) % NOFFSETS] };

		memset(x.key, 'A' + n % NKEYS, sizeof x.key);
		(void)op_resume(&sess, &x);
		break;
	}
	case 15: {
		partial_args x = { sp(a), { 0 } };
		partial_res r;

		memset(x.key, 'A' + b % NKEYS, sizeof x.key);
		memset(&r, 0, sizeof r);
		op_partial(&sess, &x, &r);
		if (r.status == SYNC_OK && (r.partial_res_u.ok.hash.sync_hash_len != SYNC_HASH_LEN ||
		    r.partial_res_u.ok.hash.sync_hash_val == NULL))
			abort();        /* an answer without its hash */
		xdr_free((xdrproc_t)xdr_partial_res, (char *)&r);
		break;
	}
	default:                /* the connection ends; a new one starts */
		session_end(&sess);
		session_start();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fz_stage *st = fz_setup();

	if (ex.name == NULL) {
		log_set_level(LOG_CRIT);        /* inputs provoke errors by the million */
		ex.name = "default";
		ex.path = (char *)st->export;
		ex.root_fd = st->export_fd;
		cfg.exports = &ex;
		cfg.nexports = 1;
		cfg.partial_s = EXPIRY_S;
		partials_set_config(&cfg);
	}
	fz_reset();
	session_start();
	for (size_t i = 0; i + 4 <= size && i < 4 * 256; i += 4)
		step(data[i], data[i + 1], data[i + 2], data[i + 3]);
	session_end(&sess);
	fz_check_outside();
	return 0;
}
