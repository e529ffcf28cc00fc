/* Typed values of the configuration: integers (and libconfig 1.5's silent truncation of them),
 * durations and sizes with units, paths, names, URLs and lists of strings, each reporting its own
 * problem; and the shared parsers the key tables name. */
#include <ctype.h>
#include <inttypes.h>
#include <strings.h>

#include "config-internal.h"

/* ------------------------------------------------------------------------------------------ */
/* Formatting values for messages */

char *format_span(char buf[static 64], usec_t d) {
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

/* The line of the text setting s is on, or NULL. */
static const char *source_line(const struct loader *l, const config_setting_t *s) {
        unsigned line = config_setting_source_line(s);

        if (!l->text || line < 1 || line > l->n_lines)
                return NULL;
        return l->text + l->lines[line - 1].offset;
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

int value_int(struct loader *l, const config_setting_t *s, const char *path, int64_t min, int64_t max,
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

int value_string(struct loader *l, const config_setting_t *s, const char *path, const char **ret) {
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

const struct unit_kind duration_kind = {
        .what = "a duration such as \"60s\" or a number of seconds",
        .noun = "duration",
        .hint = "use a number of seconds or units such as \"500ms\", \"90s\", \"15m\", \"1h30m\", \"2d\"",
        .int_suffix = "s",
        .int_factor = USEC_PER_SEC,
        .parse = parse_duration,
        .format = format_span,
};

const struct unit_kind size_kind = {
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
/* ------------------------------------------------------------------------------------------ */
/* Members of a group */

const config_setting_t *member(const struct scope *sc, const char *key) {
        return config_setting_get_member(sc->group, key);
}

char *member_path(const struct scope *sc, const char *key) {
        return sc->path ? xasprintf("%s.%s", sc->path, key) : xstrdup(key);
}

/* The member called key and its PATH for messages; NULL when absent. */
const config_setting_t *lookup(const struct scope *sc, const char *key, char **ret_path) {
        const config_setting_t *s = member(sc, key);

        if (s)
                *ret_path = member_path(sc, key);
        return s;
}

/* The string member called key: 0 when absent, 1 with *ret_setting, *ret_path and *ret set, or
 * -EINVAL after reporting that it is not a string. */
int lookup_string(const struct scope *sc, const char *key, const config_setting_t **ret_setting,
                  char **ret_path, const char **ret) {
        const config_setting_t *s = lookup(sc, key, ret_path);

        if (!s)
                return 0;
        if (value_string(sc->l, s, *ret_path, ret) < 0)
                return -EINVAL;
        *ret_setting = s;
        return 1;
}

/* "PATH: " or "" at the top level, to prefix messages about the group itself. */
const char *scope_prefix(const struct scope *sc, char **buf) {
        *buf = sc->path ? xasprintf("%s: ", sc->path) : NULL;
        return *buf ? *buf : "";
}

/* The getters return 0 when the key is absent (leaving *ret to its default), 1 when set, or
 * -EINVAL after reporting the problem. */
int get_int(const struct scope *sc, const char *key, int64_t min, int64_t max, int64_t *ret) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, key, &path);

        return s ? value_int(sc->l, s, path, min, max, ret) : 0;
}

int get_unsigned(const struct scope *sc, const char *key, unsigned min, unsigned max, unsigned *ret) {
        int64_t v;
        int r = get_int(sc, key, min, max, &v);

        if (r > 0)
                *ret = (unsigned) v;
        return r;
}

int get_units(const struct scope *sc, const char *key, const struct unit_kind *k, uint64_t min,
              uint64_t max, bool zero_ok, uint64_t *ret) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, key, &path);

        return s ? value_units(sc->l, s, path, k, min, max, zero_ok, ret) : 0;
}

/* Secret sources (key_file, ...) do not echo a bad value: users do paste keys into the wrong key. */
int get_path(const struct scope *sc, const char *key, bool echo, char **ret) {
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = NULL;
        const char *v = NULL;
        int r = lookup_string(sc, key, &s, &path, &v);

        if (r <= 0)
                return r;
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

bool name_valid(const char *s, size_t max) {
        size_t n = strlen(s);

        return n >= 1 && n <= max &&
                strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int get_name(const struct scope *sc, const char *key, char **ret) {
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = NULL;
        const char *v = NULL;
        int r = lookup_string(sc, key, &s, &path, &v);

        if (r <= 0)
                return r;
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

void check_order(const struct scope *sc, const char *lo_key, usec_t lo, const char *hi_key, usec_t hi,
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

/* Returns NULL if url is a usable http(s) URL, else what is wrong with it. api: the stricter
 * rules of the API base URL (no user info, no query). */
const char *url_problem(const char *url, bool api, struct url_info *ret) {
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

int get_url(const struct scope *sc, const char *key, bool api, char **ret) {
        _cleanup_free_ char *path = NULL, *url = NULL, *q = NULL;
        const config_setting_t *s = NULL;
        struct url_info info;
        const char *v = NULL, *problem;
        int r = lookup_string(sc, key, &s, &path, &v);

        if (r <= 0)
                return r;
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
/* ------------------------------------------------------------------------------------------ */
/* Strings */

/* An array or list of strings, each accepted by check (which reports its own problems). */
int value_strings(struct loader *l, const config_setting_t *s, const char *path, string_check_t check,
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

int value_empty_error(struct loader *l, const config_setting_t *s, const char *path,
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

void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

bool has_control_chars(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* ------------------------------------------------------------------------------------------ */
/* The shared parsers of the key tables: k->offset locates the field in obj, k->min and k->max
 * bound the value (µs for durations, bytes for sizes). */

int config_parse_unsigned(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        return get_unsigned(&ctx->sc, k->key, (unsigned) k->min, (unsigned) k->max,
                            FIELD(obj, k->offset, unsigned));
}

int config_parse_bool(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(&ctx->sc, k->key, &path);

        if (!s)
                return 0;
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
                return type_error(ctx->sc.l, s, path, "true or false");
        *FIELD(obj, k->offset, bool) = config_setting_get_bool(s);
        return 1;
}

int config_parse_duration(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        return get_units(&ctx->sc, k->key, &duration_kind, (uint64_t) k->min, (uint64_t) k->max, false,
                         FIELD(obj, k->offset, usec_t));
}

/* 0 stands for "never" (repeat_interval). */
int config_parse_interval0(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        return get_units(&ctx->sc, k->key, &duration_kind, (uint64_t) k->min, (uint64_t) k->max, true,
                         FIELD(obj, k->offset, usec_t));
}

int config_parse_size(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        return get_units(&ctx->sc, k->key, &size_kind, (uint64_t) k->min, (uint64_t) k->max, false,
                         FIELD(obj, k->offset, uint64_t));
}

/* An absolute path, quoted in messages (ca_file). */
int config_parse_path(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        return get_path(&ctx->sc, k->key, true, FIELD(obj, k->offset, char *));
}

int config_parse_strings(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        const struct strings_rule *rule = k->data;
        char ***v = FIELD(obj, k->offset, char **);
        size_t *n = FIELD(obj, rule->offset_n, size_t);

        if (rule->every)
                return get_filter_strings(&ctx->sc, k->key, rule->every, rule->check, v, n);
        return get_strings(&ctx->sc, k->key, rule->check, v, n);
}
