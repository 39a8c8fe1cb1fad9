/*
 * fuzz_xdr.c -- libFuzzer harness: every XDR decoder of sync.x.
 *
 * Why: the decoders are the first code that touches a peer's bytes, on
 * both sides (the server decodes arguments, the client decodes replies).
 * Every variable-length item in sync.x is bounded, so no input may make a
 * decoder allocate beyond those bounds (-malloc_limit_mb catches that),
 * read out of bounds, or leak what it allocated before failing.  The first
 * byte picks the type; the rest is decoded with xdrmem, then always freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rpc/rpc.h>

#include "sync.h"

#define T(type) { (xdrproc_t)xdr_##type, sizeof(type) }

static const struct {
	xdrproc_t proc;
	size_t size;
} types[] = {
	T(hello_args), T(hello_res), T(auth_args), T(auth_res), T(list_args), T(list_res),
	T(read_args), T(read_res), T(barrier_res), T(signature_args), T(signature_res),
	T(create_args), T(write_args), T(commit_args), T(abort_args), T(mkdir_args),
	T(symlink_args), T(setattr_args), T(delete_args), T(copy_args),
	/* Appended, so that the selector bytes of the older seeds keep their types. */
	T(partial_args), T(partial_res), T(resume_args),
};

#define NTYPES (sizeof types / sizeof types[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		long double align;
		unsigned char bytes[4096];
	} obj;
	XDR x;
	size_t t;

	if (size < 1)
		return 0;
	t = data[0] % NTYPES;
	if (types[t].size > sizeof obj.bytes)
		return 0;
	memset(&obj, 0, sizeof obj);
	xdrmem_create(&x, (char *)(uintptr_t)(data + 1), (u_int)(size - 1), XDR_DECODE);
	(void)types[t].proc(&x, obj.bytes);
	xdr_destroy(&x);
	xdr_free(types[t].proc, (char *)obj.bytes);
	return 0;
}
