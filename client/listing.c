/*
 * listing.c -- LIST: a whole listing, fetched page by page, every entry
 * checked before anyone uses it.
 *
 * Why it is built this way:
 *   - Whatever a LIST reply contains is checked before anyone uses it: a
 *     malicious server must not be able to make plan.c act on paths outside
 *     the destination or on entries below a symlink.  A listing must come
 *     in canonical order, strictly increasing, and it is bounded (entries:
 *     remote_set_list_max(); bytes of names: REMOTE_LIST_BYTES_MAX), since
 *     it is held whole and pages could otherwise come forever.
 */
#include <string.h>

#include <rpc/rpc.h>

#include "log.h"
#include "path.h"
#include "remote_int.h"

void
remote_set_list_max(struct remote *r, size_t max)
{
	r->list_max = max;
}

/*
 * Validates one LIST entry and appends it to out.  first says whether it is
 * the very first entry of the listing (which must be the root, path "").
 * after (NULL on the first page) is the resume point: every entry of a
 * resumed page must sort after it, so paging always makes progress.  Every
 * entry must sort strictly after the one before it (canonical order: no
 * duplicates, and out is sorted as it grows), and the listing must stay
 * within r->list_max entries and REMOTE_LIST_BYTES_MAX bytes of names.
 * Returns REMOTE_OK, REMOTE_PROTO (logged) or REMOTE_NOMEM.
 */
static int
take_entry(struct remote *r, const sync_entry *se, int first,
    const char *after, struct entry_list *out)
{
	char path[PATH_BUF], target[PATH_BUF];
	const sync_path *tp = &se->target;
	struct entry e = { 0 };

	if (path_check(se->path.sync_path_val, se->path.sync_path_len, path) < 0)
		return proto_error(r, "LIST returned an invalid path");
	if ((path[0] == '\0') != first)
		return proto_error(r, "LIST root entry missing or repeated");
	if (after != NULL && path_cmp(path, after) <= 0)
		return proto_error(r, "LIST page does not continue after the previous one");
	if (out->n > 0) {
		int c = path_cmp(path, out->v[out->n - 1].path);

		if (c == 0)
			return proto_error(r, "LIST returned a path twice");
		if (c < 0)
			return proto_error(r, "LIST returned entries out of canonical order");
	}
	if (out->n >= r->list_max) {
		log_err("%s: protocol error: LIST returned more than %zu entries "
		    "(--max-entries)", r->name, r->list_max);
		return REMOTE_PROTO;
	}
	r->list_bytes += se->path.sync_path_len + 1 + tp->sync_path_len + 1;
	if (r->list_bytes > REMOTE_LIST_BYTES_MAX) {
		log_err("%s: protocol error: LIST returned more than %llu bytes of names",
		    r->name, (unsigned long long)REMOTE_LIST_BYTES_MAX);
		return REMOTE_PROTO;
	}
	if (se->attr.type < SYNC_REG || se->attr.type > SYNC_OTHER)
		return proto_error(r, "LIST returned an unknown file type");
	if (se->attr.mtime.nsec >= 1000000000u)
		return proto_error(r, "LIST returned an invalid time");
	if (se->attr.type == SYNC_LNK &&
	    (tp->sync_path_len == 0 || tp->sync_path_len > SYNC_PATH_MAX ||
	    memchr(tp->sync_path_val, '\0', tp->sync_path_len) != NULL))
		return proto_error(r, "LIST returned an invalid symlink target");
	if (se->hash.sync_hash_len != 0 &&
	    (se->hash.sync_hash_len != SYNC_HASH_LEN || se->attr.type != SYNC_REG))
		return proto_error(r, "LIST returned an invalid content hash");

	e.type = se->attr.type;
	e.mode = se->attr.mode & 07777;
	e.size = se->attr.size;
	e.mtime = time_from_wire(se->attr.mtime);
	if (se->hash.sync_hash_len == SYNC_HASH_LEN) {
		memcpy(e.hash, se->hash.sync_hash_val, SYNC_HASH_LEN);
		e.has_hash = 1;
	}
	e.path = path;
	if (e.type == SYNC_LNK) {
		memcpy(target, tp->sync_path_val, tp->sync_path_len);
		target[tp->sync_path_len] = '\0';
		e.target = target;
	}
	if (entry_list_add(out, &e) < 0)
		goto nomem;
	return REMOTE_OK;
nomem:
	log_err("out of memory");
	return REMOTE_NOMEM;
}

/*
 * Checks the whole listing, sorted already (take_entry() refused anything
 * out of order): refuses duplicates and entries whose parent is not a
 * listed directory (such as a name below a symlink or a file, or below a
 * directory never listed).  Returns REMOTE_OK or REMOTE_PROTO (logged).
 */
static int
check_tree(struct remote *r, struct entry_list *l)
{
	char parent[PATH_BUF];
	const char *leaf;

	for (size_t i = 1; i < l->n; i++) {
		long k;

		if (path_cmp(l->v[i - 1].path, l->v[i].path) == 0)
			return proto_error(r, "LIST returned a path twice");
		if (path_split(l->v[i].path, parent, &leaf) < 0)
			return proto_error(r, "LIST returned a second root");
		k = entry_list_find(l, parent);
		if (k < 0 || l->v[k].type != SYNC_DIR)
			return proto_error(r, "LIST returned an entry outside any listed directory");
	}
	return REMOTE_OK;
}

/* Where list_decode() puts a LIST reply: straight into the entry list. */
struct list_sink {
	struct remote     *r;
	const char        *after;    /* the resume point, NULL on the first page */
	struct entry_list *out;
	sync_status        status;
	u_int              count;    /* entries in the page */
	bool_t             eof;
	int                rc;       /* REMOTE_OK, or what the first bad entry was */
};

/*
 * xdrproc_t of a LIST reply: decodes its entries one at a time into fixed
 * buffers and appends each, validated by take_entry(), to sink->out, so a
 * page of up to SYNC_LIST_MAX entries never exists in decoded form (a
 * no-change push of a big tree holds only the compact list).  After a bad
 * entry (sink->rc) the rest of the page is read and dropped, which keeps
 * the connection in step.  Returns FALSE only for an undecodable reply.
 */
static bool_t
list_decode(XDR *xdrs, struct list_sink *sink)
{
	char path[SYNC_PATH_MAX], target[SYNC_PATH_MAX], hash[SYNC_HASH_LEN];
	sync_entry se;

	if (xdrs->x_op != XDR_DECODE)
		return TRUE;            /* nothing of ours to encode or free */
	if (!xdr_sync_status(xdrs, &sink->status))
		return FALSE;
	if (sink->status != SYNC_OK)
		return TRUE;
	if (!xdr_u_int(xdrs, &sink->count) || sink->count > SYNC_LIST_MAX)
		return FALSE;
	for (u_int i = 0; i < sink->count; i++) {
		memset(&se, 0, sizeof se);
		se.path.sync_path_val = path;
		se.target.sync_path_val = target;
		se.hash.sync_hash_val = hash;
		if (!xdr_sync_entry(xdrs, &se))
			return FALSE;
		if (sink->rc == REMOTE_OK)
			sink->rc = take_entry(sink->r, &se, sink->after == NULL && i == 0,
			    sink->after, sink->out);
	}
	return xdr_bool(xdrs, &sink->eof);
}

/*
 * Fetches one LIST page into out (after: the resume point, or NULL for the
 * first page; want_hash: ask for content hashes).  Returns REMOTE_OK with
 * *st the server's status, *eof and the last path of the page in last
 * (PATH_BUF bytes), or an error.
 */
static int
list_page(struct remote *r, const char *path, int want_hash, const char *after,
    struct entry_list *out, sync_status *st, int *eof, char *last)
{
	list_args a = { .path = { strlen(path), (char *)path },
	    .resume = after != NULL,
	    .after = { after ? strlen(after) : 0, (char *)(after ? after : "") },
	    .want_hash = want_hash != 0 };
	struct list_sink sink = { .r = r, .after = after, .out = out, .rc = REMOTE_OK };
	enum clnt_stat cs;

	r->round_trips++;
	cs = timed_call(r, SYNC_LIST, (xdrproc_t)xdr_list_args, (caddr_t)&a,
	    (xdrproc_t)list_decode, (caddr_t)&sink, r->timeout);
	if (cs != RPC_SUCCESS)
		return call_failed(r, "LIST", cs);
	*st = sink.status;
	if (sink.status != SYNC_OK)
		return REMOTE_OK;
	if (sink.rc != REMOTE_OK)
		return sink.rc;
	if (sink.count == 0 && !sink.eof)
		return proto_error(r, "LIST returned an empty page before the end");
	if (out->n > 0)
		strcpy(last, out->v[out->n - 1].path);
	*eof = sink.eof;
	return REMOTE_OK;
}

int
remote_list(struct remote *r, const char *path, int want_hash,
    struct entry_list *out, sync_status *st)
{
	char last[PATH_BUF];
	int eof = 0, rc;

	*st = SYNC_OK;
	r->list_bytes = 0;
	rc = list_page(r, path, want_hash, NULL, out, st, &eof, last);
	if (rc == REMOTE_OK && *st == SYNC_OK && out->n == 0)
		rc = proto_error(r, "LIST returned no root entry");
	while (rc == REMOTE_OK && *st == SYNC_OK && !eof) {
		char after[PATH_BUF];

		strcpy(after, last);
		rc = list_page(r, path, want_hash, after, out, st, &eof, last);
		if (rc == REMOTE_OK && *st != SYNC_OK)
			rc = proto_error(r, "LIST failed in the middle of a listing");
	}
	if (rc == REMOTE_OK && *st == SYNC_OK)
		rc = check_tree(r, out);
	if (rc != REMOTE_OK || *st != SYNC_OK)
		entry_list_free(out);
	return rc;
}
