/*
 * client_streams.c -- unit tests for the parallel file phase's machinery
 * (client/streams.h).
 *
 * Correctness of a parallel push rests on two promises checked here: the
 * queue hands out every job exactly once however many threads take from it,
 * in the planned order (biggest first), and the gate holds every worker
 * until it is opened or cancelled.
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
	struct gate       *g;
	enum gate_state    seen;
	size_t             n;
	size_t            *got;
};

/* Thread body: waits at the gate, then takes jobs until none is left. */
static void *
take_all(void *arg)
{
	struct taker *t = arg;
	size_t job;

	t->seen = gate_wait(t->g);
	if (t->seen != GATE_OPEN)
		return NULL;
	while (work_queue_take(t->q, &job))
		t->got[t->n++] = job;
	return NULL;
}

/* STREAMS_MAX threads take NJOBS jobs: each exactly once, all of them. */
static void
test_concurrent(void)
{
	struct gate g = GATE_INITIALIZER;
	struct taker t[STREAMS_MAX];
	void *args[STREAMS_MAX];
	struct crew c = { .n = 0 };
	struct work_queue q;
	unsigned char *count = calloc(NJOBS, 1);
	size_t total = 0, started;
	int once = 1, opened = 1;

	CHECK(work_queue_init(&q, NULL, NJOBS) == 0, "queue of %d jobs", NJOBS);
	for (size_t k = 0; k < STREAMS_MAX; k++) {
		t[k] = (struct taker){ .q = &q, .g = &g, .got = malloc(NJOBS * sizeof(size_t)) };
		args[k] = &t[k];
	}
	started = crew_start(&c, STREAMS_MAX, take_all, args);
	CHECK(started == STREAMS_MAX, "%zu threads started", started);
	gate_set(&g, GATE_OPEN);
	crew_join(&c);
	CHECK(c.n == 0, "the crew is empty after the join");
	for (size_t k = 0; k < started; k++) {
		opened &= t[k].seen == GATE_OPEN;
		for (size_t m = 0; m < t[k].n; m++)
			count[t[k].got[m]]++;
		total += t[k].n;
	}
	for (size_t j = 0; j < NJOBS; j++)
		once &= count[j] == 1;
	CHECK(opened, "every thread passed the open gate");
	CHECK(total == NJOBS && once, "every job taken exactly once (%zu taken)", total);
	for (size_t k = 0; k < STREAMS_MAX; k++)
		free(t[k].got);
	free(count);
	work_queue_free(&q);
}

/* A cancelled gate releases its waiters with GATE_CANCELLED. */
static void
test_cancel(void)
{
	struct gate g = GATE_INITIALIZER;
	struct work_queue q;
	struct taker t[2];
	void *args[2] = { &t[0], &t[1] };
	struct crew c = { .n = 0 };

	CHECK(work_queue_init(&q, NULL, 10) == 0, "queue of 10");
	for (size_t k = 0; k < 2; k++)
		t[k] = (struct taker){ .q = &q, .g = &g, .got = NULL };
	CHECK(crew_start(&c, 2, take_all, args) == 2, "2 threads started");
	gate_set(&g, GATE_CANCELLED);
	crew_join(&c);
	CHECK(t[0].seen == GATE_CANCELLED && t[1].seen == GATE_CANCELLED,
	    "both waiters saw the cancellation");
	CHECK(t[0].n == 0 && t[1].n == 0, "and took no job");
	work_queue_free(&q);
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
	test_cancel();
	test_default();
	return check_done();
}
