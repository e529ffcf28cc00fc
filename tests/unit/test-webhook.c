/* Webhook filters (webhook_accepts) and payloads (render_event for each format, the
 * Alertmanager re-post and URL), field by field. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "region.h"
#include "render.h"
#include "webhook.h"

#define T0 1795790338123000ULL /* 2026-11-27T14:38:58.123Z */

static struct event *container_error(const char *deployment, int64_t project, const char *error) {
        struct event *e = event_new(EVENT_CONTAINER_ERROR, T0, "main", project, deployment);

        event_add(e, "status", "PARTIALLYDEPLOYED");
        event_add(e, "health", "degraded");
        event_add_int(e, "region_id", 7);
        event_add(e, "error_message", error);
        event_add_int(e, "ready", 0);
        event_add_int(e, "total", 1);
        event_set_message(e, "%s (project %lld): region 7: %s", deployment, (long long) project, error);
        return e;
}

static struct event *alert(enum event_type t, usec_t time) {
        struct event *e = event_new(t, time, "main", 1, "prod-a");

        event_add(e, "status", t == EVENT_ALERT_RESOLVED ? "ACTIVE" : "PARTIALLYDEPLOYED");
        event_add(e, "health", t == EVENT_ALERT_RESOLVED ? "healthy" : "failed");
        event_add(e, "severity", "critical");
        event_add(e, "regions", "1,7");
        if (t == EVENT_ALERT_RESOLVED) {
                event_add(e, "reason", "all instances ready");
                event_add(e, "alert_reason", "region 1: Failed to pull image");
                event_add_int(e, "alert_started_usec", (int64_t) T0);
                event_set_message(e, "prod-a (project 1): alert resolved after 1m, now healthy (all instances ready)");
        } else
                event_add(e, "reason", "region 1: Failed to pull image");
        return e;
}

/* ---- webhook_accepts ---- */

static void test_accepts_everything_by_default(void **state) {
        struct webhook w = { .name = (char *) "w", .min_priority = 7 };
        struct event *e = container_error("prod-a", 1, "x");
        struct event *m = event_new(EVENT_MONITOR_STARTED, T0, NULL, 0, NULL);

        assert_true(webhook_accepts(&w, e));
        assert_true(webhook_accepts(&w, m));
        event_free(e);
        event_free(m);
}

static void test_accepts_never_webhook_events(void **state) {
        struct webhook w = { .name = (char *) "w", .min_priority = 7 };

        for (enum event_type t = EVENT_WEBHOOK_DROPPED; t <= EVENT_WEBHOOK_DISABLED; t++) {
                struct event *e = event_new(t, T0, NULL, 0, NULL);
                assert_false(webhook_accepts(&w, e));
                event_free(e);
        }
}

static void test_accepts_min_priority(void **state) {
        struct webhook w = { .name = (char *) "w", .min_priority = 3 };
        struct event *err = container_error("prod-a", 1, "x");
        struct event *info = event_new(EVENT_DEPLOYMENT_DISCOVERED, T0, "main", 1, "prod-a");
        struct event *crit = event_new(EVENT_API_AUTH_FAILED, T0, "main", 1, NULL);

        assert_true(webhook_accepts(&w, err));   /* err == err */
        assert_true(webhook_accepts(&w, crit));  /* more urgent */
        assert_false(webhook_accepts(&w, info));
        info->priority = 3;                       /* per-event priority counts, not the type's */
        assert_true(webhook_accepts(&w, info));
        event_free(err);
        event_free(info);
        event_free(crit);
}

static void test_accepts_event_globs(void **state) {
        char *events[] = { (char *) "alert.*", (char *) "deployment.gone" };
        struct webhook w = { .name = (char *) "w", .min_priority = 7, .events = events, .n_events = 2 };
        struct event *firing = alert(EVENT_ALERT_FIRING, T0);
        struct event *gone = event_new(EVENT_DEPLOYMENT_GONE, T0, "main", 1, "prod-a");
        struct event *err = container_error("prod-a", 1, "x");
        struct event *started = event_new(EVENT_MONITOR_STARTED, T0, NULL, 0, NULL);

        assert_true(webhook_accepts(&w, firing));
        assert_true(webhook_accepts(&w, gone));
        assert_false(webhook_accepts(&w, err));
        assert_false(webhook_accepts(&w, started)); /* the type filter applies to every event */
        event_free(firing);
        event_free(gone);
        event_free(err);
        event_free(started);
}

static void test_accepts_deployments_and_projects(void **state) {
        char *deployments[] = { (char *) "prod-*", (char *) "llama-3-8b" };
        int64_t projects[] = { 2, 5 };
        struct webhook w = { .name = (char *) "w", .min_priority = 7, .deployments = deployments, .n_deployments = 2,
                             .projects = projects, .n_projects = 2 };
        struct event *a = container_error("prod-a", 2, "x"), *b = container_error("llama-3-8b", 5, "x");
        struct event *c = container_error("dev-c", 2, "x"), *d = container_error("prod-a", 1, "x");
        struct event *e = container_error("llama-3-8b-chat", 5, "x");
        struct event *api = event_new(EVENT_API_UNREACHABLE, T0, "main", 0, NULL);
        struct event *auth = event_new(EVENT_API_AUTH_FAILED, T0, "main", 5, NULL);
        struct event *auth1 = event_new(EVENT_API_AUTH_FAILED, T0, "main", 1, NULL);

        assert_true(webhook_accepts(&w, a));
        assert_true(webhook_accepts(&w, b));
        assert_false(webhook_accepts(&w, c));     /* name does not match */
        assert_false(webhook_accepts(&w, d));     /* project does not */
        assert_false(webhook_accepts(&w, e));     /* globs match whole names */
        /* Filters on deployments and projects only apply to events that name one. */
        assert_true(webhook_accepts(&w, api));
        assert_true(webhook_accepts(&w, auth));
        assert_false(webhook_accepts(&w, auth1));
        event_free(a);
        event_free(b);
        event_free(c);
        event_free(d);
        event_free(e);
        event_free(api);
        event_free(auth);
        event_free(auth1);
}

static void test_accepts_alertmanager_only_alerts(void **state) {
        struct webhook w = { .name = (char *) "am", .min_priority = 7, .format = WEBHOOK_FORMAT_ALERTMANAGER };

        for (enum event_type t = 0; t < _EVENT_TYPE_MAX; t++) {
                struct event *e = event_new(t, T0, "main", 1, "prod-a");
                assert_int_equal(webhook_accepts(&w, e),
                                 t == EVENT_ALERT_FIRING || t == EVENT_ALERT_RESOLVED || t == EVENT_ALERT_REMINDER ||
                                         t == EVENT_ALERT_ESCALATED);
                event_free(e);
        }
}

/* ---- render_event: json ---- */

static void test_render_json_is_the_envelope(void **state) {
        struct event *e = container_error("prod-a", 1, "Failed to pull image");
        char *body = render_event(WEBHOOK_FORMAT_JSON, e), *env = event_to_json(e);

        assert_string_equal(body, env);
        free(body);
        free(env);
        event_free(e);
}

/* ---- render_event: slack ---- */

static struct json_object *get(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        assert_true(json_object_object_get_ex(o, key, &v));
        return v;
}

static const char *get_str(struct json_object *o, const char *key) {
        return json_object_get_string(get(o, key));
}

static void test_render_slack_fields(void **state) {
        struct event *e = container_error("prod-a", 1, "Failed to pull image");
        char *body = render_event(WEBHOOK_FORMAT_SLACK, e), id[37], *ctx;
        struct json_object *o = json_tokener_parse(body), *blocks, *b, *fields;
        static const char *const want[] = {
                "*Deployment*\nprod-a", "*Project*\n1", "*Status*\nPARTIALLYDEPLOYED", "*Health*\ndegraded",
                "*Region*\n7 (0/1 ready)", "*Error*\nFailed to pull image", "*Priority*\nerr",
        };

        assert_non_null(o);
        assert_string_equal(get_str(o, "text"), ":red_circle: prod-a (project 1): region 7: Failed to pull image");
        blocks = get(o, "blocks");
        assert_int_equal(json_object_array_length(blocks), 3);

        b = json_object_array_get_idx(blocks, 0);
        assert_string_equal(get_str(b, "type"), "section");
        assert_string_equal(get_str(get(b, "text"), "type"), "mrkdwn");
        assert_string_equal(get_str(get(b, "text"), "text"), get_str(o, "text"));

        b = json_object_array_get_idx(blocks, 1);
        assert_string_equal(get_str(b, "type"), "section");
        fields = get(b, "fields");
        assert_int_equal(json_object_array_length(fields), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                struct json_object *f = json_object_array_get_idx(fields, i);
                assert_string_equal(get_str(f, "type"), "mrkdwn");
                assert_string_equal(get_str(f, "text"), want[i]);
        }

        b = json_object_array_get_idx(blocks, 2);
        assert_string_equal(get_str(b, "type"), "context");
        assert_int_equal(json_object_array_length(get(b, "elements")), 1);
        ctx = xasprintf("`container.error` · 2026-11-27T14:38:58.123Z · %s · inferwatch", event_id_to_string(e->id, id));
        assert_string_equal(get_str(json_object_array_get_idx(get(b, "elements"), 0), "text"), ctx);
        free(ctx);
        json_object_put(o);
        free(body);
        event_free(e);
}

static void test_render_slack_icons(void **state) {
        static const struct {
                enum event_type type;
                int priority;
                const char *icon;
        } cases[] = {
                { EVENT_ALERT_RESOLVED, 5, ":large_green_circle:" }, { EVENT_API_RECOVERED, 5, ":large_green_circle:" },
                { EVENT_DEPLOYMENT_OBSERVABLE, 5, ":large_green_circle:" },
                { EVENT_DEPLOYMENT_UNOBSERVABLE, 4, ":large_orange_circle:" },
                { EVENT_ALERT_FIRING, 3, ":red_circle:" },           { EVENT_API_AUTH_FAILED, 2, ":red_circle:" },
                { EVENT_DEPLOYMENT_GONE, 4, ":large_orange_circle:" },
                { EVENT_DEPLOYMENT_DISCOVERED, 6, ":information_source:" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct event *e = event_new(cases[i].type, T0, NULL, 0, NULL);
                char *body, *want;
                struct json_object *o;

                e->priority = cases[i].priority;
                event_set_message(e, "m");
                body = render_event(WEBHOOK_FORMAT_SLACK, e);
                o = json_tokener_parse(body);
                want = xasprintf("%s m", cases[i].icon);
                assert_string_equal(get_str(o, "text"), want);
                /* Without a deployment the fields section is still there: the priority. */
                struct json_object *f = get(json_object_array_get_idx(get(o, "blocks"), 1), "fields");
                assert_int_equal(json_object_array_length(f), 1);
                free(want);
                json_object_put(o);
                free(body);
                event_free(e);
        }
}

static void test_render_slack_api_fields(void **state) {
        struct event *e = event_new(EVENT_API_UNREACHABLE, T0, "main", 0, NULL);
        struct json_object *o, *f;
        char *body;

        event_add(e, "api_url", "https://api.gcore.com");
        event_add(e, "api_error", "HTTP 503");
        event_set_message(e, "API main unreachable");
        body = render_event(WEBHOOK_FORMAT_SLACK, e);
        o = json_tokener_parse(body);
        f = get(json_object_array_get_idx(get(o, "blocks"), 1), "fields");
        assert_int_equal(json_object_array_length(f), 3);
        assert_string_equal(get_str(json_object_array_get_idx(f, 0), "text"), "*API*\nhttps://api.gcore.com");
        assert_string_equal(get_str(json_object_array_get_idx(f, 1), "text"), "*Error*\nHTTP 503");
        assert_string_equal(get_str(json_object_array_get_idx(f, 2), "text"), "*Priority*\nerr");
        json_object_put(o);
        free(body);
        event_free(e);
}

static void test_render_slack_escapes(void **state) {
        struct event *e = container_error("prod-a", 1, "<!channel> a & b > c");
        struct json_object *o, *f;
        char *body = render_event(WEBHOOK_FORMAT_SLACK, e);

        o = json_tokener_parse(body);
        assert_string_equal(get_str(o, "text"),
                            ":red_circle: prod-a (project 1): region 7: &lt;!channel&gt; a &amp; b &gt; c");
        f = get(json_object_array_get_idx(get(o, "blocks"), 1), "fields");
        assert_string_equal(get_str(json_object_array_get_idx(f, 5), "text"),
                            "*Error*\n&lt;!channel&gt; a &amp; b &gt; c");
        json_object_put(o);
        free(body);
        event_free(e);
}

static bool valid_utf8(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t k = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : 9;
                if (k == 9)
                        return false;
                p++;
                for (; k > 0; k--, p++)
                        if ((*p & 0xC0) != 0x80)
                                return false;
        }
        return true;
}

/* Long texts are cut within Block Kit's limits, on a character boundary, never inside an
 * entity, ending with an ellipsis. */
static void check_cut(const char *s, size_t max) {
        size_t n = strlen(s), kept = n - strlen("…");
        char *body = xstrndup(s, kept), *amp = strrchr(body, '&');

        assert_true(n <= max);
        assert_true(n > max - 8);
        assert_string_equal(s + kept, "…");
        assert_true(valid_utf8(s));
        assert_true(!amp || strchr(amp, ';'));
        free(body);
}

static void test_render_slack_limits(void **state) {
        for (size_t shift = 0; shift < 6; shift++) {
                char *big = xmalloc(9000), *body;
                struct event *e;
                struct json_object *o, *f;
                size_t n = 0;

                /* Characters of 1, 2 and 3 bytes, and entities, at every alignment. */
                for (size_t i = 0; i < shift; i++)
                        big[n++] = 'x';
                while (n < 8000) {
                        memcpy(big + n, "é<€&", strlen("é<€&"));
                        n += strlen("é<€&");
                }
                big[n] = '\0';
                e = container_error("prod-a", 1, big);
                body = render_event(WEBHOOK_FORMAT_SLACK, e);
                o = json_tokener_parse(body);
                assert_non_null(o);
                check_cut(get_str(o, "text"), 3000);
                check_cut(get_str(get(json_object_array_get_idx(get(o, "blocks"), 0), "text"), "text"), 3000);
                f = get(json_object_array_get_idx(get(o, "blocks"), 1), "fields");
                check_cut(get_str(json_object_array_get_idx(f, 5), "text"), 2000);
                assert_true(json_object_array_length(f) <= 10);
                json_object_put(o);
                free(body);
                event_free(e);
                free(big);
        }
}

/* No control character and nothing but UTF-8 in a body: C0 and DEL bytes, C1 as UTF-8. */
static bool plain_text(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
                        return false;
        return valid_utf8(s);
}

/* Text from the API with terminal escapes, C1 controls and a byte that is not UTF-8: every
 * format's body is plain UTF-8 without a control; JSON keeps the characters (as \u escapes),
 * Slack's mrkdwn shows them escaped. */
static void test_render_hostile_text(void **state) {
        static const char name[] = "evil\x1b[31m\xc2\x9b" "2J", error[] = "pull\r\nforged\x1b]0;x\x07 \xc2\x85 bad\xff end";
        struct event *e = container_error(name, 1, error), *a = alert(EVENT_ALERT_FIRING, T0);
        struct json_object *o, *f;
        char *body;

        body = render_event(WEBHOOK_FORMAT_JSON, e);
        assert_true(plain_text(body));
        o = json_tokener_parse(body);
        assert_string_equal(get_str(o, "deployment"), name);
        assert_string_equal(get_str(get(o, "data"), "error_message"),
                            "pull\r\nforged\x1b]0;x\x07 \xc2\x85 bad\xef\xbf\xbd end");
        json_object_put(o);
        free(body);

        body = render_event(WEBHOOK_FORMAT_SLACK, e);
        assert_true(plain_text(body));
        o = json_tokener_parse(body);
        assert_string_equal(get_str(o, "text"), ":red_circle: evil\\x1b[31m\\xc2\\x9b2J (project 1): region 7: "
                                                "pull\\r\\nforged\\x1b]0;x\\x07 \\xc2\\x85 bad\\xff end");
        f = get(json_object_array_get_idx(get(o, "blocks"), 1), "fields");
        assert_string_equal(get_str(json_object_array_get_idx(f, 0), "text"), "*Deployment*\nevil\\x1b[31m\\xc2\\x9b2J");
        json_object_put(o);
        free(body);

        free(a->deployment);
        a->deployment = xstrdup(name);
        body = render_event(WEBHOOK_FORMAT_ALERTMANAGER, a);
        assert_true(plain_text(body));
        o = json_tokener_parse(body);
        assert_string_equal(get_str(get(json_object_array_get_idx(o, 0), "labels"), "deployment"), name);
        json_object_put(o);
        free(body);
        event_free(a);
        event_free(e);
}

/* ---- render_event: alertmanager ---- */

static void check_labels(struct json_object *a) {
        struct json_object *l = get(a, "labels");

        assert_int_equal(json_object_object_length(l), 5);
        assert_string_equal(get_str(l, "alertname"), "InferenceDeploymentUnhealthy");
        assert_string_equal(get_str(l, "project_id"), "1");
        assert_string_equal(get_str(l, "deployment"), "prod-a");
        assert_string_equal(get_str(l, "region_id"), "1,7");
        assert_string_equal(get_str(l, "severity"), "critical");
        assert_string_equal(get_str(a, "generatorURL"), "https://portal.gcore.com/cloud/inference");
}

static void test_render_alertmanager_firing(void **state) {
        struct event *e = alert(EVENT_ALERT_FIRING, T0);
        char *body = render_event(WEBHOOK_FORMAT_ALERTMANAGER, e);
        struct json_object *o = json_tokener_parse(body), *a, *ann;

        assert_true(json_object_is_type(o, json_type_array));
        assert_int_equal(json_object_array_length(o), 1);
        a = json_object_array_get_idx(o, 0);
        check_labels(a);
        ann = get(a, "annotations");
        assert_string_equal(get_str(ann, "summary"), "prod-a (project 1) is failed");
        assert_string_equal(get_str(ann, "description"), "region 1: Failed to pull image");
        assert_string_equal(get_str(a, "startsAt"), "2026-11-27T14:38:58.123Z");
        /* Open, with an explicit end a few re-posts ahead: never Alertmanager's resolve_timeout. */
        assert_string_equal(get_str(a, "endsAt"), "2026-11-27T14:42:58.123Z");
        json_object_put(o);
        free(body);
        event_free(e);
}

static void test_render_alertmanager_resolved(void **state) {
        struct event *e = alert(EVENT_ALERT_RESOLVED, T0 + 60 * USEC_PER_SEC);
        char *body = render_event(WEBHOOK_FORMAT_ALERTMANAGER, e);
        struct json_object *o = json_tokener_parse(body), *a, *ann;

        a = json_object_array_get_idx(o, 0);
        check_labels(a);
        ann = get(a, "annotations");
        assert_string_equal(get_str(ann, "summary"), e->message);
        assert_string_equal(get_str(ann, "description"), "region 1: Failed to pull image");
        /* It started when the alert opened, and ends now. */
        assert_string_equal(get_str(a, "startsAt"), "2026-11-27T14:38:58.123Z");
        assert_string_equal(get_str(a, "endsAt"), "2026-11-27T14:39:58.123Z");
        assert_int_equal(json_object_array_length(o), 1);
        json_object_put(o);
        free(body);
        event_free(e);
}

static void test_render_alertmanager_no_region(void **state) {
        struct event *e = event_new(EVENT_ALERT_FIRING, T0, "main", 3, "stuck-one");
        char *body;
        struct json_object *o, *l;

        event_add(e, "health", "degraded");
        event_add(e, "regions", "");
        body = render_event(WEBHOOK_FORMAT_ALERTMANAGER, e);
        o = json_tokener_parse(body);
        l = get(json_object_array_get_idx(o, 0), "labels");
        assert_false(json_object_object_get_ex(l, "region_id", NULL));
        assert_string_equal(get_str(l, "severity"), "warning"); /* none given */
        assert_string_equal(get_str(l, "project_id"), "3");
        json_object_put(o);
        free(body);
        event_free(e);
}

static void test_render_alertmanager_open(void **state) {
        struct alert_state s1 = { .open = true, .started = T0, .severity = (char *) "critical",
                                  .summary = (char *) "region 1: Failed to pull image", .regions = (char *) "1,7" };
        struct alert_state s2 = { .open = true, .started = T0 + USEC_PER_SEC, .severity = (char *) "warning",
                                  .summary = (char *) "DEPLOYING for 15m", .regions = (char *) "" };
        struct am_alert alerts[] = {
                { .project_id = 1, .deployment = "prod-a", .status = "PARTIALLYDEPLOYED", .health = HEALTH_FAILED, .alert = &s1 },
                { .project_id = 2, .deployment = "dev-b", .status = "DEPLOYING", .health = HEALTH_DEGRADED, .alert = &s2 },
        };
        char *body = render_alertmanager_open(alerts, 2, 0, T0 + 250 * USEC_PER_SEC);
        char *empty = render_alertmanager_open(NULL, 0, 0, T0);
        struct json_object *o = json_tokener_parse(body), *a;

        assert_int_equal(json_object_array_length(o), 2);
        a = json_object_array_get_idx(o, 0);
        check_labels(a);
        assert_string_equal(get_str(get(a, "annotations"), "summary"), "prod-a (project 1) is failed");
        assert_string_equal(get_str(get(a, "annotations"), "description"), "region 1: Failed to pull image");
        assert_string_equal(get_str(a, "startsAt"), "2026-11-27T14:38:58.123Z");
        assert_string_equal(get_str(a, "endsAt"), "2026-11-27T14:43:08.123Z");
        a = json_object_array_get_idx(o, 1);
        assert_string_equal(get_str(get(a, "labels"), "deployment"), "dev-b");
        assert_string_equal(get_str(get(a, "labels"), "severity"), "warning");
        assert_false(json_object_object_get_ex(get(a, "labels"), "region_id", NULL));
        assert_string_equal(get_str(a, "startsAt"), "2026-11-27T14:38:59.123Z");
        assert_string_equal(empty, "[]");
        json_object_put(o);
        free(body);
        free(empty);
}

/* Degraded → failed (alert.escalated): the critical alert starts, the warning one ends now. */
static void test_render_alertmanager_escalation(void **state) {
        struct event *e = event_new(EVENT_ALERT_ESCALATED, T0 + 60 * USEC_PER_SEC, "main", 1, "prod-a");
        struct json_object *o, *a;
        char *body;

        event_add(e, "health", "failed");
        event_add(e, "severity", "critical");
        event_add(e, "old_severity", "warning");
        event_add(e, "reason", "region 7: OOM");
        event_add(e, "regions", "7");
        event_add_int(e, "alert_started_usec", (int64_t) T0);
        body = render_alertmanager_event(e, T0 + 70 * USEC_PER_SEC, T0 + 250 * USEC_PER_SEC);
        o = json_tokener_parse(body);
        assert_int_equal(json_object_array_length(o), 2);
        a = json_object_array_get_idx(o, 0);
        assert_string_equal(get_str(get(a, "labels"), "severity"), "critical");
        assert_string_equal(get_str(get(a, "labels"), "deployment"), "prod-a");
        assert_string_equal(get_str(get(a, "labels"), "region_id"), "7");
        assert_string_equal(get_str(get(a, "annotations"), "summary"), "prod-a (project 1) is failed");
        assert_string_equal(get_str(a, "startsAt"), "2026-11-27T14:38:58.123Z");
        assert_string_equal(get_str(a, "endsAt"), "2026-11-27T14:43:08.123Z");
        a = json_object_array_get_idx(o, 1);
        assert_string_equal(get_str(get(a, "labels"), "severity"), "warning");
        assert_string_equal(get_str(a, "endsAt"), "2026-11-27T14:40:08.123Z");
        assert_true(render_wants(WEBHOOK_FORMAT_ALERTMANAGER, e));
        json_object_put(o);
        free(body);
        event_free(e);
}

/* The context of alert.* events (region names, log tail or why there is none, capacity) as
 * annotations, on every alert of the post, and all of it on a re-post with its endsAt
 * (Alertmanager keeps the latest post's annotations). */
static void test_render_alertmanager_context(void **state) {
        struct event *e = event_new(EVENT_ALERT_ESCALATED, T0 + 60 * USEC_PER_SEC, "main", 1, "prod-a");
        struct alert_state s = { .open = true, .started = T0, .severity = (char *) "critical", .regions = (char *) "7,9" };
        struct region named[] = { { .id = 7, .name = (char *) "Luxembourg-2", .state = (char *) "ACTIVE" } };
        struct region_directory dir = { .items = named, .n = 1 };
        struct alert_state fired = s, failed = s;
        struct am_alert open[] = { { .project_id = 1, .deployment = "prod-a", .alert = &fired, .regions = &dir },
                                   { .project_id = 2, .deployment = "dev-b", .alert = &failed },
                                   { .project_id = 1, .deployment = "prod-a", .alert = &fired, .without_tail = true } };
        struct json_object *o, *ann;
        char *body;

        event_add(e, "health", "failed");
        event_add(e, "old_severity", "warning");
        event_add(e, "regions", "7");
        event_add(e, "region_names", "Luxembourg-2 (7)");
        event_add(e, "log_tail_status", "ok");
        event_add(e, "log_tail", "line 1\nline 2");
        event_add(e, "capacity_hint", "capacity for 1xA100 in Luxembourg-2 (7): 0");
        body = render_alertmanager_event(e, T0 + 70 * USEC_PER_SEC, T0 + 250 * USEC_PER_SEC);
        o = json_tokener_parse(body);
        for (size_t i = 0; i < 2; i++) {
                ann = get(json_object_array_get_idx(o, i), "annotations");
                assert_string_equal(get_str(ann, "region_names"), "Luxembourg-2 (7)");
                assert_string_equal(get_str(ann, "log_tail"), "line 1\nline 2");
                assert_false(json_object_object_get_ex(ann, "log_tail_status", NULL));
                assert_string_equal(get_str(ann, "capacity"), "capacity for 1xA100 in Luxembourg-2 (7): 0");
        }
        json_object_put(o);
        free(body);
        event_free(e);

        e = event_new(EVENT_ALERT_FIRING, T0, "main", 1, "prod-a");
        event_add(e, "regions", "7");
        event_add(e, "log_tail_status", "could not be fetched: HTTP 500");
        body = render_event(WEBHOOK_FORMAT_ALERTMANAGER, e);
        o = json_tokener_parse(body);
        ann = get(json_object_array_get_idx(o, 0), "annotations");
        assert_string_equal(get_str(ann, "log_tail_status"), "could not be fetched: HTTP 500");
        assert_false(json_object_object_get_ex(ann, "log_tail", NULL));
        assert_false(json_object_object_get_ex(ann, "region_names", NULL));
        json_object_put(o);
        free(body);
        event_free(e);

        /* The re-post: the context the alert.firing carried, kept with the alert. */
        fired.log_tail = (char *) "oom\nkilled";
        fired.log_tail_status = (char *) "ok";
        fired.capacity_hint = (char *) "capacity for 1xA100 in Luxembourg-2 (7): 0";
        failed.log_tail_status = (char *) "could not be fetched: HTTP 500";
        body = render_alertmanager_open(open, 3, 0, T0 + 250 * USEC_PER_SEC);
        o = json_tokener_parse(body);
        ann = get(json_object_array_get_idx(o, 0), "annotations");
        assert_string_equal(get_str(ann, "log_tail"), "oom\nkilled");
        assert_false(json_object_object_get_ex(ann, "log_tail_status", NULL));
        assert_string_equal(get_str(ann, "capacity"), "capacity for 1xA100 in Luxembourg-2 (7): 0");
        assert_string_equal(get_str(ann, "region_names"), "Luxembourg-2 (7), 9");
        assert_string_equal(get_str(json_object_array_get_idx(o, 0), "endsAt"), "2026-11-27T14:43:08.123Z");
        /* No directory (the endpoint never answered): the ids, as the firing post had them. */
        ann = get(json_object_array_get_idx(o, 1), "annotations");
        assert_string_equal(get_str(ann, "region_names"), "7, 9");
        assert_false(json_object_object_get_ex(ann, "log_tail", NULL));
        assert_string_equal(get_str(ann, "log_tail_status"), "could not be fetched: HTTP 500");
        assert_false(json_object_object_get_ex(ann, "capacity", NULL));
        /* A webhook with log_tail = false: no tail, as its firing post had none. */
        ann = get(json_object_array_get_idx(o, 2), "annotations");
        assert_false(json_object_object_get_ex(ann, "log_tail", NULL));
        assert_string_equal(get_str(ann, "capacity"), "capacity for 1xA100 in Luxembourg-2 (7): 0");
        json_object_put(o);
        free(body);
}

static void test_render_alertmanager_watchdog(void **state) {
        char *body = render_alertmanager_open(NULL, 0, T0, T0 + 240 * USEC_PER_SEC);
        struct json_object *o = json_tokener_parse(body), *a, *l;

        assert_int_equal(json_object_array_length(o), 1);
        a = json_object_array_get_idx(o, 0);
        l = get(a, "labels");
        assert_int_equal(json_object_object_length(l), 2);
        assert_string_equal(get_str(l, "alertname"), "InferwatchWatchdog");
        assert_string_equal(get_str(l, "severity"), "none");
        assert_string_equal(get_str(a, "startsAt"), "2026-11-27T14:38:58.123Z");
        assert_string_equal(get_str(a, "endsAt"), "2026-11-27T14:42:58.123Z");
        json_object_put(o);
        free(body);
}

/* api.unreachable and api.auth_failed become alerts only for a webhook whose filter names them. */
static void test_alertmanager_api_alerts(void **state) {
        struct webhook plain = { .name = (char *) "am", .format = WEBHOOK_FORMAT_ALERTMANAGER, .min_priority = 7 };
        struct webhook asks = plain;
        char *events[] = { (char *) "alert.*", (char *) "api.*" };
        struct event *down = event_new(EVENT_API_UNREACHABLE, T0, "prod", 0, NULL);
        struct event *up = event_new(EVENT_API_RECOVERED, T0 + 60 * USEC_PER_SEC, "prod", 0, NULL);
        struct event *auth = event_new(EVENT_API_AUTH_FAILED, T0, "prod", 42, NULL);
        struct am_alert open[] = { { .kind = AM_API_UNREACHABLE, .account = "prod", .since = T0 } };
        struct json_object *o, *a;
        char *body;

        asks.events = events;
        asks.n_events = 2;
        down->priority = up->priority = auth->priority = 3;
        event_set_message(down, "API prod unreachable");
        event_add(down, "api_error", "HTTP 503");
        assert_false(webhook_accepts(&plain, down));
        assert_false(webhook_accepts(&plain, up));
        assert_true(webhook_accepts(&asks, down));
        assert_true(webhook_accepts(&asks, up));
        assert_true(webhook_accepts(&asks, auth));

        body = render_alertmanager_event(down, T0, T0 + 240 * USEC_PER_SEC);
        o = json_tokener_parse(body);
        a = json_object_array_get_idx(o, 0);
        assert_int_equal(json_object_object_length(get(a, "labels")), 3);
        assert_string_equal(get_str(get(a, "labels"), "alertname"), "InferwatchApiUnreachable");
        assert_string_equal(get_str(get(a, "labels"), "account"), "prod");
        assert_string_equal(get_str(get(a, "labels"), "severity"), "critical");
        assert_string_equal(get_str(get(a, "annotations"), "description"), "HTTP 503");
        assert_string_equal(get_str(a, "endsAt"), "2026-11-27T14:42:58.123Z");
        json_object_put(o);
        free(body);

        body = render_alertmanager_event(up, T0 + 60 * USEC_PER_SEC, T0 + 300 * USEC_PER_SEC);
        o = json_tokener_parse(body);
        a = json_object_array_get_idx(o, 0);
        assert_string_equal(get_str(get(a, "labels"), "alertname"), "InferwatchApiUnreachable");
        assert_string_equal(get_str(a, "endsAt"), "2026-11-27T14:39:58.123Z"); /* ends when it recovered */
        json_object_put(o);
        free(body);

        body = render_alertmanager_event(auth, T0, T0 + 240 * USEC_PER_SEC);
        o = json_tokener_parse(body);
        a = json_object_array_get_idx(o, 0);
        assert_string_equal(get_str(get(a, "labels"), "alertname"), "InferwatchApiAuthFailed");
        assert_string_equal(get_str(get(a, "labels"), "project_id"), "42");
        json_object_put(o);
        free(body);

        /* Re-posted while it lasts, from when it began. */
        body = render_alertmanager_open(open, 1, 0, T0 + 240 * USEC_PER_SEC);
        o = json_tokener_parse(body);
        a = json_object_array_get_idx(o, 0);
        assert_string_equal(get_str(get(a, "labels"), "alertname"), "InferwatchApiUnreachable");
        assert_string_equal(get_str(a, "startsAt"), "2026-11-27T14:38:58.123Z");
        assert_string_equal(get_str(a, "endsAt"), "2026-11-27T14:42:58.123Z");
        json_object_put(o);
        free(body);
        event_free(down);
        event_free(up);
        event_free(auth);
}

static void test_render_alertmanager_url(void **state) {
        static const char *const cases[][2] = {
                { "http://am:9093", "http://am:9093/api/v2/alerts" },
                { "http://am:9093/", "http://am:9093/api/v2/alerts" },
                { "http://am:9093/api/v2/alerts", "http://am:9093/api/v2/alerts" },
                { "http://am:9093/api/v2/alerts/", "http://am:9093/api/v2/alerts" },
                { "https://h/prefix", "https://h/prefix/api/v2/alerts" },
                { "https://h/prefix//", "https://h/prefix/api/v2/alerts" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *u = render_alertmanager_url(cases[i][0]);
                assert_string_equal(u, cases[i][1]);
                free(u);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_accepts_everything_by_default),
                cmocka_unit_test(test_accepts_never_webhook_events),
                cmocka_unit_test(test_accepts_min_priority),
                cmocka_unit_test(test_accepts_event_globs),
                cmocka_unit_test(test_accepts_deployments_and_projects),
                cmocka_unit_test(test_accepts_alertmanager_only_alerts),
                cmocka_unit_test(test_render_json_is_the_envelope),
                cmocka_unit_test(test_render_slack_fields),
                cmocka_unit_test(test_render_slack_icons),
                cmocka_unit_test(test_render_slack_api_fields),
                cmocka_unit_test(test_render_slack_escapes),
                cmocka_unit_test(test_render_slack_limits),
                cmocka_unit_test(test_render_hostile_text),
                cmocka_unit_test(test_render_alertmanager_firing),
                cmocka_unit_test(test_render_alertmanager_resolved),
                cmocka_unit_test(test_render_alertmanager_no_region),
                cmocka_unit_test(test_render_alertmanager_open),
                cmocka_unit_test(test_render_alertmanager_escalation),
                cmocka_unit_test(test_render_alertmanager_context),
                cmocka_unit_test(test_render_alertmanager_watchdog),
                cmocka_unit_test(test_alertmanager_api_alerts),
                cmocka_unit_test(test_render_alertmanager_url),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
