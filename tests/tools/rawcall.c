/*
 * rawcall.c -- a raw protocol client for hostile-input tests.
 *
 * Why it exists: syncctl cleans every path before it reaches the wire, so it
 * can never send "..", an embedded NUL or a planted-symlink path.  rawcall
 * sends exactly the bytes the test names, one operation per run, and prints
 * the status the server answered, so a shell test can assert the server's
 * own checks.  It links only with common/ and the generated XDR code.
 *
 *   rawcall [--port P] [--host H] [--timeout S] [--no-hello] [--caps N] [--flags]
 *           [--auth USER:SECRET [--auth-again]] [--auth-replay USER:SECRET] EXPORT OP [ARGS]
 *     OP: hello | list PATH | list-hash PATH | read PATH OFFSET COUNT
 *         | mkdir PATH | symlink PATH TARGET | delete PATH
 *         | setattr PATH MODE(octal)
 *         | put PATH DATA          (CREATE + WRITE + COMMIT)
 *         | put-hash PATH DATA HASH (the same, COMMIT carrying HASH: 32 hex
 *                                 digits, "good" for DATA's real hash, or
 *                                 "short" for a 15-byte one)
 *         | signature PATH        (SIGNATURE)
 *         | copy PATH BOFF LEN    (CREATE with basis + COPY of LEN bytes at
 *                                 BOFF of the basis to offset 0 + COMMIT)
 *         | partial PATH KEY      (PARTIAL for KEY, 32 hex digits: prints the
 *                                 status and, if OK, "length=N hash=HEX")
 *         | resume PATH KEY OFFSET DATA (RESUME of KEY at OFFSET + WRITE of
 *                                 DATA at OFFSET, then BARRIER and no COMMIT:
 *                                 the connection ends, leaving a partial)
 *         | put-zstd PATH DATA HOW (CREATE + one compressed WRITE + COMMIT of
 *                                 DATA's size; HOW: "ok" (DATA's frame,
 *                                 raw_len = its size), a number (that frame,
 *                                 claiming that raw_len), "corrupt" (a byte
 *                                 in its middle flipped), "truncated" (its
 *                                 last 4 bytes cut), "two" (the frame twice),
 *                                 "plain" (DATA itself, not a frame))
 *         | script                (batched calls read from stdin, one a
 *                                 line, sent in order: "put H PATH DATA"
 *                                 (CREATE+WRITE+COMMIT: 3 calls), "create H
 *                                 PATH", "write H DATA [OFFSET]" (at 0
 *                                 unless given), "commit H SIZE [WHOLE]"
 *                                 (with WHOLE, the COMMIT carries the hash
 *                                 of the bytes WHOLE), "resume H PATH KEY
 *                                 OFFSET", "partial PATH KEY" (printed as
 *                                 the partial operation prints), "mkdir
 *                                 PATH", "delete PATH", "symlink PATH
 *                                 TARGET", "setattr PATH MODE", "hello
 *                                 EXPORT" (prints "hello STATUS"), "null"
 *                                 (the NULL procedure: a round trip
 *                                 that ends no batch), "read PATH" and
 *                                 "list PATH" (printed as the read and
 *                                 list operations print), and "barrier",
 *                                 which prints "barrier done=N
 *                                 failed=M" and a line
 *                                 "fail INDEX STATUS PATH" per itemised
 *                                 failure, in the reply's order); its
 *                                 output is flushed line by line, so a
 *                                 test can converse with it through pipes)
 *   rawcall [--port P] [--host H] [--timeout S] --proc N --bytes HEX [EXPORT]
 *   rawcall --rpcb-set PORT
 *
 * Without --port the server is found through rpcbind on HOST (127.0.0.1).
 * PATH, TARGET and DATA accept the escapes \xNN and \\ (so a NUL can be
 * embedded); "@long:N" expands to an N-byte path of valid 200-byte
 * components.  Batched operations are followed by one BARRIER.
 *
 * Output (stdout): one line with the status name (status_name()) of the
 * operation -- for batched operations the status BARRIER reported for the
 * first failed call, or SYNC_OK; for list, one more line per entry
 * ("TYPE MODE SIZE SEC.NSEC PATH[ -> TARGET]", names escaped; list-hash adds
 * " #HEX" when the entry has a hash); for read, a line "len=N eof=B" and the
 * data escaped; for signature, a line "block_size=N file_size=N blocks=N
 * strong_size=N strong_bytes=N".  --no-hello skips HELLO so that the
 * NOSESSION rule can be tested.  --caps N asks HELLO for the capability
 * bits N (default none); then hello prints a second line "caps=N", what
 * the server granted.
 *
 * --proc mode sends HEX verbatim as the argument body of procedure N (after
 * a HELLO when EXPORT is given), prints "RPC: Success" or the clnt_sperror()
 * text of that call, then calls NULL on the same connection and prints its
 * outcome the same way, so a test sees that the server survived.
 *
 * --flags adds a line "flags=N" (the export flags HELLO returned) to the
 * output of hello.  --auth USER:SECRET sends AUTH after HELLO (and again
 * with --auth-again) and prints "auth STATUS" (plus "server proof ok|BAD"
 * when accepted), then runs OP whatever the outcome.  --auth-replay
 * USER:SECRET authenticates on a second connection and sends that exact
 * AUTH (client nonce and proof) on this one, printing the two outcomes.
 *
 * --rpcb-set registers SYNC_PROG version 1 (tcp) with the local rpcbind at
 * 127.0.0.1:PORT, as any local user could after an rpcbind restart, so that
 * a test can check that syncd takes its entry back.  Prints "registered" or
 * "refused".
 *
 * Exit: 0 when the call completed (whatever the status), 2 on usage error
 * or RPC/transport failure.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rpc/rpc.h>

#include "auth.h"
#include "delta.h"
#include "sync.h"
#include "status.h"
#include "zstdio.h"

#define EXIT_DONE  0
#define EXIT_FAIL  2

/* xdrproc_t is variadic; casting through void (*)(void) is the sanctioned way. */
#define XDRPROC(f) ((xdrproc_t)(void (*)(void))(f))

static struct timeval call_timeout = { 10, 0 };
static const struct timeval batch_timeout = { 0, 0 };

/* An argument body given as raw bytes (--proc mode). */
struct rawbytes {
	char  *buf;
	size_t len;
};

/* Encodes the bytes verbatim, with no length word and no padding. */
static bool_t
xdr_rawbytes(XDR *x, void *p)
{
	struct rawbytes *rb = p;

	if (x->x_op != XDR_ENCODE)
		return TRUE;
	return rb->len == 0 || XDR_PUTBYTES(x, rb->buf, rb->len);
}

/* Prints usage to stderr; returns EXIT_FAIL for main() to return. */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: rawcall [--port P] [--host H] [--timeout S] [--no-hello] [--caps N]\n"
	    "               [--flags] [--auth USER:SECRET [--auth-again]] [--auth-replay USER:SECRET]\n"
	    "               EXPORT OP [ARGS]\n"
	    "  OP: hello | list PATH | list-hash PATH | read PATH OFFSET COUNT | mkdir PATH\n"
	    "      | symlink PATH TARGET | delete PATH | setattr PATH MODE | put PATH DATA\n"
	    "      | put-hash PATH DATA HASH | signature PATH | copy PATH BOFF LEN\n"
	    "      | partial PATH KEY | resume PATH KEY OFFSET DATA\n"
	    "      | put-zstd PATH DATA ok|RAWLEN|corrupt|truncated|two|plain | script\n"
	    "       rawcall [--port P] [--host H] --proc N --bytes HEX [EXPORT]\n"
	    "       rawcall --rpcb-set PORT\n");
	return EXIT_FAIL;
}

/*
 * Decodes an argument into p (malloc'ed, caller frees): "@long:N" gives N
 * bytes of 200-byte 'a' components joined by '/'; otherwise \xNN and \\ are
 * unescaped.  Returns 0, or -1 on a malformed argument.
 */
static int
decode_arg(const char *s, sync_path *p)
{
	size_t n = strlen(s), i, o = 0;
	char *buf;

	if (strncmp(s, "@long:", 6) == 0) {
		char *end;
		unsigned long len = strtoul(s + 6, &end, 10);

		if (*end != '\0' || len > 1000000)
			return -1;
		if ((buf = malloc(len + 1)) == NULL)
			return -1;
		for (i = 0; i < len; i++)
			buf[i] = (i % 201 == 200) ? '/' : 'a';
		if (len > 0 && buf[len - 1] == '/')
			buf[len - 1] = 'a';     /* never end on an empty component */
		p->sync_path_val = buf;
		p->sync_path_len = (u_int)len;
		return 0;
	}
	if ((buf = malloc(n + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] != '\\') {
			buf[o++] = s[i];
		} else if (s[i + 1] == '\\') {
			buf[o++] = '\\';
			i++;
		} else if (s[i + 1] == 'x' && isxdigit((unsigned char)s[i + 2]) &&
		    isxdigit((unsigned char)s[i + 3])) {
			char hex[3] = { s[i + 2], s[i + 3], '\0' };

			buf[o++] = (char)strtoul(hex, NULL, 16);
			i += 3;
		} else {
			free(buf);
			return -1;
		}
	}
	p->sync_path_val = buf;
	p->sync_path_len = (u_int)o;
	return 0;
}

/* Parses HEX (whitespace allowed) into rb.  Returns 0, or -1 if malformed. */
static int
decode_hex(const char *s, struct rawbytes *rb)
{
	size_t n = strlen(s);
	char hex[3] = { 0, 0, 0 };
	int half = 0;

	if ((rb->buf = malloc(n / 2 + 1)) == NULL)
		return -1;
	rb->len = 0;
	for (; *s != '\0'; s++) {
		if (isspace((unsigned char)*s))
			continue;
		if (!isxdigit((unsigned char)*s))
			return -1;
		hex[half++] = *s;
		if (half == 2) {
			rb->buf[rb->len++] = (char)strtoul(hex, NULL, 16);
			half = 0;
		}
	}
	return half == 0 ? 0 : -1;
}

/* Prints len bytes of s with non-printable bytes, '\\' and ' ' escaped. */
static void
print_escaped(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c > ' ' && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

/* Prints the clnt_sperror() text of cl's last call on one line. */
static void
print_rpc_error(CLIENT *cl)
{
	char *msg = clnt_sperror(cl, "rawcall");
	size_t n = strlen(msg);

	while (n > 0 && msg[n - 1] == '\n')
		n--;
	printf("%.*s\n", (int)n, msg);
}

/*
 * Connects to the server: straight to host:port when port != 0, else via
 * host's rpcbind.  Returns a CLIENT with the call timeout set, or NULL
 * (message printed).
 */
static CLIENT *
connect_server(const char *host, int port)
{
	CLIENT *cl;

	if (port == 0) {
		cl = clnt_create_timed(host, SYNC_PROG, SYNC_V1, "tcp", &call_timeout);
		if (cl == NULL) {
			fprintf(stderr, "%s\n", clnt_spcreateerror(host));
			return NULL;
		}
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		struct netbuf nb = { sizeof sin, sizeof sin, &sin };
		int fd;

		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
			fprintf(stderr, "rawcall: %s: not an IPv4 address\n", host);
			return NULL;
		}
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
			perror("rawcall: connect");
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		cl = clnt_vc_create(fd, &nb, SYNC_PROG, SYNC_V1, 0, 0);
		if (cl == NULL) {
			fprintf(stderr, "%s\n", clnt_spcreateerror("rawcall"));
			close(fd);
			return NULL;
		}
		clnt_control(cl, CLSET_FD_CLOSE, NULL);
	}
	clnt_control(cl, CLSET_TIMEOUT, (char *)&call_timeout);
	return cl;
}

/*
 * HELLO for export asking for the capabilities caps; the grant goes to
 * *granted.  Returns the status, or -1 on RPC failure (printed).
 */
static unsigned int hello_flags;                 /* of the last HELLO */
static unsigned char hello_nonce[SYNC_NONCE_LEN]; /* of the last HELLO */

static int
hello(CLIENT *cl, char *export, unsigned int caps, unsigned int *granted)
{
	hello_args a = { SYNC_VERSION, export, caps };
	hello_res r;

	memset(&r, 0, sizeof r);
	*granted = 0;
	if (clnt_call(cl, SYNC_HELLO, XDRPROC(xdr_hello_args), (caddr_t)&a,
	    XDRPROC(xdr_hello_res), (caddr_t)&r, call_timeout) != RPC_SUCCESS) {
		print_rpc_error(cl);
		return -1;
	}
	if (r.status == SYNC_OK) {
		*granted = r.hello_res_u.ok.caps;
		hello_flags = r.hello_res_u.ok.flags;
		memcpy(hello_nonce, r.hello_res_u.ok.nonce, SYNC_NONCE_LEN);
	}
	return (int)r.status;
}

/*
 * AUTH for export as cred ("USER:SECRET") against the nonce of the last
 * HELLO; with proof_from non-NULL, sends that proof and client nonce
 * instead of computing them (a replay).  Prints "auth STATUS", and
 * "server proof ok" or "server proof BAD" on success.  When save is
 * non-NULL, stores the client nonce and proof sent (2 * 32 bytes).
 * Returns the status, or -1 on RPC or usage failure (printed).
 */
static int
auth(CLIENT *cl, const char *export, const char *cred, const unsigned char *proof_from,
    unsigned char *save)
{
	char user[SYNC_USER_MAX + 1];
	const char *colon = strchr(cred, ':');
	auth_args a;
	auth_res r;
	unsigned char want[SYNC_PROOF_LEN];

	if (colon == NULL || (size_t)(colon - cred) > SYNC_USER_MAX) {
		fprintf(stderr, "rawcall: --auth wants USER:SECRET\n");
		return -1;
	}
	memcpy(user, cred, (size_t)(colon - cred));
	user[colon - cred] = '\0';
	memset(&a, 0, sizeof a);
	a.user = user;
	if (proof_from != NULL) {
		memcpy(a.client_nonce, proof_from, SYNC_NONCE_LEN);
		memcpy(a.proof, proof_from + SYNC_NONCE_LEN, SYNC_PROOF_LEN);
	} else if (auth_nonce((unsigned char *)a.client_nonce) != 0 ||
	    auth_proof(AUTH_CLIENT, (const unsigned char *)colon + 1, strlen(colon + 1),
	    hello_nonce, a.client_nonce, user, export, a.proof) != 0) {
		fprintf(stderr, "rawcall: cannot compute the proof\n");
		return -1;
	}
	if (save != NULL) {
		memcpy(save, a.client_nonce, SYNC_NONCE_LEN);
		memcpy(save + SYNC_NONCE_LEN, a.proof, SYNC_PROOF_LEN);
	}
	memset(&r, 0, sizeof r);
	if (clnt_call(cl, SYNC_AUTH, XDRPROC(xdr_auth_args), (caddr_t)&a,
	    XDRPROC(xdr_auth_res), (caddr_t)&r, call_timeout) != RPC_SUCCESS) {
		print_rpc_error(cl);
		return -1;
	}
	printf("auth %s\n", status_name(r.status));
	if (r.status == SYNC_OK) {
		int ok = auth_proof(AUTH_SERVER, (const unsigned char *)colon + 1,
		    strlen(colon + 1), hello_nonce, a.client_nonce, user, export, want) == 0 &&
		    auth_proof_equal(want, r.auth_res_u.server_proof);

		printf("server proof %s\n", ok ? "ok" : "BAD");
	}
	xdr_free(XDRPROC(xdr_auth_res), (char *)&r);
	return (int)r.status;
}

/*
 * Builds the WRITE body of put-zstd into *frame (malloc'ed, caller frees)
 * and *raw_len from data and how (see the header comment).  Returns 0, or
 * -1 (message printed) when how is unknown or data does not compress.
 */
static int
make_zstd(const sync_path *data, const char *how, sync_path *frame, u_int *raw_len)
{
	size_t len = data->sync_path_len, n;
	struct zstdio_enc *e = zstdio_enc_new(ZSTDIO_LEVEL_DEFAULT);
	char *buf = malloc(2 * len + 1), *end;
	int rc = -1;

	frame->sync_path_val = buf;
	if (e == NULL || buf == NULL)
		goto out;
	*raw_len = (u_int)len;
	if (strcmp(how, "plain") == 0) {
		memcpy(buf, data->sync_path_val, len);
		frame->sync_path_len = (u_int)len;
		rc = 0;
		goto out;
	}
	n = zstdio_compress(e, data->sync_path_val, len, buf, len);
	if (n == 0) {
		fprintf(stderr, "rawcall: put-zstd: DATA does not compress\n");
		goto out;
	}
	frame->sync_path_len = (u_int)n;
	if (strcmp(how, "ok") == 0) {
		rc = 0;
	} else if (strcmp(how, "corrupt") == 0) {
		buf[n / 2] ^= 0x55;
		rc = 0;
	} else if (strcmp(how, "truncated") == 0 && n > 4) {
		frame->sync_path_len = (u_int)(n - 4);
		rc = 0;
	} else if (strcmp(how, "two") == 0) {
		memcpy(buf + n, buf, n);
		frame->sync_path_len = (u_int)(2 * n);
		*raw_len = (u_int)(2 * len);
		rc = 0;
	} else if (how[0] >= '0' && how[0] <= '9') {
		*raw_len = (u_int)strtoul(how, &end, 10);
		rc = *end == '\0' ? 0 : -1;
	}
	if (rc != 0)
		fprintf(stderr, "rawcall: put-zstd: unknown HOW '%s'\n", how);
out:
	zstdio_enc_free(e);
	return rc;
}

/* Sends one batched call (no reply).  Returns 0, or -1 (printed). */
static int
batch(CLIENT *cl, unsigned proc, xdrproc_t enc, void *args)
{
	if (clnt_call(cl, proc, enc, args, NULL, NULL, batch_timeout) != RPC_SUCCESS) {
		print_rpc_error(cl);
		return -1;
	}
	return 0;
}

/*
 * Ends a run of ncalls batched calls with BARRIER and prints the status of
 * the first failed call (lowest index), or SYNC_OK.  Returns an exit code.
 */
static int
barrier(CLIENT *cl, unsigned ncalls)
{
	barrier_res r;
	int rc = EXIT_DONE;

	memset(&r, 0, sizeof r);
	if (clnt_call(cl, SYNC_BARRIER, XDRPROC(xdr_void), NULL,
	    XDRPROC(xdr_barrier_res), (caddr_t)&r, call_timeout) != RPC_SUCCESS) {
		print_rpc_error(cl);
		return EXIT_FAIL;
	}
	if (r.status != SYNC_OK) {
		printf("%s\n", status_name(r.status));
	} else {
		barrier_ok *ok = &r.barrier_res_u.ok;
		const sync_failure *first = NULL;

		for (u_int i = 0; i < ok->failures.failures_len; i++) {
			const sync_failure *f = &ok->failures.failures_val[i];

			if (first == NULL || f->index < first->index)
				first = f;
		}
		printf("%s\n", first != NULL ? status_name(first->status) : "SYNC_OK");
		if (ok->done != ncalls) {
			fprintf(stderr, "rawcall: BARRIER counted %u calls, %u were sent\n",
			    ok->done, ncalls);
			rc = EXIT_FAIL;
		}
		if ((first == NULL) != (ok->failed == 0)) {
			fprintf(stderr, "rawcall: BARRIER failed=%u but %u itemised\n",
			    ok->failed, ok->failures.failures_len);
			rc = EXIT_FAIL;
		}
	}
	xdr_free(XDRPROC(xdr_barrier_res), (char *)&r);
	return rc;
}

/*
 * LIST of path (want_hash: with content hashes), every page; prints status
 * and entries.  Returns an exit code.
 */
static int
do_list(CLIENT *cl, sync_path path, int want_hash)
{
	list_args a = { path, FALSE, { 0, NULL }, want_hash != 0 };
	char *after = NULL;
	int rc = EXIT_DONE;

	for (int page = 0; page < 100000; page++) {
		list_res r;

		memset(&r, 0, sizeof r);
		if (clnt_call(cl, SYNC_LIST, XDRPROC(xdr_list_args), (caddr_t)&a,
		    XDRPROC(xdr_list_res), (caddr_t)&r, call_timeout) != RPC_SUCCESS) {
			print_rpc_error(cl);
			rc = EXIT_FAIL;
			break;
		}
		if (page == 0 || r.status != SYNC_OK)
			printf("%s\n", status_name(r.status));
		if (r.status != SYNC_OK) {
			xdr_free(XDRPROC(xdr_list_res), (char *)&r);
			break;
		}
		list_ok *ok = &r.list_res_u.ok;
		int eof = ok->eof || ok->entries.entries_len == 0;

		for (u_int i = 0; i < ok->entries.entries_len; i++) {
			const sync_entry *e = &ok->entries.entries_val[i];
			static const char types[] = "?fdlo";

			printf("%c %04o %llu %lld.%09u ",
			    e->attr.type <= SYNC_OTHER ? types[e->attr.type] : '?',
			    e->attr.mode, (unsigned long long)e->attr.size,
			    (long long)e->attr.mtime.sec, e->attr.mtime.nsec);
			print_escaped(e->path.sync_path_val, e->path.sync_path_len);
			if (e->attr.type == SYNC_LNK) {
				fputs(" -> ", stdout);
				print_escaped(e->target.sync_path_val, e->target.sync_path_len);
			}
			if (e->hash.sync_hash_len != 0) {
				fputs(" #", stdout);
				for (u_int k = 0; k < e->hash.sync_hash_len; k++)
					printf("%02x", (unsigned char)e->hash.sync_hash_val[k]);
			}
			putchar('\n');
		}
		if (!eof) {
			const sync_path *last =
			    &ok->entries.entries_val[ok->entries.entries_len - 1].path;

			free(after);
			if ((after = malloc(last->sync_path_len + 1)) == NULL) {
				rc = EXIT_FAIL;
				eof = 1;
			} else {
				memcpy(after, last->sync_path_val, last->sync_path_len);
				a.resume = TRUE;
				a.after.sync_path_val = after;
				a.after.sync_path_len = last->sync_path_len;
			}
		}
		xdr_free(XDRPROC(xdr_list_res), (char *)&r);
		if (eof)
			break;
	}
	free(after);
	return rc;
}

/* READ of one chunk; prints status, "len=N eof=B" and the data. */
static int
do_read(CLIENT *cl, sync_path path, unsigned long long off, unsigned count)
{
	read_args a = { path, off, count };
	read_res r;

	memset(&r, 0, sizeof r);
	if (clnt_call(cl, SYNC_READ, XDRPROC(xdr_read_args), (caddr_t)&a,
	    XDRPROC(xdr_read_res), (caddr_t)&r, call_timeout) != RPC_SUCCESS) {
		print_rpc_error(cl);
		return EXIT_FAIL;
	}
	printf("%s\n", status_name(r.status));
	if (r.status == SYNC_OK) {
		read_ok *ok = &r.read_res_u.ok;

		printf("len=%u eof=%d\n", ok->data.data_len, ok->eof ? 1 : 0);
		print_escaped(ok->data.data_val, ok->data.data_len);
		putchar('\n');
	}
	xdr_free(XDRPROC(xdr_read_res), (char *)&r);
	return EXIT_DONE;
}

/*
 * SIGNATURE of path; prints status and "block_size=N file_size=N blocks=N
 * strong_size=N strong_bytes=N".
 */
static int
do_signature(CLIENT *cl, sync_path path)
{
	signature_args a = { path };
	signature_res r;

	memset(&r, 0, sizeof r);
	if (clnt_call(cl, SYNC_SIGNATURE, XDRPROC(xdr_signature_args), (caddr_t)&a,
	    XDRPROC(xdr_signature_res), (caddr_t)&r, call_timeout) != RPC_SUCCESS) {
		print_rpc_error(cl);
		return EXIT_FAIL;
	}
	printf("%s\n", status_name(r.status));
	if (r.status == SYNC_OK) {
		signature_ok *ok = &r.signature_res_u.ok;

		printf("block_size=%u file_size=%llu blocks=%u strong_size=%u strong_bytes=%u\n",
		    ok->block_size, (unsigned long long)ok->file_size, ok->weak.weak_len,
		    ok->strong_size, ok->strong.strong_len);
	}
	xdr_free(XDRPROC(xdr_signature_res), (char *)&r);
	return EXIT_DONE;
}

/* Parses exactly 32 hex digits into out (16 bytes).  Returns 0, or -1. */
static int
parse_hex16(const char *s, char out[DELTA_HASH_LEN])
{
	if (strlen(s) != 2 * DELTA_HASH_LEN)
		return -1;
	for (int i = 0; i < DELTA_HASH_LEN; i++) {
		char hex[3] = { s[2 * i], s[2 * i + 1], '\0' };

		if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]))
			return -1;
		out[i] = (char)strtoul(hex, NULL, 16);
	}
	return 0;
}

/*
 * Parses the put-hash HASH argument for data into out (DELTA_HASH_LEN
 * bytes): 32 hex digits, "good" (data's real hash) or "short" (15 bytes).
 * Sets *len.  Returns 0, or -1 if malformed.
 */
static int
parse_hash(const char *s, const sync_path *data, char out[DELTA_HASH_LEN], u_int *len)
{
	if (strcmp(s, "good") == 0) {
		delta_strong(data->sync_path_val, data->sync_path_len, (unsigned char *)out);
		*len = DELTA_HASH_LEN;
		return 0;
	}
	if (strcmp(s, "short") == 0) {
		memset(out, 0, DELTA_HASH_LEN);
		*len = DELTA_HASH_LEN - 1;
		return 0;
	}
	if (parse_hex16(s, out) != 0)
		return -1;
	*len = DELTA_HASH_LEN;
	return 0;
}

/*
 * PARTIAL of path for key; prints the status and, on OK, "length=N
 * hash=HEX".  Returns an exit code.
 */
static int
do_partial(CLIENT *cl, sync_path path, const char key[SYNC_HASH_LEN])
{
	partial_args a = { path, { 0 } };
	partial_res r;

	memcpy(a.key, key, SYNC_HASH_LEN);
	memset(&r, 0, sizeof r);
	if (clnt_call(cl, SYNC_PARTIAL, XDRPROC(xdr_partial_args), (caddr_t)&a,
	    XDRPROC(xdr_partial_res), (caddr_t)&r, call_timeout) != RPC_SUCCESS) {
		print_rpc_error(cl);
		return EXIT_FAIL;
	}
	printf("%s\n", status_name(r.status));
	if (r.status == SYNC_OK) {
		partial_ok *ok = &r.partial_res_u.ok;

		printf("length=%llu hash=", (unsigned long long)ok->length);
		for (u_int k = 0; k < ok->hash.sync_hash_len; k++)
			printf("%02x", (unsigned char)ok->hash.sync_hash_val[k]);
		putchar('\n');
	}
	xdr_free(XDRPROC(xdr_partial_res), (char *)&r);
	return EXIT_DONE;
}

/* Sends RESUME of handle h for path and key at offset.  Returns 0, or -1 (printed). */
static int
send_resume(CLIENT *cl, sync_handle h, sync_path path, const char key[SYNC_HASH_LEN],
    uint64_t offset)
{
	resume_args a = { h, path, { 0 }, offset };

	memcpy(a.key, key, SYNC_HASH_LEN);
	return batch(cl, SYNC_RESUME, XDRPROC(xdr_resume_args), &a);
}

/*
 * --rpcb-set mode: registers our program at 127.0.0.1:port with the local
 * rpcbind.  Returns 0 if rpcbind accepted it, EXIT_FAIL otherwise.
 */
static int
do_rpcb_set(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct netbuf nb = { .maxlen = sizeof sin, .len = sizeof sin, .buf = &sin };
	struct netconfig *nc = getnetconfigent("tcp");
	int ok;

	if (nc == NULL)
		return EXIT_FAIL;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = rpcb_set(SYNC_PROG, SYNC_V1, nc, &nb);
	freenetconfigent(nc);
	printf("%s\n", ok ? "registered" : "refused");
	return ok ? 0 : EXIT_FAIL;
}

/*
 * Prints a BARRIER reply for "script": "barrier done=N failed=M", then one
 * line "fail INDEX STATUS PATH" per itemised failure, in the reply's order.
 * Returns an exit code.
 */
static int
script_barrier(CLIENT *cl)
{
	barrier_res r;

	memset(&r, 0, sizeof r);
	if (clnt_call(cl, SYNC_BARRIER, XDRPROC(xdr_void), NULL,
	    XDRPROC(xdr_barrier_res), (caddr_t)&r, call_timeout) != RPC_SUCCESS) {
		print_rpc_error(cl);
		return EXIT_FAIL;
	}
	if (r.status != SYNC_OK) {
		printf("barrier %s\n", status_name(r.status));
	} else {
		barrier_ok *ok = &r.barrier_res_u.ok;

		printf("barrier done=%u failed=%u\n", ok->done, ok->failed);
		for (u_int i = 0; i < ok->failures.failures_len; i++) {
			const sync_failure *f = &ok->failures.failures_val[i];

			printf("fail %u %s ", f->index, status_name(f->status));
			print_escaped(f->path.sync_path_val, f->path.sync_path_len);
			putchar('\n');
		}
	}
	xdr_free(XDRPROC(xdr_barrier_res), (char *)&r);
	return EXIT_DONE;
}

/*
 * Runs one line of "script" (see the header comment); its words are in
 * w[0..n-1].  Returns 0, 1 for a malformed line, or -1 on an RPC failure
 * (printed).
 */
static int
script_line(CLIENT *cl, char **w, int n)
{
	sync_path p = { 0, NULL }, d = { 0, NULL };
	sync_time now = { (quad_t)time(NULL), 0 };
	const char *op = w[0];
	int rc = 1;

	if (strcmp(op, "put") == 0 && n == 4) {
		sync_handle h = strtoull(w[1], NULL, 0);

		if (decode_arg(w[2], &p) < 0 || decode_arg(w[3], &d) < 0)
			goto out;
		create_args ca = { h, p, FALSE };
		write_args wa = { h, 0, 0, { d.sync_path_len, d.sync_path_val } };
		commit_args ma = { h, d.sync_path_len, 0644, now, { 0, NULL } };

		rc = batch(cl, SYNC_CREATE, XDRPROC(xdr_create_args), &ca) == 0 &&
		    batch(cl, SYNC_WRITE, XDRPROC(xdr_write_args), &wa) == 0 &&
		    batch(cl, SYNC_COMMIT, XDRPROC(xdr_commit_args), &ma) == 0 ? 0 : -1;
	} else if (strcmp(op, "create") == 0 && n == 3) {
		if (decode_arg(w[2], &p) < 0)
			goto out;
		create_args ca = { strtoull(w[1], NULL, 0), p, FALSE };

		rc = batch(cl, SYNC_CREATE, XDRPROC(xdr_create_args), &ca);
	} else if (strcmp(op, "write") == 0 && (n == 3 || n == 4)) {
		if (decode_arg(w[2], &d) < 0)
			goto out;
		write_args wa = { strtoull(w[1], NULL, 0), n == 4 ? strtoull(w[3], NULL, 0) : 0,
		    0, { d.sync_path_len, d.sync_path_val } };

		rc = batch(cl, SYNC_WRITE, XDRPROC(xdr_write_args), &wa);
	} else if (strcmp(op, "commit") == 0 && (n == 3 || n == 4)) {
		char whole[DELTA_HASH_LEN];
		commit_args ma = { strtoull(w[1], NULL, 0), strtoull(w[2], NULL, 0), 0644,
		    now, { 0, NULL } };

		if (n == 4) {
			if (decode_arg(w[3], &d) < 0)
				goto out;
			delta_strong(d.sync_path_val, d.sync_path_len, (unsigned char *)whole);
			ma.hash.sync_hash_len = DELTA_HASH_LEN;
			ma.hash.sync_hash_val = whole;
		}
		rc = batch(cl, SYNC_COMMIT, XDRPROC(xdr_commit_args), &ma);
	} else if (strcmp(op, "resume") == 0 && n == 5) {
		char key[SYNC_HASH_LEN];

		if (decode_arg(w[2], &p) < 0 || parse_hex16(w[3], key) != 0)
			goto out;
		rc = send_resume(cl, strtoull(w[1], NULL, 0), p, key, strtoull(w[4], NULL, 0));
	} else if (strcmp(op, "partial") == 0 && n == 3) {
		char key[SYNC_HASH_LEN];

		if (decode_arg(w[1], &p) < 0 || parse_hex16(w[2], key) != 0)
			goto out;
		rc = do_partial(cl, p, key) == EXIT_DONE ? 0 : -1;
	} else if ((strcmp(op, "mkdir") == 0 || strcmp(op, "delete") == 0) && n == 2) {
		if (decode_arg(w[1], &p) < 0)
			goto out;
		mkdir_args ka = { p, 0755 };
		delete_args da = { p };

		rc = op[0] == 'm' ? batch(cl, SYNC_MKDIR, XDRPROC(xdr_mkdir_args), &ka) :
		    batch(cl, SYNC_DELETE, XDRPROC(xdr_delete_args), &da);
	} else if (strcmp(op, "symlink") == 0 && n == 3) {
		if (decode_arg(w[1], &p) < 0 || decode_arg(w[2], &d) < 0)
			goto out;
		symlink_args sa = { p, d, now };

		rc = batch(cl, SYNC_SYMLINK, XDRPROC(xdr_symlink_args), &sa);
	} else if (strcmp(op, "setattr") == 0 && n == 3) {
		if (decode_arg(w[1], &p) < 0)
			goto out;
		setattr_args ta = { p, SYNC_SET_MODE, (u_int)strtoul(w[2], NULL, 8), now };

		rc = batch(cl, SYNC_SETATTR, XDRPROC(xdr_setattr_args), &ta);
	} else if (strcmp(op, "barrier") == 0 && n == 1) {
		rc = script_barrier(cl) == EXIT_DONE ? 0 : -1;
	} else if (strcmp(op, "null") == 0 && n == 1) {
		rc = clnt_call(cl, SYNC_NULL, XDRPROC(xdr_void), NULL, XDRPROC(xdr_void), NULL,
		    call_timeout) == RPC_SUCCESS ? 0 : -1;
		if (rc != 0)
			print_rpc_error(cl);
	} else if (strcmp(op, "read") == 0 && n == 2) {
		if (decode_arg(w[1], &p) < 0)
			goto out;
		rc = do_read(cl, p, 0, 4096) == EXIT_DONE ? 0 : -1;
	} else if (strcmp(op, "list") == 0 && n == 2) {
		if (decode_arg(w[1], &p) < 0)
			goto out;
		rc = do_list(cl, p, 0) == EXIT_DONE ? 0 : -1;
	} else if (strcmp(op, "hello") == 0 && n == 2) {
		unsigned int granted;
		int st = hello(cl, w[1], 0, &granted);

		if (st >= 0)
			printf("hello %s\n", status_name((sync_status)st));
		rc = st >= 0 ? 0 : -1;
	}
out:
	free(p.sync_path_val);
	free(d.sync_path_val);
	return rc;
}

/* "script": runs the lines of stdin in order.  Returns an exit code. */
static int
do_script(CLIENT *cl)
{
	char *line = NULL, *w[8], *save;
	size_t cap = 0;
	unsigned long lineno = 0;
	int rc = EXIT_DONE;

	while (rc == EXIT_DONE && getline(&line, &cap, stdin) >= 0) {
		int n = 0;

		lineno++;
		for (char *t = strtok_r(line, " \t\n", &save); t != NULL && n < 8;
		    t = strtok_r(NULL, " \t\n", &save))
			w[n++] = t;
		if (n == 0 || w[0][0] == '#')
			continue;
		switch (script_line(cl, w, n)) {
		case 0:
			fflush(stdout);         /* a test may be conversing through a pipe */
			break;
		case 1:
			fprintf(stderr, "rawcall: script line %lu: malformed\n", lineno);
			rc = EXIT_FAIL;
			break;
		default:
			rc = EXIT_FAIL;
			break;
		}
	}
	free(line);
	return rc;
}

/* --proc mode: the raw call, then NULL on the same connection. */
static int
do_proc(CLIENT *cl, unsigned proc, struct rawbytes *rb)
{
	enum clnt_stat st;

	/* Any reply body is skipped: xdr_void reads nothing of it. */
	st = clnt_call(cl, proc, XDRPROC(xdr_rawbytes), (caddr_t)rb,
	    XDRPROC(xdr_void), NULL, call_timeout);
	print_rpc_error(cl);
	if (st == RPC_TIMEDOUT || st == RPC_CANTSEND || st == RPC_CANTRECV)
		return EXIT_FAIL;
	st = clnt_call(cl, SYNC_NULL, XDRPROC(xdr_void), NULL,
	    XDRPROC(xdr_void), NULL, call_timeout);
	print_rpc_error(cl);
	return st == RPC_SUCCESS ? EXIT_DONE : EXIT_FAIL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-hello", no_argument, NULL, 'n' },
		{ "proc", required_argument, NULL, 'P' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "rpcb-set", required_argument, NULL, 'R' },
		{ "caps", required_argument, NULL, 'C' },
		{ "flags", no_argument, NULL, 'F' },
		{ "auth", required_argument, NULL, 'A' },
		{ "auth-again", no_argument, NULL, 'G' },
		{ "auth-replay", required_argument, NULL, 'Y' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int caps = 0, granted = 0;
	int show_caps = 0, show_flags = 0, auth_again = 0;
	const char *cred = NULL, *replay = NULL;
	sync_path zframe = { 0, NULL };
	u_int zraw_len = 0;
	const char *host = "127.0.0.1", *hex = NULL;
	int port = 0, no_hello = 0, proc = -1, c, rc = EXIT_FAIL;
	sync_path p1 = { 0, NULL }, p2 = { 0, NULL };
	CLIENT *cl = NULL;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'H': host = optarg; break;
		case 't': call_timeout.tv_sec = atoi(optarg); break;
		case 'n': no_hello = 1; break;
		case 'P': proc = atoi(optarg); break;
		case 'b': hex = optarg; break;
		case 'R': return do_rpcb_set(atoi(optarg));
		case 'C': caps = (unsigned int)strtoul(optarg, NULL, 0); show_caps = 1; break;
		case 'F': show_flags = 1; break;
		case 'A': cred = optarg; break;
		case 'G': auth_again = 1; break;
		case 'Y': replay = optarg; break;
		default: return usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (proc >= 0) {
		struct rawbytes rb = { NULL, 0 };

		if (hex == NULL || argc > 1 || decode_hex(hex, &rb) < 0)
			return usage();
		if ((cl = connect_server(host, port)) == NULL)
			return EXIT_FAIL;
		if (argc == 1 && hello(cl, argv[0], caps, &granted) < 0)
			rc = EXIT_FAIL;
		else
			rc = do_proc(cl, (unsigned)proc, &rb);
		free(rb.buf);
		clnt_destroy(cl);
		return rc;
	}

	if (argc < 2)
		return usage();
	const char *op = argv[1];
	int nargs = argc - 2;

	if (((strcmp(op, "hello") == 0 || strcmp(op, "script") == 0) && nargs != 0) ||
	    ((strcmp(op, "list") == 0 || strcmp(op, "mkdir") == 0 ||
	      strcmp(op, "delete") == 0 || strcmp(op, "list-hash") == 0 ||
	      strcmp(op, "signature") == 0) && nargs != 1) ||
	    ((strcmp(op, "symlink") == 0 || strcmp(op, "setattr") == 0 ||
	      strcmp(op, "put") == 0) && nargs != 2) ||
	    ((strcmp(op, "read") == 0 || strcmp(op, "put-hash") == 0 ||
	      strcmp(op, "copy") == 0 || strcmp(op, "put-zstd") == 0) && nargs != 3) ||
	    (strcmp(op, "partial") == 0 && nargs != 2) ||
	    (strcmp(op, "resume") == 0 && nargs != 4))
		return usage();
	if (nargs >= 1 && decode_arg(argv[2], &p1) < 0)
		return usage();
	if ((strcmp(op, "symlink") == 0 || strcmp(op, "put") == 0 ||
	     strcmp(op, "put-hash") == 0 || strcmp(op, "put-zstd") == 0) &&
	    decode_arg(argv[3], &p2) < 0)
		return usage();
	if (strcmp(op, "put-zstd") == 0 && make_zstd(&p2, argv[4], &zframe, &zraw_len) < 0) {
		rc = usage();
		goto out;
	}

	char hash[DELTA_HASH_LEN];
	u_int hash_len = 0;

	if (strcmp(op, "put-hash") == 0 && parse_hash(argv[4], &p2, hash, &hash_len) < 0)
		return usage();
	/* PARTIAL's and RESUME's KEY goes where put-hash's HASH would. */
	if ((strcmp(op, "partial") == 0 || strcmp(op, "resume") == 0) &&
	    parse_hex16(argv[3], hash) != 0)
		return usage();
	if (strcmp(op, "resume") == 0 && decode_arg(argv[5], &p2) < 0)
		return usage();

	if ((cl = connect_server(host, port)) == NULL)
		goto out;
	if (!no_hello || strcmp(op, "hello") == 0) {
		int st = hello(cl, argv[0], caps, &granted);

		if (st < 0)
			goto out;
		if (st != SYNC_OK || (strcmp(op, "hello") == 0 && cred == NULL &&
		    replay == NULL)) {
			printf("%s\n", status_name((sync_status)st));
			if (show_caps && st == SYNC_OK)
				printf("caps=%u\n", granted);
			if (show_flags && st == SYNC_OK)
				printf("flags=%u\n", hello_flags);
			rc = EXIT_DONE;
			goto out;
		}
	}
	if (replay != NULL) {
		/* Record a valid AUTH on a second connection, replay it on this one. */
		unsigned char rec[SYNC_NONCE_LEN + SYNC_PROOF_LEN], nonce[SYNC_NONCE_LEN];
		CLIENT *other = connect_server(host, port);
		int st;

		memcpy(nonce, hello_nonce, sizeof nonce);
		if (other == NULL || hello(other, argv[0], 0, &granted) != SYNC_OK ||
		    auth(other, argv[0], replay, NULL, rec) < 0) {
			if (other != NULL)
				clnt_destroy(other);
			goto out;
		}
		clnt_destroy(other);
		memcpy(hello_nonce, nonce, sizeof nonce);
		if ((st = auth(cl, argv[0], replay, rec, NULL)) < 0)
			goto out;
	}
	if (cred != NULL) {
		if (auth(cl, argv[0], cred, NULL, NULL) < 0 ||
		    (auth_again && auth(cl, argv[0], cred, NULL, NULL) < 0))
			goto out;
	}
	if (strcmp(op, "hello") == 0) {
		rc = EXIT_DONE;
		goto out;
	}

	sync_time now = { (quad_t)time(NULL), 0 };

	if (strcmp(op, "script") == 0) {
		rc = do_script(cl);
	} else if (strcmp(op, "list") == 0 || strcmp(op, "list-hash") == 0) {
		rc = do_list(cl, p1, strcmp(op, "list-hash") == 0);
	} else if (strcmp(op, "signature") == 0) {
		rc = do_signature(cl, p1);
	} else if (strcmp(op, "partial") == 0) {
		rc = do_partial(cl, p1, hash);
	} else if (strcmp(op, "resume") == 0) {
		uint64_t off = strtoull(argv[4], NULL, 0);
		write_args wa = { 1, off, 0, { p2.sync_path_len, p2.sync_path_val } };

		if (send_resume(cl, 1, p1, hash, off) == 0 &&
		    batch(cl, SYNC_WRITE, XDRPROC(xdr_write_args), &wa) == 0)
			rc = barrier(cl, 2);
	} else if (strcmp(op, "read") == 0) {
		rc = do_read(cl, p1, strtoull(argv[3], NULL, 0),
		    (unsigned)strtoul(argv[4], NULL, 0));
	} else if (strcmp(op, "mkdir") == 0) {
		mkdir_args a = { p1, 0755 };

		if (batch(cl, SYNC_MKDIR, XDRPROC(xdr_mkdir_args), &a) == 0)
			rc = barrier(cl, 1);
	} else if (strcmp(op, "symlink") == 0) {
		symlink_args a = { p1, p2, now };

		if (batch(cl, SYNC_SYMLINK, XDRPROC(xdr_symlink_args), &a) == 0)
			rc = barrier(cl, 1);
	} else if (strcmp(op, "delete") == 0) {
		delete_args a = { p1 };

		if (batch(cl, SYNC_DELETE, XDRPROC(xdr_delete_args), &a) == 0)
			rc = barrier(cl, 1);
	} else if (strcmp(op, "setattr") == 0) {
		setattr_args a = { p1, SYNC_SET_MODE,
		    (u_int)strtoul(argv[3], NULL, 8), now };

		if (batch(cl, SYNC_SETATTR, XDRPROC(xdr_setattr_args), &a) == 0)
			rc = barrier(cl, 1);
	} else if (strcmp(op, "put") == 0 || strcmp(op, "put-hash") == 0) {
		create_args ca = { 1, p1, FALSE };
		write_args wa = { 1, 0, 0, { p2.sync_path_len, p2.sync_path_val } };
		commit_args ma = { 1, p2.sync_path_len, 0644, now, { hash_len, hash } };

		if (batch(cl, SYNC_CREATE, XDRPROC(xdr_create_args), &ca) == 0 &&
		    batch(cl, SYNC_WRITE, XDRPROC(xdr_write_args), &wa) == 0 &&
		    batch(cl, SYNC_COMMIT, XDRPROC(xdr_commit_args), &ma) == 0)
			rc = barrier(cl, 3);
	} else if (strcmp(op, "put-zstd") == 0) {
		create_args ca = { 1, p1, FALSE };
		write_args wa = { 1, 0, zraw_len, { zframe.sync_path_len, zframe.sync_path_val } };
		commit_args ma = { 1, p2.sync_path_len, 0644, now, { 0, NULL } };

		if (batch(cl, SYNC_CREATE, XDRPROC(xdr_create_args), &ca) == 0 &&
		    batch(cl, SYNC_WRITE, XDRPROC(xdr_write_args), &wa) == 0 &&
		    batch(cl, SYNC_COMMIT, XDRPROC(xdr_commit_args), &ma) == 0)
			rc = barrier(cl, 3);
	} else if (strcmp(op, "copy") == 0) {
		uint64_t len = strtoull(argv[4], NULL, 0);
		create_args ca = { 1, p1, TRUE };
		copy_args ya = { 1, strtoull(argv[3], NULL, 0), len, 0 };
		commit_args ma = { 1, len, 0644, now, { 0, NULL } };

		if (batch(cl, SYNC_CREATE, XDRPROC(xdr_create_args), &ca) == 0 &&
		    batch(cl, SYNC_COPY, XDRPROC(xdr_copy_args), &ya) == 0 &&
		    batch(cl, SYNC_COMMIT, XDRPROC(xdr_commit_args), &ma) == 0)
			rc = barrier(cl, 3);
	} else {
		rc = usage();
	}
out:
	if (cl != NULL)
		clnt_destroy(cl);
	free(p1.sync_path_val);
	free(p2.sync_path_val);
	free(zframe.sync_path_val);
	fflush(stdout);
	return rc;
}
