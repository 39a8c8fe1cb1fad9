/*
 * fuzzlib.c -- the stage and the oracle of the server fuzzers (fuzzlib.h).
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzlib.h"

static struct fz_stage stage;
static char *baseline;          /* the sentinel's manifest at setup */

/* Dies with a message: the harness cannot go on. */
static void
die(const char *what)
{
	perror(what);
	abort();
}

/* Writes data to path (created, mode 0644). */
static void
put(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(data, f) < 0 || fclose(f) != 0)
		die(path);
}

/* The manifest being built by manifest_one (nftw has no user pointer). */
static FILE *manifest_out;

/* nftw callback: one line per entry of the sentinel, contents included. */
static int
manifest_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	/* Not st_nlink: the planted hard link "hl" comes and goes legitimately. */
	fprintf(manifest_out, "%s %o %lld %lld.%09ld\n", path, (unsigned)sb->st_mode,
	    (long long)sb->st_size, (long long)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec);
	if (S_ISREG(sb->st_mode)) {
		char buf[256];
		int fd = open(path, O_RDONLY | O_NOFOLLOW);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;

		if (n > 0)
			fwrite(buf, 1, (size_t)n, manifest_out);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/* Returns a fresh manifest of the sentinel (malloc'ed). */
static char *
manifest(void)
{
	char *text = NULL;
	size_t len = 0;

	if ((manifest_out = open_memstream(&text, &len)) == NULL)
		die("open_memstream");
	if (nftw(stage.outside, manifest_one, 16, FTW_PHYS) != 0)
		die("nftw outside");
	fclose(manifest_out);
	return text;
}

/* nftw callback: removes everything below the export root. */
static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	if (ftw->level == 0)
		return 0;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0)
		die(path);
	return 0;
}

const struct fz_stage *
fz_setup(void)
{
	char p[160];

	if (stage.export_fd > 0)
		return &stage;
	strcpy(stage.base, "/tmp/rpcsync-fuzz.XXXXXX");
	if (mkdtemp(stage.base) == NULL)
		die("mkdtemp");
	snprintf(stage.export, sizeof stage.export, "%s/export", stage.base);
	snprintf(stage.outside, sizeof stage.outside, "%s/outside", stage.base);
	if (mkdir(stage.export, 0755) != 0 || mkdir(stage.outside, 0755) != 0)
		die("mkdir");
	snprintf(p, sizeof p, "%s/secret", stage.outside);
	put(p, "OUTSIDE\n");
	snprintf(p, sizeof p, "%s/sub", stage.outside);
	if (mkdir(p, 0700) != 0)
		die(p);
	snprintf(p, sizeof p, "%s/sub/deep", stage.outside);
	put(p, "OUTSIDE DEEP\n");
	/* The target of the planted hard link: reading it through the link is fine. */
	snprintf(p, sizeof p, "%s/linked", stage.outside);
	put(p, "hard-linked\n");
	if ((stage.export_fd = open(stage.export, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die(stage.export);
	baseline = manifest();
	return &stage;
}

void
fz_reset(void)
{
	char p[160], q[160];

	if (nftw(stage.export, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		die("nftw export");
	snprintf(p, sizeof p, "%s/l", stage.export);
	if (symlink("../outside", p) != 0)
		die(p);
	snprintf(p, sizeof p, "%s/abs", stage.export);
	if (symlink(stage.outside, p) != 0)
		die(p);
	snprintf(p, sizeof p, "%s/hl", stage.export);
	snprintf(q, sizeof q, "%s/linked", stage.outside);
	if (link(q, p) != 0)
		die(p);
	snprintf(p, sizeof p, "%s/d", stage.export);
	if (mkdir(p, 0755) != 0)
		die(p);
	snprintf(p, sizeof p, "%s/d/f", stage.export);
	put(p, "inside\n");
}

void
fz_check_outside(void)
{
	char *now = manifest();

	if (strcmp(now, baseline) != 0) {
		fprintf(stderr, "fuzz: the sentinel outside the export changed:\n--- before\n%s"
		    "--- after\n%s", baseline, now);
		abort();
	}
	free(now);
}
