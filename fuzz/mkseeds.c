/*
 * mkseeds.c -- writes the committed seed corpora of the fuzzers.
 *
 * Why: a fuzzer that starts from valid messages reaches the procedures at
 * once instead of spending its time rediscovering record marks and RPC
 * headers.  The seeds are encoded with the same XDR routines the programs
 * use, so they stay valid when sync.x changes: run `make fuzz-seeds` and
 * commit fuzz/corpus/.
 *
 *   mkseeds DIR      (writes DIR/fuzz_xdr/, DIR/fuzz_server/, DIR/fuzz_sequence/)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rpc/rpc.h>

#include "delta.h"
#include "sync.h"

static const char *outdir;
static unsigned char rec[1 << 20];      /* the stream being built */
static size_t reclen;

/* Writes len bytes of data as DIR/sub/name. */
static void
save(const char *sub, const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", outdir, sub);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(2);
	}
	snprintf(path, sizeof path, "%s/%s/%s", outdir, sub, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(data, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* Encodes obj with proc into buf (size n); returns the length. */
static size_t
encode(xdrproc_t proc, void *obj, unsigned char *buf, size_t n)
{
	XDR x;
	size_t len;

	xdrmem_create(&x, (char *)buf, (u_int)n, XDR_ENCODE);
	if (!proc(&x, obj)) {
		fprintf(stderr, "mkseeds: encoding failed\n");
		exit(2);
	}
	len = xdr_getpos(&x);
	xdr_destroy(&x);
	return len;
}

/* fuzz_xdr: the selector byte t, then obj encoded. */
static void
xdr_seed(const char *name, unsigned char t, xdrproc_t proc, void *obj)
{
	unsigned char buf[65536];

	buf[0] = t;
	save("fuzz_xdr", name, buf, 1 + encode(proc, obj, buf + 1, sizeof buf - 1));
}

/* Appends one call record (procedure proc, arguments obj) to rec. */
static void
call(rpcproc_t proc, xdrproc_t xargs, void *args)
{
	struct rpc_msg m;
	unsigned char *p = rec + reclen + 4;
	size_t len, room = sizeof rec - reclen - 4;
	XDR x;

	memset(&m, 0, sizeof m);
	m.rm_xid = (u_int32_t)(reclen + 1);
	m.rm_direction = CALL;
	m.rm_call.cb_rpcvers = RPC_MSG_VERSION;
	m.rm_call.cb_prog = SYNC_PROG;
	m.rm_call.cb_vers = SYNC_V1;
	m.rm_call.cb_proc = proc;
	m.rm_call.cb_cred.oa_flavor = AUTH_NONE;
	m.rm_call.cb_verf.oa_flavor = AUTH_NONE;
	xdrmem_create(&x, (char *)p, (u_int)room, XDR_ENCODE);
	if (!xdr_callmsg(&x, &m) || !xargs(&x, args)) {
		fprintf(stderr, "mkseeds: encoding a call failed\n");
		exit(2);
	}
	len = xdr_getpos(&x);
	xdr_destroy(&x);
	rec[reclen] = 0x80 | (unsigned char)(len >> 24);
	rec[reclen + 1] = (unsigned char)(len >> 16);
	rec[reclen + 2] = (unsigned char)(len >> 8);
	rec[reclen + 3] = (unsigned char)len;
	reclen += 4 + len;
}

/* Writes rec as a fuzz_server seed and starts a new one. */
static void
server_seed(const char *name)
{
	save("fuzz_server", name, rec, reclen);
	reclen = 0;
}

static sync_path
sp(const char *s)
{
	sync_path p = { (u_int)strlen(s), (char *)s };

	return p;
}

static void
hello(char *export)
{
	hello_args h = { SYNC_VERSION, export, SYNC_CAP_ZSTD };

	call(SYNC_HELLO, (xdrproc_t)xdr_hello_args, &h);
}

static void
barrier(void)
{
	call(SYNC_BARRIER, (xdrproc_t)xdr_void, NULL);
}

int
main(int argc, char **argv)
{
	char data[] = "hello, world";
	sync_time t = { 1700000000, 5 };
	hello_args ha = { SYNC_VERSION, "default", SYNC_CAP_ZSTD };
	auth_args aa;
	list_args la = { sp(""), FALSE, sp(""), TRUE };
	read_args ra = { sp("d/f"), 0, 4096 };
	signature_args ga = { sp("d/f") };
	create_args ca = { 1, sp("new"), FALSE }, cb = { 2, sp("d/f"), TRUE };
	write_args wa = { 1, 0, 0, { sizeof data - 1, data } };
	commit_args ma = { 1, sizeof data - 1, 0644, t, { 0, NULL } };
	copy_args ya = { 2, 0, 3, 0 };
	abort_args ba = { 1 };
	mkdir_args ka = { sp("n"), 0755 };
	symlink_args sa = { sp("n/s"), sp("../x"), t };
	setattr_args ta = { sp("n"), SYNC_SET_MODE | SYNC_SET_MTIME, 0700, t };
	delete_args da = { sp("d") };
	hello_res hr;
	list_res lr;
	sync_entry ent = { sp("a"), { SYNC_REG, 0644, 3, { 1, 2 } }, sp(""), { 0, NULL } };
	static const char strong[8] = "strong!!";
	u_int weak = 0x1234;
	signature_res gr;
	/* A resumable write of "hello, world" to "big", cut after 7 bytes. */
	resume_args rs = { 3, sp("big"), "resume-key-0001", 0 };
	partial_args pa = { sp("big"), "resume-key-0001" };
	write_args w1 = { 3, 0, 0, { 7, data } }, w2 = { 3, 7, 0, { 5, data + 7 } };
	char whole[DELTA_HASH_LEN];
	commit_args mc = { 3, sizeof data - 1, 0644, t, { DELTA_HASH_LEN, whole } };
	partial_res pr;

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	outdir = argv[1];
	memset(&aa, 0, sizeof aa);
	aa.user = "alice";

	/* fuzz_xdr: one valid value per type, in the harness's table order. */
	memset(&hr, 0, sizeof hr);
	hr.hello_res_u.ok.proto_version = SYNC_VERSION;
	memset(&lr, 0, sizeof lr);
	lr.list_res_u.ok.entries.entries_len = 1;
	lr.list_res_u.ok.entries.entries_val = &ent;
	memset(&gr, 0, sizeof gr);
	gr.signature_res_u.ok.block_size = 4096;
	gr.signature_res_u.ok.file_size = 4096;
	gr.signature_res_u.ok.strong_size = 8;
	gr.signature_res_u.ok.weak.weak_len = 1;
	gr.signature_res_u.ok.weak.weak_val = &weak;
	gr.signature_res_u.ok.strong.strong_len = 8;
	gr.signature_res_u.ok.strong.strong_val = (char *)strong;
	xdr_seed("hello_args", 0, (xdrproc_t)xdr_hello_args, &ha);
	xdr_seed("hello_res", 1, (xdrproc_t)xdr_hello_res, &hr);
	xdr_seed("auth_args", 2, (xdrproc_t)xdr_auth_args, &aa);
	xdr_seed("list_args", 4, (xdrproc_t)xdr_list_args, &la);
	xdr_seed("list_res", 5, (xdrproc_t)xdr_list_res, &lr);
	xdr_seed("read_args", 6, (xdrproc_t)xdr_read_args, &ra);
	xdr_seed("signature_args", 9, (xdrproc_t)xdr_signature_args, &ga);
	xdr_seed("signature_res", 10, (xdrproc_t)xdr_signature_res, &gr);
	xdr_seed("create_args", 11, (xdrproc_t)xdr_create_args, &ca);
	xdr_seed("write_args", 12, (xdrproc_t)xdr_write_args, &wa);
	xdr_seed("commit_args", 13, (xdrproc_t)xdr_commit_args, &ma);
	xdr_seed("mkdir_args", 15, (xdrproc_t)xdr_mkdir_args, &ka);
	xdr_seed("symlink_args", 16, (xdrproc_t)xdr_symlink_args, &sa);
	xdr_seed("setattr_args", 17, (xdrproc_t)xdr_setattr_args, &ta);
	xdr_seed("delete_args", 18, (xdrproc_t)xdr_delete_args, &da);
	xdr_seed("copy_args", 19, (xdrproc_t)xdr_copy_args, &ya);
	delta_strong(data, sizeof data - 1, (unsigned char *)whole);
	memset(&pr, 0, sizeof pr);
	pr.partial_res_u.ok.length = sizeof data - 1;
	pr.partial_res_u.ok.hash.sync_hash_len = DELTA_HASH_LEN;
	pr.partial_res_u.ok.hash.sync_hash_val = whole;
	xdr_seed("partial_args", 20, (xdrproc_t)xdr_partial_args, &pa);
	xdr_seed("partial_res", 21, (xdrproc_t)xdr_partial_res, &pr);
	xdr_seed("resume_args", 22, (xdrproc_t)xdr_resume_args, &rs);

	/* fuzz_server: whole conversations. */
	hello("default");
	server_seed("hello");
	call(SYNC_LIST, (xdrproc_t)xdr_list_args, &la);
	server_seed("list-before-hello");
	hello("default");
	call(SYNC_LIST, (xdrproc_t)xdr_list_args, &la);
	call(SYNC_READ, (xdrproc_t)xdr_read_args, &ra);
	call(SYNC_SIGNATURE, (xdrproc_t)xdr_signature_args, &ga);
	server_seed("queries");
	hello("default");
	call(SYNC_CREATE, (xdrproc_t)xdr_create_args, &ca);
	call(SYNC_WRITE, (xdrproc_t)xdr_write_args, &wa);
	call(SYNC_COMMIT, (xdrproc_t)xdr_commit_args, &ma);
	barrier();
	server_seed("put");
	hello("default");
	call(SYNC_CREATE, (xdrproc_t)xdr_create_args, &cb);
	call(SYNC_COPY, (xdrproc_t)xdr_copy_args, &ya);
	ma.handle = 2;
	ma.size = 3;
	call(SYNC_COMMIT, (xdrproc_t)xdr_commit_args, &ma);
	call(SYNC_CREATE, (xdrproc_t)xdr_create_args, &ca);
	call(SYNC_ABORT, (xdrproc_t)xdr_abort_args, &ba);
	barrier();
	server_seed("delta");
	hello("default");
	call(SYNC_MKDIR, (xdrproc_t)xdr_mkdir_args, &ka);
	call(SYNC_SYMLINK, (xdrproc_t)xdr_symlink_args, &sa);
	call(SYNC_SETATTR, (xdrproc_t)xdr_setattr_args, &ta);
	call(SYNC_DELETE, (xdrproc_t)xdr_delete_args, &da);
	barrier();
	server_seed("tree");
	hello("ro");
	call(SYNC_MKDIR, (xdrproc_t)xdr_mkdir_args, &ka);
	barrier();
	server_seed("read-only");
	hello("auth");
	call(SYNC_AUTH, (xdrproc_t)xdr_auth_args, &aa);
	call(SYNC_LIST, (xdrproc_t)xdr_list_args, &la);
	server_seed("auth");
	/*
	 * Resume, as far as one connection goes: the HELLO that switches
	 * export drops the open write and keeps its partial, as a connection's
	 * end would; back on "default", PARTIAL finds 7 bytes, and the RESUME
	 * from there is committed with the whole file's hash.
	 */
	hello("default");
	call(SYNC_RESUME, (xdrproc_t)xdr_resume_args, &rs);
	call(SYNC_WRITE, (xdrproc_t)xdr_write_args, &w1);
	barrier();
	hello("ro");
	hello("default");
	call(SYNC_PARTIAL, (xdrproc_t)xdr_partial_args, &pa);
	rs.offset = 7;
	call(SYNC_RESUME, (xdrproc_t)xdr_resume_args, &rs);
	call(SYNC_WRITE, (xdrproc_t)xdr_write_args, &w2);
	call(SYNC_COMMIT, (xdrproc_t)xdr_commit_args, &mc);
	barrier();
	server_seed("resume");

	/* fuzz_sequence: steps of (op, a, b, n); see fuzz_sequence.c. */
	{
		static const unsigned char put[] = { 13, 0, 0, 'x', 0, 1, 13, 0, 1, 1, 0, 32,
			3, 1, 0, 32, 12, 0, 0, 0 };
		static const unsigned char trap[] = { 0, 1, 7, 0, 1, 1, 0, 8, 3, 1, 0, 8,
			8, 6, 0, 0, 12, 0, 0, 0, 10, 7, 0, 64, 9, 6, 0, 0 };
		static const unsigned char delta[] = { 0, 1, 2, 1, 2, 1, 0, 4, 3, 1, 0, 4,
			12, 0, 0, 0, 11, 2, 0, 0 };
		/*
		 * RESUME "d/g" (key A, offset 0), 32 bytes, a new session,
		 * PARTIAL, RESUME at 16 (n = 6: key A, offsets[2]), 16 more
		 * bytes, COMMIT, flush, READ; then RESUME key A beyond the
		 * partial (n = 12: offsets[4]) and its doomed COMMIT.
		 */
		static const unsigned char resume[] = { 13, 0, 0, 'x', 14, 1, 3, 0,
			1, 1, 0, 32, 16, 0, 0, 0, 15, 3, 0, 0, 14, 1, 3, 6, 1, 1, 1, 16,
			3, 1, 0, 32, 12, 0, 0, 0, 10, 3, 0, 64, 14, 2, 3, 12, 3, 2, 0, 0,
			12, 0, 0, 0 };

		save("fuzz_sequence", "put", put, sizeof put);
		save("fuzz_sequence", "trap", trap, sizeof trap);
		save("fuzz_sequence", "delta", delta, sizeof delta);
		save("fuzz_sequence", "resume", resume, sizeof resume);
	}
	return 0;
}
