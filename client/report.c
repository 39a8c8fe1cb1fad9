/*
 * report.c -- what syncctl tells the user about a push.
 *
 * Why it is a file of its own: every line a push prints comes from here,
 * so the forms stay one: a --verbose line per entry sent or deleted, a
 * local failure as it happens ("DIR/rel: what", counted on its stream),
 * the server's failures that the BARRIERs reported (kept per stream while
 * the streams run, printed at the end, each path once), how the push
 * went, and the --stats counters summed over the streams.  Only say() and
 * local_error() run while streams do, and they touch nothing but stdout,
 * stderr and their own stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "path.h"
#include "push_int.h"
#include "quote.h"
#include "remote.h"
#include "status.h"

void
local_error(struct stream *s, const char *rel, const char *what)
{
	const char *dir = s->p->o->dir;
	char full[PATH_BUF * 2], q[QUOTE_BUF];
	size_t n = strlen(dir);
	const char *sep = *rel == '\0' || (n > 0 && dir[n - 1] == '/') ? "" : "/";

	snprintf(full, sizeof full, "%s%s%s", dir, sep, rel);
	log_err("%s: %s", quote_str(full, q), what);
	s->failures++;
}

void
say(const struct push *p, const char *prefix, const char *path, const char *suffix)
{
	char q[QUOTE_BUF];

	if (p->o->verbose)
		printf("%s%s%s\n", prefix, quote_str(*path ? path : ".", q), suffix);
}

int
failures_take(struct failures *f, struct remote_report *rep)
{
	f->failed += rep->failed;
	if (f->n + rep->n > f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;
		struct remote_failure *nv;

		while (ncap < f->n + rep->n)
			ncap *= 2;
		if ((nv = realloc(f->v, ncap * sizeof *nv)) == NULL) {
			log_err("out of memory");
			return -1;
		}
		f->v = nv;
		f->cap = ncap;
	}
	for (size_t k = 0; k < rep->n; k++) {
		f->v[f->n++] = rep->v[k];
		rep->v[k].path = NULL;
	}
	return 0;
}

void
failures_free(struct failures *f)
{
	for (size_t k = 0; k < f->n; k++)
		free(f->v[k].path);
	free(f->v);
	memset(f, 0, sizeof *f);
}

/* A failure's path and its place in the merged report, for finding repeats. */
struct failure_ref {
	const char *path;
	size_t      pos;
};

/* qsort order of failure_refs: by path, then by place. */
static int
by_path(const void *a, const void *b)
{
	const struct failure_ref *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * Prints the failures every stream's BARRIERs reported, stream by stream,
 * each path once (a failed WRITE makes the file's later calls fail too; a
 * failed MKDIR, its directory's SETATTR), then how many were not itemised.
 */
static void
print_failures(const struct push *p)
{
	const struct remote_failure **all = NULL;
	struct failure_ref *ref = NULL;
	unsigned char *dup = NULL;
	unsigned long unlisted = 0;
	size_t total = 0, pos = 0;
	char q[QUOTE_BUF];

	for (size_t k = 0; k < p->nstreams; k++) {
		total += p->s[k].fails.n;
		unlisted += p->s[k].fails.failed - p->s[k].fails.n;
	}
	if (total > 0) {
		all = malloc(total * sizeof *all);
		ref = malloc(total * sizeof *ref);
		dup = calloc(total, 1);
		if (all == NULL || ref == NULL || dup == NULL) {
			log_err("out of memory: %zu failures not named", total);
			goto out;
		}
	}
	for (size_t k = 0; k < p->nstreams; k++)
		for (size_t m = 0; m < p->s[k].fails.n; m++, pos++) {
			all[pos] = &p->s[k].fails.v[m];
			ref[pos] = (struct failure_ref){ all[pos]->path, pos };
		}
	if (total > 1)
		qsort(ref, total, sizeof *ref, by_path);
	for (size_t m = 1; m < total; m++)
		if (strcmp(ref[m].path, ref[m - 1].path) == 0)
			dup[ref[m].pos] = 1;
	for (pos = 0; pos < total; pos++)
		if (!dup[pos])
			log_err("%s: %s", quote_str(*all[pos]->path ? all[pos]->path : ".",
			    q), status_str(all[pos]->status));
out:
	if (unlisted > 0)
		log_err("%lu more failures not itemised by the server", unlisted);
	free(all);
	free(ref);
	free(dup);
}

enum push_result
conclude(const struct push *p)
{
	unsigned long failed = 0;

	print_failures(p);
	for (size_t k = 0; k < p->nstreams; k++) {
		if (p->s[k].res != PUSH_OK && p->s[k].res != PUSH_FAILED)
			return p->s[k].res;
		failed += p->s[k].res == PUSH_FAILED;
		failed += p->s[k].failures + p->s[k].fails.failed;
	}
	return failed != 0 ? PUSH_FAILED : PUSH_OK;
}

void
print_stats(const struct push *p)
{
	struct push_stats t = { 0 };

	for (size_t k = 0; k < p->nstreams; k++) {
		const struct stream *s = &p->s[k];

		t.scanned += s->st.scanned;
		t.sent += s->st.sent;
		t.deleted += s->st.deleted;
		t.bytes += s->st.bytes;
		t.matched += s->st.matched;
		t.resumed += s->st.resumed;
		t.round_trips += s->r != NULL ? remote_round_trips(s->r) : s->trips;
		t.wire += s->r != NULL ? remote_wire_data(s->r) : s->st.wire;
		t.sig += s->r != NULL ? remote_sig_data(s->r) : s->st.sig;
	}
	printf("files scanned: %llu\n", t.scanned);
	printf("files sent: %llu\n", t.sent);
	printf("entries deleted: %llu\n", t.deleted);
	printf("bytes sent: %llu\n", t.bytes);
	printf("bytes on wire (data): %llu\n", t.wire);
	printf("bytes matched: %llu\n", t.matched);
	printf("bytes resumed: %llu\n", t.resumed);
	printf("signature bytes: %llu\n", t.sig);
	printf("round trips: %llu\n", t.round_trips);
}
