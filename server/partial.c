/*
 * partial.c -- resumable temps: naming, opening under a lock, PARTIAL, and
 * expiry (partial.h says what they are for).
 *
 * Why expiry works from a list and not from a walk: a partial is only ever
 * left behind when a connection ends (or, before a crash, by the daemon
 * itself, which the startup sweep finds), so those two moments can name
 * every partial that exists; walking whole exports periodically to find
 * them would cost more than all the rest of a quiet daemon.  The list is
 * bounded (PARTIALS_MAX); a partial that finds it full is not kept.  Age
 * is the partial's mtime, which every write moves: a partial being resumed
 * is young, and one being written holds its lock, which expiry respects.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "confine.h"
#include "delta.h"
#include "log.h"
#include "ops.h"
#include "partial.h"
#include "status.h"

#define PARTIALS_MAX        1024    /* partials waiting to expire */
#define PARTIALS_STACK      (256U << 10) /* the expiry thread only makes syscalls and logs */

/*
 * A partial that outlived its connection.  Its export is one of the
 * configuration in force (partials_set_config moves it there at a reload),
 * or, when no export of that name and directory is configured any more, an
 * orphan's: the old configuration stays held (its root fd is how the
 * partial is reached) only until the partial is removed, which happens as
 * soon as nobody writes to it.
 */
struct kept {
	const struct export *e;         /* its configuration is held while listed */
	char   *parent;                 /* directory, relative to e's root */
	char    name[PARTIAL_NAME_BUF];
	time_t  due;                    /* when to look at it again */
	int     orphan;                 /* e is no longer configured */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct kept kept[PARTIALS_MAX];
static size_t nkept;
static const struct config *latest;     /* under lock, held: the one in force */
static atomic_uint expiry_s;            /* latest's partial expiry */

void
partial_name(const char key[SYNC_HASH_LEN], char out[PARTIAL_NAME_BUF])
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(PARTIAL_PREFIX);

	memcpy(out, PARTIAL_PREFIX, n);
	for (size_t i = 0; i < SYNC_HASH_LEN; i++) {
		unsigned char b = (unsigned char)key[i];

		out[n++] = hex[b >> 4];
		out[n++] = hex[b & 15];
	}
	out[n] = '\0';
}

int
partial_is_name(const char *name)
{
	return strncmp(name, PARTIAL_PREFIX, strlen(PARTIAL_PREFIX)) == 0;
}

/*
 * Returns 1 if sb is a plain file of ours: a regular file with one link,
 * owned by the user this thread writes as (its filesystem uid: syncd's, or
 * the export's uid; setfsuid() with an invalid id only returns it).  A
 * file of another user could be read or changed through a descriptor that
 * user keeps, after syncd wrote into it or even after it was published.
 */
static int
plain_ours(const struct stat *sb)
{
	return S_ISREG(sb->st_mode) && sb->st_nlink == 1 &&
	    sb->st_uid == (uid_t)setfsuid((uid_t)-1);
}

/*
 * Opens name in dirfd with flags (confine_open_regular: never a link, FIFO
 * or device) if it is a plain file of ours (plain_ours).  Returns the fd,
 * or -1 with errno (EINVAL for anything else).
 */
static int
open_plain(int dirfd, const char *name, int flags)
{
	struct stat sb;
	int fd;

	if ((fd = confine_open_regular(dirfd, name, flags, &sb)) < 0) {
		if (errno == EISDIR)
			errno = EINVAL;
		return -1;
	}
	if (!plain_ours(&sb)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/*
 * Takes the lock how (LOCK_EX or LOCK_SH, never waiting) on fd, which was
 * opened from name in dirfd, then checks that name still is that file: one
 * unlinked by the expiry or renamed away by a COMMIT between the open and
 * the lock must not be used, since the name may be another file's by now
 * and the COMMIT's rename goes by name.  Fills *sb (fstat of fd, after the
 * lock).  Returns 0, or -1 with errno (EBUSY: held by another connection,
 * or no longer under name).
 */
static int
lock_named(int dirfd, const char *name, int fd, int how, struct stat *sb)
{
	struct stat now;

	if (flock(fd, how | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			errno = EBUSY;
		return -1;
	}
	if (fstat(fd, sb) != 0)
		return -1;
	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0 ||
	    now.st_dev != sb->st_dev || now.st_ino != sb->st_ino) {
		errno = EBUSY;
		return -1;
	}
	return 0;
}

int
partial_open(int dirfd, const char *name, uint64_t offset)
{
	struct stat sb;
	int fd, saved;

	if ((fd = open_plain(dirfd, name, O_RDWR | (offset == 0 ? O_CREAT : 0))) < 0)
		return -1;
	if (lock_named(dirfd, name, fd, LOCK_EX, &sb) != 0)
		goto fail;
	if ((uint64_t)sb.st_size < offset) {
		errno = ENODATA;
		goto fail;
	}
	if ((uint64_t)sb.st_size != offset && ftruncate(fd, (off_t)offset) != 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * PARTIAL: NOENT when there is no partial for the key (or another connection
 * is writing it), else its length and hash.  Reading it all is the price of
 * a resume, paid once per interrupted file.
 */
void
op_partial(struct session *s, const partial_args *a, partial_res *r)
{
	char path[PATH_BUF], name[PARTIAL_NAME_BUF];
	unsigned char *hash = NULL;
	struct stat sb;
	const char *leaf;
	uint64_t len;
	int pfd = -1, fd = -1;

	if ((r->status = confine_path(&a->path, path)) != SYNC_OK)
		goto out;
	if (path[0] == '\0') {
		r->status = SYNC_ERR_INVAL;
		goto out;
	}
	if ((pfd = confine_parent(s->export->root_fd, path, &leaf)) < 0) {
		r->status = status_from_errno(errno);
		goto out;
	}
	partial_name(a->key, name);
	if ((fd = open_plain(pfd, name, O_RDONLY)) < 0 ||
	    lock_named(pfd, name, fd, LOCK_SH, &sb) != 0) {
		r->status = SYNC_ERR_NOENT;
		goto out;
	}
	if ((hash = malloc(DELTA_HASH_LEN)) == NULL) {
		r->status = SYNC_ERR_SERVERFAULT;
		goto out;
	}
	if (delta_hash_fd(fd, hash, &len) != 0) {
		log_err("%s: partial of %s: %s", s->peer, path, strerror(errno));
		r->status = status_from_errno(errno);
		goto out;
	}
	r->partial_res_u.ok.length = len;
	r->partial_res_u.ok.hash.sync_hash_val = (char *)hash;
	r->partial_res_u.ok.hash.sync_hash_len = DELTA_HASH_LEN;
	hash = NULL;
	r->status = SYNC_OK;
out:
	free(hash);
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
}

/*
 * Looks at the partial name in dirfd at time now: removes it if nobody
 * holds it and it was last written expiry seconds or more ago (0: at any
 * age), or if it is not a plain file.  Returns 1 if it is gone, 0 if it
 * stays (*due: when to look again), -1 if it could not be removed (logged).
 */
static int
expire_at(int dirfd, const char *name, time_t now, unsigned int expiry, time_t *due)
{
	struct stat sb;
	int fd = -1, rc = -1;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 1 : -1;
	if (S_ISREG(sb.st_mode)) {
		if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_NOCTTY | O_CLOEXEC)) < 0)
			return errno == ENOENT ? 1 : -1;
		if (fstat(fd, &sb) != 0)
			goto out;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0 ||
		    (expiry != 0 && sb.st_mtime > now - (time_t)expiry)) {
			*due = (sb.st_mtime > now ? now : sb.st_mtime) + (time_t)expiry;
			if (*due <= now)
				*due = now + 1;     /* in use: look again soon */
			rc = 0;
			goto out;
		}
	}
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) {
		log_err("partial %s: unlink: %s", name, strerror(errno));
		goto out;
	}
	rc = 1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Returns 1 if a and b are the same export: name and directory. */
static int
same_export(const struct export *a, const struct export *b)
{
	return a == b || (strcmp(a->name, b->name) == 0 && strcmp(a->path, b->path) == 0);
}

/*
 * Under the lock: the export of the configuration in force that e stands
 * for (e itself if it is one of it, or none was set), or NULL if none does.
 */
static const struct export *
current_export(const struct export *e)
{
	const struct export *now;

	if (latest == NULL || e->config == latest)
		return e;
	now = config_find(latest, e->name);
	return now != NULL && same_export(now, e) ? now : NULL;
}

/*
 * Adds a partial of e to the list under the lock (as an orphan when e is
 * no longer configured), or moves the due time of the entry it has.
 * Returns 0, or -1 if full.
 */
static int
kept_add(const struct export *e, const char *parent, const char *name, time_t due)
{
	const struct export *now = current_export(e);
	struct kept *k;

	for (size_t i = 0; i < nkept; i++) {
		k = &kept[i];
		if (same_export(k->e, e) && strcmp(k->name, name) == 0 &&
		    strcmp(k->parent, parent) == 0) {
			k->due = due;
			return 0;
		}
	}
	if (nkept == PARTIALS_MAX)
		return -1;
	k = &kept[nkept];
	if ((k->parent = strdup(parent)) == NULL)
		return -1;
	k->e = now != NULL ? now : e;
	k->orphan = now == NULL;
	config_hold(k->e->config);
	snprintf(k->name, sizeof k->name, "%s", name);
	k->due = due;
	nkept++;
	pthread_cond_signal(&changed);
	return 0;
}

/*
 * Keeps the partial, or removes it when partials are not kept or the list
 * is full.
 */
void
partials_keep(const struct export *e, const char *parent, const char *name)
{
	unsigned int expiry = atomic_load(&expiry_s);
	int rc = -1, pfd;

	if (expiry != 0) {
		time_t now = time(NULL);

		pthread_mutex_lock(&lock);
		/* An orphan's partial is removed as soon as it is free: now. */
		rc = kept_add(e, parent, name, current_export(e) != NULL ?
		    now + (time_t)expiry : now + 1);
		pthread_mutex_unlock(&lock);
	}
	if (rc == 0)
		return;
	if ((pfd = confine_open(e->root_fd, parent, O_PATH | O_DIRECTORY, 0)) < 0)
		return;
	if (unlinkat(pfd, name, 0) != 0 && errno != ENOENT)
		log_err("partial %s: unlink: %s", name, strerror(errno));
	close(pfd);
}

int
partials_sweep_one(const struct export *e, int dirfd, const char *parent, const char *name)
{
	time_t due = 0;
	int rc, kept_it;

	if ((rc = expire_at(dirfd, name, time(NULL), atomic_load(&expiry_s), &due)) != 0)
		return rc;
	pthread_mutex_lock(&lock);
	kept_it = kept_add(e, parent, name, due) == 0;
	pthread_mutex_unlock(&lock);
	if (kept_it)
		return 0;
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) {
		log_err("partial %s: unlink: %s", name, strerror(errno));
		return -1;
	}
	return 1;
}

/*
 * Looks at the partial k (taken off the list) at time now; puts it back
 * with its new due time if it stays.
 */
static void
expire_kept(struct kept *k, time_t now)
{
	time_t due = now + 1;
	unsigned int expiry = atomic_load(&expiry_s);
	int pfd, rc = 1;

	pfd = confine_open(k->e->root_fd, k->parent, O_PATH | O_DIRECTORY, 0);
	if (pfd >= 0) {
		rc = expire_at(pfd, k->name, now, k->orphan ? 0 : expiry, &due);
		close(pfd);
	} else if (errno != ENOENT && errno != ENOTDIR) {
		rc = -1;
	}
	if (rc == 1) {
		log_info("export '%s': partial %s%s%s %s", k->e->name, k->parent,
		    k->parent[0] != '\0' ? "/" : "", k->name,
		    k->orphan ? "removed: the export is no longer configured" : "expired");
	} else {
		if (rc < 0)
			due = now + (time_t)(expiry != 0 && expiry < 60 ? expiry : 60); /* retry later */
		pthread_mutex_lock(&lock);
		rc = kept_add(k->e, k->parent, k->name, due);
		pthread_mutex_unlock(&lock);
		if (rc != 0)
			log_warn("partial %s: no room to keep it waiting", k->name);
	}
	free(k->parent);
	config_drop(k->e->config);
}

/* The expiry thread: waits for the earliest due partial, looks at it, repeats. */
static void *
expiry_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&lock);
	for (;;) {
		time_t now = time(NULL);
		size_t first = 0;
		struct kept k;

		if (nkept == 0) {
			pthread_cond_wait(&changed, &lock);
			continue;
		}
		for (size_t i = 1; i < nkept; i++)
			if (kept[i].due < kept[first].due)
				first = i;
		if (kept[first].due > now) {
			struct timespec until = { .tv_sec = kept[first].due, .tv_nsec = 0 };

			(void)pthread_cond_timedwait(&changed, &lock, &until);
			continue;
		}
		k = kept[first];
		kept[first] = kept[--nkept];
		pthread_mutex_unlock(&lock);
		expire_kept(&k, now);
		pthread_mutex_lock(&lock);
	}
	return NULL;
}

void
partials_set_config(const struct config *cfg)
{
	unsigned int before = atomic_exchange(&expiry_s, cfg->partial_s);
	const struct config *old;
	time_t now = time(NULL);

	config_hold(cfg);
	pthread_mutex_lock(&lock);
	old = latest;
	latest = cfg;
	for (size_t i = 0; i < nkept; i++) {
		struct kept *k = &kept[i];
		const struct export *e = current_export(k->e);

		if (e == NULL) {
			k->orphan = 1;
			k->due = now;
		} else if (e != k->e) {
			config_hold(cfg);
			config_drop(k->e->config);
			k->e = e;
		}
		if (cfg->partial_s < before && k->due > now)
			k->due = now;           /* judged again by the shorter expiry */
	}
	pthread_cond_signal(&changed);
	pthread_mutex_unlock(&lock);
	if (old != NULL)
		config_drop(old);
}

int
partials_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if ((err = pthread_attr_init(&attr)) != 0)
		goto out;
	if ((err = pthread_attr_setstacksize(&attr, PARTIALS_STACK)) == 0 &&
	    (err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED)) == 0)
		err = pthread_create(&t, &attr, expiry_main, NULL);
	pthread_attr_destroy(&attr);
out:
	if (err != 0) {
		log_err("cannot start the partial expiry thread: %s", strerror(err));
		return -1;
	}
	return 0;
}
