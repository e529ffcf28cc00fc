/* Small helpers shared by every module: cleanup attributes, time, strings. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

/* Hand a pointer out of a _cleanup_ scope. */
#define TAKE_PTR(p)                          \
        ({                                   \
                __typeof__(p) _tp_ = (p);    \
                (p) = NULL;                  \
                _tp_;                        \
        })

#define TAKE_FD(fd)                          \
        ({                                   \
                int _tf_ = (fd);             \
                (fd) = -1;                   \
                _tf_;                        \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
}

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

/* NULL-tolerant comparison: two NULLs are equal. */
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline const char *strempty(const char *s) {
        return s ? s : "";
}

/* Allocation failures are not survivable in a small daemon; say so and stop (chrony's Malloc). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);
/* Appends sep (unless *s is NULL, the empty list) and the formatted text to *s. */
void strextendf(char **s, const char *sep, const char *fmt, ...) _printf_(3, 4);

/* Edit distance with adjacent transpositions (optimal string alignment), for "did you mean …?". */
size_t string_distance(const char *a, const char *b);
/* A copy of s that prints on one line: backslash, double quote and bytes outside printable ASCII
 * are escaped (\n, \t, \r, \xHH), so text from outside can be quoted in a message. */
char *cescape(const char *s);
/* The same for text shown as it is, in every text sink: a table cell of --once or --status, a
 * log line, a journal field, a Slack message. Control characters (C0, DEL, C1 U+0080–U+009F,
 * U+2028/U+2029, bidirectional controls) and bytes that are not UTF-8 are escaped (\n, \t, \r,
 * \xHH for each byte); backslash, '"' and other UTF-8 text stay as they are. */
char *cescape_cell(const char *s);
/* The length (1 to 4) of the valid UTF-8 sequence at s (which a NUL ends), with its code point in
 * *ret; 0 if s does not start one (stray continuation, cut short, overlong, surrogate, too big). */
size_t utf8_decode(const char *s, uint32_t *ret);
/* C0, DEL, C1, U+2028/U+2029 and the bidirectional controls: what no text sink shows raw. */
bool unicode_is_control(uint32_t c);
/* The length of the longest beginning of s, in whole characters, whose cescape_cell() form
 * takes at most max bytes: where to cut a text that every text sink must show within max. */
size_t cescape_cell_prefix(const char *s, size_t max);
/* At most this many bytes of one text as a sink shows it (a journal field, escaped): below the
 * 4096 bytes past which journalctl shows a field as a blob (or null in JSON) unless told --all. */
#define TEXT_SHOWN_MAX 4000U
/* What ends a text that was cut. */
#define TEXT_CUT_MARK " [... cut]"
/* cescape_cell(s), cut between characters to at most max bytes (more than TEXT_CUT_MARK's)
 * ending in TEXT_CUT_MARK when it had to be cut. */
char *cescape_cell_cut(const char *s, size_t max);
/* JSON text as json-c writes it, with what json-c leaves raw made safe: DEL, C1 controls,
 * U+2028/U+2029 and bidirectional controls become \u escapes (the same characters to a JSON
 * reader, none to a terminal), each byte that is not UTF-8 becomes \ufffd. */
char *json_sanitize(const char *json);
/* Overwrites a secret before freeing it, so it does not linger in freed memory. Returns NULL. */
char *erase_and_free(char *s);

/* Grows *array (of *n elements of size sz) by one zeroed element and returns it. */
void *array_append(void *array_p, size_t *n, size_t sz);

usec_t now_usec(int clock_id);

/* Writes "2026-11-27T14:38:58.123Z" (RFC 3339, UTC, milliseconds) into buf. */
char *format_rfc3339(char buf[static 32], usec_t realtime);
/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; returns -EINVAL if malformed. */
int parse_rfc3339(const char *s, usec_t *ret);
/* Writes a short human duration: "850ms", "42s", "4m12s", "3h05m", "2d04h". */
char *format_duration(char buf[static 32], usec_t d);

/* "90s", "15m", "1h30m", "500ms", "2d", or a bare number of seconds. */
int parse_duration(const char *s, usec_t *ret);
/* "8MiB", "512KiB", "1GiB", "100kB", or a bare number of bytes. */
int parse_size(const char *s, uint64_t *ret);

/* Random number in [0, n) from a non-cryptographic generator seeded at start. */
uint64_t random_below(uint64_t n);
/* d ± up to fraction*d, never below zero. */
usec_t jitter(usec_t d, double fraction);

/* A Retry-After is honoured up to this long. */
#define RETRY_AFTER_MAX USEC_PER_HOUR
/* The wait before attempt number attempt (1, 2, ...) after failures: base doubling up to cap,
 * less up to 25 % jitter (the official SDKs' curve), and at least retry_after (capped at
 * RETRY_AFTER_MAX). */
usec_t backoff_delay(usec_t base, usec_t cap, unsigned attempt, usec_t retry_after);

/* Reads a whole small file; strips one trailing newline. Refuses files over max bytes (-EFBIG),
 * a directory (-EISDIR) and any other file that is not regular (-EINVAL), without blocking on a
 * FIFO. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size);
/* Writes path atomically: a temporary file in the same directory filled by write_fn (which
 * returns a negative errno on failure), fsync, rename, fsync of the directory. */
int write_file_atomic_with(const char *path, int mode, int (*write_fn)(FILE *f, const void *userdata),
                           const void *userdata);
/* The same with a buffer's contents. */
int write_file_atomic(const char *path, const void *data, size_t size, int mode);

/* The English plural ending for a count: "1 alert", "2 alerts". */
static inline const char *plural(uint64_t n) {
        return n == 1 ? "" : "s";
}

/* fnmatch(3) glob match. */
bool glob_match(const char *pattern, const char *s);

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}
