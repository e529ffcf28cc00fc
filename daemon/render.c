#include <json-c/json.h>

#include "region.h"
#include "render.h"

#define AM_ALERTNAME "InferenceDeploymentUnhealthy"
#define AM_PATH "/api/v2/alerts"
#define AM_WATCHDOG "InferwatchWatchdog"
#define AM_API_UNREACHABLE_NAME "InferwatchApiUnreachable"
#define AM_API_AUTH_FAILED_NAME "InferwatchApiAuthFailed"

/* Receivers get no raw C1 control or byte that is not UTF-8 (json-c leaves them as they are). */
static char *to_text(struct json_object *o) {
        char *s = json_sanitize(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

        json_object_put(o);
        return s;
}

static bool is_alert(const struct event *e) {
        return e->type == EVENT_ALERT_FIRING || e->type == EVENT_ALERT_RESOLVED || e->type == EVENT_ALERT_REMINDER ||
               e->type == EVENT_ALERT_ESCALATED;
}

bool render_wants(enum webhook_format f, const struct event *e) {
        return f != WEBHOOK_FORMAT_ALERTMANAGER || is_alert(e);
}

bool render_wants_if_named(enum webhook_format f, const struct event *e) {
        return f == WEBHOOK_FORMAT_ALERTMANAGER && (e->type == EVENT_API_UNREACHABLE ||
                                                    e->type == EVENT_API_AUTH_FAILED || e->type == EVENT_API_RECOVERED);
}

/* ---- Slack ---- */

/* Block Kit limits (api.slack.com/reference/block-kit/blocks): a section's text 3000 characters,
 * a field 2000. The top-level "text" is held to the same 3000. Cutting bytes keeps below a
 * limit on characters. */
#define SLACK_TEXT_MAX 3000
#define SLACK_FIELD_MAX 2000
#define ELLIPSIS "…"

/* mrkdwn treats &, < and > as markup: "<!channel>" in an error message from the API would ping
 * a whole channel. Controls escaped as in every text sink, then &, < and > as Slack asks, then
 * cut to max bytes, on a character boundary and never inside an entity, with an ellipsis when
 * cut. */
static char *slack_text(const char *text, size_t max) {
        _cleanup_free_ char *escaped = cescape_cell(text);
        const char *s = escaped;
        char *out = xmalloc(strlen(s) * 5 + 1), *o = out;
        size_t cut, n;

        for (; *s; s++) {
                const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
                if (rep)
                        o = stpcpy(o, rep);
                else
                        *o++ = *s;
        }
        *o = '\0';
        n = (size_t) (o - out);
        if (n <= max)
                return out;
        cut = max - strlen(ELLIPSIS);
        while (cut > 0 && ((unsigned char) out[cut] & 0xC0) == 0x80)
                cut--;
        for (size_t i = cut; i > 0 && cut - i < 5; i--) {
                if (out[i - 1] == ';')
                        break;
                if (out[i - 1] == '&') {
                        cut = i - 1;
                        break;
                }
        }
        strcpy(out + cut, ELLIPSIS);
        return out;
}

static const char *slack_icon(const struct event *e) {
        if (e->type == EVENT_ALERT_RESOLVED || e->type == EVENT_API_RECOVERED || e->type == EVENT_DEPLOYMENT_OBSERVABLE)
                return ":large_green_circle:";
        if (e->priority <= 3)
                return ":red_circle:";
        if (e->priority == 4)
                return ":large_orange_circle:";
        return ":information_source:";
}

static void slack_field(struct json_object *fields, const char *label, const char *value) {
        _cleanup_free_ char *head = NULL, *v = NULL, *t = NULL;
        struct json_object *f;

        if (!value || !*value)
                return;
        head = xasprintf("*%s*\n", label);
        v = slack_text(value, SLACK_FIELD_MAX - strlen(head));
        t = xasprintf("%s%s", head, v);
        f = json_object_new_object();
        json_object_object_add(f, "type", json_object_new_string("mrkdwn"));
        json_object_object_add(f, "text", json_object_new_string(t));
        json_object_array_add(fields, f);
}

static struct json_object *slack_text_block(const char *type, const char *text_type, const char *text) {
        struct json_object *b = json_object_new_object(), *t = json_object_new_object();

        json_object_object_add(b, "type", json_object_new_string(type));
        json_object_object_add(t, "type", json_object_new_string(text_type));
        json_object_object_add(t, "text", json_object_new_string(text));
        json_object_object_add(b, "text", t);
        return b;
}

static struct json_object *slack_fields(const struct event *e) {
        struct json_object *fields = json_object_new_array();
        _cleanup_free_ char *project = NULL, *region = NULL;
        const char *error = event_get(e, "error_message");

        if (e->project_id)
                project = xasprintf("%lld", (long long) e->project_id);
        slack_field(fields, "Deployment", e->deployment);
        slack_field(fields, "Project", project);
        slack_field(fields, "Status", event_get(e, "status"));
        slack_field(fields, "Health", event_get(e, "health"));
        if (event_get(e, "region_id")) {
                const char *ready = event_get(e, "ready"), *total = event_get(e, "total");
                const char *name = event_get(e, "region_name"), *state = event_get(e, "region_state");
                _cleanup_free_ char *id = name ? xasprintf("%s (%s)", name, event_get(e, "region_id"))
                                               : xstrdup(event_get(e, "region_id"));
                region = !(ready && total) ? xstrdup(id)
                         : name ? xasprintf("%s, %s/%s ready", id, ready, total)
                                : xasprintf("%s (%s/%s ready)", id, ready, total);
                if (state && !streq(state, "ACTIVE"))
                        strextendf(&region, ", ", "%s", state);
        }
        slack_field(fields, "Region", region);
        slack_field(fields, "API", event_get(e, "api_url"));
        slack_field(fields, "Error", error ? error : event_get(e, "api_error"));
        slack_field(fields, "Reason", event_get(e, "reason"));
        slack_field(fields, "Capacity", event_get(e, "capacity_hint"));
        /* At most 10, Block Kit's limit; the priority makes every message the same shape. */
        slack_field(fields, "Priority", priority_to_string(e->priority));
        return fields;
}

/* The log tail as a code block, one escaped line per log line (slack_text would show the line
 * breaks as \n). The lines are neutralised already; backticks would end the block early, so
 * they become apostrophes. Lines that do not fit are left out, the oldest first. */
static struct json_object *slack_log_block(const struct event *e) {
        const char *tail = event_get(e, "log_tail"), *status = event_get(e, "log_tail_status");
        _cleanup_free_ char *plain = NULL, *text = NULL, *head = NULL, *body = NULL;
        char **lines = NULL, *save = NULL;
        size_t n = 0, size = 0;

        if (!tail && (!status || streq(status, "ok")))
                return NULL;
        if (!tail || !*tail) {
                head = xasprintf("*Last log lines*: %s", tail ? "none" : status);
                text = slack_text(head, SLACK_TEXT_MAX);
                return slack_text_block("section", "mrkdwn", text);
        }
        plain = xstrdup(tail);
        for (char *p = plain; *p; p++)
                if (*p == '`')
                        *p = '\'';
        for (char *l = strtok_r(plain, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                *(char **) array_append(&lines, &n, sizeof(char *)) = slack_text(l, SLACK_FIELD_MAX);
        for (size_t i = n; i > 0; i--) {
                /* The newest lines are kept: room for the head, the fences and an ellipsis line. */
                if (size + strlen(lines[i - 1]) + 1 > SLACK_TEXT_MAX - 64)
                        break;
                size += strlen(lines[i - 1]) + 1;
                if (body) {
                        char *b = xasprintf("%s\n%s", lines[i - 1], body);
                        free(body);
                        body = b;
                } else
                        body = xstrdup(lines[i - 1]);
        }
        for (size_t i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
        text = xasprintf("*Last log lines*\n```\n%s\n```", body ? body : ELLIPSIS);
        return slack_text_block("section", "mrkdwn", text);
}

static char *render_slack(const struct event *e) {
        struct json_object *o = json_object_new_object(), *blocks = json_object_new_array();
        struct json_object *section = json_object_new_object();
        struct json_object *context = json_object_new_object(), *elements = json_object_new_array();
        _cleanup_free_ char *line = NULL, *text = NULL, *ctx = NULL;
        char t[32], id[37];

        /* "text" is what notifications and old clients show; blocks are the rich message. */
        line = xasprintf("%s %s", slack_icon(e), strempty(e->message));
        text = slack_text(line, SLACK_TEXT_MAX);
        json_object_object_add(o, "text", json_object_new_string(text));
        json_object_array_add(blocks, slack_text_block("section", "mrkdwn", text));

        json_object_object_add(section, "type", json_object_new_string("section"));
        json_object_object_add(section, "fields", slack_fields(e));
        json_object_array_add(blocks, section);
        struct json_object *logs = slack_log_block(e);
        if (logs)
                json_object_array_add(blocks, logs);

        ctx = xasprintf("`%s` · %s · %s · inferwatch", event_type_to_string(e->type), format_rfc3339(t, e->time),
                        event_id_to_string(e->id, id));
        struct json_object *el = json_object_new_object();
        json_object_object_add(el, "type", json_object_new_string("mrkdwn"));
        json_object_object_add(el, "text", json_object_new_string(ctx));
        json_object_array_add(elements, el);
        json_object_object_add(context, "type", json_object_new_string("context"));
        json_object_object_add(context, "elements", elements);
        json_object_array_add(blocks, context);
        json_object_object_add(o, "blocks", blocks);
        return to_text(o);
}

/* ---- Alertmanager ---- */

/* Extra annotations: name and value pairs, NULL-ended. */
static struct json_object *am_alert_object(int64_t project_id, const char *deployment, const char *severity,
                                           const char *regions, const char *summary, const char *description,
                                           const char *const *extra, usec_t starts, usec_t ends) {
        struct json_object *a = json_object_new_object(), *labels = json_object_new_object();
        struct json_object *ann = json_object_new_object();
        _cleanup_free_ char *project = xasprintf("%lld", (long long) project_id);
        char t[32];

        /* Labels identify the alert: the same for every inferwatch instance watching the same
         * deployment, so an Alertmanager cluster de-duplicates them. */
        json_object_object_add(labels, "alertname", json_object_new_string(AM_ALERTNAME));
        json_object_object_add(labels, "project_id", json_object_new_string(project));
        json_object_object_add(labels, "deployment", json_object_new_string(strempty(deployment)));
        if (regions && *regions)
                json_object_object_add(labels, "region_id", json_object_new_string(regions));
        json_object_object_add(labels, "severity", json_object_new_string(severity ? severity : "warning"));
        json_object_object_add(a, "labels", labels);
        json_object_object_add(ann, "summary", json_object_new_string(strempty(summary)));
        json_object_object_add(ann, "description", json_object_new_string(strempty(description)));
        for (size_t i = 0; extra && extra[i]; i += 2)
                if (extra[i + 1] && *extra[i + 1])
                        json_object_object_add(ann, extra[i], json_object_new_string(extra[i + 1]));
        json_object_object_add(a, "annotations", ann);
        json_object_object_add(a, "startsAt", json_object_new_string(format_rfc3339(t, starts)));
        if (ends)
                json_object_object_add(a, "endsAt", json_object_new_string(format_rfc3339(t, ends)));
        json_object_object_add(a, "generatorURL", json_object_new_string("https://portal.gcore.com/cloud/inference"));
        return a;
}

/* An alert.* event's alert, with the event's context (region names, log tail or why there is
 * none, capacity hint) as extra annotations. */
static struct json_object *am_event_alert(const struct event *e, const char *severity, const char *summary,
                                          const char *description, usec_t starts, usec_t ends) {
        const char *const extra[] = {
                "region_names", event_get(e, "region_names"),
                "log_tail", event_get(e, "log_tail"),
                "log_tail_status", event_get(e, "log_tail") ? NULL : event_get(e, "log_tail_status"),
                "capacity", event_get(e, "capacity_hint"),
                NULL,
        };

        return am_alert_object(e->project_id, e->deployment, severity, event_get(e, "regions"), summary,
                               description, extra, starts, ends);
}

static struct json_object *am_open_alert(const struct event *e, const char *severity, usec_t starts,
                                         usec_t ends) {
        _cleanup_free_ char *summary = xasprintf("%s (project %lld) is %s", strempty(e->deployment),
                                                 (long long) e->project_id, strempty(event_get(e, "health")));

        return am_event_alert(e, severity, summary, event_get(e, "reason"), starts, ends);
}

/* An API account's alert: its labels name the account (and the project, for authentication). */
static struct json_object *am_api_alert(const char *alertname, const char *account, int64_t project_id,
                                        const char *summary, const char *description, usec_t starts, usec_t ends) {
        struct json_object *a = json_object_new_object(), *labels = json_object_new_object();
        struct json_object *ann = json_object_new_object();
        char t[32];

        json_object_object_add(labels, "alertname", json_object_new_string(alertname));
        json_object_object_add(labels, "account", json_object_new_string(strempty(account)));
        if (project_id) {
                _cleanup_free_ char *project = xasprintf("%lld", (long long) project_id);
                json_object_object_add(labels, "project_id", json_object_new_string(project));
        }
        json_object_object_add(labels, "severity", json_object_new_string("critical"));
        json_object_object_add(a, "labels", labels);
        json_object_object_add(ann, "summary", json_object_new_string(strempty(summary)));
        json_object_object_add(ann, "description", json_object_new_string(strempty(description)));
        json_object_object_add(a, "annotations", ann);
        json_object_object_add(a, "startsAt", json_object_new_string(format_rfc3339(t, starts)));
        json_object_object_add(a, "endsAt", json_object_new_string(format_rfc3339(t, ends)));
        return a;
}

static struct json_object *am_api_event(const struct event *e, usec_t open_until) {
        switch (e->type) {
        case EVENT_API_UNREACHABLE:
                return am_api_alert(AM_API_UNREACHABLE_NAME, e->account, 0, e->message, event_get(e, "api_error"),
                                    e->time, open_until);
        case EVENT_API_AUTH_FAILED:
                return am_api_alert(AM_API_AUTH_FAILED_NAME, e->account, e->project_id, e->message,
                                    event_get(e, "api_error"), e->time, open_until);
        default: /* api.recovered: of the account, or of one project's authentication */
                return am_api_alert(e->project_id ? AM_API_AUTH_FAILED_NAME : AM_API_UNREACHABLE_NAME, e->account,
                                    e->project_id, e->message, event_get(e, "reason"), e->time, e->time);
        }
}

char *render_alertmanager_event(const struct event *e, usec_t now, usec_t open_until) {
        struct json_object *arr = json_object_new_array();
        const char *started = event_get(e, "alert_started_usec");
        usec_t starts = started ? (usec_t) strtoull(started, NULL, 10) : e->time;

        if (render_wants_if_named(WEBHOOK_FORMAT_ALERTMANAGER, e)) {
                json_object_array_add(arr, am_api_event(e, open_until));
                return to_text(arr);
        }
        switch (e->type) {
        case EVENT_ALERT_RESOLVED:
                json_object_array_add(arr, am_event_alert(e, event_get(e, "severity"), e->message,
                                                          event_get(e, "alert_reason"), starts, e->time));
                break;
        case EVENT_ALERT_ESCALATED:
                /* Severity is a label: to Alertmanager the critical alert is a new one, which
                 * routes on severity="critical" get at once, and the warning one ends now. */
                json_object_array_add(arr, am_open_alert(e, "critical", starts, open_until));
                json_object_array_add(arr, am_open_alert(e, event_get(e, "old_severity"), starts, now));
                break;
        default:
                json_object_array_add(arr, am_open_alert(e, event_get(e, "severity"), starts, open_until));
        }
        return to_text(arr);
}

/* Always firing while inferwatchd runs (the kube-prometheus Watchdog convention): an
 * Alertmanager route sends it to a dead man's switch, which pages when it stops coming. */
static struct json_object *am_watchdog(usec_t starts, usec_t ends) {
        struct json_object *a = json_object_new_object(), *labels = json_object_new_object();
        struct json_object *ann = json_object_new_object();
        char t[32];

        json_object_object_add(labels, "alertname", json_object_new_string(AM_WATCHDOG));
        json_object_object_add(labels, "severity", json_object_new_string("none"));
        json_object_object_add(a, "labels", labels);
        json_object_object_add(ann, "summary", json_object_new_string("inferwatchd is running"));
        json_object_object_add(ann, "description",
                               json_object_new_string("Always firing while inferwatchd runs: route it to a dead man's "
                                                      "switch, which must page when it stops."));
        json_object_object_add(a, "annotations", ann);
        json_object_object_add(a, "startsAt", json_object_new_string(format_rfc3339(t, starts)));
        json_object_object_add(a, "endsAt", json_object_new_string(format_rfc3339(t, ends)));
        return a;
}

char *render_alertmanager_open(const struct am_alert *alerts, size_t n, usec_t watchdog_since, usec_t open_until) {
        struct json_object *arr = json_object_new_array();

        if (watchdog_since)
                json_object_array_add(arr, am_watchdog(watchdog_since, open_until));

        for (size_t i = 0; i < n; i++) {
                const struct am_alert *a = &alerts[i];
                if (a->kind != AM_DEPLOYMENT) {
                        bool auth = a->kind == AM_API_AUTH_FAILED;
                        _cleanup_free_ char *summary = auth ? xasprintf("API %s, project %lld: authentication failing",
                                                                        strempty(a->account), (long long) a->project_id)
                                                            : xasprintf("API %s unreachable", strempty(a->account));
                        json_object_array_add(arr, am_api_alert(auth ? AM_API_AUTH_FAILED_NAME : AM_API_UNREACHABLE_NAME,
                                                                a->account, auth ? a->project_id : 0, summary, NULL,
                                                                a->since, open_until));
                        continue;
                }
                _cleanup_free_ char *summary = xasprintf("%s (project %lld) is %s", a->deployment,
                                                         (long long) a->project_id, health_to_string(a->health));
                /* Alertmanager keeps the annotations of the latest post: a re-post without the
                 * context of the firing post would take it away from the alert. */
                _cleanup_free_ char *names = region_labels(a->regions, a->alert->regions);
                const char *const extra[] = {
                        "region_names", names,
                        "log_tail", a->without_tail ? NULL : a->alert->log_tail,
                        "log_tail_status", a->alert->log_tail && !a->without_tail ? NULL : a->alert->log_tail_status,
                        "capacity", a->alert->capacity_hint,
                        NULL,
                };
                json_object_array_add(arr, am_alert_object(a->project_id, a->deployment, a->alert->severity,
                                                           a->alert->regions, summary, a->alert->summary, extra,
                                                           a->alert->started, open_until));
        }
        return to_text(arr);
}

char *render_alertmanager_url(const char *base) {
        size_t n = strlen(base), p = strlen(AM_PATH);

        /* "http://am:9093", "http://am:9093/" and ".../api/v2/alerts/" all mean the same. */
        while (n > 0 && base[n - 1] == '/')
                n--;
        if (n >= p && strncmp(base + n - p, AM_PATH, p) == 0)
                return xstrndup(base, n);
        return xasprintf("%.*s%s", (int) n, base, AM_PATH);
}

char *render_event(enum webhook_format f, const struct event *e) {
        switch (f) {
        case WEBHOOK_FORMAT_SLACK:
                return render_slack(e);
        case WEBHOOK_FORMAT_ALERTMANAGER:
                return render_alertmanager_event(e, e->time, e->time + AM_DEFAULT_HOLD);
        default: {
                _cleanup_free_ char *raw = event_to_json(e);
                return json_sanitize(raw);
        }
        }
}
