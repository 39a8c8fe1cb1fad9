/*
 * client_streams.c -- unit tests for the parallel file phase's machinery
 * (client/streams.h).
 *
 * Correctness of a parallel push rests on two promises checked here: the
 * queue hands out every job exactly once however many threads take from it,
 * at either end, in the planned order (biggest first; lightest first from
 * the back), and the relay hands every batch
 * to every member still in it, tells the producer when all of them are
 * done with it, and never waits for a member that left.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../../client/streams.h"

/* Jobs in index order without weights, heaviest first (ties by index) with. */
static void
test_order(void)
{
	static const uint64_t w[] = { 5, 9, 0, 9, 1, 5 };
	static const size_t want[] = { 1, 3, 0, 5, 4, 2 };
	struct work_queue q;
	size_t job, k;
	int same = 1;

	CHECK(work_queue_init(&q, NULL, 4) == 0, "queue of 4 without weights");
	for (k = 0; work_queue_take(&q, &job); k++)
		same &= job == k;
	CHECK(same && k == 4, "jobs come out in index order (%zu of them)", k);
	CHECK(!work_queue_take(&q, &job), "a drained queue stays empty");
	work_queue_free(&q);

	CHECK(work_queue_init(&q, w, 6) == 0, "queue of 6 with weights");
	same = 1;
	for (k = 0; work_queue_take(&q, &job); k++)
		same &= k < 6 && job == want[k];
	CHECK(same && k == 6, "heaviest first, equal weights in index order");
	work_queue_free(&q);

	CHECK(work_queue_init(&q, w, 6) == 0, "queue of 6 with weights, taken at both ends");
	CHECK(work_queue_peek_last(&q, &job) && job == 2, "a peek at the back shows the lightest");
	CHECK(work_queue_take_last(&q, &job) && job == 2, "the back hands out the lightest");
	CHECK(work_queue_take(&q, &job) && job == 1, "the front still the heaviest");
	same = 1;
	for (k = 0; work_queue_take_last(&q, &job); k++)
		same &= k < 4 && job == want[4 - k];
	CHECK(same && k == 4, "the rest from the back, lightest first, up to the front");
	CHECK(!work_queue_take(&q, &job), "the ends met: the front gets nothing");
	CHECK(!work_queue_peek_last(&q, &job), "the ends met: a peek shows nothing");
	work_queue_free(&q);
	CHECK(!work_queue_take_last(&q, &job), "a freed queue hands out nothing");

	CHECK(work_queue_init(&q, w, 0) == 0, "empty queue");
	CHECK(!work_queue_take(&q, &job), "an empty queue hands out nothing");
	work_queue_free(&q);
	work_queue_free(&q);
	CHECK(1, "freeing twice is harmless");
}

#define NJOBS 200000

/* One taker thread's record of the jobs it got. */
struct taker {
	struct work_queue *q;
	int                back;     /* takes from the back */
	size_t             n;
	size_t            *got;
};

/* Thread body: takes jobs until none is left. */
static void *
take_all(void *arg)
{
	struct taker *t = arg;
	size_t job;

	while (t->back ? work_queue_take_last(t->q, &job) : work_queue_take(t->q, &job))
		t->got[t->n++] = job;
	return NULL;
}

/*
 * STREAMS_MAX threads, one in four at the back, take NJOBS jobs: each
 * exactly once, all of them.
 */
static void
test_concurrent(void)
{
	struct taker t[STREAMS_MAX];
	void *args[STREAMS_MAX];
	struct crew c = { .n = 0 };
	struct work_queue q;
	unsigned char *count = calloc(NJOBS, 1);
	size_t total = 0, started;
	int once = 1;

	CHECK(work_queue_init(&q, NULL, NJOBS) == 0, "queue of %d jobs", NJOBS);
	for (size_t k = 0; k < STREAMS_MAX; k++) {
		t[k] = (struct taker){ .q = &q, .back = k % 4 == 0,
		    .got = malloc(NJOBS * sizeof(size_t)) };
		args[k] = &t[k];
	}
	started = crew_start(&c, STREAMS_MAX, take_all, args);
	CHECK(started == STREAMS_MAX, "%zu threads started", started);
	crew_join(&c);
	CHECK(c.n == 0, "the crew is empty after the join");
	for (size_t k = 0; k < started; k++) {
		for (size_t m = 0; m < t[k].n; m++)
			count[t[k].got[m]]++;
		total += t[k].n;
	}
	for (size_t j = 0; j < NJOBS; j++)
		once &= count[j] == 1;
	CHECK(total == NJOBS && once, "every job taken exactly once (%zu taken)", total);
	for (size_t k = 0; k < STREAMS_MAX; k++)
		free(t[k].got);
	free(count);
	work_queue_free(&q);
}

#define NBATCH     40
#define BATCH_JOBS 5000

/* A batch as push.c's windows are: a queue of jobs, and who took each. */
struct batch {
	struct work_queue q;
	unsigned char     count[BATCH_JOBS];
};

/* One relay member: leaves after leave_after batches (0: at once, -1: never). */
struct member {
	struct relay *r;
	long          leave_after;
	long          batches;    /* batches it took part in */
};

/* Thread body of a member: drains every batch it is handed. */
static void *
member_main(void *arg)
{
	struct member *m = arg;
	unsigned long seen = 0;
	struct batch *b;
	size_t job;

	if (m->leave_after == 0) {
		relay_leave(m->r, seen);
		return NULL;
	}
	while ((b = relay_take(m->r, &seen)) != NULL) {
		while (work_queue_take(&b->q, &job))
			b->count[job]++;
		m->batches++;
		relay_done(m->r);
		if (m->batches == m->leave_after) {
			relay_leave(m->r, seen);
			break;
		}
	}
	return NULL;
}

/*
 * A producer hands NBATCH batches to STREAMS_MAX members, one of which
 * leaves before the first and one after three: after each relay_wait()
 * every job of the batch has been taken exactly once, the producer never
 * waits for a member that left, and the members that stay see every batch.
 */
static void
test_relay(void)
{
	struct relay r = RELAY_INITIALIZER;
	struct member m[STREAMS_MAX];
	void *args[STREAMS_MAX];
	struct crew c = { .n = 0 };
	struct batch *b = calloc(1, sizeof *b);
	int complete = 1, all_seen = 1;

	relay_members(&r, STREAMS_MAX);
	for (size_t k = 0; k < STREAMS_MAX; k++) {
		m[k] = (struct member){ .r = &r, .leave_after = k == 0 ? 0 : k == 1 ? 3 : -1 };
		args[k] = &m[k];
	}
	CHECK(crew_start(&c, STREAMS_MAX, member_main, args) == STREAMS_MAX,
	    "%d members started", STREAMS_MAX);
	for (int n = 0; n < NBATCH; n++) {
		memset(b->count, 0, sizeof b->count);
		if (work_queue_init(&b->q, NULL, BATCH_JOBS) < 0)
			break;
		relay_publish(&r, b);
		relay_wait(&r);
		for (size_t j = 0; j < BATCH_JOBS; j++)
			complete &= b->count[j] == 1;
		work_queue_free(&b->q);
	}
	relay_close(&r);
	crew_join(&c);
	CHECK(complete, "every job of every batch taken exactly once before relay_wait returned");
	CHECK(m[0].batches == 0 && m[1].batches == 3,
	    "members that left took no more batches (%ld, %ld)", m[0].batches, m[1].batches);
	for (size_t k = 2; k < STREAMS_MAX; k++)
		all_seen &= m[k].batches == NBATCH;
	CHECK(all_seen, "the members that stayed took part in all %d batches", NBATCH);
	free(b);
}

/* Closing a relay releases its waiting members with no batch. */
static void
test_close(void)
{
	struct relay r = RELAY_INITIALIZER;
	struct member m[2];
	void *args[2] = { &m[0], &m[1] };
	struct crew c = { .n = 0 };

	relay_members(&r, 2);
	for (size_t k = 0; k < 2; k++)
		m[k] = (struct member){ .r = &r, .leave_after = -1 };
	CHECK(crew_start(&c, 2, member_main, args) == 2, "2 members started");
	relay_close(&r);
	crew_join(&c);
	CHECK(m[0].batches == 0 && m[1].batches == 0, "both left with no batch");
	relay_wait(&r);
	CHECK(1, "relay_wait returns at once with nothing published");
}

/* The default is the online cores, within 1..STREAMS_MAX. */
static void
test_default(void)
{
	unsigned int n = streams_default();

	CHECK(n >= 1 && n <= STREAMS_MAX, "streams_default() = %u", n);
}

int
main(void)
{
	test_order();
	test_concurrent();
	test_relay();
	test_close();
	test_default();
	return check_done();
}
