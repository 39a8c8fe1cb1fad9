/*
 * throttle.h -- failed authentications per peer address.
 *
 * Why it exists: a secret can be guessed online, one AUTH at a time, and
 * connections are cheap.  So syncd counts failed AUTHs per client address
 * (IPv4, or IPv6 by its whole address): once an address has failed
 * THROTTLE_FAILS times within THROTTLE_WINDOW_S seconds of its first
 * failure, its AUTHs are refused without being checked until that window
 * ends.  A
 * guesser gets a handful of tries a minute instead of thousands a second.
 *
 * The table is shared by all connection threads (one mutex) and bounded:
 * when it is full, the address whose window started longest ago is
 * forgotten, so memory stays fixed whatever the number of attackers.
 */
#ifndef RPCSYNC_THROTTLE_H
#define RPCSYNC_THROTTLE_H

#include <sys/socket.h>

#define THROTTLE_FAILS    5     /* failures allowed per window ... */
#define THROTTLE_WINDOW_S 60    /* ... of this many seconds */
#define THROTTLE_SLOTS    1024  /* addresses remembered at once */

/* Returns 1 if sa has used up its failures for the current window, else 0. */
int throttle_blocked(const struct sockaddr *sa);

/* Counts a failed authentication from sa. */
void throttle_fail(const struct sockaddr *sa);

#endif
