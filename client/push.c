/*
 * push.c -- compare the local and the remote tree, send the difference.
 *
 * This file runs a push: it connects (the primary stream), lists the
 * destination and starts the walk, then takes the local tree a window at
 * a time -- each planned by plan.c, which says why the batch is in the
 * order it is, its files sent by send.c on the primary or on worker
 * streams -- and leaves it to report.c to say how it went.  An attempt
 * that fails transiently is made again from scratch (push_run).
 *
 * Parallel streams (--streams N).  Phase 5 is nearly all the work (reading,
 * hashing, matching, sending; the server's writes), so once the files to
 * send pay for it (want_workers()) it goes to N worker connections, each
 * driven by a thread of its own, while the primary connection keeps
 * walking and planning.  The windows travel through a relay (streams.h):
 * the primary plans window k+1 (its deletions, directories and symlinks
 * on the primary connection) while the workers send window k's files,
 * taking them from the window's queue, biggest first.  Calls on different
 * connections are not ordered with one another, so before a window is
 * handed out the primary ends its batch with a BARRIER when it deleted
 * anything since its last one: every name is then free before a worker
 * creates a file there.  Directories need no such wait: a worker queues,
 * before its first file of a window, a MKDIR of every directory this
 * push creates that holds the window's files (plan_parents(): parents
 * first, the missing destination too), which the server answers with
 * success where the primary or another worker made it first, its mode
 * left alone (all make it 0700 | mode; phase 6 sets the real one).  So a
 * fresh push pays no round trip per window (the 6 windows of 10,000
 * small files over 2 workers cost 6 of its 16 round trips, 0.3 s at 25 ms
 * each way) for a few MKDIRs per new directory and worker, which cost the
 * server a failed mkdirat() each.  The workers connect and say HELLO (a
 * round trip) while the first window is planned and sent: until one of
 * them is up, the primary takes that window's small files itself, the
 * smallest first (HELP_FILE_MAX).  When the last window is done, each
 * worker ends with its own BARRIER (its renames are then done), and the
 * primary sends phase 6 and the last BARRIER.  Until the files pay for
 * workers, the primary sends them itself, in path order: one stream is
 * exactly the single batch plan.c describes.  A worker writes only its
 * own struct stream (connection, buffer, counters, failures); the remote
 * list and a published window are only read while it runs.
 * With --checksum the local hashing of a window's candidates is spread
 * over up to N threads of its own first (no connection needed).
 *
 * Every connection's batch is also ended by a BARRIER once it holds
 * BATCH_CALLS_MAX calls (batch.c): remote.c remembers the path of each
 * call until the next BARRIER (to name failures), and that memory must
 * stay bounded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "push.h"
#include "push_int.h"
#include "quote.h"
#include "remote.h"
#include "status.h"
#include "streams.h"
#include "walk.h"
#include "zstdio.h"

#define PUSH_CHUNK (1024 * 1024)    /* bytes per WRITE */

/*
 * When extra connections pay.  Each costs a thread, a TCP connect, a HELLO
 * and a BARRIER, a thread and a syncfs pair on the server, and adds about
 * one round trip to the critical path (the slowest worker's BARRIER before
 * the last one; its HELLO overlaps the primary's sending): ~1-2 ms in all
 * over loopback (measured), ~1 ms plus one RTT on a network.  It earns by
 * doing part of phase 5 at the same time.  One file is one stream's job,
 * hence STREAMS_MIN_FILES.  A MiB of file data costs ~1.3 ms to read, send
 * and store (measured over loopback: 256 MiB in 0.34 s), so from
 * STREAMS_MIN_BYTES on, the work to share is as large as the cost; a small
 * file costs ~40 us (2000 in 75 ms), so STREAMS_MANY_FILES of them are
 * ~2.5 ms, at any size.  Below both, a push stays on one connection: the
 * common "a few small files changed" case keeps its minimal round trips,
 * and above them the loss, if any, is bounded by those ~2 ms (measured:
 * 64 small files 6 -> 8 ms on 2 shared cores), while 4 x 64 MiB takes
 * 36% less time (tmpfs; 49% for deltas).  The files are counted over the
 * windows planned so far, so workers start with the first window that
 * brings the count over (the files before it went on the primary).
 */
#define STREAMS_MIN_FILES  2
#define STREAMS_MIN_BYTES  (1024 * 1024)
#define STREAMS_MANY_FILES 64

/*
 * The largest file the primary sends while the workers connect: one WRITE
 * of ~50 us, so it is soon back to planning, and little of its chunk
 * buffer is touched.  Bigger ones wait for the workers (4 x 256 MiB over
 * loopback took up to twice as long with the primary sending one of them).
 */
#define HELP_FILE_MAX (64 * 1024)

/* ---- helpers ---------------------------------------------------------- */

/* Maps a remote_rc to the result push_run() returns. */
static enum push_result
from_remote(int rc)
{
	switch (rc) {
	case REMOTE_OK:
		return PUSH_OK;
	case REMOTE_DOWN:
		return PUSH_UNAVAILABLE;
	case REMOTE_PROTO:
		return PUSH_PROTOCOL;
	case REMOTE_AUTH:
		return PUSH_DENIED;
	case REMOTE_UNREACHABLE:
		return PUSH_UNREACHABLE;
	default:
		return PUSH_FAILED;
	}
}

/* ---- the session ------------------------------------------------------ */

/*
 * Returns the zstd level stream r should ask the server for, 0 for none:
 * -z forces compression on and --no-compress off; by default it is on
 * unless the server is reached over loopback, where it would only cost CPU.
 */
static int
compress_level(const struct push_opts *o, const struct remote *r)
{
	if (o->compress == PUSH_COMPRESS_OFF ||
	    (o->compress == PUSH_COMPRESS_AUTO && remote_peer_loopback(r)))
		return 0;
	return o->compress_level > 0 ? o->compress_level : ZSTDIO_LEVEL_DEFAULT;
}

/*
 * Connects stream s -- afresh to o->host when like is NULL, else to the
 * very server that like is connected to -- says HELLO and allocates its
 * buffer.  Returns PUSH_OK or why not (reported).
 */
static enum push_result
start_session(struct stream *s, const struct remote *like)
{
	const struct push_opts *o = s->p->o;
	const char *lb = strchr(o->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	struct remote_hello h = { 0 };
	int rc;

	s->r = like != NULL ? remote_open_same(like, &rc) :
	    remote_open(o->host, o->port, o->timeout, &rc);
	if (s->r == NULL)
		return from_remote(rc);
	remote_set_compress(s->r, compress_level(o, s->r));
	remote_set_auth(s->r, o->user, o->secret, o->secret_len, o->auth_insist);
	if (o->max_entries != 0)
		remote_set_list_max(s->r, o->max_entries);
	rc = remote_hello(s->r, o->export, &h);
	if (rc != REMOTE_OK)
		return from_remote(rc);
	if (h.status != SYNC_OK) {
		log_err("%s%s%s:%s: %s", lb, o->host, rb, o->export, status_str(h.status));
		return h.status == SYNC_ERR_ACCES ? PUSH_DENIED :
		    h.status == SYNC_ERR_TOOMANY ? PUSH_BUSY : PUSH_PROTOCOL;
	}
	if (h.flags & SYNC_EXPORT_READONLY) {
		log_err("%s%s%s:%s: export is read-only", lb, o->host, rb, o->export);
		return PUSH_READONLY;
	}
	s->chunk = PUSH_CHUNK;
	if (h.chunk_max != 0 && h.chunk_max < s->chunk)
		s->chunk = h.chunk_max;
	if ((s->buf = malloc(s->chunk)) == NULL) {
		log_err("out of memory");
		return PUSH_FAILED;
	}
	return PUSH_OK;
}

/* Closes s's connection (keeping its round-trip and wire counts), frees its buffer. */
static void
end_stream(struct stream *s)
{
	if (s->r != NULL) {
		s->trips = remote_round_trips(s->r);
		s->st.wire = remote_wire_data(s->r);
		s->st.sig = remote_sig_data(s->r);
	}
	remote_close(s->r);
	s->r = NULL;
	free(s->buf);
	s->buf = NULL;
}

/*
 * Opens the local directory and starts the walk.  Returns PUSH_OK or
 * PUSH_LOCAL_IO (reported).
 */
static enum push_result
scan_local(struct push *p)
{
	p->rootfd = walk_open_root(p->o->dir);
	if (p->rootfd < 0 || walk_start(&p->walk, p->rootfd, p->o->dir, &p->ws) < 0)
		return PUSH_LOCAL_IO;
	p->walking = 1;
	return PUSH_OK;
}

/*
 * Lists the destination.  A missing one is fine (it will be created); one
 * that is not a directory is a failure.  Returns PUSH_OK or why not.
 */
static enum push_result
scan_remote(struct push *p)
{
	const char *path = p->o->path;
	char q[QUOTE_BUF];
	sync_status st;
	int rc = remote_list(p->s[0].r, path, p->o->checksum, &p->remote, &st);

	quote_str(*path ? path : ".", q);
	if (rc != REMOTE_OK)
		return from_remote(rc);
	if (st == SYNC_ERR_NOENT && *path != '\0') {
		p->path_missing = 1;
		return PUSH_OK;
	}
	if (st != SYNC_OK) {
		log_err("%s: %s", q, status_str(st));
		return PUSH_FAILED;
	}
	if (p->remote.v[0].type != SYNC_DIR) {
		log_err("%s: exists and is not a directory", q);
		return PUSH_FAILED;
	}
	return PUSH_OK;
}

/* ---- batches and streams ---------------------------------------------- */

/*
 * Counts window w's files to send towards the workers and returns how
 * many workers to start now: none while the files planned so far do not
 * pay for extra connections (STREAMS_MIN_BYTES, STREAMS_MANY_FILES) or
 * --streams is 1, else --streams, but no more than there are files.
 */
static size_t
want_workers(struct push *p, const struct window *w)
{
	for (size_t k = 0; k < w->njobs; k++) {
		if (w->jobs[k].set != 0)
			continue;
		p->want_files++;
		p->want_bytes += w->local.v[w->jobs[k].i].size;
	}
	if (p->nmax < 2 || (p->want_files < STREAMS_MANY_FILES &&
	    (p->want_files < STREAMS_MIN_FILES || p->want_bytes < STREAMS_MIN_BYTES)))
		return 0;
	return p->want_files < p->nmax ? (size_t)p->want_files : p->nmax;
}

/*
 * Orders window w's queue: in path order for the primary alone (the
 * single batch of old), else biggest files first, so that a big file
 * starts at once instead of ending the window alone.  Returns 0, or -1
 * when out of memory (reported).
 */
static int
queue_files(struct push *p, struct window *w)
{
	uint64_t weight[WINDOW_ENTRIES];

	if (p->nworkers > 0)
		for (size_t k = 0; k < w->njobs; k++)
			weight[k] = w->jobs[k].set == 0 ? w->local.v[w->jobs[k].i].size : 0;
	if (work_queue_init(&w->queue, p->nworkers > 0 ? weight : NULL, w->njobs) < 0) {
		log_err("out of memory");
		return -1;
	}
	return 0;
}

/*
 * Takes the next job of window w's queue into *k: the heaviest left, or,
 * helping until *until is set (the primary while the workers connect),
 * the lightest if it is a file of at most HELP_FILE_MAX bytes.  The
 * primary is the only one taking from that end.  Returns 1, or 0 when
 * there is none (or *until is set, or the lightest is too big).
 */
static int
next_job(struct window *w, atomic_int *until, size_t *k)
{
	if (until == NULL)
		return work_queue_take(&w->queue, k);
	return !atomic_load(until) && work_queue_peek_last(&w->queue, k) &&
	    w->local.v[w->jobs[*k].i].size <= HELP_FILE_MAX &&
	    work_queue_take_last(&w->queue, k);
}

/*
 * Phase 5 on stream s: takes jobs from window w's queue (next_job) until
 * there is none or s's connection fails, sending each file or fixing its
 * attributes; a worker first makes the window's new directories
 * (send_parents), once it has a job.  Returns a remote_rc.
 */
static int
send_files(struct stream *s, struct window *w, atomic_int *until)
{
	int rc = REMOTE_OK, made = s == &s->p->s[0];
	size_t k;

	s->w = w;
	while (rc == REMOTE_OK && next_job(w, until, &k)) {
		const struct file_job *j = &w->jobs[k];
		const struct entry *e = &w->local.v[j->i];
		const char *d;

		if (!made) {
			made = 1;
			if ((rc = send_parents(s, w)) != REMOTE_OK)
				break;
		}
		if ((d = dest_of(s, e->path)) == NULL)
			continue;
		if (j->set == 0)
			rc = send_file(s, e->path, d, counterpart(s->p, w, j->i), 0);
		else
			rc = remote_batch_setattr(s->r, d, j->set, e->mode, e->mtime);
		if (rc == REMOTE_OK)
			rc = settle_if_full(s);
	}
	return rc;
}

/*
 * Thread body of a worker: connects to the primary's server and says
 * HELLO (a worker that cannot connect only warns: its share goes to the
 * others), then sends the files of every window the relay hands it, and
 * ends with its own BARRIER.  A worker whose connection fails leaves the
 * relay.  How it went is in s->res, s->fails and its counters; its
 * connection is closed on return.
 */
static void *
stream_main(void *arg)
{
	struct stream *s = arg;
	struct push *p = s->p;
	unsigned long seen = 0;
	struct window *w;
	int rc = REMOTE_OK;

	if ((s->res = start_session(s, p->s[0].r)) != PUSH_OK) {
		/*
		 * It took no job yet: the other streams drain the queue, so a
		 * server at its connection or session cap only makes the push
		 * narrower.
		 */
		if (s->res == PUSH_UNAVAILABLE || s->res == PUSH_BUSY) {
			log_warn("an extra connection failed; going on with fewer streams");
			s->res = PUSH_OK;
		}
		relay_leave(&p->relay, seen);
		goto out;
	}
	atomic_store(&p->connected, 1);
	while (rc == REMOTE_OK && (w = relay_take(&p->relay, &seen)) != NULL) {
		rc = send_files(s, w, NULL);
		relay_done(&p->relay);
	}
	if (rc != REMOTE_OK)
		relay_leave(&p->relay, seen);
	else
		rc = barrier(s);
	if (rc == REMOTE_OK)
		rc = resend_refused(s, 0);
	s->res = from_remote(rc);
out:
	end_stream(s);
	return NULL;
}

/*
 * Starts n workers (threads of their own, each connecting by itself) and
 * makes them the relay's members.
 */
static void
start_workers(struct push *p, size_t n)
{
	void *args[STREAMS_MAX];
	size_t started;

	for (size_t k = 0; k < n; k++)
		args[k] = &p->s[1 + k];
	p->nworkers = n;
	relay_members(&p->relay, n);
	started = crew_start(&p->crew, n, stream_main, args);
	for (size_t k = started; k < n; k++)
		relay_leave(&p->relay, 0);
}

/*
 * Waits until the workers are done with window w, sends on the primary
 * what they left (the jobs of workers whose connection failed: the queue
 * is empty otherwise) unless the primary's connection failed too (rc),
 * and empties w.  Returns a remote_rc.
 */
static int
finish_window(struct push *p, struct window *w, int rc)
{
	relay_wait(&p->relay);
	if (rc == REMOTE_OK)
		rc = send_files(&p->s[0], w, NULL);
	window_clear(w);
	return rc;
}

/*
 * Runs the push, window by window, on the primary: plans each window and
 * queues its phases 1-4, then sends its files itself, or, once workers
 * run, settles its batch (BARRIER) if it deleted anything and hands the
 * window to the workers (sending its files too while no worker is
 * connected yet), planning the next one while they send.
 * After the last window and the workers' own BARRIERs: phase 6 and the
 * last BARRIER.  The primary's outcome goes to s[0].res.
 */
static void
run_windows(struct push *p)
{
	struct stream *s0 = &p->s[0];
	struct window *sending = NULL;  /* handed to the workers */
	int rc = REMOTE_OK, more = 1;

	while (rc == REMOTE_OK && more) {
		struct window *w = sending == &p->win[0] ? &p->win[1] : &p->win[0];
		size_t n;

		if ((more = fill_window(p, w)) < 0) {
			rc = REMOTE_NOMEM;
			break;
		}
		if ((rc = plan_window(s0, w, !more)) != REMOTE_OK)
			break;
		if (p->nworkers == 0 && (n = want_workers(p, w)) > 0)
			start_workers(p, n);
		if (queue_files(p, w) < 0 || (p->nworkers > 0 && plan_parents(p, w) < 0)) {
			rc = REMOTE_NOMEM;
			break;
		}
		if (p->nworkers == 0) {
			rc = send_files(s0, w, NULL);
			window_clear(w);
			continue;
		}
		/* Workers must find every name freed (directories they make). */
		if (p->unsettled)
			rc = barrier(s0);
		if (sending != NULL)
			rc = finish_window(p, sending, rc);
		sending = NULL;
		if (rc != REMOTE_OK)
			break;
		relay_publish(&p->relay, w);
		sending = w;
		/* The workers' HELLO is a round trip: meanwhile the primary sends. */
		rc = send_files(s0, w, &p->connected);
	}
	if (sending != NULL)
		rc = finish_window(p, sending, rc);
	relay_close(&p->relay);
	crew_join(&p->crew);
	/* Every stream's renames are done now: directory mtimes stay put. */
	if (rc == REMOTE_OK)
		rc = send_dir_attrs(s0);
	if (rc == REMOTE_OK)
		rc = barrier(s0);
	if (rc == REMOTE_OK)
		rc = resend_refused(s0, 1);
	s0->res = from_remote(rc);
}

/*
 * One attempt at the whole push: connects, lists, plans and sends, and
 * releases everything it used (threads, connections, descriptors, memory)
 * before it returns how it went.
 */
static enum push_result
push_attempt(const struct push_opts *o)
{
	struct push p = { .o = o, .rootfd = -1, .relay = RELAY_INITIALIZER };
	enum push_result res;

	p.nmax = o->streams < 1 ? 1 : o->streams > STREAMS_MAX ? STREAMS_MAX : o->streams;
	p.nstreams = p.nmax + 1;
	p.s = calloc(p.nstreams, sizeof *p.s);
	p.hs = calloc(p.nmax, sizeof *p.hs);
	if (p.s == NULL || p.hs == NULL) {
		log_err("out of memory");
		res = PUSH_FAILED;
		goto out;
	}
	for (size_t k = 0; k < p.nstreams; k++)
		p.s[k].p = &p;
	for (size_t k = 0; k < p.nmax; k++)
		p.hs[k].p = &p;
	if ((res = start_session(&p.s[0], NULL)) != PUSH_OK)
		goto out;
	if ((res = scan_local(&p)) != PUSH_OK)
		goto out;
	if ((res = scan_remote(&p)) != PUSH_OK)
		goto out;
	if (window_init(&p.win[0]) < 0 || window_init(&p.win[1]) < 0) {
		res = PUSH_FAILED;
		goto out;
	}
	run_windows(&p);
	p.s[0].failures += p.ws.errors;
	res = conclude(&p);
	if (o->stats && (res == PUSH_OK || res == PUSH_FAILED))
		print_stats(&p);
out:
	fflush(stdout);
	for (size_t k = 0; p.s != NULL && k < p.nstreams; k++) {
		end_stream(&p.s[k]);
		failures_free(&p.s[k].fails);
		checked_clear(&p.s[k]);
		free(p.s[k].checked);
	}
	free(p.s);
	free(p.hs);
	if (p.walking)
		walk_end(&p.walk);
	if (p.rootfd >= 0)
		close(p.rootfd);
	entry_list_free(&p.remote);
	window_free(&p.win[0]);
	window_free(&p.win[1]);
	free(p.dirs.v);
	free(p.dirs.names);
	return res;
}

/* Sleeps for secs seconds (signals do not cut it short). */
static void
pause_for(unsigned int secs)
{
	struct timespec left = { .tv_sec = (time_t)secs };

	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

enum push_result
push_run(const struct push_opts *o)
{
	const char *lb = strchr(o->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	unsigned int delay = 1;
	enum push_result res;

	for (unsigned int n = 1;; n++) {
		res = push_attempt(o);
		if ((res != PUSH_UNAVAILABLE && res != PUSH_BUSY) || n > o->retries)
			return res;
		if (res == PUSH_BUSY)
			log_err("%s%s%s:%s is busy (too many sessions); retrying in "
			    "%u s (attempt %u of %u)", lb, o->host, rb, o->export, delay,
			    n + 1, o->retries + 1);
		else
			log_err("connection to %s%s%s failed or was lost; retrying in "
			    "%u s (attempt %u of %u)", lb, o->host, rb, delay, n + 1,
			    o->retries + 1);
		pause_for(delay);
		delay = delay * 2 > PUSH_BACKOFF_MAX ? PUSH_BACKOFF_MAX : delay * 2;
	}
}
