/* The last lines of a deployment's logs in one region (GET .../deployments/{name}/logs), made
 * safe to show: log text is written by whatever runs in the container, so it is untrusted.
 * Pure: parsing and neutralising. */
#pragma once

#include "util.h"

/* A message is cut to this many bytes; the whole tail to LOGTAIL_MAX. */
#define LOGTAIL_LINE_MAX 200
#define LOGTAIL_MAX 3000
#define LOGTAIL_LINES_MAX 50

/* s[0..len) as one printable line of valid UTF-8 of at most max bytes: terminal escape
 * sequences removed; NUL, other control characters (C0, DEL, C1), bidirectional overrides and
 * line separators replaced by '?' (tab, CR and LF by a space); invalid UTF-8 by U+FFFD; cut on a
 * character boundary with "…" when longer. max must be at least 8; s[len] must be a NUL (s may
 * hold others before it). */
char *logtail_neutralise(const char *s, size_t len, size_t max);

/* {count, results:[{message, pod, region_id, time}]}, newest first as asked (order_by=time.desc):
 * the newest max_lines lines of region_id, oldest first, one "TIME POD: MESSAGE" a line, joined
 * by "\n", neutralised; lines of other regions are skipped. "" when there are none. -EBADMSG
 * with a static reason when the body is not such a page. */
int logtail_parse(const char *body, size_t size, int64_t region_id, unsigned max_lines, char **ret,
                  const char **ret_why);
