/*
 * streams.h -- the concurrency under syncctl's parallel file phase.
 *
 * Why it exists: push.c speaks the protocol; this is the little machinery
 * that lets several threads, one connection each, share its file work
 * without sharing anything else: a queue that hands out every job of a
 * window exactly once, heaviest first (or, to one who asks, lightest
 * first from the other end), through one atomic word over an order fixed
 * before the window is handed out (no lock, no shared writes but that
 * word); a relay that hands the windows one after the other to
 * the workers and tells the primary connection when they are done with one;
 * a crew of threads to start and join; and the default number of streams.  Nothing here knows about RPC, so it is unit-tested alone.
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

/* Jobs 0..n-1, handed out once each from either end of a fixed order. */
struct work_queue {
	size_t                  *order;  /* job numbers in the order they go out */
	size_t                   n;
	_Atomic(uint_least64_t)  ends;   /* positions in order: the next job from
	                                    the front (high 32 bits) and one past
	                                    the next from the back (low 32) */
};

/*
 * Prepares q for jobs 0..n-1 (n < 2^32).  weight NULL: in that order.
 * Otherwise heaviest first, equal weights in job order (longest processing
 * time first: the biggest job starts at once instead of ending the run
 * alone).  Returns 0, or -1 when out of memory or n is too large (errno
 * ENOMEM or EINVAL; q is then empty).
 */
int work_queue_init(struct work_queue *q, const uint64_t *weight, size_t n);

/*
 * Takes the next job: returns 1 with its number in *job, or 0 when every
 * job has been taken.  Safe from any number of threads at once.
 */
int work_queue_take(struct work_queue *q, size_t *job);

/*
 * Takes the last job of the order that is left (the lightest): returns 1
 * with its number in *job, or 0 when every job has been taken.  Safe
 * together with work_queue_take() from any number of threads.
 */
int work_queue_take_last(struct work_queue *q, size_t *job);

/*
 * Looks at the job work_queue_take_last() would hand out now: returns 1
 * with its number in *job (left in the queue), or 0 when none is left.
 * With a single thread taking from the back, its next take returns that
 * job or none.
 */
int work_queue_peek_last(struct work_queue *q, size_t *job);

/* Frees q's order and empties it (a freed or zeroed q is allowed). */
void work_queue_free(struct work_queue *q);

/*
 * A relay hands batches of work (push.c's windows) from one producer to a
 * crew of consumers, one batch at a time.  Every consumer still in the
 * relay (a member) takes part in every batch, and the producer publishes
 * the next batch only once all of them are done with the last, so it may
 * then reuse that batch's memory.  A member that gives up leaves, and is
 * not waited for again.
 */
struct relay {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	void           *batch;    /* the batch published last */
	unsigned long   gen;      /* batches published so far */
	size_t          members;  /* consumers still in */
	size_t          busy;     /* members not yet done with batch gen */
	int             closed;   /* no batch will follow */
};

#define RELAY_INITIALIZER \
	{ PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0 }

/*
 * Sets the number of members of r, before any of them runs and before
 * the first relay_publish().
 */
void relay_members(struct relay *r, size_t n);

/*
 * Producer: waits until every member is done with the last batch, then
 * publishes batch (never NULL) to all of them.
 */
void relay_publish(struct relay *r, void *batch);

/* Producer: waits until every member is done with the last batch. */
void relay_wait(struct relay *r);

/* Producer: no batch will follow; members leave relay_take() with NULL. */
void relay_close(struct relay *r);

/*
 * Member: waits for a batch newer than *seen (0 at first) and returns it,
 * noting its number in *seen; returns NULL once r is closed and no newer
 * batch is left.  The member must call relay_done() when it is done with
 * the batch.
 */
void *relay_take(struct relay *r, unsigned long *seen);

/* Member: done with the batch relay_take() returned last. */
void relay_done(struct relay *r);

/*
 * Member: leaves r for good, after relay_done() for the last batch it
 * took (seen, 0 if none).  A batch published meanwhile is not waited on
 * for this member.
 */
void relay_leave(struct relay *r, unsigned long seen);

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
