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
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../server/ops.h"
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

static struct export ex;
static struct session sess;

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

	switch (op % 14) {
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
		commit_args x = { a % 4, n, 0600 | ((unsigned)b << 3), t, { 0, NULL } };
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
	default:
		memset(data, n, sizeof data);
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
	}
	fz_reset();
	session_init(&sess, "fuzz", NULL, 0);
	sess.export = &ex;
	for (size_t i = 0; i + 4 <= size && i < 4 * 256; i += 4)
		step(data[i], data[i + 1], data[i + 2], data[i + 3]);
	session_end(&sess);
	fz_check_outside();
	return 0;
}
