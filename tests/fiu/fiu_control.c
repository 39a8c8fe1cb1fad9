/*
 * fiu_control.c -- starts libfiu's remote control in BUILD/tests/syncd-fiu.
 *
 * Why it exists: tests/integration/t_88_fiu.sh turns fault points on and
 * off in a running syncd with fiu-ctrl, which talks to a libfiu thread
 * through the named pipes $FIU_CTRL_FIFO-PID.  fiu-run's preload would
 * start that thread before syncd's main() blocks SIGTERM, so a SIGTERM
 * could be delivered to that thread and kill syncd instead of reaching its
 * signalfd (the clean shutdown the tests assert).  This constructor,
 * linked only into the fault-injection build, starts the thread with every
 * signal blocked; syncd itself is unchanged.  Without FIU_CTRL_FIFO in the
 * environment it does nothing.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <fiu-control.h>
#include <fiu.h>

/*
 * Initialises libfiu and, if FIU_CTRL_FIFO names a prefix, serves its
 * remote control from a thread that no signal can reach.  A failure ends
 * the process with status 70 (EX_SOFTWARE) and a message: the test that
 * started it sees syncd-fiu never answer.
 */
__attribute__((constructor)) static void
fiu_control_start(void)
{
	const char *prefix = getenv("FIU_CTRL_FIFO");
	sigset_t all, old;
	int rc;

	if (fiu_init(0) != 0) {
		fputs("syncd-fiu: fiu_init failed\n", stderr);
		exit(70);
	}
	if (prefix == NULL || *prefix == '\0')
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = fiu_rc_fifo(prefix);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		fprintf(stderr, "syncd-fiu: fiu_rc_fifo(%s) failed\n", prefix);
		exit(70);
	}
}
