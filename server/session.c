/*
 * session.c -- per-connection state: the selected export and the outcome of
 * the batched calls since the last BARRIER.
 *
 * Why it exists: batched calls never get a reply, so the only way a client
 * learns that call number i failed is the failure list that BARRIER returns.
 * This file keeps that list, bounded (SYNC_FAIL_MAX itemised, every failure
 * counted), and hands it over to the BARRIER reply without copying.  A
 * session belongs to one connection thread, so nothing of it locks; the
 * sessions per export (export_reserve) are shared, under a lock of their
 * own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "ops.h"
#include "quote.h"
#include "session.h"
#include "status.h"
#include "zstdio.h"

#define SESSION_LOG_PATH 128    /* bytes of the quoted failed path in the log */

/* Frees the paths of the itemised failures and forgets them. */
static void
failures_clear(struct session *s)
{
	for (unsigned int i = 0; i < s->nfailures; i++)
		free(s->failures[i].path.sync_path_val);
	memset(s->failures, 0, sizeof s->failures);
	s->nfailures = 0;
}

void
session_init(struct session *s, const char *peer, const struct sockaddr *addr,
    socklen_t addrlen)
{
	memset(s, 0, sizeof *s);
	strncpy(s->peer, peer != NULL ? peer : "?", sizeof s->peer - 1);
	if (addr != NULL && addrlen <= sizeof s->addr)
		memcpy(&s->addr, addr, addrlen);
}

void
session_fail(struct session *s, unsigned int index, const char *path,
    size_t pathlen, sync_status st)
{
	char shown[SESSION_LOG_PATH + 4];
	sync_failure *f;
	char *copy = NULL;

	if (path == NULL)
		pathlen = 0;
	if (pathlen > SYNC_PATH_MAX)
		pathlen = SYNC_PATH_MAX;
	quote_bytes(path, pathlen, shown, sizeof shown);
	/*
	 * A full, read-only or failing disk is the operator's business: one
	 * line per file at the default level.  A call without a path (WRITE,
	 * COPY) is logged by its op, which knows the file; a read-only export
	 * refuses by configuration, which is the client's business.
	 */
	if (status_is_storage(st) && pathlen > 0 &&
	    !(st == SYNC_ERR_ROFS && s->export != NULL && s->export->read_only))
		log_warn("%s: '%s': %s", s->peer, shown, status_str(st));
	else
		log_debug("%s: batched call %u ('%s') failed: %s", s->peer, index, shown,
		    status_name(st));

	if (s->batch_failed < ~0u)
		s->batch_failed++;
	if (s->nfailures >= SYNC_FAIL_MAX)
		return;
	if (pathlen > 0) {
		copy = malloc(pathlen);
		if (copy == NULL) {
			log_err("%s: out of memory recording a failure", s->peer);
			pathlen = 0;    /* still report the index and status */
		} else {
			memcpy(copy, path, pathlen);
		}
	}
	f = &s->failures[s->nfailures++];
	f->index = index;
	f->path.sync_path_len = (u_int)pathlen;
	f->path.sync_path_val = copy;
	f->status = st;
}

void
session_take_barrier(struct session *s, barrier_ok *r)
{
	memset(r, 0, sizeof *r);
	r->done = s->batch_index;
	r->failed = s->batch_failed;
	if (s->nfailures > 0) {
		r->failures.failures_val = malloc(s->nfailures * sizeof(sync_failure));
		if (r->failures.failures_val == NULL) {
			/* The counts still tell the client that calls failed. */
			log_err("%s: out of memory building a BARRIER reply", s->peer);
			failures_clear(s);
		} else {
			memcpy(r->failures.failures_val, s->failures,
			    s->nfailures * sizeof(sync_failure));
			r->failures.failures_len = s->nfailures;
			/* The paths now belong to r: forget them without freeing. */
			memset(s->failures, 0, sizeof s->failures);
			s->nfailures = 0;
		}
	}
	s->batch_index = 0;
	s->batch_failed = 0;
}

/*
 * Sessions per export name.  Counted by name, not in struct export, so that
 * a reload (which makes new exports) keeps counting the sessions still on
 * the old ones: "max connections = 8" means 8 at a time across the reload
 * too.  Names only accumulate (one entry per name ever configured, which
 * the admin bounds); a HELLO costs a scan of them under the lock.
 */
struct export_load {
	char *name;
	unsigned int sessions;
};

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct export_load *loads;
static size_t nloads;

/* Returns the entry of name, made if missing; NULL when out of memory. */
static struct export_load *
load_of(const char *name)
{
	struct export_load *grown;

	for (size_t i = 0; i < nloads; i++)
		if (strcmp(loads[i].name, name) == 0)
			return &loads[i];
	grown = realloc(loads, (nloads + 1) * sizeof *grown);
	if (grown == NULL)
		return NULL;
	loads = grown;
	if ((loads[nloads].name = strdup(name)) == NULL)
		return NULL;
	loads[nloads].sessions = 0;
	return &loads[nloads++];
}

int
export_reserve(const struct export *e)
{
	struct export_load *l;
	int rc = -1;

	pthread_mutex_lock(&load_lock);
	if ((l = load_of(e->name)) == NULL) {
		log_err("export '%s': out of memory counting its sessions", e->name);
	} else if (e->max_sessions == 0 || l->sessions < e->max_sessions) {
		l->sessions++;
		rc = 0;
	}
	pthread_mutex_unlock(&load_lock);
	return rc;
}

void
export_release(const struct export *e)
{
	struct export_load *l;

	pthread_mutex_lock(&load_lock);
	if ((l = load_of(e->name)) != NULL && l->sessions > 0)
		l->sessions--;
	pthread_mutex_unlock(&load_lock);
}

/*
 * Why raw syscalls: glibc's setgroups() changes every thread of the process
 * (POSIX semantics), and a session must change only its own thread;
 * setfsuid/setfsgid are per thread already.  setfsuid() reports no error:
 * asking again and comparing is how the change is confirmed.
 */
int
export_become(const struct export *e)
{
	uid_t uid = e->uid >= 0 ? (uid_t)e->uid : geteuid();
	gid_t gid = e->gid >= 0 ? (gid_t)e->gid : getegid();

	if (syscall(SYS_setgroups, 1, &gid) != 0 && errno != EPERM)
		return -1;
	(void)setfsgid(gid);
	(void)setfsuid(uid);
	if ((gid_t)setfsgid(gid) != gid || (uid_t)setfsuid(uid) != uid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

void
session_end(struct session *s)
{
	/*
	 * Not staging_flush: COMMITs that no BARRIER followed are dropped, not
	 * published.  The client never learned their outcome and resends them
	 * (a retry re-plans from a fresh LIST), and publishing them whenever
	 * the end is noticed -- a silent peer only at its idle timeout -- could
	 * put an old attempt's content back over a newer push.
	 */
	staging_free(s);
	if (s->batch_failed > 0)
		log_debug("%s: %u batched calls failed with no BARRIER to report "
		    "them", s->peer, s->batch_failed);
	if (s->export != NULL)
		export_release(s->export);
	s->export = NULL;
	failures_clear(s);
	zstdio_dec_free(s->zdec);
	s->zdec = NULL;
	s->caps = 0;
	s->batch_index = 0;
	s->batch_failed = 0;
	s->export = NULL;
}
