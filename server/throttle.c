/*
 * throttle.c -- the table of failed authentications (see throttle.h).
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "hostacl.h"
#include "monotime.h"
#include "throttle.h"

/* One address and its failures in the window that started at `start`. */
struct slot {
	unsigned char addr[16];
	time_t        start;
	unsigned int  fails;    /* 0: the slot is free */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot table[THROTTLE_SLOTS];

/*
 * Returns the live slot of a (fails != 0, window not over at now), or NULL.
 * Expired slots found on the way are freed.  Called with lock held.
 */
static struct slot *
slot_find(const unsigned char a[16], time_t now)
{
	for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
		struct slot *t = &table[i];

		if (t->fails == 0)
			continue;
		if (now - t->start >= THROTTLE_WINDOW_S) {
			t->fails = 0;
			continue;
		}
		if (memcmp(t->addr, a, sizeof t->addr) == 0)
			return t;
	}
	return NULL;
}

int
throttle_blocked(const struct sockaddr *sa)
{
	unsigned char a[16];
	struct slot *t;
	int blocked;

	if (hostacl_addr(sa, a) != 0)
		return 1;
	pthread_mutex_lock(&lock);
	t = slot_find(a, (time_t)(monotime_ms() / 1000));
	blocked = t != NULL && t->fails >= THROTTLE_FAILS;
	pthread_mutex_unlock(&lock);
	return blocked;
}

void
throttle_fail(const struct sockaddr *sa)
{
	unsigned char a[16];
	time_t now = (time_t)(monotime_ms() / 1000);
	struct slot *t;

	if (hostacl_addr(sa, a) != 0)
		return;
	pthread_mutex_lock(&lock);
	if ((t = slot_find(a, now)) == NULL) {
		/* A free slot, else the one whose window started first. */
		t = &table[0];
		for (size_t i = 0; i < THROTTLE_SLOTS && t->fails != 0; i++)
			if (table[i].fails == 0 || table[i].start < t->start)
				t = &table[i];
		memcpy(t->addr, a, sizeof t->addr);
		t->start = now;
		t->fails = 0;
	}
	t->fails++;
	pthread_mutex_unlock(&lock);
}
