/*
 * fuzzlib.h -- the scene the server fuzzers play on.
 *
 * Why it exists: both server harnesses need the same stage -- an export
 * with traps planted in it (symlinks and a hard link leading outside) next
 * to a sentinel directory that must never change -- and the same oracle:
 * after every input, the sentinel is compared with its first snapshot and
 * the process aborts (a finding for libFuzzer) if anything differs.
 */
#ifndef RPCSYNC_FUZZLIB_H
#define RPCSYNC_FUZZLIB_H

/* The stage; fz_setup() fills it once. */
struct fz_stage {
	char base[64];          /* /tmp/rpcsync-fuzz.XXXXXX */
	char export[96];        /* base/export: the export root */
	char outside[96];       /* base/outside: the sentinel */
	int  export_fd;         /* O_PATH|O_DIRECTORY of export */
};

/* Makes the stage (first call only) and returns it; aborts on failure. */
const struct fz_stage *fz_setup(void);

/*
 * Empties the export and plants its traps again: "l" -> ../outside, "abs"
 * -> the absolute outside path, "hl" a hard link to outside/linked (its
 * content may be read through the link: it is in the export too), and a
 * directory "d" holding "d/f".  Every other outside file holds "OUTSIDE",
 * which no READ may ever return.  Aborts on failure.
 */
void fz_reset(void);

/* Aborts unless the sentinel is exactly as fz_setup() left it. */
void fz_check_outside(void);

#endif
