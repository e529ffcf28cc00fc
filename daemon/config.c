/* inferwatch.conf: libconfig text → struct config, validated, with one "FILE:LINE: message" per
 * problem. Nothing here prints: everything goes into struct config_diag.
 *
 * Every message has one of these shapes. FILE is the path as given; an @include is named by its
 * path resolved against the directory of the main file. LINE is the line where the setting (or
 * group) starts. PATH names the setting: "interval", "accounts[0].url", "webhooks[1].headers[0]",
 * or a group, "projects[2]". Warnings have "warning: " right after "FILE:LINE: ". Strings from the
 * file are quoted C-style (\n, \xHH) so every message stays on one line. Secret values, URLs,
 * header values and bad key_file/secret_file/credential values are never echoed: they may hold
 * credentials.
 *
 * Whole file (no line exists):
 *   FILE: cannot read: STRERROR
 *   FILE: "accounts" is required                             (also "projects")
 *   FILE: $STATE_DIRECTORY: must be an absolute path, got "X"
 *   FILE: warning: contains an inline secret but is readable by group/others (mode 0644); chmod 600
 *         it or use key_file/key_credential                  (secret_file/secret_credential for a
 *                                                            webhook's secret; config_load only)
 * Syntax, as libconfig words it:
 *   FILE:LINE: syntax error | duplicate setting name | mismatched element type in array |
 *              cannot open include file | ...
 * Types (WHAT: an integer | a string | a duration such as "60s" or a number of seconds | a size such
 * as "8MiB" or a number of bytes | a list of groups such as ( { ... } ) | a group { ... } | an array
 * of strings such as [ "a", "b" ] | an array of integers such as [ 1, 2 ] | "*" or an array of
 * deployment names | a priority name (emerg, ..., debug) or 0..7;
 * TYPE: an integer | a float | a string | a boolean | an array | a list | a group):
 *   FILE:LINE: PATH: expected WHAT, got TYPE
 *   FILE:LINE: PATH: expected "*" or an array of deployment names, got "X" (write [ "X" ] for one)
 * Ranges (bounds inclusive; VALUE as the file says it, even where libconfig 1.5 truncated it to 32
 * bits; integers given for durations and sizes carry their unit, "86401s", "1024B"; beyond 64
 * bits VALUE is "a number too large for 64 bits"):
 *   FILE:LINE: PATH: must be between MIN and MAX, got VALUE
 *   FILE:LINE: PATH: must be 0 (never) or between MIN and MAX, got VALUE      (repeat_interval)
 *   FILE:LINE: PATH: must not be longer than OTHER (VALUE), got VALUE         (fast_interval ≤ interval,
 *   FILE:LINE: PATH: must not be shorter than OTHER (VALUE), got VALUE         connect_timeout ≤ timeout)
 *   FILE:LINE: PATH: invalid duration "X"; use a number of seconds or units such as "500ms", "90s", ...
 *   FILE:LINE: PATH: invalid size "X"; use a number of bytes or units such as "512KiB", "8MiB", "1GiB"
 * Required keys and lists:
 *   FILE:LINE: PATH: at least one account is required                       (also project)
 *   FILE:LINE: PATH: "id" is required                                       (also "url")
 *   FILE:LINE: PATH: "deployments" is required ("*" or an array of names)
 *   FILE:LINE: PATH: "name" is required when several accounts are defined   (also "account")
 *   FILE:LINE: PATH: must not be empty; list deployment names or use "*"
 *   FILE:LINE: PATH: must not be empty; leave it out to match every event type (deployment, project)
 * Names, references, duplicates ("first at line N", or "first at FILE:N" in another file):
 *   FILE:LINE: PATH: invalid name "X"; use 1 to 64 characters from A-Z a-z 0-9 _ . -
 *   FILE:LINE: PATH: invalid deployment name "X"; use 1 to 128 characters without "/" or control characters
 *   FILE:LINE: PATH: invalid pattern "X"; it must be non-empty without control characters
 *   FILE:LINE: PATH: no account named "X"
 *   FILE:LINE: PATH: duplicate account name "X" (first at line N)           (also webhook name)
 *   FILE:LINE: PATH: duplicate project ID of account "X" (first at line N)
 *   FILE:LINE: PATH: duplicate deployment "X" (first at line N)
 * URLs:
 *   FILE:LINE: PATH: must start with "http://" or "https://" | must not contain spaces or control
 *              characters | has no host | has an invalid port | must not contain a fragment ("#...") |
 *              must not contain a query ("?...") | must not contain user info ("user@"); put the API
 *              key in key_file or key_credential                     (the last two: accounts only)
 *   FILE:LINE: warning: PATH: the API key would travel in clear text to "HOST"; use https://
 * Paths, keys and secrets:
 *   FILE:LINE: PATH: must be an absolute path, got "X"                (key_file, secret_file: no "got")
 *   FILE:LINE: PATH: no API key; set one of "key_file", "key_credential" or "key"
 *   FILE:LINE: PATH: conflicts with "K" on line N; set only one of "K1", "K2" or "K3"
 *   FILE:LINE: PATH: invalid credential name; use A-Z a-z 0-9 _ . -
 *   FILE:LINE: PATH: must not be empty | must not contain control characters          (inline secrets)
 *   FILE:LINE: PATH: $CREDENTIALS_DIRECTORY is not set; run inferwatchd from its systemd unit
 *              (LoadCredential=NAME) or use key_file                  (secret_file; CONFIG_LOAD_SECRETS)
 *   FILE:LINE: PATH: cannot read "P": STRERROR
 *   FILE:LINE: PATH: "P" is empty | "P" is larger than 4096 bytes | "P" contains control characters
 *   FILE:LINE: PATH: the URL in "P" PROBLEM              (url_file, url_credential; PROBLEM as for URLs)
 *   FILE:LINE: PATH: the signing secret [in "P"] starts with "whsec_" but the rest is not base64
 * Webhook details:
 *   FILE:LINE: PATH: unknown format "X"; use "json", "slack" or "alertmanager"
 *   FILE:LINE: PATH: unknown priority "X"; use emerg, alert, crit, err, warning, notice, info, debug or 0..7
 *   FILE:LINE: PATH: unknown event type "X" [(did you mean "Y"?)]
 *   FILE:LINE: PATH: header must not contain CR or LF | missing ":" after the header name |
 *              invalid header name; it must be an HTTP token (A-Z a-z 0-9 !#$%&'*+-.^_`|~) followed by ":"
 *   FILE:LINE: PATH: header "NAME" is set by inferwatchd and cannot be overridden | has an empty
 *              value | has control characters in its value
 * Unknown keys, at every level (a hint when a known key is within edit distance 2):
 *   FILE:LINE: warning: [PATH: ]unknown key "X" [(did you mean "Y"?)]
 *
 * All problems are collected in one pass (a syntax error stops it). Errors and warnings are each
 * sorted by file (main file first), then line, then the order found; whole-file messages first. */

#include <ctype.h>
#include <inttypes.h>
#include <libconfig.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "sign.h"
#include "event.h"

#define CONFIG_FILE_MAX (4U * 1024U * 1024U)
#define SECRET_MAX 4096U
#define PROJECT_ID_MAX (INT64_C(1) << 53)
#define NAME_LEN_MAX 64U
#define DEPLOYMENT_NAME_LEN_MAX 128U
#define CREDENTIAL_NAME_LEN_MAX 255U
#define ALERT_POLLS_MAX 32U /* "for", "resolve_for": diff.c remembers the last 32 polls */
#define DEFAULT_API_URL "https://api.gcore.com"

#define KIB (UINT64_C(1024))
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

/* ------------------------------------------------------------------------------------------ */
/* Sources and diagnostics */

struct source {
        char *raw;  /* the @include argument as libconfig names it; NULL: main file */
        char *name; /* for messages and reading */
        char *text; /* read lazily to re-read integer literals; erased when done */
        bool read_tried;
        size_t *lines; /* offset of each line in text, built on first use */
        size_t n_lines;
        bool inline_key;    /* holds an account's inline "key" */
        bool inline_secret; /* holds a webhook's inline "secret" */
};

struct diag_entry {
        size_t source;
        unsigned line; /* 0: about the whole file */
        size_t seq;
        bool error;
        char *text;
};

struct loader {
        unsigned flags;
        bool is_file;                /* config_load: sources are real files whose mode matters */
        char *include_dir;           /* directory of the main file; NULL: the current one */
        const char *credentials_dir; /* $CREDENTIALS_DIRECTORY */
        struct source *sources;      /* [0] is the main file */
        size_t n_sources;
        struct diag_entry *diags;
        size_t n_diags;
        size_t n_errors;
};

static char *dirname_of(const char *path) {
        const char *slash = strrchr(path, '/');

        if (!slash)
                return NULL;
        return xstrndup(path, slash == path ? 1 : (size_t) (slash - path));
}

static size_t loader_source(struct loader *l, const char *raw) {
        struct source *s;

        if (!raw)
                return 0;
        for (size_t i = 1; i < l->n_sources; i++)
                if (streq(l->sources[i].raw, raw))
                        return i;
        s = array_append(&l->sources, &l->n_sources, sizeof(*s));
        s->raw = xstrdup(raw);
        /* libconfig 1.5 resolves a relative @include against include_dir; say the same path. */
        if (raw[0] == '/' || !l->include_dir)
                s->name = xstrdup(raw);
        else
                s->name = xasprintf("%s%s%s", l->include_dir, streq(l->include_dir, "/") ? "" : "/", raw);
        return l->n_sources - 1;
}

static void loader_init(struct loader *l, const char *name, const char *text, unsigned flags, bool is_file) {
        struct source *main_source;

        *l = (struct loader) {
                .flags = flags,
                .is_file = is_file,
                .include_dir = dirname_of(name),
                .credentials_dir = getenv("CREDENTIALS_DIRECTORY"),
        };
        if (l->credentials_dir && !*l->credentials_dir)
                l->credentials_dir = NULL;
        main_source = array_append(&l->sources, &l->n_sources, sizeof(*main_source));
        main_source->name = xstrdup(name);
        main_source->text = xstrdup(text);
        main_source->read_tried = true;
}

static void loader_done(struct loader *l) {
        for (size_t i = 0; i < l->n_sources; i++) {
                free(l->sources[i].raw);
                free(l->sources[i].name);
                /* The text may hold inline secrets. */
                erase_and_free(l->sources[i].text);
                free(l->sources[i].lines);
        }
        free(l->sources);
        for (size_t i = 0; i < l->n_diags; i++)
                free(l->diags[i].text);
        free(l->diags);
        free(l->include_dir);
}

_printf_(5, 0) static void report_va(struct loader *l, size_t src, unsigned line, bool error,
                                     const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        struct diag_entry *e = array_append(&l->diags, &l->n_diags, sizeof(*e));
        const char *name = l->sources[src].name;
        const char *kind = error ? "" : "warning: ";

        e->source = src;
        e->line = line;
        e->seq = l->n_diags;
        e->error = error;
        e->text = line > 0 ? xasprintf("%s:%u: %s%s", name, line, kind, msg)
                           : xasprintf("%s: %s%s", name, kind, msg);
        if (error)
                l->n_errors++;
}

/* About setting s, at its file and line; s == NULL or the root: about the main file as a whole. */
_printf_(4, 5) static void report(struct loader *l, const config_setting_t *s, bool error, const char *fmt,
                                  ...) {
        va_list ap;

        va_start(ap, fmt);
        if (s)
                report_va(l, loader_source(l, config_setting_source_file(s)), config_setting_source_line(s),
                          error, fmt, ap);
        else
                report_va(l, 0, 0, error, fmt, ap);
        va_end(ap);
}

_printf_(5, 6) static void report_at(struct loader *l, size_t src, unsigned line, bool error,
                                     const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report_va(l, src, line, error, fmt, ap);
        va_end(ap);
}

#define report_error(l, s, ...) report(l, s, true, __VA_ARGS__)
#define report_warning(l, s, ...) report(l, s, false, __VA_ARGS__)

static int diag_entry_compare(const void *a, const void *b) {
        const struct diag_entry *x = a, *y = b;

        if (x->source != y->source)
                return x->source < y->source ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void loader_flush_diag(struct loader *l, struct config_diag *diag) {
        if (l->n_diags == 0)
                return; /* qsort(NULL, 0, ...) is undefined */
        qsort(l->diags, l->n_diags, sizeof(*l->diags), diag_entry_compare);
        for (size_t i = 0; i < l->n_diags; i++) {
                struct diag_entry *e = &l->diags[i];
                if (e->error)
                        *(char **) array_append(&diag->errors, &diag->n_errors, sizeof(char *)) =
                                TAKE_PTR(e->text);
                else
                        *(char **) array_append(&diag->warnings, &diag->n_warnings, sizeof(char *)) =
                                TAKE_PTR(e->text);
        }
}

/* "line 7", or "other.conf:7" when first and the setting being reported live in different files. */
static char *where(struct loader *l, const config_setting_t *first, const config_setting_t *now) {
        size_t a = loader_source(l, config_setting_source_file(first));
        size_t b = loader_source(l, config_setting_source_file(now));

        if (a == b)
                return xasprintf("line %u", config_setting_source_line(first));
        return xasprintf("%s:%u", l->sources[a].name, config_setting_source_line(first));
}

/* ------------------------------------------------------------------------------------------ */
/* Formatting values for messages */

static char *format_span(char buf[static 64], usec_t d) {
        static const struct {
                usec_t unit;
                const char *suffix;
        } units[] = {
                { USEC_PER_DAY, "d" }, { USEC_PER_HOUR, "h" },  { USEC_PER_MINUTE, "m" },
                { USEC_PER_SEC, "s" }, { USEC_PER_MSEC, "ms" }, { 1, "us" },
        };
        size_t n = 0;

        /* Exact, unlike format_duration(), and readable back by parse_duration(). */
        strcpy(buf, "0");
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (d >= units[i].unit) {
                        n += (size_t) snprintf(buf + n, 64 - n, "%" PRIu64 "%s", d / units[i].unit,
                                               units[i].suffix);
                        d %= units[i].unit;
                }
        return buf;
}

static char *format_bytes(char buf[static 64], uint64_t v) {
        if (v >= GIB && v % GIB == 0)
                snprintf(buf, 64, "%" PRIu64 "GiB", v / GIB);
        else if (v >= MIB && v % MIB == 0)
                snprintf(buf, 64, "%" PRIu64 "MiB", v / MIB);
        else if (v >= KIB && v % KIB == 0)
                snprintf(buf, 64, "%" PRIu64 "KiB", v / KIB);
        else
                snprintf(buf, 64, "%" PRIu64 "B", v);
        return buf;
}

static const char *type_name(const config_setting_t *s) {
        switch (config_setting_type(s)) {
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "an integer";
        case CONFIG_TYPE_FLOAT:
                return "a float";
        case CONFIG_TYPE_STRING:
                return "a string";
        case CONFIG_TYPE_BOOL:
                return "a boolean";
        case CONFIG_TYPE_ARRAY:
                return "an array";
        case CONFIG_TYPE_LIST:
                return "a list";
        case CONFIG_TYPE_GROUP:
                return "a group";
        default:
                return "nothing";
        }
}

static int type_error(struct loader *l, const config_setting_t *s, const char *path, const char *what) {
        report_error(l, s, "%s: expected %s, got %s", path, what, type_name(s));
        return -EINVAL;
}

static int range_error(struct loader *l, const config_setting_t *s, const char *path, bool zero_ok,
                       const char *min, const char *max, const char *got) {
        report_error(l, s, "%s: must be %sbetween %s and %s, got %s", path, zero_ok ? "0 (never) or " : "",
                     min, max, got);
        return -EINVAL;
}

/* The closest candidate within edit distance 2 (and closer than s is long), or NULL. */
static const char *closest(const char *const *candidates, size_t n, const char *s) {
        const char *best = NULL;
        size_t best_d = 3;

        for (size_t i = 0; i < n; i++) {
                size_t d = string_distance(candidates[i], s);
                if (d < best_d && d < strlen(s)) {
                        best = candidates[i];
                        best_d = d;
                }
        }
        return best;
}

static char *did_you_mean(const char *const *candidates, size_t n, const char *s) {
        const char *c = closest(candidates, n, s);

        return c ? xasprintf(" (did you mean \"%s\"?)", c) : xstrdup("");
}

/* ------------------------------------------------------------------------------------------ */
/* Integers, and libconfig 1.5's silent truncation of them */

struct int_value {
        int64_t value;
        bool huge;     /* beyond 64 bits: only text means anything */
        char text[32]; /* as the file says it, for messages */
};

struct literal {
        int64_t value;
        bool huge;
        bool int64;       /* has the L suffix, so libconfig made it an INT64 */
        long long stored; /* what libconfig 1.5 stored for it */
};

static bool is_name_char(char c) {
        return c && (isalnum((unsigned char) c) || strchr("-_*", c));
}

/* Reads an integer literal at p the way libconfig 1.5's scanner does: decimal through atoi() or
 * atoll(), hex through strtoul() or strtoull(), the result cast to int without the L suffix. */
static bool parse_literal(const char *p, struct literal *ret) {
        struct literal lit = {};
        char *end;

        errno = 0;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char) p[2])) {
                unsigned long long u = strtoull(p, &end, 16);
                lit.huge = errno == ERANGE || u > INT64_MAX;
                lit.value = lit.huge ? 0 : (int64_t) u;
                lit.stored = (long long) u;
        } else if (isdigit((unsigned char) p[0]) ||
                   ((p[0] == '-' || p[0] == '+') && isdigit((unsigned char) p[1]))) {
                long long v = strtoll(p, &end, 10);
                lit.huge = errno == ERANGE;
                lit.value = v;
                lit.stored = v;
        } else
                return false;
        if (*end == 'L') {
                lit.int64 = true;
                end += end[1] == 'L' ? 2 : 1;
        } else
                lit.stored = (int) lit.stored;
        /* A float ("1.5", "1e9") or a name is not an integer literal. */
        if (*end == '.' || *end == 'e' || *end == 'E' || is_name_char(*end))
                return false;
        *ret = lit;
        return true;
}

static const char *skip_space(const char *p) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
                p++;
        return p;
}

/* Where the literal of setting s may start, if p is the start of its name followed by = or :. */
static const char *after_name(const char *p, const char *name) {
        size_t n = strlen(name);

        if (strncmp(p, name, n) != 0 || is_name_char(p[n]))
                return NULL;
        p = skip_space(p + n);
        if (*p != '=' && *p != ':')
                return NULL;
        return skip_space(p + 1);
}

/* Line "line" (from 1) of the file setting s comes from, or NULL. Included files are read here;
 * an index of lines keeps this cheap for configs with thousands of integers. */
static const char *source_line(struct loader *l, const config_setting_t *s) {
        size_t idx = loader_source(l, config_setting_source_file(s)); /* may move l->sources */
        struct source *src = &l->sources[idx];
        unsigned line = config_setting_source_line(s);

        if (!src->read_tried) {
                src->read_tried = true;
                if (read_full_file(src->name, CONFIG_FILE_MAX, &src->text, NULL) < 0)
                        src->text = NULL;
        }
        if (src->text && !src->lines) {
                src->n_lines = 1;
                for (const char *p = src->text; (p = strchr(p, '\n')); p++)
                        src->n_lines++;
                src->lines = xcalloc(src->n_lines, sizeof(size_t));
                src->n_lines = 1;
                for (const char *p = src->text; (p = strchr(p, '\n')); p++)
                        src->lines[src->n_lines++] = (size_t) (p + 1 - src->text);
        }
        if (!src->text || line < 1 || line > src->n_lines)
                return NULL;
        return src->text + src->lines[line - 1];
}

static bool literal_matches(const struct literal *lit, const config_setting_t *s, long long stored) {
        return lit->int64 == (config_setting_type(s) == CONFIG_TYPE_INT64) && lit->stored == stored &&
                (lit->huge || lit->value != stored);
}

/* libconfig 1.5 silently truncates "5000000000" (no L suffix) to 705032704 and calls it an INT.
 * Find the literal on the setting's source line that libconfig read as "stored" but that says
 * something else, and return what it says. */
static bool reread_literal(struct loader *l, const config_setting_t *s, long long stored,
                           struct literal *ret) {
        const char *start = source_line(l, s);
        const char *name = config_setting_name(s);
        struct literal lit;

        if (!start)
                return false;
        for (const char *p = start; *p && *p != '\n'; p++) {
                const char *q;

                if (*p == '"') {
                        /* Skip the string, escapes included. */
                        while (*++p && *p != '"' && *p != '\n')
                                if (*p == '\\' && p[1])
                                        p++;
                        if (*p != '"')
                                return false;
                        continue;
                }
                if (*p == '#' || (p[0] == '/' && p[1] == '/'))
                        return false;
                if (p[0] == '/' && p[1] == '*') {
                        const char *close = strstr(p + 2, "*/");
                        if (!close || memchr(p, '\n', (size_t) (close - p)))
                                return false;
                        p = close + 1;
                        continue;
                }
                if (p > start && (is_name_char(p[-1]) || p[-1] == '.'))
                        continue;
                q = name ? after_name(p, name) : p;
                if (q && parse_literal(q, &lit) && literal_matches(&lit, s, stored)) {
                        *ret = lit;
                        return true;
                }
        }
        return false;
}

/* Returns -EMEDIUMTYPE if s is not an integer. */
static int read_int(struct loader *l, const config_setting_t *s, struct int_value *ret) {
        struct int_value v = {};
        struct literal lit;
        long long stored;

        if (config_setting_type(s) == CONFIG_TYPE_INT)
                stored = config_setting_get_int(s);
        else if (config_setting_type(s) == CONFIG_TYPE_INT64)
                stored = config_setting_get_int64(s);
        else
                return -EMEDIUMTYPE;
        v.value = stored;
        if (reread_literal(l, s, stored, &lit)) {
                v.value = lit.value;
                v.huge = lit.huge;
        }
        if (v.huge)
                strcpy(v.text, "a number too large for 64 bits");
        else
                snprintf(v.text, sizeof(v.text), "%" PRIi64, v.value);
        *ret = v;
        return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Typed values: each reports its own problem and returns -EINVAL, or sets *ret and returns 1. */

static int value_int(struct loader *l, const config_setting_t *s, const char *path, int64_t min, int64_t max,
                     int64_t *ret) {
        struct int_value v;
        char lo[32], hi[32];

        if (read_int(l, s, &v) < 0)
                return type_error(l, s, path, "an integer");
        if (v.huge || v.value < min || v.value > max) {
                snprintf(lo, sizeof(lo), "%" PRIi64, min);
                snprintf(hi, sizeof(hi), "%" PRIi64, max);
                return range_error(l, s, path, false, lo, hi, v.text);
        }
        *ret = v.value;
        return 1;
}

static int value_string(struct loader *l, const config_setting_t *s, const char *path, const char **ret) {
        if (config_setting_type(s) != CONFIG_TYPE_STRING)
                return type_error(l, s, path, "a string");
        *ret = config_setting_get_string(s);
        return 1;
}

/* Durations and sizes: an integer in base units (seconds, bytes), or a string with units. */
struct unit_kind {
        const char *what;       /* for type errors */
        const char *noun;       /* "duration", "size" */
        const char *hint;       /* after a string parse() refuses */
        const char *int_suffix; /* appended to integers in messages: "s", "B" */
        uint64_t int_factor;
        int (*parse)(const char *s, uint64_t *ret);
        char *(*format)(char buf[static 64], uint64_t v);
};

static const struct unit_kind duration_kind = {
        .what = "a duration such as \"60s\" or a number of seconds",
        .noun = "duration",
        .hint = "use a number of seconds or units such as \"500ms\", \"90s\", \"15m\", \"1h30m\", \"2d\"",
        .int_suffix = "s",
        .int_factor = USEC_PER_SEC,
        .parse = parse_duration,
        .format = format_span,
};

static const struct unit_kind size_kind = {
        .what = "a size such as \"8MiB\" or a number of bytes",
        .noun = "size",
        .hint = "use a number of bytes or units such as \"512KiB\", \"8MiB\", \"1GiB\"",
        .int_suffix = "B",
        .int_factor = 1,
        .parse = parse_size,
        .format = format_bytes,
};

/* Sets *ret and *ret_got (what the file says, for messages); false if out of any range. */
static bool units_from_int(const struct int_value *iv, const struct unit_kind *k, uint64_t *ret,
                           char **ret_got) {
        bool ok = !iv->huge && iv->value >= 0 && (uint64_t) iv->value <= UINT64_MAX / k->int_factor;

        *ret_got = xasprintf("%s%s", iv->text, iv->huge ? "" : k->int_suffix);
        *ret = ok ? (uint64_t) iv->value * k->int_factor : 0;
        return ok;
}

static int value_units(struct loader *l, const config_setting_t *s, const char *path,
                       const struct unit_kind *k, uint64_t min, uint64_t max, bool zero_ok, uint64_t *ret) {
        _cleanup_free_ char *got = NULL;
        struct int_value iv;
        char lo[64], hi[64];
        uint64_t v = 0;
        bool in_range;

        if (config_setting_type(s) == CONFIG_TYPE_STRING) {
                int r = k->parse(config_setting_get_string(s), &v);
                got = cescape(config_setting_get_string(s));
                if (r == -EINVAL) {
                        report_error(l, s, "%s: invalid %s \"%s\"; %s", path, k->noun, got, k->hint);
                        return -EINVAL;
                }
                in_range = r >= 0; /* -ERANGE: beyond 64 bits */
        } else if (read_int(l, s, &iv) >= 0)
                in_range = units_from_int(&iv, k, &v, &got);
        else
                return type_error(l, s, path, k->what);
        if (!in_range || (!(zero_ok && v == 0) && (v < min || v > max)))
                return range_error(l, s, path, zero_ok, k->format(lo, min), k->format(hi, max), got);
        *ret = v;
        return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Members of a group */

struct scope {
        struct loader *l;
        const config_setting_t *group;
        const char *path; /* "accounts[0]"; NULL at the top level */
};

static const config_setting_t *member(const struct scope *sc, const char *key) {
        return config_setting_get_member(sc->group, key);
}

static char *member_path(const struct scope *sc, const char *key) {
        return sc->path ? xasprintf("%s.%s", sc->path, key) : xstrdup(key);
}

/* The member called key and its PATH for messages; NULL when absent. */
static const config_setting_t *lookup(const struct scope *sc, const char *key, char **ret_path) {
        const config_setting_t *s = member(sc, key);

        if (s)
                *ret_path = member_path(sc, key);
        return s;
}

/* "PATH: " or "" at the top level, to prefix messages about the group itself. */
static const char *scope_prefix(const struct scope *sc, char **buf) {
        *buf = sc->path ? xasprintf("%s: ", sc->path) : NULL;
        return *buf ? *buf : "";
}

/* The getters return 0 when the key is absent (leaving *ret to its default), 1 when set, or
 * -EINVAL after reporting the problem. */
static int get_int(const struct scope *sc, const char *key, int64_t min, int64_t max, int64_t *ret) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, key, &path);

        return s ? value_int(sc->l, s, path, min, max, ret) : 0;
}

static int get_unsigned(const struct scope *sc, const char *key, unsigned min, unsigned max, unsigned *ret) {
        int64_t v;
        int r = get_int(sc, key, min, max, &v);

        if (r > 0)
                *ret = (unsigned) v;
        return r;
}

static int get_units(const struct scope *sc, const char *key, const struct unit_kind *k, uint64_t min,
                     uint64_t max, bool zero_ok, uint64_t *ret) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, key, &path);

        return s ? value_units(sc->l, s, path, k, min, max, zero_ok, ret) : 0;
}

static int get_duration(const struct scope *sc, const char *key, usec_t min, usec_t max, usec_t *ret) {
        return get_units(sc, key, &duration_kind, min, max, false, ret);
}

static int get_size(const struct scope *sc, const char *key, uint64_t min, uint64_t max, uint64_t *ret) {
        return get_units(sc, key, &size_kind, min, max, false, ret);
}

/* Secret sources (key_file, ...) do not echo a bad value: users do paste keys into the wrong key. */
static int get_path(const struct scope *sc, const char *key, bool echo, char **ret) {
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, key, &path);
        const char *v = NULL;

        if (!s)
                return 0;
        if (value_string(sc->l, s, path, &v) < 0)
                return -EINVAL;
        if (v[0] != '/') {
                if (echo) {
                        q = cescape(v);
                        report_error(sc->l, s, "%s: must be an absolute path, got \"%s\"", path, q);
                } else
                        report_error(sc->l, s, "%s: must be an absolute path", path);
                return -EINVAL;
        }
        *ret = xstrdup(v);
        return 1;
}

static bool name_valid(const char *s, size_t max) {
        size_t n = strlen(s);

        return n >= 1 && n <= max &&
                strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int get_name(const struct scope *sc, const char *key, char **ret) {
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, key, &path);
        const char *v = NULL;

        if (!s)
                return 0;
        if (value_string(sc->l, s, path, &v) < 0)
                return -EINVAL;
        if (!name_valid(v, NAME_LEN_MAX)) {
                q = cescape(v);
                report_error(sc->l, s,
                             "%s: invalid name \"%s\"; use 1 to %u characters from A-Z a-z 0-9 _ . -", path,
                             q, NAME_LEN_MAX);
                return -EINVAL;
        }
        /* A webhook's name is its spool directory's: "." and ".." would be the state directory. */
        if (streq(v, ".") || streq(v, "..")) {
                report_error(sc->l, s, "%s: invalid name \"%s\"; it names a directory", path, v);
                return -EINVAL;
        }
        *ret = xstrdup(v);
        return 1;
}

/* Warns about every member of the group that is not in known (NULL-terminated). */
static void warn_unknown_keys(const struct scope *sc, const char *const *known) {
        size_t n_known = 0;

        while (known[n_known])
                n_known++;
        for (int i = 0; i < config_setting_length(sc->group); i++) {
                const config_setting_t *m = config_setting_get_elem(sc->group, (unsigned) i);
                const char *name = config_setting_name(m);
                _cleanup_free_ char *prefix = NULL, *hint = NULL;
                bool found = false;

                for (size_t k = 0; k < n_known && !found; k++)
                        found = streq(known[k], name);
                if (found)
                        continue;
                hint = did_you_mean(known, n_known, name);
                report_warning(sc->l, m, "%sunknown key \"%s\"%s", scope_prefix(sc, &prefix), name, hint);
        }
}

/* lo_key ≤ hi_key, e.g. fast_interval ≤ interval. Blames owner (one of the two keys) when the
 * file sets it, otherwise the other one: the defaults alone always satisfy the rule. */
static void check_order(const struct scope *sc, const char *lo_key, usec_t lo, const char *hi_key, usec_t hi,
                        const char *owner) {
        const char *blame = owner;
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s;
        char a[64], b[64];

        if (lo <= hi)
                return;
        s = lookup(sc, blame, &path);
        if (!s) {
                blame = streq(owner, lo_key) ? hi_key : lo_key;
                s = lookup(sc, blame, &path);
        }
        if (streq(blame, lo_key))
                report_error(sc->l, s, "%s: must not be longer than %s (%s), got %s", path, hi_key,
                             format_span(a, hi), format_span(b, lo));
        else
                report_error(sc->l, s, "%s: must not be shorter than %s (%s), got %s", path, lo_key,
                             format_span(a, lo), format_span(b, hi));
}

/* ------------------------------------------------------------------------------------------ */
/* URLs */

struct url_info {
        bool https;
        bool local; /* 127.0.0.1, localhost or ::1 */
        char host[256];
};

/* Returns NULL if url is a usable http(s) URL, else what is wrong with it. api: the stricter
 * rules of the API base URL (no user info, no query). */
static const char *url_problem(const char *url, bool api, struct url_info *ret) {
        const char *p, *host, *host_end, *port = NULL;
        size_t n;

        if (strncasecmp(url, "https://", 8) == 0)
                p = url + 8;
        else if (strncasecmp(url, "http://", 7) == 0)
                p = url + 7;
        else
                return "must start with \"http://\" or \"https://\"";
        for (const char *c = url; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f)
                        return "must not contain spaces or control characters";
        n = strcspn(p, "/?#");
        host = memrchr(p, '@', n);
        if (host && api)
                return "must not contain user info (\"user@\"); "
                       "put the API key in key_file or key_credential";
        host = host ? host + 1 : p;
        if (*host == '[') {
                host_end = memchr(host, ']', (size_t) (p + n - host));
                if (!host_end)
                        return "has no host";
                host++;
                port = host_end[1] == ':' ? host_end + 2 : NULL;
                if (!port && host_end + 1 != p + n)
                        return "has an invalid port";
        } else {
                host_end = memchr(host, ':', (size_t) (p + n - host));
                port = host_end ? host_end + 1 : NULL;
                host_end = host_end ? host_end : p + n;
        }
        if (host_end == host || (size_t) (host_end - host) >= sizeof(ret->host))
                return "has no host";
        if (port) {
                size_t digits = (size_t) (p + n - port);
                unsigned long v = strtoul(port, NULL, 10);
                if (digits < 1 || digits > 5 || strspn(port, "0123456789") < digits || v < 1 || v > 65535)
                        return "has an invalid port";
        }
        if (api && strchr(url, '?'))
                return "must not contain a query (\"?...\")";
        if (strchr(url, '#'))
                return "must not contain a fragment (\"#...\")";
        memcpy(ret->host, host, (size_t) (host_end - host));
        ret->host[host_end - host] = '\0';
        ret->https = strncasecmp(url, "https://", 8) == 0;
        ret->local = strcasecmp(ret->host, "localhost") == 0 || streq(ret->host, "127.0.0.1") ||
                streq(ret->host, "::1");
        return NULL;
}

static int get_url(const struct scope *sc, const char *key, bool api, char **ret) {
        _cleanup_free_ char *path = NULL, *url = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, key, &path);
        struct url_info info;
        const char *v = NULL, *problem;

        if (!s)
                return 0;
        if (value_string(sc->l, s, path, &v) < 0)
                return -EINVAL;
        /* Never echo the URL: webhook URLs (Slack's, for one) are credentials themselves. */
        problem = url_problem(v, api, &info);
        if (problem) {
                report_error(sc->l, s, "%s: %s", path, problem);
                return -EINVAL;
        }
        url = xstrdup(v);
        if (api) {
                for (size_t n = strlen(url); n > 0 && url[n - 1] == '/'; n--)
                        url[n - 1] = '\0';
                if (!info.https && !info.local) {
                        q = cescape(info.host);
                        report_warning(sc->l, s,
                                       "%s: the API key would travel in clear text to \"%s\"; use https://",
                                       path, q);
                }
        }
        *ret = TAKE_PTR(url);
        return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Secrets: the API key of an account, the signing secret of a webhook */

struct secret_keys {
        const char *file, *credential, *value;
        bool required;
        const char *missing; /* message when required and none is set */
        bool is_account;
        bool is_url;         /* a webhook URL: written inline it is a URL, not a secret */
        const char *what;    /* what the value is, for problem's message */
        /* What is wrong with a value read from a file or credential, or NULL; the value is
         * never echoed. NULL: any value without control characters is fine. */
        const char *(*problem)(const char *value);
};

struct secret_fields {
        char **file, **credential, **value;
        bool *is_inline;
};

/* A "whsec_" secret is base64 by convention (Standard Webhooks); better said now than at start. */
static const char *signing_secret_problem(const char *secret) {
        unsigned char *key = NULL;
        size_t n = 0;
        int r = sign_key_from_secret(secret, &key, &n);

        if (key)
                explicit_bzero(key, n);
        free(key);
        return r < 0 ? "starts with \"whsec_\" but the rest is not base64" : NULL;
}

static const char *webhook_url_problem(const char *url) {
        struct url_info info;

        return url_problem(url, false, &info);
}

static const struct secret_keys account_secret_keys = {
        .file = "key_file",
        .credential = "key_credential",
        .value = "key",
        .required = true,
        .missing = "no API key; set one of \"key_file\", \"key_credential\" or \"key\"",
        .is_account = true,
        .what = "API key",
};

static const struct secret_keys webhook_secret_keys = {
        .file = "secret_file",
        .credential = "secret_credential",
        .value = "secret",
        .what = "signing secret",
        .problem = signing_secret_problem,
};

/* Slack incoming-webhook URLs and the like are capabilities: they may come from a file or a
 * credential, since the configuration file is readable by the service's dynamic user. The URL
 * written inline is checked by get_url(), with the same url_problem(). */
static const struct secret_keys webhook_url_keys = {
        .file = "url_file",
        .credential = "url_credential",
        .value = "url",
        .required = true,
        .missing = "\"url\" is required",
        .is_url = true,
        .what = "URL",
        .problem = webhook_url_problem,
};

static bool has_control_chars(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static void strip_trailing_space(char *s) {
        size_t n = strlen(s);

        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
}

/* Reads the file a secret comes from and checks what it holds, as the daemon does; the value is
 * kept only with CONFIG_LOAD_SECRETS (-t erases it at once). */
static void load_secret_file(struct loader *l, const config_setting_t *s, const char *path,
                             const struct secret_keys *k, const char *file, char **ret) {
        _cleanup_free_ char *buf = NULL;
        const char *problem = NULL;
        int r;

        if (l->flags & CONFIG_LOAD_SKIP_SECRETS)
                return;
        r = read_full_file(file, SECRET_MAX, &buf, NULL);
        if (r == -EFBIG)
                report_error(l, s, "%s: \"%s\" is larger than %u bytes", path, file, SECRET_MAX);
        else if (r < 0)
                report_error(l, s, "%s: cannot read \"%s\": %s", path, file, strerror(-r));
        if (r < 0)
                return;
        strip_trailing_space(buf);
        if (!*buf)
                report_error(l, s, "%s: \"%s\" is empty", path, file);
        else if (has_control_chars(buf))
                report_error(l, s, "%s: \"%s\" contains control characters", path, file);
        else if (k->problem && (problem = k->problem(buf)))
                report_error(l, s, "%s: the %s in \"%s\" %s", path, k->what, file, problem);
        else if (l->flags & CONFIG_LOAD_SECRETS)
                *ret = TAKE_PTR(buf);
        buf = erase_and_free(buf);
}

static void load_credential(struct loader *l, const config_setting_t *s, const char *path,
                            const struct secret_keys *k, const char *name, char **ret) {
        _cleanup_free_ char *file = NULL;

        if (!l->credentials_dir) {
                /* inferwatchd -t outside the service: nothing to check against (main.c lists
                 * what it skipped). */
                if (!(l->flags & CONFIG_LOAD_SECRETS))
                        return;
                report_error(l, s,
                             "%s: $CREDENTIALS_DIRECTORY is not set; run inferwatchd from its systemd unit "
                             "(LoadCredential=%s) or use %s",
                             path, name, k->file);
                return;
        }
        file = xasprintf("%s/%s", l->credentials_dir, name);
        load_secret_file(l, s, path, k, file, ret);
}

static bool credential_name_valid(const char *s) {
        return name_valid(s, CREDENTIAL_NAME_LEN_MAX) && !streq(s, ".") && !streq(s, "..");
}

static void parse_inline_secret(const struct scope *sc, const struct secret_keys *k,
                                struct secret_fields f) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, k->value, &path);
        const char *v = NULL, *problem;
        size_t idx;

        if (value_string(sc->l, s, path, &v) < 0)
                return;
        if (!*v || has_control_chars(v)) {
                report_error(sc->l, s, "%s: %s", path,
                             *v ? "must not contain control characters" : "must not be empty");
                return;
        }
        /* Still counted as an inline secret below: the file holds it, valid or not. */
        if (k->problem && (problem = k->problem(v)))
                report_error(sc->l, s, "%s: the %s %s", path, k->what, problem);
        *f.value = xstrdup(v);
        *f.is_inline = true;
        idx = loader_source(sc->l, config_setting_source_file(s));
        if (k->is_account)
                sc->l->sources[idx].inline_key = true;
        else
                sc->l->sources[idx].inline_secret = true;
}

/* The first of the three keys in file order, reporting every later one as a conflict. */
static const char *pick_secret_source(const struct scope *sc, const struct secret_keys *k) {
        const char *keys[3] = { k->file, k->credential, k->value };
        const config_setting_t *first = NULL;
        const char *first_key = NULL;

        for (size_t i = 0; i < 3; i++) {
                const config_setting_t *s = member(sc, keys[i]);
                /* Members keep their file order in the group, even on one line. */
                if (s && (!first || config_setting_index(s) < config_setting_index(first))) {
                        first = s;
                        first_key = keys[i];
                }
        }
        for (size_t i = 0; i < 3; i++) {
                const config_setting_t *s = member(sc, keys[i]);
                _cleanup_free_ char *path = NULL, *at = NULL;
                if (!s || s == first)
                        continue;
                path = member_path(sc, keys[i]);
                at = where(sc->l, first, s);
                report_error(sc->l, s,
                             "%s: conflicts with \"%s\" on %s; set only one of \"%s\", \"%s\" or \"%s\"",
                             path, first_key, at, keys[0], keys[1], keys[2]);
        }
        return first_key;
}

static void parse_credential(const struct scope *sc, const struct secret_keys *k, struct secret_fields f) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, k->credential, &path);
        const char *name = NULL;

        if (value_string(sc->l, s, path, &name) < 0)
                return;
        /* Not echoed either: it might be the secret itself, pasted into the wrong key. */
        if (!credential_name_valid(name)) {
                report_error(sc->l, s, "%s: invalid credential name; use A-Z a-z 0-9 _ . -", path);
                return;
        }
        *f.credential = xstrdup(name);
        load_credential(sc->l, s, path, k, name, f.value);
}

static void parse_secret_file(const struct scope *sc, const struct secret_keys *k, struct secret_fields f) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, k->file, &path);

        if (get_path(sc, k->file, false, f.file) > 0)
                load_secret_file(sc->l, s, path, k, *f.file, f.value);
}

static void parse_secret(const struct scope *sc, const struct secret_keys *k, struct secret_fields f) {
        _cleanup_free_ char *prefix = NULL;
        const char *key = pick_secret_source(sc, k);

        if (!key) {
                if (k->required)
                        report_error(sc->l, sc->group, "%s%s", scope_prefix(sc, &prefix), k->missing);
        } else if (streq(key, k->value) && k->is_url)
                (void) get_url(sc, k->value, false, f.value);
        else if (streq(key, k->value))
                parse_inline_secret(sc, k, f);
        else if (streq(key, k->credential))
                parse_credential(sc, k, f);
        else
                parse_secret_file(sc, k, f);
}

/* ------------------------------------------------------------------------------------------ */
/* Lists */

/* A list of groups, e.g. accounts = ( { ... }, { ... } ). Returns NULL when absent or wrong; an
 * empty list is returned as is. */
static const config_setting_t *get_group_list(const struct scope *sc, const char *key, bool required,
                                              const char *one) {
        const config_setting_t *s = member(sc, key);

        if (!s) {
                if (required)
                        report_error(sc->l, NULL, "\"%s\" is required", key);
                return NULL;
        }
        if (config_setting_type(s) != CONFIG_TYPE_LIST &&
            !(config_setting_type(s) == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)) {
                type_error(sc->l, s, key, "a list of groups such as ( { ... } )");
                return NULL;
        }
        if (required && config_setting_length(s) == 0) {
                report_error(sc->l, s, "%s: at least one %s is required", key, one);
                return NULL;
        }
        return s;
}

/* The element, if it is a group. */
static const config_setting_t *group_elem(struct loader *l, const config_setting_t *list, unsigned i,
                                          const char *path) {
        const config_setting_t *g = config_setting_get_elem(list, i);

        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
                type_error(l, g, path, "a group { ... }");
                return NULL;
        }
        return g;
}

typedef bool (*string_check_t)(struct loader *l, const config_setting_t *s, const char *path, const char *v);

/* An array or list of strings, each accepted by check (which reports its own problems). */
static int value_strings(struct loader *l, const config_setting_t *s, const char *path, string_check_t check,
                         char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0;

        if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
                return type_error(l, s, path, "an array of strings such as [ \"a\", \"b\" ]");
        for (int i = 0; i < config_setting_length(s); i++) {
                const config_setting_t *e = config_setting_get_elem(s, (unsigned) i);
                _cleanup_free_ char *epath = xasprintf("%s[%d]", path, i);
                const char *str = NULL;

                if (value_string(l, e, epath, &str) > 0 && check(l, e, epath, str))
                        *(char **) array_append(&v, &n, sizeof(char *)) = xstrdup(str);
        }
        *ret = v;
        *ret_n = n;
        return 1;
}

static int value_empty_error(struct loader *l, const config_setting_t *s, const char *path,
                             const char *every) {
        report_error(l, s, "%s: must not be empty; leave it out to match every %s", path, every);
        return -EINVAL;
}

static int get_strings(const struct scope *sc, const char *key, string_check_t check, char ***ret,
                       size_t *ret_n) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, key, &path);

        return s ? value_strings(sc->l, s, path, check, ret, ret_n) : 0;
}

/* An optional filter list: absent means everything, so an empty one is refused as a likely slip. */
static int get_filter_strings(const struct scope *sc, const char *key, const char *every,
                              string_check_t check, char ***ret, size_t *ret_n) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, key, &path);

        if (!s)
                return 0;
        if (config_setting_is_aggregate(s) && config_setting_length(s) == 0)
                return value_empty_error(sc->l, s, path, every);
        return value_strings(sc->l, s, path, check, ret, ret_n);
}

/* ------------------------------------------------------------------------------------------ */
/* Names of accounts and webhooks */

struct name_seen {
        const char *name;
        const config_setting_t *group;
};

/* The names given so far in one list, default names included, with the groups that gave them. */
struct names_seen {
        struct name_seen *v;
        size_t n;
};

/* Accounts are referred to by name, webhooks keep their spools under it: each name once per list.
 * what: "account", "webhook". */
static void check_name_unique(struct loader *l, const config_setting_t *g, const char *path, const char *what,
                              const char *name, struct names_seen *seen) {
        const config_setting_t *s = config_setting_get_member(g, "name");
        struct name_seen *e;

        if (!name)
                return;
        for (size_t i = 0; i < seen->n; i++)
                if (streq(seen->v[i].name, name)) {
                        _cleanup_free_ char *at = where(l, seen->v[i].group, s ? s : g);
                        report_error(l, s ? s : g, "%s%s: duplicate %s name \"%s\" (first at %s)", path,
                                     s ? ".name" : "", what, name, at);
                        return;
                }
        e = array_append(&seen->v, &seen->n, sizeof(*e));
        *e = (struct name_seen) { name, g };
}

/* ------------------------------------------------------------------------------------------ */
/* Accounts */

static const char *const account_keys[] = {
        "name",
        "url",
        "key_file",
        "key_credential",
        "key",
        "ca_file",
        "connect_timeout",
        "timeout",
        "max_response_size",
        "page_size",
        NULL,
};

static void parse_account(struct loader *l, const config_setting_t *g, const char *path, struct account *a,
                          bool only, struct names_seen *names) {
        const struct scope sc = { l, g, path };
        int r1, r2;

        *a = (struct account) {
                .connect_timeout = 5 * USEC_PER_SEC,
                .timeout = 30 * USEC_PER_SEC,
                .max_response_size = 8 * MIB,
                .page_size = 100,
                .line = config_setting_source_line(g),
        };
        if (get_name(&sc, "name", &a->name) == 0) {
                if (only)
                        a->name = xstrdup("default");
                else
                        report_error(l, g, "%s: \"name\" is required when several accounts are defined",
                                     path);
        }
        check_name_unique(l, g, path, "account", a->name, names);
        if (get_url(&sc, "url", true, &a->url) == 0)
                a->url = xstrdup(DEFAULT_API_URL);
        parse_secret(&sc, &account_secret_keys,
                     (struct secret_fields) { &a->key_file, &a->key_credential, &a->key, &a->key_inline });
        (void) get_path(&sc, "ca_file", true, &a->ca_file);
        r1 = get_duration(&sc, "connect_timeout", 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE,
                          &a->connect_timeout);
        r2 = get_duration(&sc, "timeout", 100 * USEC_PER_MSEC, 10 * USEC_PER_MINUTE, &a->timeout);
        /* A short timeout alone is a request, not an error: the default connect timeout yields. */
        if (r1 == 0 && r2 > 0)
                a->connect_timeout = MIN(a->connect_timeout, a->timeout);
        if (r1 >= 0 && r2 >= 0)
                check_order(&sc, "connect_timeout", a->connect_timeout, "timeout", a->timeout, "timeout");
        (void) get_size(&sc, "max_response_size", KIB, GIB, &a->max_response_size);
        (void) get_unsigned(&sc, "page_size", 1, 1000, &a->page_size);
        warn_unknown_keys(&sc, account_keys);
}

static void parse_accounts(struct loader *l, const config_setting_t *root, struct config *c) {
        const struct scope sc = { l, root, NULL };
        const config_setting_t *list = get_group_list(&sc, "accounts", true, "account");
        unsigned n = list ? (unsigned) config_setting_length(list) : 0;
        struct names_seen names = {};

        /* Allocated up front: projects keep pointers into this array. */
        c->accounts = xcalloc(n, sizeof(struct account));
        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *path = xasprintf("accounts[%u]", i);
                const config_setting_t *g = group_elem(l, list, i, path);
                if (g)
                        parse_account(l, g, path, &c->accounts[c->n_accounts++], n == 1, &names);
        }
        free(names.v);
}

/* ------------------------------------------------------------------------------------------ */
/* Projects */

static const char *const project_keys[] = { "id", "account", "deployments", NULL };

static bool deployment_name_valid(const char *s) {
        size_t n = strlen(s);

        return n >= 1 && n <= DEPLOYMENT_NAME_LEN_MAX && !strchr(s, '/') && !has_control_chars(s);
}

static bool check_deployment_name(struct loader *l, const config_setting_t *s, const char *path,
                                  const char *v) {
        _cleanup_free_ char *q = NULL;

        if (deployment_name_valid(v))
                return true;
        q = cescape(v);
        report_error(l, s,
                     "%s: invalid deployment name \"%s\"; use 1 to %u characters without \"/\" or control "
                     "characters",
                     path, q, DEPLOYMENT_NAME_LEN_MAX);
        return false;
}

struct named_elem {
        const char *name;
        unsigned idx;
};

static int named_elem_compare(const void *a, const void *b) {
        const struct named_elem *x = a, *y = b;
        int r = strcmp(x->name, y->name);

        return r != 0 ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Sorting instead of comparing every pair: a project may list thousands of deployments. */
static void check_deployments_unique(struct loader *l, const config_setting_t *list, const char *path) {
        unsigned n = (unsigned) config_setting_length(list);
        _cleanup_free_ struct named_elem *v = xcalloc(n, sizeof(*v));
        size_t m = 0;

        for (unsigned i = 0; i < n; i++) {
                const config_setting_t *e = config_setting_get_elem(list, i);
                if (config_setting_type(e) == CONFIG_TYPE_STRING &&
                    deployment_name_valid(config_setting_get_string(e)))
                        v[m++] = (struct named_elem) { config_setting_get_string(e), i };
        }
        qsort(v, m, sizeof(*v), named_elem_compare);
        for (size_t i = 1, first = 0; i < m; i++) {
                if (!streq(v[i].name, v[first].name)) {
                        first = i;
                        continue;
                }
                const config_setting_t *dup = config_setting_get_elem(list, v[i].idx);
                _cleanup_free_ char *q = cescape(v[i].name);
                _cleanup_free_ char *at = where(l, config_setting_get_elem(list, v[first].idx), dup);
                report_error(l, dup, "%s[%u]: duplicate deployment \"%s\" (first at %s)", path, v[i].idx, q,
                             at);
        }
}

static void parse_deployments(const struct scope *sc, struct project *p) {
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, "deployments", &path);
        const char *what = "\"*\" or an array of deployment names";

        if (!s) {
                report_error(sc->l, sc->group,
                             "%s: \"deployments\" is required (\"*\" or an array of names)", sc->path);
                return;
        }
        if (config_setting_type(s) == CONFIG_TYPE_STRING) {
                p->all = streq(config_setting_get_string(s), "*");
                if (!p->all) {
                        q = cescape(config_setting_get_string(s));
                        report_error(sc->l, s, "%s: expected %s, got \"%s\" (write [ \"%s\" ] for one)",
                                     path, what, q, q);
                }
                return;
        }
        if (!config_setting_is_aggregate(s) || config_setting_is_group(s)) {
                type_error(sc->l, s, path, what);
                return;
        }
        if (config_setting_length(s) == 0) {
                report_error(sc->l, s, "%s: must not be empty; list deployment names or use \"*\"", path);
                return;
        }
        (void) value_strings(sc->l, s, path, check_deployment_name, &p->deployments, &p->n_deployments);
        check_deployments_unique(sc->l, s, path);
}

static void resolve_project_account(const struct scope *sc, const struct config *c, struct project *p) {
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, "account", &path);
        const char *name = NULL;

        if (c->n_accounts == 0)
                return; /* "accounts" is missing or wrong, and reported */
        if (!s) {
                if (c->n_accounts == 1)
                        p->account = &c->accounts[0];
                else
                        report_error(sc->l, sc->group,
                                     "%s: \"account\" is required when several accounts are defined",
                                     sc->path);
                return;
        }
        if (value_string(sc->l, s, path, &name) < 0)
                return;
        p->account = config_find_account(c, name);
        if (!p->account) {
                q = cescape(name);
                report_error(sc->l, s, "%s: no account named \"%s\"", path, q);
        }
}

/* groups[i]: the group c->projects[i] came from. */
static void check_project_unique(struct loader *l, const config_setting_t *g, const char *path,
                                 const struct config *c, const struct project *p,
                                 const config_setting_t *const *groups) {
        for (size_t i = 0; p->account && p->id > 0 && &c->projects[i] != p; i++)
                if (c->projects[i].account == p->account && c->projects[i].id == p->id) {
                        _cleanup_free_ char *at = where(l, groups[i], g);
                        report_error(l, g, "%s: duplicate project %" PRIi64 " of account \"%s\" (first at %s)",
                                     path, p->id, p->account->name, at);
                        return;
                }
}

static void parse_project(struct loader *l, const config_setting_t *g, const char *path, struct config *c,
                          struct project *p, const config_setting_t *const *groups) {
        const struct scope sc = { l, g, path };

        p->line = config_setting_source_line(g);
        if (get_int(&sc, "id", 1, PROJECT_ID_MAX, &p->id) == 0)
                report_error(l, g, "%s: \"id\" is required", path);
        resolve_project_account(&sc, c, p);
        check_project_unique(l, g, path, c, p, groups);
        parse_deployments(&sc, p);
        warn_unknown_keys(&sc, project_keys);
}

static void parse_projects(struct loader *l, const config_setting_t *root, struct config *c) {
        const struct scope sc = { l, root, NULL };
        const config_setting_t *list = get_group_list(&sc, "projects", true, "project");
        unsigned n = list ? (unsigned) config_setting_length(list) : 0;
        _cleanup_free_ const config_setting_t **groups = xcalloc(n, sizeof(*groups));

        c->projects = xcalloc(n, sizeof(struct project));
        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *path = xasprintf("projects[%u]", i);
                const config_setting_t *g = group_elem(l, list, i, path);
                if (!g)
                        continue;
                groups[c->n_projects] = g;
                parse_project(l, g, path, c, &c->projects[c->n_projects++], groups);
        }
}

/* ------------------------------------------------------------------------------------------ */
/* Webhooks */

static const char *const webhook_keys[] = {
        "name",        "url",
        "format",      "headers",
        "events",      "min_priority",
        "deployments", "projects",
        "secret_file", "secret_credential",
        "secret",      "ca_file",
        "timeout",     "retry_max_interval",
        "url_file",    "url_credential",
        NULL,
};

static const char *const webhook_format_table[_WEBHOOK_FORMAT_MAX] = {
        [WEBHOOK_FORMAT_JSON] = "json",
        [WEBHOOK_FORMAT_SLACK] = "slack",
        [WEBHOOK_FORMAT_ALERTMANAGER] = "alertmanager",
};

/* inferwatchd sets these itself; a second copy would corrupt the request or its signature. */
static bool header_reserved(const char *name, size_t n) {
        static const char *const reserved[] = { "Content-Type", "Content-Length", "Host" };

        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (strlen(reserved[i]) == n && strncasecmp(name, reserved[i], n) == 0)
                        return true;
        return n >= 8 && strncasecmp(name, "webhook-", 8) == 0;
}

/* Values are never echoed: extra headers usually carry tokens. */
static bool check_header(struct loader *l, const config_setting_t *s, const char *path, const char *v) {
        size_t n =
                strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~");
        _cleanup_free_ char *name = xstrndup(v, n);
        const char *value;

        if (strpbrk(v, "\r\n")) {
                report_error(l, s, "%s: header must not contain CR or LF", path);
                return false;
        }
        if (!strchr(v, ':')) {
                report_error(l, s, "%s: missing \":\" after the header name", path);
                return false;
        }
        if (n == 0 || v[n] != ':') {
                report_error(l, s,
                             "%s: invalid header name; it must be an HTTP token (A-Z a-z 0-9 "
                             "!#$%%&'*+-.^_`|~) followed by \":\"",
                             path);
                return false;
        }
        value = v + n + 1 + strspn(v + n + 1, " \t");
        if (header_reserved(v, n))
                report_error(l, s, "%s: header \"%s\" is set by inferwatchd and cannot be overridden", path,
                             name);
        else if (!*value)
                report_error(l, s, "%s: header \"%s\" has an empty value", path, name);
        else if (has_control_chars(value))
                report_error(l, s, "%s: header \"%s\" has control characters in its value", path, name);
        else
                return true;
        return false;
}

static bool check_event_glob(struct loader *l, const config_setting_t *s, const char *path, const char *v) {
        const char *names[_EVENT_TYPE_MAX];
        _cleanup_free_ char *q = NULL, *hint = NULL;

        for (int t = 0; t < _EVENT_TYPE_MAX; t++) {
                names[t] = event_type_to_string(t);
                if (glob_match(v, names[t]))
                        return true;
        }
        q = cescape(v);
        hint = did_you_mean(names, _EVENT_TYPE_MAX, v);
        report_error(l, s, "%s: unknown event type \"%s\"%s", path, q, hint);
        return false;
}

static bool check_glob(struct loader *l, const config_setting_t *s, const char *path, const char *v) {
        _cleanup_free_ char *q = NULL;

        if (*v && !has_control_chars(v))
                return true;
        q = cescape(v);
        report_error(l, s, "%s: invalid pattern \"%s\"; it must be non-empty without control characters",
                     path, q);
        return false;
}

static void parse_format(const struct scope *sc, struct webhook *w) {
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, "format", &path);
        const char *v = NULL;

        if (!s || value_string(sc->l, s, path, &v) < 0)
                return;
        for (int f = 0; f < _WEBHOOK_FORMAT_MAX; f++)
                if (streq(v, webhook_format_table[f])) {
                        w->format = f;
                        return;
                }
        q = cescape(v);
        report_error(sc->l, s, "%s: unknown format \"%s\"; use \"json\", \"slack\" or \"alertmanager\"",
                     path, q);
}

static void parse_min_priority(const struct scope *sc, struct webhook *w) {
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, "min_priority", &path);
        int64_t v;
        int p;

        if (!s)
                return;
        if (config_setting_type(s) != CONFIG_TYPE_STRING) {
                if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
                        type_error(sc->l, s, path,
                                   "a priority name (emerg, alert, crit, err, warning, notice, info, "
                                   "debug) or 0..7");
                else if (value_int(sc->l, s, path, 0, 7, &v) > 0)
                        w->min_priority = (int) v;
                return;
        }
        p = priority_from_string(config_setting_get_string(s));
        if (p >= 0) {
                w->min_priority = p;
                return;
        }
        q = cescape(config_setting_get_string(s));
        report_error(sc->l, s,
                     "%s: unknown priority \"%s\"; use emerg, alert, crit, err, warning, notice, info, "
                     "debug or 0..7",
                     path, q);
}

static void parse_webhook_projects(const struct scope *sc, struct webhook *w) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, "projects", &path);

        if (!s)
                return;
        if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
                type_error(sc->l, s, path, "an array of integers such as [ 1, 2 ]");
                return;
        }
        if (config_setting_length(s) == 0) {
                value_empty_error(sc->l, s, path, "project");
                return;
        }
        for (int i = 0; i < config_setting_length(s); i++) {
                _cleanup_free_ char *epath = xasprintf("%s[%d]", path, i);
                int64_t id;
                if (value_int(sc->l, config_setting_get_elem(s, (unsigned) i), epath, 1, PROJECT_ID_MAX,
                              &id) > 0)
                        *(int64_t *) array_append(&w->projects, &w->n_projects, sizeof(int64_t)) = id;
        }
}

static void parse_webhook(struct loader *l, const config_setting_t *g, const char *path, unsigned idx,
                          struct webhook *w, struct names_seen *names) {
        const struct scope sc = { l, g, path };

        *w = (struct webhook) {
                .format = WEBHOOK_FORMAT_JSON,
                .min_priority = 7,
                .timeout = 10 * USEC_PER_SEC,
                .retry_max_interval = 5 * USEC_PER_MINUTE,
                .line = config_setting_source_line(g),
        };
        if (get_name(&sc, "name", &w->name) == 0)
                w->name = xasprintf("webhook-%u", idx + 1);
        check_name_unique(l, g, path, "webhook", w->name, names);
        parse_secret(&sc, &webhook_url_keys,
                     (struct secret_fields) { &w->url_file, &w->url_credential, &w->url, &(bool) { false } });
        parse_format(&sc, w);
        (void) get_strings(&sc, "headers", check_header, &w->headers, &w->n_headers);
        (void) get_filter_strings(&sc, "events", "event type", check_event_glob, &w->events, &w->n_events);
        parse_min_priority(&sc, w);
        (void) get_filter_strings(&sc, "deployments", "deployment", check_glob, &w->deployments,
                                  &w->n_deployments);
        parse_webhook_projects(&sc, w);
        parse_secret(&sc, &webhook_secret_keys,
                     (struct secret_fields) { &w->secret_file, &w->secret_credential, &w->secret,
                                              &w->secret_inline });
        (void) get_path(&sc, "ca_file", true, &w->ca_file);
        (void) get_duration(&sc, "timeout", 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, &w->timeout);
        (void) get_duration(&sc, "retry_max_interval", USEC_PER_SEC, USEC_PER_DAY, &w->retry_max_interval);
        warn_unknown_keys(&sc, webhook_keys);
}

static void parse_webhooks(struct loader *l, const config_setting_t *root, struct config *c) {
        const struct scope sc = { l, root, NULL };
        const config_setting_t *list = get_group_list(&sc, "webhooks", false, "webhook");
        unsigned n = list ? (unsigned) config_setting_length(list) : 0;
        struct names_seen names = {};

        c->webhooks = xcalloc(n, sizeof(struct webhook));
        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *path = xasprintf("webhooks[%u]", i);
                const config_setting_t *g = group_elem(l, list, i, path);
                if (g)
                        parse_webhook(l, g, path, i, &c->webhooks[c->n_webhooks++], &names);
        }
        free(names.v);
}

/* ------------------------------------------------------------------------------------------ */
/* The top level */

static const char *const top_keys[] = {
        "interval",
        "fast_interval",
        "stuck_after",
        "for",
        "resolve_for",
        "repeat_interval",
        "unreachable_after",
        "max_in_flight",
        "state_directory",
        "spool_max_size",
        "spool_max_age",
        "accounts",
        "projects",
        "webhooks",
        NULL,
};

static void parse_state_directory(struct loader *l, const struct scope *sc, struct config *c) {
        const char *env = getenv("STATE_DIRECTORY");
        _cleanup_free_ char *q = NULL;

        if (get_path(sc, "state_directory", true, &c->state_directory) != 0)
                return;
        /* systemd passes one entry per StateDirectory=, colon-separated; ours is the first. */
        if (env && *env) {
                c->state_directory = xstrndup(env, strcspn(env, ":"));
                if (c->state_directory[0] != '/') {
                        q = cescape(c->state_directory);
                        report_error(l, NULL, "$STATE_DIRECTORY: must be an absolute path, got \"%s\"", q);
                }
        } else
                c->state_directory = xstrdup(STATEDIR);
}

static void config_defaults(struct config *c) {
        c->interval = 60 * USEC_PER_SEC;
        c->fast_interval = 2 * USEC_PER_SEC;
        c->stuck_after = 15 * USEC_PER_MINUTE;
        c->alert_for = 2;
        c->resolve_for = 1;
        c->repeat_interval = 4 * USEC_PER_HOUR;
        c->unreachable_after = 3;
        c->max_in_flight = 16;
        c->spool_max_size = 64 * MIB;
        c->spool_max_age = 7 * USEC_PER_DAY;
}

static void parse_globals(struct loader *l, const config_setting_t *root, struct config *c) {
        const struct scope sc = { l, root, NULL };
        int r1, r2;

        config_defaults(c);
        r1 = get_duration(&sc, "interval", USEC_PER_SEC, USEC_PER_DAY, &c->interval);
        r2 = get_duration(&sc, "fast_interval", 100 * USEC_PER_MSEC, USEC_PER_HOUR, &c->fast_interval);
        if (r1 >= 0 && r2 >= 0)
                check_order(&sc, "fast_interval", c->fast_interval, "interval", c->interval,
                            "fast_interval");
        (void) get_duration(&sc, "stuck_after", USEC_PER_SEC, 7 * USEC_PER_DAY, &c->stuck_after);
        (void) get_unsigned(&sc, "for", 1, ALERT_POLLS_MAX, &c->alert_for);
        (void) get_unsigned(&sc, "resolve_for", 1, ALERT_POLLS_MAX, &c->resolve_for);
        (void) get_units(&sc, "repeat_interval", &duration_kind, USEC_PER_SEC, 30 * USEC_PER_DAY, true,
                         &c->repeat_interval);
        (void) get_unsigned(&sc, "unreachable_after", 1, 1000, &c->unreachable_after);
        (void) get_unsigned(&sc, "max_in_flight", 1, 1024, &c->max_in_flight);
        parse_state_directory(l, &sc, c);
        (void) get_size(&sc, "spool_max_size", 64 * KIB, 16 * GIB, &c->spool_max_size);
        (void) get_duration(&sc, "spool_max_age", USEC_PER_SEC, 365 * USEC_PER_DAY, &c->spool_max_age);
        warn_unknown_keys(&sc, top_keys);
}

/* A file holding an inline secret should be readable by its owner only. */
static void check_modes(struct loader *l) {
        for (size_t i = 0; i < l->n_sources; i++) {
                const struct source *s = &l->sources[i];
                struct stat st;

                if (!(s->inline_key || s->inline_secret) || stat(s->name, &st) < 0 || !(st.st_mode & 0044))
                        continue;
                report_at(l, i, 0, false,
                          "contains an inline secret but is readable by group/others (mode %04o); "
                          "chmod 600 it or use %s%s%s",
                          (unsigned) (st.st_mode & 07777), s->inline_key ? "key_file/key_credential" : "",
                          s->inline_key && s->inline_secret ? " and " : "",
                          s->inline_secret ? "secret_file/secret_credential" : "");
        }
}

static void parse_root(struct loader *l, const config_setting_t *root, struct config *c) {
        parse_globals(l, root, c);
        parse_accounts(l, root, c);
        parse_projects(l, root, c);
        parse_webhooks(l, root, c);
}

static void report_syntax_error(struct loader *l, const config_t *cf) {
        size_t src = loader_source(l, config_error_file(cf));

        report_at(l, src, (unsigned) MAX(config_error_line(cf), 0), true, "%s",
                  strempty(config_error_text(cf)));
}

/* Parses the main source of l; every problem lands in l's diagnostics. */
static int loader_run(struct loader *l, struct config **ret) {
        struct config *c;
        config_t cf;

        config_init(&cf);
        if (l->include_dir)
                config_set_include_dir(&cf, l->include_dir);
        if (!config_read_string(&cf, l->sources[0].text)) {
                report_syntax_error(l, &cf);
                config_destroy(&cf);
                return -EINVAL;
        }
        c = xcalloc(1, sizeof(*c));
        c->path = xstrdup(l->sources[0].name);
        parse_root(l, config_root_setting(&cf), c);
        /* Every string we keep was copied: libconfig's die here. */
        config_destroy(&cf);
        if (l->is_file)
                check_modes(l);
        if (l->n_errors > 0) {
                config_free(c);
                return -EINVAL;
        }
        *ret = c;
        return 0;
}

static int load(const char *text, const char *name, unsigned flags, bool is_file, struct config_diag *diag,
                struct config **ret) {
        struct config_diag scratch = {};
        struct loader l;
        int r;

        loader_init(&l, name, text, flags, is_file);
        r = loader_run(&l, ret);
        loader_flush_diag(&l, diag ? diag : &scratch);
        loader_done(&l);
        config_diag_done(&scratch);
        return r;
}

int config_load(const char *path, unsigned flags, struct config_diag *diag, struct config **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = read_full_file(path, CONFIG_FILE_MAX, &text, NULL);
        if (r < 0) {
                if (diag)
                        *(char **) array_append(&diag->errors, &diag->n_errors, sizeof(char *)) =
                                xasprintf("%s: cannot read: %s", path, strerror(-r));
                return r;
        }
        r = load(text, path, flags, true, diag, ret);
        text = erase_and_free(TAKE_PTR(text));
        return r;
}

int config_load_string(const char *text, const char *name, unsigned flags, struct config_diag *diag,
                       struct config **ret) {
        if (!text || !name || !ret)
                return -EINVAL;
        return load(text, name, flags, false, diag, ret);
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void account_done(struct account *a) {
        free(a->name);
        free(a->url);
        free(a->key_file);
        free(a->key_credential);
        erase_and_free(a->key);
        free(a->ca_file);
}

static void webhook_done(struct webhook *w) {
        free(w->name);
        free(w->url);
        strv_free(w->headers, w->n_headers);
        strv_free(w->events, w->n_events);
        strv_free(w->deployments, w->n_deployments);
        free(w->projects);
        free(w->url_file);
        free(w->url_credential);
        free(w->secret_file);
        free(w->secret_credential);
        erase_and_free(w->secret);
        free(w->ca_file);
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_accounts; i++)
                account_done(&c->accounts[i]);
        free(c->accounts);
        for (size_t i = 0; i < c->n_projects; i++)
                strv_free(c->projects[i].deployments, c->projects[i].n_deployments);
        free(c->projects);
        for (size_t i = 0; i < c->n_webhooks; i++)
                webhook_done(&c->webhooks[i]);
        free(c->webhooks);
        free(c->state_directory);
        free(c->path);
        free(c);
        return NULL;
}

void config_diag_print(const struct config_diag *d, FILE *f) {
        for (size_t i = 0; i < d->n_warnings; i++)
                fprintf(f, "%s\n", d->warnings[i]);
        for (size_t i = 0; i < d->n_errors; i++)
                fprintf(f, "%s\n", d->errors[i]);
}

void config_diag_done(struct config_diag *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n_errors; i++)
                free(d->errors[i]);
        free(d->errors);
        for (size_t i = 0; i < d->n_warnings; i++)
                free(d->warnings[i]);
        free(d->warnings);
        *d = (struct config_diag) {};
}

const char *webhook_format_to_string(enum webhook_format f) {
        return f >= 0 && f < _WEBHOOK_FORMAT_MAX ? webhook_format_table[f] : NULL;
}

struct account *config_find_account(const struct config *c, const char *name) {
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_accounts; i++)
                if (streq_ptr(c->accounts[i].name, name))
                        return &c->accounts[i];
        return NULL;
}

const char *const *config_known_keys(const char *group) {
        if (!group)
                return NULL;
        if (streq(group, ""))
                return top_keys;
        if (streq(group, "accounts"))
                return account_keys;
        if (streq(group, "projects"))
                return project_keys;
        if (streq(group, "webhooks"))
                return webhook_keys;
        return NULL;
}
