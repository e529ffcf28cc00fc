#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

static void oom(void) {
        static const char msg[] = "inferwatchd: out of memory\n";
        (void) !write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t m) {
        void *p = calloc(n ? n : 1, m ? m : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n) {
        p = realloc(p, n ? n : 1);
        if (!p)
                oom();
        return p;
}

char *xstrdup(const char *s) {
        return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n) {
        char *p = strndup(s, n);
        if (!p)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *p;

        va_start(ap, fmt);
        p = xvasprintf(fmt, ap);
        va_end(ap);
        return p;
}

char *xvasprintf(const char *fmt, va_list ap) {
        char *p;

        if (vasprintf(&p, fmt, ap) < 0)
                oom();
        return p;
}

void strextendf(char **s, const char *sep, const char *fmt, ...) {
        _cleanup_free_ char *piece = NULL;
        size_t n = *s ? strlen(*s) : 0, ls = *s ? strlen(sep) : 0, lp;
        va_list ap;

        va_start(ap, fmt);
        piece = xvasprintf(fmt, ap);
        va_end(ap);
        lp = strlen(piece);
        *s = xrealloc(*s, n + ls + lp + 1);
        memcpy(*s + n, sep, ls);
        memcpy(*s + n + ls, piece, lp + 1);
}

void *array_append(void *array_p, size_t *n, size_t sz) {
        char **array = array_p;

        /* Grows geometrically, judging the room left by what the allocator really gave, so that
         * arrays allocated at their exact size elsewhere are safe too. */
        if (!*array || malloc_usable_size(*array) < (*n + 1) * sz)
                *array = xrealloc(*array, MAX((*n + 1) * sz, 2 * *n * sz));
        memset(*array + *n * sz, 0, sz);
        return *array + (*n)++ * sz;
}

usec_t now_usec(int clock_id) {
        struct timespec ts;

        if (clock_gettime(clock_id, &ts) < 0)
                abort();
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

char *format_rfc3339(char buf[static 32], usec_t realtime) {
        time_t t = (time_t) (realtime / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&t, &tm)) {
                strcpy(buf, "1970-01-01T00:00:00.000Z");
                return buf;
        }
        size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, 32 - n, ".%03uZ", (unsigned) (realtime / USEC_PER_MSEC % 1000));
        return buf;
}

static int parse_digits(const char **p, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (**p < '0' || **p > '9')
                        return -EINVAL;
                v = v * 10 + (*(*p)++ - '0');
        }
        *ret = v;
        return 0;
}

static int expect_char(const char **p, const char *set) {
        if (!**p || !strchr(set, **p))
                return -EINVAL;
        (*p)++;
        return 0;
}

int parse_rfc3339(const char *s, usec_t *ret) {
        struct tm tm = {};
        int year, mon, day, hour, min, sec, off_h = 0, off_m = 0, sign = 0;
        usec_t frac = 0;

        if (parse_digits(&s, 4, &year) < 0 || expect_char(&s, "-") < 0 || parse_digits(&s, 2, &mon) < 0 ||
            expect_char(&s, "-") < 0 || parse_digits(&s, 2, &day) < 0 || expect_char(&s, "Tt ") < 0 ||
            parse_digits(&s, 2, &hour) < 0 || expect_char(&s, ":") < 0 || parse_digits(&s, 2, &min) < 0 ||
            expect_char(&s, ":") < 0 || parse_digits(&s, 2, &sec) < 0)
                return -EINVAL;
        if (*s == '.') {
                usec_t scale = USEC_PER_SEC / 10;
                s++;
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
                        frac += (usec_t) (*s - '0') * scale;
        }
        if (*s == 'Z' || *s == 'z')
                s++;
        else if (*s == '+' || *s == '-') {
                sign = *s++ == '+' ? 1 : -1;
                if (parse_digits(&s, 2, &off_h) < 0 || expect_char(&s, ":") < 0 ||
                    parse_digits(&s, 2, &off_m) < 0)
                        return -EINVAL;
        } else
                return -EINVAL;
        if (*s || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
                return -EINVAL;

        tm.tm_year = year - 1900;
        tm.tm_mon = mon - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = min;
        tm.tm_sec = sec;
        time_t t = timegm(&tm);
        if (t == (time_t) -1 || t < 0)
                return -EINVAL;
        t -= sign * (off_h * 3600 + off_m * 60);
        if (t < 0)
                return -EINVAL;
        *ret = (usec_t) t * USEC_PER_SEC + frac;
        return 0;
}

char *format_duration(char buf[static 32], usec_t d) {
        if (d == USEC_INFINITY)
                snprintf(buf, 32, "forever");
        else if (d < USEC_PER_SEC)
                snprintf(buf, 32, "%llums", (unsigned long long) (d / USEC_PER_MSEC));
        else if (d < USEC_PER_MINUTE)
                snprintf(buf, 32, "%llus", (unsigned long long) (d / USEC_PER_SEC));
        else if (d < USEC_PER_HOUR)
                snprintf(buf, 32, "%llum%02llus", (unsigned long long) (d / USEC_PER_MINUTE),
                         (unsigned long long) (d % USEC_PER_MINUTE / USEC_PER_SEC));
        else if (d < USEC_PER_DAY)
                snprintf(buf, 32, "%lluh%02llum", (unsigned long long) (d / USEC_PER_HOUR),
                         (unsigned long long) (d % USEC_PER_HOUR / USEC_PER_MINUTE));
        else
                snprintf(buf, 32, "%llud%02lluh", (unsigned long long) (d / USEC_PER_DAY),
                         (unsigned long long) (d % USEC_PER_DAY / USEC_PER_HOUR));
        return buf;
}

struct unit {
        const char *suffix;
        uint64_t factor;
};

/* Parses "<number><unit>" repeated ("1h30m"), or a bare number in base units. */
static int parse_with_units(const char *s, const struct unit *units, size_t n_units, uint64_t *ret) {
        uint64_t total = 0;
        bool bare = true;

        if (!s || !*s)
                return -EINVAL;
        while (*s) {
                char *end;
                unsigned long long v;

                if (*s < '0' || *s > '9')
                        return -EINVAL;
                errno = 0;
                v = strtoull(s, &end, 10);
                if (errno != 0)
                        return -ERANGE;
                s = end;
                while (*s == ' ')
                        s++;
                if (!*s) {
                        if (!bare)
                                return -EINVAL; /* "1h30" is ambiguous */
                        *ret = v;
                        return 0;
                }
                size_t best = SIZE_MAX, best_len = 0;
                for (size_t i = 0; i < n_units; i++) {
                        size_t l = strlen(units[i].suffix);
                        if (l > best_len && strncmp(s, units[i].suffix, l) == 0) {
                                best = i;
                                best_len = l;
                        }
                }
                if (best == SIZE_MAX)
                        return -EINVAL;
                s += best_len;
                while (*s == ' ')
                        s++;
                if (units[best].factor && v > (UINT64_MAX - total) / units[best].factor)
                        return -ERANGE;
                total += v * units[best].factor;
                bare = false;
        }
        *ret = total;
        return 0;
}

int parse_duration(const char *s, usec_t *ret) {
        static const struct unit units[] = {
                { "us", 1 },
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "m", USEC_PER_MINUTE },
                { "min", USEC_PER_MINUTE },
                { "h", USEC_PER_HOUR },
                { "d", USEC_PER_DAY },
        };
        uint64_t v;
        int r;

        r = parse_with_units(s, units, ELEMENTSOF(units), &v);
        if (r < 0)
                return r;
        /* A bare number is seconds. */
        if (strspn(s, "0123456789 ") == strlen(s)) {
                if (v > UINT64_MAX / USEC_PER_SEC)
                        return -ERANGE;
                v *= USEC_PER_SEC;
        }
        *ret = v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct unit units[] = {
                { "B", 1 },
                { "k", 1000ULL },
                { "kB", 1000ULL },
                { "K", 1024ULL },
                { "KiB", 1024ULL },
                { "M", 1024ULL * 1024 },
                { "MB", 1000ULL * 1000 },
                { "MiB", 1024ULL * 1024 },
                { "G", 1024ULL * 1024 * 1024 },
                { "GB", 1000ULL * 1000 * 1000 },
                { "GiB", 1024ULL * 1024 * 1024 },
        };

        return parse_with_units(s, units, ELEMENTSOF(units), ret);
}

uint64_t random_below(uint64_t n) {
        if (n == 0)
                return 0;
        return ((uint64_t) random() << 31 ^ (uint64_t) random()) % n;
}

usec_t jitter(usec_t d, double fraction) {
        usec_t span = (usec_t) ((double) d * fraction);

        if (span == 0)
                return d;
        return d - span + random_below(2 * span + 1);
}

usec_t backoff_delay(usec_t base, usec_t cap, unsigned attempt, usec_t retry_after) {
        usec_t d = base;

        for (unsigned i = 1; i < attempt && d < cap; i++)
                d *= 2;
        d = MIN(d, cap);
        d -= random_below(d / 4 + 1);
        return MAX(d, MIN(retry_after, RETRY_AFTER_MAX));
}

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;
        struct stat st;

        /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        for (;;) {
                if (size + 1 >= alloc) {
                        alloc = alloc ? alloc * 2 : 4096;
                        buf = xrealloc(buf, alloc);
                }
                ssize_t n = read(fd, buf + size, alloc - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = '\0';
        if (size > 0 && buf[size - 1] == '\n')
                buf[--size] = '\0';
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int write_file_atomic_with(const char *path, int mode, int (*write_fn)(FILE *f, const void *userdata),
                           const void *userdata) {
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.%ld", path, (long) getpid());
        _cleanup_free_ char *dir = xstrdup(path);
        _cleanup_close_ int dfd = -1;
        char *slash;
        FILE *f;
        int fd, r;

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                (void) close(fd);
                goto fail;
        }
        r = write_fn(f, userdata);
        if (r >= 0 && fflush(f) != 0)
                r = -errno;
        if (r >= 0 && fsync(fileno(f)) < 0)
                r = -errno;
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r < 0)
                goto fail;
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = '\0';
        else if (slash)
                *slash = '\0';
        else
                strcpy(dir, ".");
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

struct buffer {
        const void *data;
        size_t size;
};

static int write_buffer(FILE *f, const void *userdata) {
        const struct buffer *b = userdata;

        return fwrite(b->data, 1, b->size, f) == b->size ? 0 : -EIO;
}

int write_file_atomic(const char *path, const void *data, size_t size, int mode) {
        const struct buffer b = { data, size };

        return write_file_atomic_with(path, mode, write_buffer, &b);
}

bool glob_match(const char *pattern, const char *s) {
        return fnmatch(pattern, s, 0) == 0;
}

size_t string_distance(const char *a, const char *b) {
        size_t n = strlen(a), m = strlen(b);
        /* Three rows suffice: the transposition looks two rows back. */
        _cleanup_free_ size_t *rows = xcalloc(3 * (m + 1), sizeof(size_t));
        size_t *prev2 = rows, *prev = rows + m + 1, *cur = rows + 2 * (m + 1);

        for (size_t j = 0; j <= m; j++)
                prev[j] = j;
        for (size_t i = 1; i <= n; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= m; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t d = MIN(MIN(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                d = MIN(d, prev2[j - 2] + 1);
                        cur[j] = d;
                }
                size_t *t = prev2;
                prev2 = prev;
                prev = cur;
                cur = t;
        }
        return prev[m];
}

/* The length (1 to 4) of the valid UTF-8 sequence at s, with its code point in *ret; 0 if s
 * does not start one: a stray continuation byte, a sequence cut short (by the NUL too), an
 * overlong form, a surrogate, a value beyond U+10FFFF. */
size_t utf8_decode(const char *s, uint32_t *ret) {
        const unsigned char *p = (const unsigned char *) s;
        size_t n;
        uint32_t c, min;

        if (p[0] < 0x80) {
                *ret = p[0];
                return 1;
        }
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2, c = p[0] & 0x1f, min = 0x80;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                n = 3, c = p[0] & 0x0f, min = 0x800;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                n = 4, c = p[0] & 0x07, min = 0x10000;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        *ret = c;
        return n;
}

/* Characters that are not text to show: C0 (but for what the caller names), DEL, C1, the line
 * and paragraph separators that some viewers break lines at, and the bidirectional controls
 * that make a line read differently from what it holds. */
bool unicode_is_control(uint32_t c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == 0x061c ||
               c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* The character (or the byte that is not UTF-8) at s as it is shown, into out (at most four
 * \xHH and a NUL); returns how many bytes of s it is and its shown length in *ret_shown.
 * quote: for text between double quotes, in plain ASCII (messages about the config); else for
 * text shown as it is (a table cell, a log line, a journal field), where valid UTF-8 text stays
 * and only controls and bytes that are not UTF-8 are escaped. */
static size_t escape_char(const char *s, bool quote, char out[static 17], size_t *ret_shown) {
        unsigned char c = (unsigned char) *s;
        uint32_t cp;
        size_t len = utf8_decode(s, &cp);
        char *p = out;

        if (quote && (c == '\\' || c == '"')) {
                *p++ = '\\';
                *p++ = (char) c;
        } else if (c == '\n')
                p = stpcpy(p, "\\n");
        else if (c == '\t')
                p = stpcpy(p, "\\t");
        else if (c == '\r')
                p = stpcpy(p, "\\r");
        else if (len == 0)
                p += sprintf(p, "\\x%02x", c);
        else if (unicode_is_control(cp) || (quote && cp >= 0x80))
                for (size_t i = 0; i < len; i++)
                        p += sprintf(p, "\\x%02x", (unsigned char) s[i]);
        else
                p = mempcpy(p, s, len);
        *p = '\0';
        *ret_shown = (size_t) (p - out);
        return len ? len : 1;
}

static char *escape(const char *s, bool quote) {
        size_t n = strlen(s), shown;
        char *buf = xmalloc(4 * n + 1), *p = buf, one[17];

        while (*s) {
                s += escape_char(s, quote, one, &shown);
                p = mempcpy(p, one, shown);
        }
        *p = '\0';
        return buf;
}

size_t cescape_cell_prefix(const char *s, size_t max) {
        size_t n = 0, total = 0, shown;
        char one[17];

        while (s[n]) {
                size_t len = escape_char(s + n, false, one, &shown);
                if (total + shown > max)
                        break;
                total += shown;
                n += len;
        }
        return n;
}

char *cescape(const char *s) {
        return escape(s, true);
}

char *cescape_cell(const char *s) {
        return escape(s, false);
}

char *cescape_cell_cut(const char *s, size_t max) {
        _cleanup_free_ char *head = NULL;
        char *shown;

        if (!s[cescape_cell_prefix(s, max)])
                return cescape_cell(s);
        head = xstrndup(s, cescape_cell_prefix(s, max - strlen(TEXT_CUT_MARK)));
        shown = cescape_cell(head);
        strextendf(&shown, "", "%s", TEXT_CUT_MARK);
        return shown;
}

char *json_sanitize(const char *json) {
        char *buf = xmalloc(6 * strlen(json) + 1), *p = buf;

        while (*json) {
                uint32_t cp;
                size_t len = utf8_decode(json, &cp);

                if (len == 0)
                        p = stpcpy(p, "\\ufffd");
                else if (cp >= 0x20 && unicode_is_control(cp))
                        p += sprintf(p, "\\u%04x", (unsigned) cp);
                else
                        p = mempcpy(p, json, len);
                json += len ? len : 1;
        }
        *p = '\0';
        return buf;
}

char *erase_and_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
        return NULL;
}
