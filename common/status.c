/*
 * status.c -- one table for every sync_status: name and description.
 */
#include <errno.h>

#include "status.h"

static const struct {
	sync_status status;
	const char *name;
	const char *text;
} status_table[] = {
	{ SYNC_OK, "SYNC_OK", "success" },
	{ SYNC_ERR_BADPATH, "SYNC_ERR_BADPATH", "invalid path or path outside the export" },
	{ SYNC_ERR_NOENT, "SYNC_ERR_NOENT", "no such file or directory" },
	{ SYNC_ERR_EXIST, "SYNC_ERR_EXIST", "file exists" },
	{ SYNC_ERR_NOTDIR, "SYNC_ERR_NOTDIR", "not a directory" },
	{ SYNC_ERR_ISDIR, "SYNC_ERR_ISDIR", "is a directory" },
	{ SYNC_ERR_NOTEMPTY, "SYNC_ERR_NOTEMPTY", "directory not empty" },
	{ SYNC_ERR_ACCES, "SYNC_ERR_ACCES", "permission denied" },
	{ SYNC_ERR_ROFS, "SYNC_ERR_ROFS", "read-only file system or export on server" },
	{ SYNC_ERR_NOSPC, "SYNC_ERR_NOSPC", "no space or inodes left on server" },
	{ SYNC_ERR_IO, "SYNC_ERR_IO", "input/output error on server" },
	{ SYNC_ERR_INVAL, "SYNC_ERR_INVAL", "invalid argument" },
	{ SYNC_ERR_BADHANDLE, "SYNC_ERR_BADHANDLE", "unknown or failed write handle" },
	{ SYNC_ERR_NOEXPORT, "SYNC_ERR_NOEXPORT", "no such export" },
	{ SYNC_ERR_NOSESSION, "SYNC_ERR_NOSESSION", "no export selected (HELLO first)" },
	{ SYNC_ERR_VERSION, "SYNC_ERR_VERSION", "unsupported protocol version" },
	{ SYNC_ERR_TOOMANY, "SYNC_ERR_TOOMANY", "too many open files in this session, or sessions on this export" },
	{ SYNC_ERR_SERVERFAULT, "SYNC_ERR_SERVERFAULT", "internal server error" },
	{ SYNC_ERR_CHECKSUM, "SYNC_ERR_CHECKSUM", "content hash mismatch (changed during transfer)" },
	{ SYNC_ERR_AUTH, "SYNC_ERR_AUTH", "authentication required or failed" },
};

#define STATUS_COUNT (sizeof(status_table) / sizeof(status_table[0]))

const char *
status_str(sync_status s)
{
	for (size_t i = 0; i < STATUS_COUNT; i++)
		if (status_table[i].status == s)
			return status_table[i].text;
	return "unknown status";
}

const char *
status_name(sync_status s)
{
	for (size_t i = 0; i < STATUS_COUNT; i++)
		if (status_table[i].status == s)
			return status_table[i].name;
	return "SYNC_ERR_UNKNOWN";
}

int
status_is_storage(sync_status s)
{
	return s == SYNC_ERR_NOSPC || s == SYNC_ERR_ROFS || s == SYNC_ERR_IO;
}

sync_status
status_from_errno(int err)
{
	switch (err) {
	case 0:
		return SYNC_OK;
	case ENOENT:
		return SYNC_ERR_NOENT;
	case EEXIST:
		return SYNC_ERR_EXIST;
	case ENOTDIR:
		return SYNC_ERR_NOTDIR;
	case EISDIR:
		return SYNC_ERR_ISDIR;
	case ENOTEMPTY:
		return SYNC_ERR_NOTEMPTY;
	case EACCES:
	case EPERM:
		return SYNC_ERR_ACCES;
	case EROFS:
		return SYNC_ERR_ROFS;
	case ENOSPC:
	case EDQUOT:
		return SYNC_ERR_NOSPC;
	case EIO:
		return SYNC_ERR_IO;
	case EINVAL:
	case EFBIG:
	case ENAMETOOLONG:
		return SYNC_ERR_INVAL;
	case ELOOP:        /* RESOLVE_NO_SYMLINKS met a symlink */
	case EXDEV:        /* RESOLVE_BENEATH met an escape */
		return SYNC_ERR_BADPATH;
	case EMFILE:
	case ENFILE:
		return SYNC_ERR_TOOMANY;
	default:
		return SYNC_ERR_SERVERFAULT;
	}
}
