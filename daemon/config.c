/* inferwatch.conf: libconfig text → struct config, validated, with one "FILE:LINE: message" per
 * problem. Nothing here prints: everything goes into struct config_diag.
 *
 * Every message has one of these shapes. FILE is the path as given; an @include is named by its
 * path resolved against the directory of the file holding it (config-include.c). STRERROR is
 * strerror()'s, or "Not a regular file" for a FIFO, a device or a socket. LINE is the line where
 * the setting (or group) starts. PATH names the setting: "interval", "accounts[0].url",
 * "webhooks[1].headers[0]", or a group, "projects[2]". Warnings have "warning: " right after "FILE:LINE: ". Strings from the
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
 * Includes (reading stops after them, as after a syntax error):
 *   FILE:LINE: cannot include "P": STRERROR | more than 10 levels of @include
 *   FILE:LINE: @include: the file name has no closing quote
 *   FILE:LINE: contains a NUL byte: not a text file, or damaged   (the main file too)
 *   FILE:LINE: a string opened here is not closed at the end of the file   (also "a comment"; an
 *                                                            included file only)
 * Syntax, as libconfig words it:
 *   FILE:LINE: syntax error | duplicate setting name | mismatched element type in array | ...
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
 * sorted by file (main file first, then the others in the order they are included), then line,
 * then the order found; whole-file messages first. */

#include <sys/stat.h>

#include "config-internal.h"
#include "logtail.h"

#define ALERT_POLLS_MAX 32U /* "for", "resolve_for": diff.c remembers the last 32 polls */

/* ------------------------------------------------------------------------------------------ */
/* The top level */

static int parse_state_directory(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct config *c = obj;
        const char *env = getenv("STATE_DIRECTORY");
        _cleanup_free_ char *q = NULL;
        int r = get_path(&ctx->sc, k->key, true, &c->state_directory);

        if (r != 0)
                return r;
        /* systemd passes one entry per StateDirectory=, colon-separated; ours is the first. */
        if (env && *env) {
                c->state_directory = xstrndup(env, strcspn(env, ":"));
                if (c->state_directory[0] != '/') {
                        q = cescape(c->state_directory);
                        report_error(ctx->sc.l, NULL,
                                     "$STATE_DIRECTORY: must be an absolute path, got \"%s\"", q);
                }
        } else
                c->state_directory = xstrdup(STATEDIR);
        return 0;
}

/* Read after interval, which bounds it. */
static int parse_fast_interval(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct config *c = obj;
        int r1 = section_result(ctx, "interval");
        int r2 = config_parse_duration(ctx, k, obj);

        if (r1 >= 0 && r2 >= 0)
                check_order(&ctx->sc, "fast_interval", c->fast_interval, "interval", c->interval,
                            "fast_interval");
        return r2;
}

/* Read after flap_returns: within flap_window polls a deployment can come back at most
 * flap_window - 2 times (the first two polls only set the states it comes back to), so more
 * than flap_returns returns needs flap_window ≥ flap_returns + 3. A smaller window is a flap
 * detector that can never trigger: most likely a mistake, warned about at the key the file
 * sets, but not refused, since it is also how a configuration turns flap detection off (and a
 * service that started before must start after an upgrade). */
static int parse_flap_window(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct config *c = obj;
        int r1 = section_result(ctx, "flap_returns");
        int r2 = config_parse_unsigned(ctx, k, obj);
        const char *blame = "flap_window";
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s;

        if (r1 < 0 || r2 < 0 || c->flap_returns + 3 <= c->flap_window)
                return r2;
        s = lookup(&ctx->sc, blame, &path);
        if (!s) {
                blame = "flap_returns";
                s = lookup(&ctx->sc, blame, &path);
        }
        report_warning(ctx->sc.l, s, "%s: flap_returns = %u needs flap_window of at least %u polls (it can come back "
                       "at most flap_window - 2 times), got %u: flap detection is off", path, c->flap_returns,
                       c->flap_returns + 3, c->flap_window);
        return r2;
}

#define C(field) offsetof(struct config, field)
static const struct config_key top_keys[] = {
        { "interval",          config_parse_duration,  C(interval),          SEC,        DAY },
        { "fast_interval",     parse_fast_interval,    C(fast_interval),     100 * MSEC, HOUR },
        { "stuck_after",       config_parse_duration,  C(stuck_after),       SEC,        7 * DAY },
        { "for",               config_parse_unsigned,  C(alert_for),         1,          ALERT_POLLS_MAX },
        { "resolve_for",       config_parse_unsigned,  C(resolve_for),       1,          ALERT_POLLS_MAX },
        { "repeat_interval",   config_parse_interval0, C(repeat_interval),   SEC,        30 * DAY },
        { "unreachable_after", config_parse_unsigned,  C(unreachable_after), 1,          1000 },
        { "flap_returns",      config_parse_unsigned,  C(flap_returns),      1,          30 },
        { "flap_window",       parse_flap_window,      C(flap_window),       3,          32 },
        { "flap_stable",       config_parse_duration,  C(flap_stable),       SEC,        DAY },
        { "max_in_flight",     config_parse_unsigned,  C(max_in_flight),     1,          1024 },
        { "state_directory",   parse_state_directory },
        { "spool_max_size",    config_parse_size,      C(spool_max_size),    64 * KIB,   16 * GIB },
        { "spool_max_age",     config_parse_duration,  C(spool_max_age),     SEC,        365 * DAY },
        { "log_tail_lines",    config_parse_unsigned,  C(log_tail_lines),    0,          LOGTAIL_LINES_MAX },
        { "metrics",           config_parse_group,     C(metrics),           .data = &metrics_section },
        { "heartbeat",         config_parse_group,     C(heartbeat),         .data = &heartbeat_section },
        /* The sections, in this order: projects name accounts. */
        { "accounts",          config_parse_list,      C(accounts),          .data = &account_section },
        { "projects",          config_parse_list,      C(projects),          .data = &project_section },
        { "webhooks",          config_parse_list,      C(webhooks),          .data = &webhook_section },
        { "cluster",           config_parse_group,     C(cluster),           .data = &cluster_section },
        {}
};
#undef C

static const struct config config_defaults = {
        .interval = 60 * USEC_PER_SEC,
        .fast_interval = 2 * USEC_PER_SEC,
        .stuck_after = 15 * USEC_PER_MINUTE,
        .alert_for = 2,
        .resolve_for = 1,
        .repeat_interval = 4 * USEC_PER_HOUR,
        .unreachable_after = 3,
        .flap_returns = 1,
        .flap_window = 10,
        .flap_stable = 5 * USEC_PER_MINUTE,
        .max_in_flight = 16,
        .spool_max_size = 64 * MIB,
        .spool_max_age = 7 * USEC_PER_DAY,
        .log_tail_lines = 5,
};

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

static void report_syntax_error(struct loader *l, const config_t *cf) {
        unsigned line;
        size_t src = loader_origin(l, (unsigned) MAX(config_error_line(cf), 0), &line);

        report_at(l, src, line, true, "%s", strempty(config_error_text(cf)));
}

/* Parses text, the main source of l, with keys as its top level into obj; every problem lands in
 * l's diagnostics. Returns -EINVAL if there was an error. */
static int loader_parse(struct loader *l, const char *text, const struct config_key *keys, void *obj,
                        struct config *c) {
        config_t cf;

        /* libconfig opens no file itself: it gets the text with the @includes expanded. */
        if (loader_expand(l, text) < 0)
                return -EINVAL;
        config_init(&cf);
        if (!config_read_string(&cf, strempty(l->text))) {
                report_syntax_error(l, &cf);
                config_destroy(&cf);
                return -EINVAL;
        }
        parse_top_level(l, config_root_setting(&cf), keys, obj, c);
        /* Every string we keep was copied: libconfig's die here. */
        config_destroy(&cf);
        if (l->is_file)
                check_modes(l);
        return l->n_errors > 0 ? -EINVAL : 0;
}

static int loader_run(struct loader *l, const char *text, struct config **ret) {
        struct config *c = xmalloc(sizeof(*c));

        *c = config_defaults;
        c->path = xstrdup(l->sources[0].name);
        if (loader_parse(l, text, top_keys, c, c) < 0) {
                config_free(c);
                return -EINVAL;
        }
        c->unchecked_credentials = TAKE_PTR(l->unchecked);
        c->n_unchecked_credentials = l->n_unchecked;
        l->n_unchecked = 0;
        *ret = c;
        return 0;
}

static int load(const char *text, const char *name, unsigned flags, bool is_file, struct config_diag *diag,
                struct config **ret) {
        struct config_diag scratch = {};
        struct loader l;
        int r;

        loader_init(&l, name, flags, is_file);
        r = loader_run(&l, text, ret);
        loader_flush_diag(&l, diag ? diag : &scratch);
        loader_done(&l);
        config_diag_done(&scratch);
        return r;
}

int config_load(const char *path, unsigned flags, struct config_diag *diag, struct config **ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        unsigned nul;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = read_full_file(path, CONFIG_FILE_MAX, &text, &size);
        if (r < 0) {
                if (diag)
                        *(char **) array_append(&diag->errors, &diag->n_errors, sizeof(char *)) =
                                xasprintf("%s: cannot read: %s", path, file_error(r));
                return r;
        }
        nul = nul_line(text, size);
        if (nul > 0) {
                if (diag)
                        *(char **) array_append(&diag->errors, &diag->n_errors, sizeof(char *)) =
                                xasprintf("%s:%u: " NUL_MESSAGE, path, nul);
                explicit_bzero(text, size); /* all of it: what follows the NUL too */
                return -EINVAL;
        }
        r = load(text, path, flags, true, diag, ret);
        text = erase_and_free(TAKE_PTR(text));
        return r;
}

int config_load_table(const char *text, const char *name, const struct config_key *keys, void *obj,
                      struct config_diag *diag) {
        struct loader l;
        int r;

        loader_init(&l, name, 0, false);
        r = loader_parse(&l, text, keys, obj, NULL);
        loader_flush_diag(&l, diag);
        loader_done(&l);
        return r;
}

int config_load_string(const char *text, const char *name, unsigned flags, struct config_diag *diag,
                       struct config **ret) {
        if (!text || !name || !ret)
                return -EINVAL;
        return load(text, name, flags, false, diag, ret);
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        sections_free(top_keys, c);
        free(c->state_directory);
        strv_free(c->unchecked_credentials, c->n_unchecked_credentials);
        free(c->path);
        free(c);
        return NULL;
}

struct account *config_find_account(const struct config *c, const char *name) {
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_accounts; i++)
                if (streq_ptr(c->accounts[i].name, name))
                        return &c->accounts[i];
        return NULL;
}


/* The top level is group "", then each section by its key. */
static const struct config_key *group_keys(const char *group) {
        if (streq(group, ""))
                return top_keys;
        for (const struct config_key *k = top_keys; k->key; k++)
                if (is_section(k) && streq(k->key, group))
                        return ((const struct config_section *) k->data)->keys;
        return NULL;
}

const char *config_group_name(size_t i) {
        if (i == 0)
                return "";
        for (const struct config_key *k = top_keys; k->key; k++)
                if (is_section(k) && --i == 0)
                        return k->key;
        return NULL;
}

const char *config_known_key(const char *group, size_t i) {
        const struct config_key *keys = group ? group_keys(group) : NULL;

        for (size_t j = 0; keys && keys[j].key; j++)
                if (j == i)
                        return keys[j].key;
        return NULL;
}
