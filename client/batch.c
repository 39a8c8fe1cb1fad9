/*
 * batch.c -- one stream's batch: where a path goes on the server, and the
 * BARRIERs that end a batch.
 *
 * Why a file of its own: planning (plan.c), sending (send.c) and running
 * the push (push.c) all queue batched calls on a stream and end its batch;
 * these few functions are what they share, so that each of them depends
 * only on what lies below it.
 */
#include "path.h"
#include "push_int.h"
#include "remote.h"

/*
 * Most batched calls a connection queues before it ends the batch with a
 * BARRIER: remote.c keeps 4 bytes per call and each distinct path until
 * then (~100 KiB here for small files, 3 calls each), and a BARRIER costs
 * a round trip on that stream's critical path and, on the server, the
 * publication of the files staged so far (a group commit; groups are 1024
 * files anyway).  Measured on fresh pushes: of 100,000 small files over
 * loopback, 4096 and 32768 calls were no faster; of 10,000 through a
 * 25 ms relay, 16384 (no such BARRIER at all) was no faster either, and
 * it costs ~0.4 MiB more at the peak.
 */
#define BATCH_CALLS_MAX 8192

const char *
dest_of(struct stream *s, const char *rel)
{
	if (path_join(s->dest, sizeof s->dest, s->p->o->path, rel) < 0) {
		local_error(s, rel, "destination path too long");
		return NULL;
	}
	return s->dest;
}

int
settle_if_full(struct stream *s)
{
	if (remote_pending(s->r) < BATCH_CALLS_MAX)
		return REMOTE_OK;
	return barrier(s);
}

int
barrier(struct stream *s)
{
	struct remote_report rep;
	int rc = remote_barrier(s->r, &rep);

	if (rc != REMOTE_OK)
		return rc;
	if (s == &s->p->s[0])
		s->p->unsettled = 0;
	if (failures_take(&s->fails, &rep) < 0)
		s->failures++;
	remote_report_free(&rep);
	return REMOTE_OK;
}
