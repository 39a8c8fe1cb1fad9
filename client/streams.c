/*
 * streams.c -- work queue, relay and crew for the parallel file phase
 * (streams.h).
 *
 * Why so little: the only state the threads share is the queue's ends
 * and the relay; every other thing a worker touches is either its own or
 * was written before the batch it belongs to was published (the relay's
 * mutex orders those writes before anything a member does with the batch)
 * and is only read while the members work on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "streams.h"

unsigned int
streams_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > STREAMS_MAX ? STREAMS_MAX : (unsigned int)n;
}

/* A job and its weight while the order is sorted. */
struct weighed {
	uint64_t weight;
	size_t   job;
};

/* qsort order: heavier first, then lower job number first. */
static int
heavier_first(const void *a, const void *b)
{
	const struct weighed *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return (x->job > y->job) - (x->job < y->job);
}

int
work_queue_init(struct work_queue *q, const uint64_t *weight, size_t n)
{
	struct weighed *w = NULL;
	int rc = -1;

	memset(q, 0, sizeof *q);
	atomic_init(&q->ends, 0);
	if (n > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	q->order = malloc((n ? n : 1) * sizeof *q->order);
	if (q->order == NULL)
		goto out;
	if (weight == NULL) {
		for (size_t k = 0; k < n; k++)
			q->order[k] = k;
	} else {
		if ((w = malloc((n ? n : 1) * sizeof *w)) == NULL)
			goto out;
		for (size_t k = 0; k < n; k++)
			w[k] = (struct weighed){ weight[k], k };
		qsort(w, n, sizeof *w, heavier_first);
		for (size_t k = 0; k < n; k++)
			q->order[k] = w[k].job;
	}
	q->n = n;
	atomic_store_explicit(&q->ends, (uint_least64_t)n, memory_order_relaxed);
	rc = 0;
out:
	free(w);
	if (rc < 0) {
		free(q->order);
		q->order = NULL;
		errno = ENOMEM;
	}
	return rc;
}

/*
 * Takes one job off q's front (back 0) or back (back 1): moves that end
 * by one unless the ends have met.  Returns 1 with the job in *job, or 0.
 */
static int
take_end(struct work_queue *q, int back, size_t *job)
{
	uint_least64_t e = atomic_load_explicit(&q->ends, memory_order_relaxed), next;
	size_t front, end;

	do {
		front = (size_t)(e >> 32);
		end = (size_t)(e & UINT32_MAX);
		if (front >= end)
			return 0;
		next = back ? e - 1 : e + ((uint_least64_t)1 << 32);
	} while (!atomic_compare_exchange_weak_explicit(&q->ends, &e, next,
	    memory_order_relaxed, memory_order_relaxed));
	*job = q->order[back ? end - 1 : front];
	return 1;
}

int
work_queue_take(struct work_queue *q, size_t *job)
{
	return take_end(q, 0, job);
}

int
work_queue_take_last(struct work_queue *q, size_t *job)
{
	return take_end(q, 1, job);
}

int
work_queue_peek_last(struct work_queue *q, size_t *job)
{
	uint_least64_t e = atomic_load_explicit(&q->ends, memory_order_relaxed);
	size_t end = (size_t)(e & UINT32_MAX);

	if ((size_t)(e >> 32) >= end)
		return 0;
	*job = q->order[end - 1];
	return 1;
}

void
work_queue_free(struct work_queue *q)
{
	free(q->order);
	q->order = NULL;
	q->n = 0;
	atomic_store_explicit(&q->ends, 0, memory_order_relaxed);
}

void
relay_members(struct relay *r, size_t n)
{
	pthread_mutex_lock(&r->mu);
	r->members = n;
	pthread_mutex_unlock(&r->mu);
}

void
relay_publish(struct relay *r, void *batch)
{
	pthread_mutex_lock(&r->mu);
	while (r->busy > 0)
		pthread_cond_wait(&r->cv, &r->mu);
	r->batch = batch;
	r->gen++;
	r->busy = r->members;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void
relay_wait(struct relay *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->busy > 0)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

void
relay_close(struct relay *r)
{
	pthread_mutex_lock(&r->mu);
	r->closed = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void *
relay_take(struct relay *r, unsigned long *seen)
{
	void *batch = NULL;

	pthread_mutex_lock(&r->mu);
	while (r->gen == *seen && !r->closed)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->gen != *seen) {
		*seen = r->gen;
		batch = r->batch;
	}
	pthread_mutex_unlock(&r->mu);
	return batch;
}

void
relay_done(struct relay *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->busy > 0 && --r->busy == 0)
		pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void
relay_leave(struct relay *r, unsigned long seen)
{
	pthread_mutex_lock(&r->mu);
	if (r->members > 0)
		r->members--;
	/* The batch published after the last one taken was counted on us. */
	if (r->gen != seen && r->busy > 0 && --r->busy == 0)
		pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

size_t
crew_start(struct crew *c, size_t n, void *(*fn)(void *), void *const args[])
{
	c->n = 0;
	if (n > STREAMS_MAX)
		n = STREAMS_MAX;
	while (c->n < n) {
		int err = pthread_create(&c->tid[c->n], NULL, fn, args[c->n]);

		if (err != 0) {
			log_err("cannot start a thread: %s", strerror(err));
			break;
		}
		c->n++;
	}
	return c->n;
}

void
crew_join(struct crew *c)
{
	for (size_t k = 0; k < c->n; k++)
		pthread_join(c->tid[k], NULL);
	c->n = 0;
}
