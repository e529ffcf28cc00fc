/* Shared by the config*.c files only: the loader and its diagnostics (config-diag.c), typed values
 * (config-value.c), secrets (config-secret.c), and the key tables the sections are made of
 * (config-section.c, config-account.c, config-project.c, config-webhook.c, config.c). */
#pragma once

#include <libconfig.h>
#include <stddef.h>

#include "config.h"

#define CONFIG_FILE_MAX (4U * 1024U * 1024U)
#define NAME_LEN_MAX 64U
#define PROJECT_ID_MAX (INT64_C(1) << 53)

/* Short names for the bounds in the key tables. */
#define MSEC USEC_PER_MSEC
#define SEC USEC_PER_SEC
#define MINUTE USEC_PER_MINUTE
#define HOUR USEC_PER_HOUR
#define DAY USEC_PER_DAY
#define KIB (UINT64_C(1024))
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

/* ------------------------------------------------------------------------------------------ */
/* The loader and its diagnostics (config-diag.c) */

/* A file read: the main one, or one named by an @include. */
struct source {
        char *name;         /* the path as given, or an @include's resolved path */
        bool inline_key;    /* holds an account's inline "key" */
        bool inline_secret; /* holds a webhook's inline "secret" */
};

/* Where a line of the text libconfig reads comes from. */
struct line_origin {
        size_t source;
        unsigned line;
        size_t offset; /* of the line's start in the text */
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
        const char *credentials_dir; /* $CREDENTIALS_DIRECTORY */
        struct source *sources;      /* [0] is the main file, then the @includes in order */
        size_t n_sources;
        /* What libconfig parses: the main file with its @includes expanded (config-include.c),
         * erased when done (it may hold inline secrets), and where each of its lines comes from. */
        char *text;
        size_t text_size, text_alloc;
        struct line_origin *lines;
        size_t n_lines;
        char **unchecked;            /* credentials -t could not check, each once */
        size_t n_unchecked;
        struct diag_entry *diags;
        size_t n_diags;
        size_t n_errors;
};

void loader_init(struct loader *l, const char *name, unsigned flags, bool is_file);
void loader_done(struct loader *l);
/* Adds a source (or finds it, by name) and returns its index. */
size_t loader_source(struct loader *l, const char *name);
/* The source and line that line of the text comes from (line 0: the main file as a whole). */
size_t loader_origin(const struct loader *l, unsigned line, unsigned *ret_line);
/* The same for a setting. */
size_t setting_origin(const struct loader *l, const config_setting_t *s, unsigned *ret_line);
/* Expands the @includes of the main file's text into l->text. Returns -EINVAL after reporting
 * an include it refuses (config-include.c). */
int loader_expand(struct loader *l, const char *main_text);
/* The line of the first NUL byte in text (size bytes), 0 if none: a NUL would end the text
 * there and silently drop the rest of the file. */
unsigned nul_line(const char *text, size_t size);
#define NUL_MESSAGE "contains a NUL byte: not a text file, or damaged"
/* Moves the diagnostics, sorted, into diag. */
void loader_flush_diag(struct loader *l, struct config_diag *diag);

/* About setting s, at its file and line; s == NULL or the root: about the main file as a whole. */
_printf_(4, 5) void report(struct loader *l, const config_setting_t *s, bool error, const char *fmt, ...);
_printf_(5, 6) void report_at(struct loader *l, size_t src, unsigned line, bool error, const char *fmt, ...);
#define report_error(l, s, ...) report(l, s, true, __VA_ARGS__)
#define report_warning(l, s, ...) report(l, s, false, __VA_ARGS__)

/* "line 7", or "other.conf:7" when first and the setting being reported live in different files. */
char *where(struct loader *l, const config_setting_t *first, const config_setting_t *now);
/* Report "PATH: expected WHAT, got TYPE" and "PATH: must be between ..."; both return -EINVAL. */
int type_error(struct loader *l, const config_setting_t *s, const char *path, const char *what);
int range_error(struct loader *l, const config_setting_t *s, const char *path, bool zero_ok, const char *min,
                const char *max, const char *got);
/* What a read_full_file() error means, for "cannot read "P": REASON". */
const char *file_error(int r);
/* " (did you mean \"X\"?)" for the closest candidate within edit distance 2, or "". */
char *did_you_mean(const char *const *candidates, size_t n, const char *s);

/* ------------------------------------------------------------------------------------------ */
/* Typed values (config-value.c) */

/* A group being read, and its PATH for messages ("accounts[0]"; NULL at the top level). */
struct scope {
        struct loader *l;
        const config_setting_t *group;
        const char *path;
};

const config_setting_t *member(const struct scope *sc, const char *key);
char *member_path(const struct scope *sc, const char *key);
/* The member called key and its PATH for messages; NULL when absent. */
const config_setting_t *lookup(const struct scope *sc, const char *key, char **ret_path);
int lookup_string(const struct scope *sc, const char *key, const config_setting_t **ret_setting,
                  char **ret_path, const char **ret);
/* "PATH: " or "" at the top level, to prefix messages about the group itself. */
const char *scope_prefix(const struct scope *sc, char **buf);

/* Durations and sizes: an integer in base units (seconds, bytes), or a string with units. */
struct unit_kind;
extern const struct unit_kind duration_kind, size_kind;
char *format_span(char buf[static 64], usec_t d);

/* Each reports its own problem and returns -EINVAL, or sets *ret and returns 1. */
int value_int(struct loader *l, const config_setting_t *s, const char *path, int64_t min, int64_t max,
              int64_t *ret);
int value_string(struct loader *l, const config_setting_t *s, const char *path, const char **ret);

/* The getters return 0 when the key is absent (leaving *ret to its default), 1 when set, or
 * -EINVAL after reporting the problem. */
int get_int(const struct scope *sc, const char *key, int64_t min, int64_t max, int64_t *ret);
int get_unsigned(const struct scope *sc, const char *key, unsigned min, unsigned max, unsigned *ret);
int get_units(const struct scope *sc, const char *key, const struct unit_kind *k, uint64_t min, uint64_t max,
              bool zero_ok, uint64_t *ret);
/* echo: quote a bad value in the message (not for secret sources: users paste keys there). */
int get_path(const struct scope *sc, const char *key, bool echo, char **ret);
int get_name(const struct scope *sc, const char *key, char **ret);
/* api: the stricter rules of the API base URL, trailing slashes removed, a clear-text warning. */
int get_url(const struct scope *sc, const char *key, bool api, char **ret);

bool name_valid(const char *s, size_t max);
bool has_control_chars(const char *s);

struct url_info {
        bool https;
        bool local; /* 127.0.0.1, localhost or ::1 */
        char host[256];
};
/* NULL if url is a usable http(s) URL, else what is wrong with it. */
const char *url_problem(const char *url, bool api, struct url_info *ret);

/* Reports its own problems; false refuses v. */
typedef bool (*string_check_t)(struct loader *l, const config_setting_t *s, const char *path, const char *v);
/* An array or list of strings, each accepted by check. */
int value_strings(struct loader *l, const config_setting_t *s, const char *path, string_check_t check,
                  char ***ret, size_t *ret_n);
int value_empty_error(struct loader *l, const config_setting_t *s, const char *path, const char *every);

/* lo_key ≤ hi_key, e.g. fast_interval ≤ interval, blaming owner when the file sets it. */
void check_order(const struct scope *sc, const char *lo_key, usec_t lo, const char *hi_key, usec_t hi,
                 const char *owner);

/* ------------------------------------------------------------------------------------------ */
/* Key tables (config-section.c): every key of a group is one line of its table. */

struct section_ctx;
struct config_key;

/* Reads key k of the group into obj (the struct the group fills) at k->offset. Returns 0 when
 * the key is absent, 1 when set, -EINVAL after reporting a problem. */
typedef int (*config_parse_t)(struct section_ctx *ctx, const struct config_key *k, void *obj);

struct config_key {
        const char *key;
        /* NULL: a known key that another key's parser reads (e.g. "key" with "key_file"). */
        config_parse_t parse;
        size_t offset;
        int64_t min, max; /* for integers, durations (µs) and sizes (bytes) */
        const void *data; /* anything else the parser needs */
};

/* A section of the top level: a list of groups, e.g. accounts = ( { ... }, ... ), read into an
 * array of structs (config_parse_list), or one group, e.g. foo = { ... }, read into a struct
 * embedded in the top level's (config_parse_group). */
struct config_section {
        const char *one;          /* lists: "account", for "at least one account is required" */
        bool required;            /* lists: at least one element */
        const struct config_key *keys; /* ends with { NULL } */
        size_t size;              /* of one element */
        size_t offset_n;          /* lists: of the element count (the key's offset: the array's) */
        size_t offset_line;       /* of the element's "line" */
        const void *defaults;     /* an element with its defaults; NULL: zeros */
        void (*done)(void *elem); /* frees what an element holds */
};

struct section_ctx {
        struct scope sc;          /* the group being read */
        struct config *c;         /* the configuration being built (accounts are read before projects) */
        const struct config_key *keys;
        int *results;             /* what each key's parser returned, by table index */
        /* In a list: this element's index in it, the list's length, the elements read before it,
         * and the groups they came from. */
        unsigned index, count;
        const void *elems;
        size_t elem_size, n_elems;
        const config_setting_t *const *groups;
};

/* Runs the parser of every key of ctx->keys that has one and passes filter (NULL: all). */
void parse_keys(struct section_ctx *ctx, void *obj, bool (*filter)(const struct config_key *k));
/* Reads the top level (root) with its table into obj: the settings, the unknown keys, then the
 * sections (so that messages on a shared line keep the order they always had). */
void parse_top_level(struct loader *l, const config_setting_t *root, const struct config_key *keys, void *obj,
                     struct config *c);
bool is_section(const struct config_key *k);
/* Frees what the sections of keys hold in obj. */
void sections_free(const struct config_key *keys, void *obj);
/* Warns about every member of the group that is not in keys. */
void warn_unknown_keys(const struct scope *sc, const struct config_key *keys);
/* What the parser of key returned, or 0 if it has none or has not run. */
int section_result(const struct section_ctx *ctx, const char *key);
/* Reports a name given twice in one list; the name is a char * at offset in each element. */
void check_name_unique(struct section_ctx *ctx, size_t offset, const char *what, const char *name);

/* The shared parsers. */
int config_parse_unsigned(struct section_ctx *ctx, const struct config_key *k, void *obj);
int config_parse_bool(struct section_ctx *ctx, const struct config_key *k, void *obj);
int config_parse_duration(struct section_ctx *ctx, const struct config_key *k, void *obj);
int config_parse_interval0(struct section_ctx *ctx, const struct config_key *k, void *obj);
int config_parse_size(struct section_ctx *ctx, const struct config_key *k, void *obj);
int config_parse_path(struct section_ctx *ctx, const struct config_key *k, void *obj);
/* data: a struct strings_rule. */
int config_parse_strings(struct section_ctx *ctx, const struct config_key *k, void *obj);
/* data: a struct config_section; the key's offset is that of the array in struct config. */
int config_parse_list(struct section_ctx *ctx, const struct config_key *k, void *obj);
/* data: a struct config_section; the key's offset is that of the struct in struct config, which
 * gets the section's defaults whether the group is there or not. */
int config_parse_group(struct section_ctx *ctx, const struct config_key *k, void *obj);

/* Loads text with keys as its top level into obj, as config_load_string() does with the real
 * table (the tests of the table engine use it). On failure obj may hold what was read: free it
 * with sections_free(). */
int config_load_table(const char *text, const char *name, const struct config_key *keys, void *obj,
                      struct config_diag *diag);
void strv_free(char **v, size_t n);

struct strings_rule {
        string_check_t check;
        size_t offset_n;   /* of the count */
        const char *every; /* an optional filter: an empty list is refused ("match every EVERY") */
};

#define FIELD(obj, offset, type) ((type *) ((char *) (obj) + (offset)))

/* The sections, in config-account.c, config-project.c, config-webhook.c. */
extern const struct config_section account_section, project_section, webhook_section, cluster_section;
/* The groups, in config-metrics.c. */
extern const struct config_section metrics_section;
/* In config-heartbeat.c. */
extern const struct config_section heartbeat_section;

/* ------------------------------------------------------------------------------------------ */
/* Secrets (config-secret.c) */

/* The three keys a secret may come from, and where the struct keeps what was read. */
struct secret_keys {
        const char *file, *credential, *value;
        size_t offset_file, offset_credential, offset_value;
        size_t offset_inline; /* a bool; unused when is_url */
        bool required;
        const char *missing; /* message when required and none is set */
        bool is_account;
        bool is_url;         /* a webhook URL: written inline it is a URL, not a secret */
        const char *what;    /* what the value is, for problem's message */
        /* What is wrong with a value read from a file or credential, or NULL; the value is
         * never echoed. NULL: any value without control characters is fine. */
        const char *(*problem)(const char *value);
};

/* data: a struct secret_keys; reads whichever of its three keys is set (at most one). */
int config_parse_secret(struct section_ctx *ctx, const struct config_key *k, void *obj);
