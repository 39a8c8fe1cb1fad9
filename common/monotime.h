/*
 * monotime.h -- milliseconds on a clock that never jumps.
 *
 * Deadlines, idle times and throttling windows are all measured on
 * CLOCK_MONOTONIC; one definition keeps them on the same clock.
 */
#ifndef RPCSYNC_MONOTIME_H
#define RPCSYNC_MONOTIME_H

#include <time.h>

/* Returns CLOCK_MONOTONIC in milliseconds. */
static inline long long
monotime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
