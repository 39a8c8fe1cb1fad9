/*
 * quote.h -- untrusted names made fit for a one-line message.
 *
 * Both programs print names they did not choose: paths and export names sent
 * by a peer, file names found on disk.  Such a name may hold newlines, escape
 * sequences or thousands of bytes.  quote_bytes() renders it readably and
 * bounded, with one set of rules for both programs.  (log.c still escapes
 * control bytes in every message: that is the last line of defence, this is
 * for names that read well.)
 */
#ifndef RPCSYNC_QUOTE_H
#define RPCSYNC_QUOTE_H

#include <stddef.h>

/* Size of a buffer for quote_str(); longer renderings are cut with "...". */
#define QUOTE_BUF 1024

/*
 * Renders the len bytes at p (NUL bytes included) into buf (n bytes, at
 * least 4) as one line: \n, \t and \\ become those C escapes, other control
 * bytes (and DEL and NUL) become \ooo, every other byte (UTF-8 included)
 * stays.  When the rendering does not fit, it is cut at a whole escape and
 * ends with "...".  Always NUL-terminates.  Returns buf.
 */
const char *quote_bytes(const char *p, size_t len, char *buf, size_t n);

/* quote_bytes() of the NUL-terminated s into a QUOTE_BUF buffer.  Returns buf. */
const char *quote_str(const char *s, char buf[QUOTE_BUF]);

#endif
