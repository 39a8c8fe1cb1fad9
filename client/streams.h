/*
 * streams.h -- the concurrency under syncctl's parallel file phase.
 *
 * Why it exists: push.c speaks the protocol; this is the little machinery
 * that lets several threads, one connection each, share its file work
 * without sharing anything else: a queue that hands out every job exactly
 * once, heaviest first, through one atomic counter over an order fixed
 * before the threads start (no lock, no shared writes but the counter); a
 * gate at which workers wait until the primary connection has made every
 * directory; a crew of threads to start and join; and the default number
 * of streams.  Nothing here knows about RPC, so it is unit-tested alone.
 */
#ifndef RPCSYNC_STREAMS_H
#define RPCSYNC_STREAMS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define STREAMS_MAX 8           /* most connections one push opens */

/*
 * Returns the default number of streams: the online cores
 * (sysconf(_SC_NPROCESSORS_ONLN)), clamped to 1..STREAMS_MAX.
 */
unsigned int streams_default(void);

/* Jobs 0..n-1, handed out once each in a fixed order. */
struct work_queue {
	size_t       *order;    /* job numbers in the order they go out */
	size_t        n;
	atomic_size_t next;     /* position of the next job in order */
};

/*
 * Prepares q for jobs 0..n-1.  weight NULL: in that order.  Otherwise
 * heaviest first, equal weights in job order (longest processing time
 * first: the biggest job starts at once instead of ending the run alone).
 * Returns 0, or -1 when out of memory (errno ENOMEM; q is then empty).
 */
int work_queue_init(struct work_queue *q, const uint64_t *weight, size_t n);

/*
 * Takes the next job: returns 1 with its number in *job, or 0 when every
 * job has been taken.  Safe from any number of threads at once.
 */
int work_queue_take(struct work_queue *q, size_t *job);

/* Frees q's order and empties it (a freed or zeroed q is allowed). */
void work_queue_free(struct work_queue *q);

/* How a gate was left. */
enum gate_state {
	GATE_CLOSED,            /* not yet decided: gate_wait() blocks */
	GATE_OPEN,              /* go on */
	GATE_CANCELLED,         /* give up */
};

/* A one-shot decision that threads wait for. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	enum gate_state state;
};

#define GATE_INITIALIZER \
	{ PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, GATE_CLOSED }

/* Sets g to st (GATE_OPEN or GATE_CANCELLED) and wakes every waiter. */
void gate_set(struct gate *g, enum gate_state st);

/* Waits until g is no longer GATE_CLOSED; returns its state. */
enum gate_state gate_wait(struct gate *g);

/* Threads started together and joined together. */
struct crew {
	pthread_t tid[STREAMS_MAX];
	size_t    n;            /* started, tid[0..n-1] */
};

/*
 * Starts fn(args[k]) on a thread of its own for k = 0..n-1 (n at most
 * STREAMS_MAX), into c, which must be empty.  A thread that cannot be
 * created is reported and the rest are not tried.  Returns how many
 * threads run (tid[0..return-1]); the caller must then crew_join(c).
 */
size_t crew_start(struct crew *c, size_t n, void *(*fn)(void *), void *const args[]);

/* Waits for every thread of c to end and empties c. */
void crew_join(struct crew *c);

#endif
