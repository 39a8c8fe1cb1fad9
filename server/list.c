/*
 * list.c -- LIST: one page of a subtree, in path_cmp() order, with no state
 * kept between pages.
 *
 * Why stateless: a cursor kept per connection would have to survive
 * concurrent changes to the tree and would be memory an idle client pins.
 * Instead every page restarts the walk and skips everything up to and
 * including the last path of the previous page (`after`).  Because a
 * directory's entries are visited in bytewise order and each directory is
 * immediately followed by its contents, the walk can skip whole subtrees that
 * sort before `after` without even stat()ing them, descending only along
 * `after`'s own components.
 *
 * The walk holds one directory fd per level (openat with O_NOFOLLOW, never
 * through a symlink) and one shared path buffer, so the stack cost per level
 * is a few words: it runs on 1 MiB connection-thread stacks.
 *
 * Choices: a tree deeper than CONFINE_DEPTH_MAX levels below the listed
 * directory fails the LIST with SYNC_ERR_INVAL (a silently truncated listing
 * would make the client plan against a tree that is not there).  Entries the
 * protocol cannot express -- a path longer than SYNC_PATH_MAX relative to the
 * listed directory, or a symlink target longer than SYNC_PATH_MAX -- are
 * skipped with a warning: no client request could name them anyway.
 *
 * With want_hash (syncctl --checksum) every regular file below the listed
 * directory is read and hashed (XXH3-128, common/delta.h) as it is emitted,
 * and its attributes are taken from the descriptor that was hashed, so size,
 * mtime and hash describe the same inode.  Reading is what a page costs
 * then, so a page also ends after about LIST_PAGE_HASH_BYTES of file data
 * (never before its first entry): every LIST reply stays within the
 * client's timeout however large the files are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine.h"
#include "delta.h"
#include "log.h"
#include "ops.h"
#include "status.h"

#define LIST_PAGE_BYTES (32u << 20)     /* encoded entries per page, about: 131072 typical entries fit */
#define LIST_ENTRY_FIXED 40             /* encoded bytes besides path, target, hash */
#define LIST_PAGE_HASH_BYTES (1ull << 30) /* file data hashed per page, about */

/* The state of one page's walk. */
struct walk {
	struct session *s;
	char         path[PATH_BUF];    /* current entry, relative to the listed dir */
	size_t       plen;
	char         target[PATH_BUF + 1];
	sync_entry  *ents;
	u_int        n, cap;
	size_t       bytes;             /* estimated encoded size of ents */
	int          full;              /* an entry did not fit: eof = FALSE */
	sync_status  st;                /* first error; stops the walk */
	int          want_hash;         /* fill the hash of regular files */
	uint64_t     hashed;            /* file bytes hashed for this page */
};

/* Encoded size of an XDR opaque of len bytes (length word + padding). */
static size_t
xdr_opaque_size(size_t len)
{
	return 4 + ((len + 3) & ~(size_t)3);
}

/* Fills attr from sb (a lstat-style result). */
static void
attr_from_stat(sync_attr *attr, const struct stat *sb)
{
	memset(attr, 0, sizeof *attr);
	if (S_ISREG(sb->st_mode))
		attr->type = SYNC_REG;
	else if (S_ISDIR(sb->st_mode))
		attr->type = SYNC_DIR;
	else if (S_ISLNK(sb->st_mode))
		attr->type = SYNC_LNK;
	else
		attr->type = SYNC_OTHER;
	attr->mode = (u_int)(sb->st_mode & 07777);
	if (attr->type == SYNC_REG || attr->type == SYNC_LNK)
		attr->size = (u_quad_t)sb->st_size;
	attr->mtime.sec = (quad_t)sb->st_mtim.tv_sec;
	attr->mtime.nsec = (u_int)sb->st_mtim.tv_nsec;
}

/*
 * Reads the target of the link name in dirfd (name "" with an O_PATH fd of
 * the link itself) into w->target.  Returns its length, -1 with errno on
 * failure, or -2 if it is longer than SYNC_PATH_MAX.
 */
static ssize_t
read_target(struct walk *w, int dirfd, const char *name)
{
	ssize_t n = readlinkat(dirfd, name, w->target, sizeof w->target);

	if (n < 0)
		return -1;
	if ((size_t)n > SYNC_PATH_MAX)
		return -2;
	return n;
}

/* Copies len bytes of p into a fresh sync_path.  Returns 0, or -1 (ENOMEM). */
static int
path_dup(sync_path *out, const char *p, size_t len)
{
	out->sync_path_len = 0;
	out->sync_path_val = NULL;
	if (len == 0)
		return 0;
	if ((out->sync_path_val = malloc(len)) == NULL)
		return -1;
	memcpy(out->sync_path_val, p, len);
	out->sync_path_len = (u_int)len;
	return 0;
}

/*
 * Hashes the regular file name in dirfd into hash; *sb gets the attributes
 * of the inode that was hashed and w->hashed grows by its length.  Returns
 * 0, 1 if the file is gone (the entry is to be skipped), or -1 if it could
 * not be hashed (logged; the entry goes out without a hash).
 */
static int
hash_entry(struct walk *w, int dirfd, const char *name, unsigned char hash[DELTA_HASH_LEN],
    struct stat *sb)
{
	uint64_t len = 0;
	int fd, rc = 0;

	if ((fd = confine_open_regular(dirfd, name, O_RDONLY, sb)) < 0) {
		if (errno == ENOENT)
			return 1;
		log_debug("%s: list: hash %s: %s", w->s->peer, w->path, strerror(errno));
		return -1;
	}
	if (delta_hash_fd(fd, hash, &len) != 0) {
		log_debug("%s: list: hash %s: %s", w->s->peer, w->path, strerror(errno));
		rc = -1;
	}
	w->hashed += len;
	close(fd);
	return rc;
}

/*
 * Appends the entry w->path with attributes sb (and, for a link, the target
 * of name in dirfd; for a regular file with want_hash, its hash) to the
 * page.  Returns 0 to go on, 1 if the page is full (w->full set), -1 on
 * error (w->st set).  A link whose target cannot be expressed is skipped,
 * and so is a file that vanishes before it can be hashed.  The root entry
 * (empty name) is never hashed.
 */
static int
emit(struct walk *w, int dirfd, const char *name, const struct stat *sb)
{
	unsigned char hash[DELTA_HASH_LEN];
	struct stat hsb;
	sync_entry *e;
	ssize_t tlen = 0;
	size_t need;
	int hashing = w->want_hash && S_ISREG(sb->st_mode) && *name != '\0', have_hash = 0;

	if (S_ISLNK(sb->st_mode)) {
		tlen = read_target(w, dirfd, name);
		if (tlen == -2) {
			log_warn("%s: list: link %s: target too long, skipped", w->s->peer,
			    w->path);
			return 0;
		}
		if (tlen < 0) {
			if (errno == ENOENT || errno == EINVAL)
				return 0;       /* gone or replaced meanwhile */
			w->st = status_from_errno(errno);
			return -1;
		}
	}
	need = xdr_opaque_size(w->plen) + xdr_opaque_size((size_t)tlen) + LIST_ENTRY_FIXED +
	    (hashing ? DELTA_HASH_LEN : 0);
	if (w->n >= SYNC_LIST_MAX || (w->n > 0 && w->bytes + need > LIST_PAGE_BYTES) ||
	    (hashing && w->n > 0 && w->hashed + (uint64_t)sb->st_size > LIST_PAGE_HASH_BYTES)) {
		w->full = 1;
		return 1;
	}
	if (hashing) {
		int h = hash_entry(w, dirfd, name, hash, &hsb);

		if (h == 1)
			return 0;               /* vanished meanwhile */
		if (h == 0) {
			have_hash = 1;
			sb = &hsb;              /* the attributes of what was hashed */
		}
	}
	if (w->n == w->cap) {
		u_int ncap = w->cap != 0 ? w->cap * 2 : 256;

		if (ncap > SYNC_LIST_MAX)
			ncap = SYNC_LIST_MAX;
		if ((e = reallocarray(w->ents, ncap, sizeof *e)) == NULL)
			goto nomem;
		w->ents = e;
		w->cap = ncap;
	}
	e = &w->ents[w->n];
	memset(e, 0, sizeof *e);
	attr_from_stat(&e->attr, sb);
	if (path_dup(&e->path, w->path, w->plen) != 0)
		goto nomem;
	if (path_dup(&e->target, w->target, (size_t)tlen) != 0) {
		free(e->path.sync_path_val);
		goto nomem;
	}
	if (have_hash) {
		if ((e->hash.sync_hash_val = malloc(DELTA_HASH_LEN)) == NULL) {
			free(e->path.sync_path_val);
			free(e->target.sync_path_val);
			goto nomem;
		}
		memcpy(e->hash.sync_hash_val, hash, DELTA_HASH_LEN);
		e->hash.sync_hash_len = DELTA_HASH_LEN;
	}
	w->n++;
	w->bytes += need;
	return 0;
nomem:
	log_err("%s: list: out of memory", w->s->peer);
	w->st = SYNC_ERR_SERVERFAULT;
	return -1;
}

/*
 * Compares the entry name with the first component of after (a non-empty
 * relative path).  Returns <0, 0 or >0 like strcmp; on 0, *rest points at
 * what follows that component in after ("" if nothing, else past the '/').
 */
static int
after_cmp(const char *name, const char *after, const char **rest)
{
	const char *slash = strchr(after, '/');
	size_t clen = slash != NULL ? (size_t)(slash - after) : strlen(after);
	int c = strncmp(name, after, clen);

	if (c != 0)
		return c;
	if (name[clen] != '\0')
		return 1;               /* after's component is a proper prefix */
	*rest = slash != NULL ? slash + 1 : "";
	return 0;
}

static int walk_dir(struct walk *w, int dirfd, const char *after, unsigned int depth);

/*
 * Opens the subdirectory name of dirfd (the entry w->path) and walks it.
 * Returns like walk_dir(); a directory that vanished or was replaced by
 * something else meanwhile is treated as empty.
 */
static int
descend(struct walk *w, int dirfd, const char *name, const char *after,
    unsigned int depth)
{
	int fd, rc;

	if (depth + 1 > CONFINE_DEPTH_MAX) {
		log_warn("%s: list: %s: deeper than %d levels", w->s->peer, w->path,
		    CONFINE_DEPTH_MAX);
		w->st = SYNC_ERR_INVAL;
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 0;
		w->st = status_from_errno(errno);
		log_debug("%s: list: open %s: %s", w->s->peer, w->path, strerror(errno));
		return -1;
	}
	rc = walk_dir(w, fd, after, depth + 1);
	close(fd);
	return rc;
}

/*
 * Visits the entries of the directory dirfd (whose path is w->path) in
 * order, emitting those that sort after `after` (NULL: all of them; else a
 * non-empty path relative to this directory) and descending into
 * subdirectories.  Returns 0 when done, 1 when the page is full, -1 on error
 * (w->st set).  w->path is restored before returning.
 */
static int
walk_dir(struct walk *w, int dirfd, const char *after, unsigned int depth)
{
	struct confine_names names;
	struct stat sb;
	size_t base = w->plen;
	int rc = 0;

	if (confine_read_names(dirfd, &names) != 0) {
		w->st = status_from_errno(errno);
		log_debug("%s: list: read %s: %s", w->s->peer, w->path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < names.n && rc == 0; i++) {
		const char *name = names.v[i], *rest = NULL, *sub = NULL;
		int skip_self = 0;

		if (!path_name_ok(name))
			continue;               /* temp names, and nothing we could name */
		if (after != NULL) {
			int c = after_cmp(name, after, &rest);

			if (c < 0)
				continue;       /* this whole subtree precedes after */
			if (c == 0) {
				skip_self = 1;  /* name is after or one of its ancestors */
				sub = *rest != '\0' ? rest : NULL;
			}
			if (c > 0)
				after = NULL;   /* every later name follows after */
		}
		if (path_join(w->path, SYNC_PATH_MAX + 1, w->path, name) != 0) {
			log_warn("%s: list: path longer than %d under %s, skipped",
			    w->s->peer, SYNC_PATH_MAX, w->path);
			continue;
		}
		w->plen = strlen(w->path);
		if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT) {
				w->st = status_from_errno(errno);
				rc = -1;
			}
			goto next;
		}
		if (!skip_self && (rc = emit(w, dirfd, name, &sb)) != 0)
			goto next;
		if (S_ISDIR(sb.st_mode))
			rc = descend(w, dirfd, name, sub, depth);
next:
		w->plen = base;
		w->path[base] = '\0';
	}
	confine_names_free(&names);
	return rc;
}

/* Frees the entries built so far. */
static void
walk_free(struct walk *w)
{
	for (u_int i = 0; i < w->n; i++) {
		free(w->ents[i].path.sync_path_val);
		free(w->ents[i].target.sync_path_val);
		free(w->ents[i].hash.sync_hash_val);
	}
	free(w->ents);
	w->ents = NULL;
	w->n = w->cap = 0;
}

/*
 * LIST (ops.h): the root entry (unless resuming), then the subtree in
 * path_cmp() order after a->after.  On failure r holds only the status.
 */
void
op_list(struct session *s, const list_args *a, list_res *r)
{
	char lpath[PATH_BUF], after[PATH_BUF];
	struct walk *w = NULL;
	struct stat sb;
	int fd = -1;
	sync_status st;

	memset(r, 0, sizeof *r);
	if ((st = confine_path(&a->path, lpath)) != SYNC_OK)
		goto out;
	if (a->resume && (st = confine_path(&a->after, after)) != SYNC_OK)
		goto out;
	if ((w = calloc(1, sizeof *w)) == NULL) {
		st = SYNC_ERR_SERVERFAULT;
		goto out;
	}
	w->s = s;
	w->want_hash = a->want_hash;
	/* O_PATH|O_NOFOLLOW: a link as the listed path is listed, not followed. */
	if ((fd = confine_open(s->export->root_fd, lpath, O_PATH | O_NOFOLLOW, 0)) < 0 ||
	    fstat(fd, &sb) != 0) {
		st = status_from_errno(errno);
		goto out;
	}
	if (!a->resume && emit(w, fd, "", &sb) < 0) {
		st = w->st;
		goto out;
	}
	if (S_ISDIR(sb.st_mode) &&
	    walk_dir(w, fd, a->resume && after[0] != '\0' ? after : NULL, 0) < 0) {
		st = w->st;
		goto out;
	}
	r->list_res_u.ok.entries.entries_val = w->ents;
	r->list_res_u.ok.entries.entries_len = w->n;
	r->list_res_u.ok.eof = !w->full;
	w->ents = NULL;
	w->n = 0;
	st = SYNC_OK;
out:
	if (fd >= 0)
		close(fd);
	if (w != NULL)
		walk_free(w);
	free(w);
	r->status = st;
	if (st != SYNC_OK)
		log_debug("%s: list: %s", s->peer, status_name(st));
}
