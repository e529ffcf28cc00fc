/* The "webhooks" section: where events go, in which format, filtered how, signed with what. */
#include <strings.h>
#include <syslog.h>

#include "config-internal.h"
#include "event.h"
#include "render.h"
#include "sign.h"

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

static const struct secret_keys webhook_secret_keys = {
        .file = "secret_file",
        .credential = "secret_credential",
        .value = "secret",
        .offset_file = offsetof(struct webhook, secret_file),
        .offset_credential = offsetof(struct webhook, secret_credential),
        .offset_value = offsetof(struct webhook, secret),
        .offset_inline = offsetof(struct webhook, secret_inline),
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
        .offset_file = offsetof(struct webhook, url_file),
        .offset_credential = offsetof(struct webhook, url_credential),
        .offset_value = offsetof(struct webhook, url),
        .required = true,
        .missing = "\"url\" is required",
        .is_url = true,
        .what = "URL",
        .problem = webhook_url_problem,
};

/* Defaults to "webhook-N"; the name of the webhook's spool directory. */
static int parse_webhook_name(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct webhook *w = obj;
        int r = get_name(&ctx->sc, k->key, &w->name);

        if (r == 0)
                w->name = xasprintf("webhook-%u", ctx->index + 1);
        check_name_unique(ctx, offsetof(struct webhook, name), "webhook", w->name);
        return r;
}

static int parse_format(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        const struct scope *sc = &ctx->sc;
        struct webhook *w = obj;
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = NULL;
        const char *v = NULL;
        int r = lookup_string(sc, k->key, &s, &path, &v);

        if (r <= 0)
                return r;
        for (int f = 0; f < _WEBHOOK_FORMAT_MAX; f++)
                if (streq(v, webhook_format_table[f])) {
                        w->format = f;
                        return 1;
                }
        q = cescape(v);
        report_error(sc->l, s, "%s: unknown format \"%s\"; use \"json\", \"slack\" or \"alertmanager\"",
                     path, q);
        return -EINVAL;
}

static int parse_min_priority(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        const struct scope *sc = &ctx->sc;
        struct webhook *w = obj;
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, k->key, &path);
        int64_t v;
        int p;

        if (!s)
                return 0;
        if (config_setting_type(s) != CONFIG_TYPE_STRING) {
                if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
                        return type_error(sc->l, s, path,
                                          "a priority name (emerg, alert, crit, err, warning, notice, info, "
                                          "debug) or 0..7");
                if (value_int(sc->l, s, path, 0, 7, &v) < 0)
                        return -EINVAL;
                w->min_priority = (int) v;
                return 1;
        }
        p = priority_from_string(config_setting_get_string(s));
        if (p >= 0) {
                w->min_priority = p;
                return 1;
        }
        q = cescape(config_setting_get_string(s));
        report_error(sc->l, s,
                     "%s: unknown priority \"%s\"; use emerg, alert, crit, err, warning, notice, info, "
                     "debug or 0..7",
                     path, q);
        return -EINVAL;
}

static int parse_webhook_projects(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        const struct scope *sc = &ctx->sc;
        struct webhook *w = obj;
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, k->key, &path);

        if (!s)
                return 0;
        if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
                return type_error(sc->l, s, path, "an array of integers such as [ 1, 2 ]");
        if (config_setting_length(s) == 0)
                return value_empty_error(sc->l, s, path, "project");
        for (int i = 0; i < config_setting_length(s); i++) {
                _cleanup_free_ char *epath = xasprintf("%s[%d]", path, i);
                int64_t id;
                if (value_int(sc->l, config_setting_get_elem(s, (unsigned) i), epath, 1, PROJECT_ID_MAX,
                              &id) > 0)
                        *(int64_t *) array_append(&w->projects, &w->n_projects, sizeof(int64_t)) = id;
        }
        return 1;
}

#define W(field) offsetof(struct webhook, field)
static const struct strings_rule headers_rule = { check_header, W(n_headers) };
static const struct strings_rule events_rule = { check_event_glob, W(n_events), "event type" };
static const struct strings_rule deployments_rule = { check_glob, W(n_deployments), "deployment" };

/* Read after format: a filter that lets through nothing the format posts (an Alertmanager hears
 * alerts, and the API events its filter names) is worth a warning, -t included. */
static int parse_events(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct webhook *w = obj;
        _cleanup_free_ char *path = NULL;
        size_t errors = ctx->sc.l->n_errors;
        int r = config_parse_strings(ctx, k, obj);

        if (r <= 0 || ctx->sc.l->n_errors > errors) /* a pattern already refused says enough */
                return r;
        for (int t = 0; t < _EVENT_TYPE_MAX; t++) {
                struct event e = { .type = t };
                if (!render_wants(w->format, &e) && !render_wants_if_named(w->format, &e))
                        continue;
                for (size_t i = 0; i < w->n_events; i++)
                        if (glob_match(w->events[i], event_type_to_string(t)))
                                return r;
        }
        path = member_path(&ctx->sc, k->key);
        report_warning(ctx->sc.l, member(&ctx->sc, k->key),
                       "%s: a webhook of format \"%s\" is sent none of these event types; it will receive nothing",
                       path, webhook_format_to_string(w->format));
        return r;
}

/* Read after format: only an Alertmanager has a use for it. */
static int parse_watchdog(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct webhook *w = obj;
        int r = config_parse_bool(ctx, k, obj);

        if (r > 0 && w->watchdog && w->format != WEBHOOK_FORMAT_ALERTMANAGER) {
                _cleanup_free_ char *path = member_path(&ctx->sc, k->key);
                report_error(ctx->sc.l, member(&ctx->sc, k->key), "%s: only a webhook with format = \"alertmanager\" "
                             "can post the watchdog alert", path);
                return -EINVAL;
        }
        return r;
}

static const struct config_key webhook_keys[] = {
        { "name",               parse_webhook_name },
        { "url",                config_parse_secret,   .data = &webhook_url_keys },
        { "format",             parse_format },
        { "headers",            config_parse_strings,  W(headers),     .data = &headers_rule },
        { "events",             parse_events,          W(events),      .data = &events_rule },
        { "min_priority",       parse_min_priority },
        { "deployments",        config_parse_strings,  W(deployments), .data = &deployments_rule },
        { "projects",           parse_webhook_projects },
        { "secret_file",        config_parse_secret,   .data = &webhook_secret_keys },
        { "secret_credential" }, /* read with secret_file */
        { "secret" },            /* read with secret_file */
        { "ca_file",            config_parse_path,     W(ca_file) },
        { "timeout",            config_parse_duration, W(timeout),            100 * MSEC, 5 * MINUTE },
        { "retry_max_interval", config_parse_duration, W(retry_max_interval), SEC,        DAY },
        { "log_tail",           config_parse_bool,     W(log_tail) },
        { "url_file" },          /* read with url */
        { "url_credential" },    /* read with url */
        { "watchdog",           parse_watchdog,        W(watchdog) },
        {}
};
#undef W

static const struct webhook webhook_defaults = {
        .format = WEBHOOK_FORMAT_JSON,
        .min_priority = LOG_INFO, /* debug is the journal's: the changes of a flapping deployment */
        .timeout = 10 * USEC_PER_SEC,
        .retry_max_interval = 5 * USEC_PER_MINUTE,
        .log_tail = true,
};

static void webhook_done(void *elem) {
        struct webhook *w = elem;

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

const struct config_section webhook_section = {
        .one = "webhook",
        .keys = webhook_keys,
        .size = sizeof(struct webhook),
        .offset_n = offsetof(struct config, n_webhooks),
        .offset_line = offsetof(struct webhook, line),
        .defaults = &webhook_defaults,
        .done = webhook_done,
};

const char *webhook_format_to_string(enum webhook_format f) {
        return f >= 0 && f < _WEBHOOK_FORMAT_MAX ? webhook_format_table[f] : NULL;
}
