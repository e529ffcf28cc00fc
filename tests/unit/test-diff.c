/* The diff engine: state + observation + clock → events, with damping and the alert lifecycle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <syslog.h>

#include "diff.h"

#define T0 (1800000000ULL * USEC_PER_SEC)
#define SEC USEC_PER_SEC

static const struct diff_params params = {
        .stuck_after = 15 * USEC_PER_MINUTE,
        .alert_for = 2,
        .resolve_for = 1,
        .repeat_interval = 4 * USEC_PER_HOUR,
        .unreachable_after = 3,
        .flap = FLAP_PARAMS_DEFAULT,
};

/* status, then triples ready,total,error (NULL for none) for regions 1, 2, ...; ended by -1. */
static struct deployment *make(const char *status, ...) {
        struct deployment *d = xcalloc(1, sizeof(*d));
        va_list ap;

        d->name = xstrdup("my-instance");
        d->project_id = 1;
        d->status = xstrdup(status);
        d->status_enum = deploy_status_from_string(status);
        d->image = xstrdup("nginx:1");
        d->flavor_name = xstrdup("small");
        d->envs_keys = xstrdup("A,B");
        va_start(ap, status);
        for (int64_t region = 1;; region++) {
                int ready = va_arg(ap, int);
                if (ready < 0)
                        break;
                struct container *c = array_append(&d->containers, &d->n_containers, sizeof(*c));
                c->region_id = region;
                c->ready = ready;
                c->total = va_arg(ap, int);
                c->error_message = xstrdup(va_arg(ap, const char *));
                c->scale_min = 1;
                c->scale_max = 2;
        }
        va_end(ap);
        return d;
}
#define MAKE(...) make(__VA_ARGS__, -1)

struct fixture {
        struct watch_state w;
        struct event_list ev;
        struct diff_params p;
};

static int setup(void **state) {
        struct fixture *f = xcalloc(1, sizeof(*f));

        f->p = params;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        watch_state_done(&f->w);
        event_list_clear(&f->ev);
        free(f);
        return 0;
}

/* Observes d (consumed; NULL = gone) at time t and returns the event types, comma-separated. */
static char *observe(struct fixture *f, struct deployment *d, usec_t t) {
        char *s = xstrdup("");

        event_list_clear(&f->ev);
        diff_observe(&f->p, &f->w, "main", 1, "my-instance", d, t, &f->ev);
        deployment_free(d);
        for (size_t i = 0; i < f->ev.n; i++) {
                char *n = xasprintf("%s%s%s", s, i ? "," : "", event_type_to_string(f->ev.items[i]->type));
                free(s);
                s = n;
        }
        return s;
}

#define OBSERVE(f, d, t, want)                          \
        do {                                            \
                char *got_ = observe(f, d, t);          \
                assert_string_equal(got_, want);        \
                free(got_);                             \
        } while (0)

static const char *field(struct fixture *f, size_t i, const char *key) {
        assert_true(i < f->ev.n);
        return event_get(f->ev.items[i], key);
}

static void test_discovered_once(void **state) {
        struct fixture *f = *state;

        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0, "deployment.discovered");
        assert_string_equal(field(f, 0, "status"), "ACTIVE");
        assert_string_equal(field(f, 0, "health"), "healthy");
        assert_string_equal(f->ev.items[0]->deployment, "my-instance");
        assert_int_equal(f->ev.items[0]->project_id, 1);
        assert_string_equal(f->ev.items[0]->message, "my-instance (project 1): discovered, ACTIVE, healthy, 1/1 ready in 1 region");
        /* The same observation again is not news. */
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0 + 60 * SEC, "");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0 + 120 * SEC, "");
}

static void test_discovered_with_error(void **state) {
        struct fixture *f = *state;

        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, "Failed to pull image"), T0,
                "deployment.discovered,container.error");
        assert_string_equal(field(f, 0, "health"), "degraded");
        assert_string_equal(field(f, 1, "region_id"), "2");
        assert_string_equal(field(f, 1, "error_message"), "Failed to pull image");
        assert_int_equal(f->ev.items[1]->priority, 3);
        /* for = 2: the second problem poll opens the alert. */
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, "Failed to pull image"), T0 + 2 * SEC, "alert.firing");
        assert_string_equal(field(f, 0, "severity"), "warning");
        assert_string_equal(field(f, 0, "reason"), "region 2: Failed to pull image");
        assert_string_equal(field(f, 0, "regions"), "2");
}

static void test_rollout_story(void **state) {
        struct fixture *f = *state;
        const char *alert_id;

        OBSERVE(f, MAKE("DEPLOYING"), T0, "deployment.discovered");
        assert_string_equal(field(f, 0, "health"), "progressing");
        OBSERVE(f, MAKE("DEPLOYING"), T0 + 2 * SEC, "");
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 2, NULL, 0, 1, "Failed to pull image"), T0 + 4 * SEC,
                "deployment.status_changed,container.added,container.added,container.error,deployment.health_changed");
        assert_string_equal(field(f, 0, "old_status"), "DEPLOYING");
        assert_string_equal(field(f, 0, "new_status"), "PARTIALLYDEPLOYED");
        assert_string_equal(field(f, 0, "seconds_in_previous"), "4");
        assert_string_equal(f->ev.items[0]->message, "my-instance (project 1): DEPLOYING → PARTIALLYDEPLOYED after 4s");
        assert_string_equal(field(f, 4, "old_health"), "progressing");
        assert_string_equal(field(f, 4, "health"), "degraded");
        assert_int_equal(f->ev.items[4]->priority, 4);

        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 2, NULL, 0, 1, "Failed to pull image"), T0 + 6 * SEC, "alert.firing");
        alert_id = xstrdup(field(f, 0, "alert_id"));
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 2, NULL, 0, 1, "Failed to pull image"), T0 + 8 * SEC, "");

        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 2, 2, NULL, 0, 1, NULL), T0 + 10 * SEC,
                "container.ready_changed,container.error_cleared,deployment.health_changed,alert.resolved");
        assert_string_equal(field(f, 1, "old_error_message"), "Failed to pull image");
        assert_string_equal(field(f, 2, "health"), "progressing");
        assert_string_equal(field(f, 3, "alert_id"), alert_id);
        assert_string_equal(field(f, 3, "seconds_open"), "4");
        assert_int_equal(f->ev.items[3]->priority, 5);

        OBSERVE(f, MAKE("ACTIVE", 2, 2, NULL, 1, 1, NULL), T0 + 12 * SEC,
                "deployment.status_changed,container.ready_changed,deployment.health_changed");
        assert_string_equal(field(f, 0, "seconds_in_previous"), "8");
        assert_string_equal(field(f, 2, "health"), "healthy");
        OBSERVE(f, MAKE("ACTIVE", 2, 2, NULL, 1, 1, NULL), T0 + 72 * SEC, "");
        free((char *) alert_id);
}

static void test_flapping_one_alert(void **state) {
        struct fixture *f = *state;
        size_t firing = 0, resolved = 0;
        usec_t t = T0;

        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t, "deployment.discovered");
        for (int i = 0; i < 20; i++) {
                t += 2 * SEC;
                struct deployment *d = i % 2 == 0 ? MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, "CrashLoopBackOff")
                                                   : MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL);
                free(observe(f, d, t));
                firing += event_list_find(&f->ev, EVENT_ALERT_FIRING) != NULL;
                resolved += event_list_find(&f->ev, EVENT_ALERT_RESOLVED) != NULL;
        }
        assert_int_equal(firing, 1);
        assert_int_equal(resolved, 0);
        assert_non_null(f->w.alert);
        /* Calm again: resolved once, after the flips leave the window. */
        for (int i = 0; i < FLAP_WINDOW + 2; i++) {
                t += 2 * SEC;
                free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t));
                resolved += event_list_find(&f->ev, EVENT_ALERT_RESOLVED) != NULL;
        }
        assert_int_equal(resolved, 1);
        assert_null(f->w.alert);
}

static void test_flapping_alert_marked(void **state) {
        struct fixture *f = *state;
        const struct event *e = NULL;
        usec_t t = T0;

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL), t));
        for (int i = 0; i < 6 && !e; i++) {
                t += SEC;
                free(observe(f, i % 2 == 0 ? MAKE("ACTIVE", 1, 1, "boom") : MAKE("ACTIVE", 1, 1, NULL), t));
                e = event_list_find(&f->ev, EVENT_ALERT_FIRING);
        }
        assert_non_null(e);
        assert_string_equal(event_get(e, "flapping"), "yes");
}

static void test_single_blip_no_alert(void **state) {
        struct fixture *f = *state;

        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0, "deployment.discovered");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, "blip"), T0 + SEC, "container.error,deployment.health_changed");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0 + 2 * SEC, "container.error_cleared,deployment.health_changed");
        assert_null(f->w.alert);
}

static void test_for_and_resolve_for(void **state) {
        struct fixture *f = *state;

        f->p.alert_for = 3;
        f->p.resolve_for = 2;
        free(observe(f, MAKE("ACTIVE", 1, 1, NULL), T0));
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "x"), T0 + 1 * SEC, "container.error,container.ready_changed,deployment.health_changed");
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "x"), T0 + 2 * SEC, "");
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "x"), T0 + 3 * SEC, "alert.firing");
        assert_string_equal(field(f, 0, "severity"), "critical");
        assert_int_equal(f->ev.items[0]->priority, 3);
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0 + 4 * SEC, "container.error_cleared,container.ready_changed,deployment.health_changed");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0 + 5 * SEC, "alert.resolved");
}

static void test_stuck(void **state) {
        struct fixture *f = *state;
        usec_t t = T0;

        OBSERVE(f, MAKE("DEPLOYING"), t, "deployment.discovered");
        for (; t < T0 + 14 * USEC_PER_MINUTE; t += 30 * SEC)
                OBSERVE(f, MAKE("DEPLOYING"), t + 30 * SEC, "");
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 0, 1, NULL), T0 + 14 * USEC_PER_MINUTE + 30 * SEC,
                "deployment.status_changed,container.added");
        /* The clock runs across DEPLOYING → PARTIALLYDEPLOYED: one rollout, one stuck timer. */
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 0, 1, NULL), T0 + 15 * USEC_PER_MINUTE,
                "deployment.health_changed,deployment.stuck");
        assert_string_equal(field(f, 0, "health"), "failed");
        assert_string_equal(field(f, 0, "reason"), "PARTIALLYDEPLOYED for 15m00s");
        assert_string_equal(field(f, 1, "seconds_unsettled"), "900");
        assert_string_equal(f->ev.items[1]->message, "my-instance (project 1): stuck in PARTIALLYDEPLOYED for 15m00s");
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 0, 1, NULL), T0 + 15 * USEC_PER_MINUTE + 2 * SEC, "alert.firing");
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 0, 1, NULL), T0 + 16 * USEC_PER_MINUTE, "");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0 + 17 * USEC_PER_MINUTE,
                "deployment.status_changed,container.ready_changed,deployment.health_changed,alert.resolved");
        assert_false(f->w.stuck_reported);
        assert_int_equal(f->w.unsettled_since, 0);
}

static void test_stuck_deleting(void **state) {
        struct fixture *f = *state;

        OBSERVE(f, MAKE("DELETING"), T0, "deployment.discovered");
        OBSERVE(f, MAKE("DELETING"), T0 + 16 * USEC_PER_MINUTE, "deployment.stuck");
        assert_string_equal(field(f, 0, "health"), "deleting");
        OBSERVE(f, MAKE("DELETING"), T0 + 17 * USEC_PER_MINUTE, "alert.firing");
}

static void test_pending_cycle_no_alert(void **state) {
        struct fixture *f = *state;
        usec_t t = T0;

        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), t, "deployment.discovered");
        OBSERVE(f, MAKE("PENDING", 0, 0, NULL), t += 60 * SEC,
                "deployment.status_changed,container.ready_changed,deployment.health_changed");
        assert_string_equal(field(f, 2, "health"), "idle");
        for (int i = 0; i < 30; i++)
                OBSERVE(f, MAKE("PENDING", 0, 0, NULL), t += 60 * SEC, "");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), t += 60 * SEC,
                "deployment.status_changed,container.ready_changed,deployment.health_changed");
        assert_null(f->w.alert);
}

static void test_gone_and_back(void **state) {
        struct fixture *f = *state;

        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0, "deployment.discovered");
        OBSERVE(f, NULL, T0 + 100 * SEC, "deployment.gone");
        assert_string_equal(field(f, 0, "old_status"), "ACTIVE");
        assert_string_equal(field(f, 0, "seconds_in_previous"), "100");
        assert_int_equal(f->ev.items[0]->priority, 4);
        OBSERVE(f, NULL, T0 + 200 * SEC, "");
        OBSERVE(f, MAKE("DEPLOYING"), T0 + 300 * SEC, "deployment.discovered");
}

static void test_never_existed(void **state) {
        struct fixture *f = *state;

        OBSERVE(f, NULL, T0, "deployment.gone");
        assert_string_equal(f->ev.items[0]->message, "my-instance (project 1): does not exist");
        OBSERVE(f, NULL, T0 + 60 * SEC, "");
}

static void test_gone_resolves_alert(void **state) {
        struct fixture *f = *state;

        free(observe(f, MAKE("ACTIVE", 0, 1, "bad"), T0));
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "bad"), T0 + SEC, "alert.firing");
        OBSERVE(f, NULL, T0 + 2 * SEC, "deployment.gone,alert.resolved");
        assert_string_equal(field(f, 1, "reason"), "deployment gone");
}

static void test_reminder(void **state) {
        struct fixture *f = *state;

        f->p.repeat_interval = 60 * SEC;
        free(observe(f, MAKE("ACTIVE", 0, 1, "bad"), T0));
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "bad"), T0 + SEC, "alert.firing");
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "bad"), T0 + 30 * SEC, "");
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "bad"), T0 + 61 * SEC, "alert.reminder");
        assert_string_equal(field(f, 0, "seconds_open"), "60");
        assert_int_equal(f->ev.items[0]->priority, 4);
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "bad"), T0 + 90 * SEC, "");
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "bad"), T0 + 121 * SEC, "alert.reminder");
        f->p.repeat_interval = 0;
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "bad"), T0 + 800 * SEC, "");
}

/* Degraded (some instances serve) → failed (none does): the open alert becomes critical, once. */
static void test_escalation(void **state) {
        struct fixture *f = *state;

        free(observe(f, MAKE("ACTIVE", 1, 1, "bad", 1, 1, NULL), T0));
        OBSERVE(f, MAKE("ACTIVE", 1, 1, "bad", 1, 1, NULL), T0 + SEC, "alert.firing");
        assert_string_equal(field(f, 0, "severity"), "warning");
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "bad", 0, 1, NULL), T0 + 2 * SEC, "container.ready_changed,"
                "container.ready_changed,deployment.health_changed,alert.escalated");
        assert_string_equal(field(f, 3, "severity"), "critical");
        assert_string_equal(field(f, 3, "old_severity"), "warning");
        assert_string_equal(field(f, 3, "health"), "failed");
        assert_string_equal(f->w.alert->severity, "critical");
        OBSERVE(f, MAKE("ACTIVE", 0, 1, "bad", 0, 1, NULL), T0 + 3 * SEC, "");
        /* Back to degraded: the alert stays critical, nothing more is said. */
        OBSERVE(f, MAKE("ACTIVE", 1, 1, "bad", 1, 1, NULL), T0 + 4 * SEC, "container.ready_changed,"
                "container.ready_changed,deployment.health_changed");
        assert_string_equal(f->w.alert->severity, "critical");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), T0 + 5 * SEC, "container.error_cleared,"
                "deployment.health_changed,alert.resolved");
        assert_string_equal(field(f, 2, "severity"), "critical");
}

static void test_error_changes(void **state) {
        struct fixture *f = *state;

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, "a"), T0));
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, "b"), T0 + SEC, "container.error,alert.firing");
        assert_string_equal(field(f, 0, "error_message"), "b");
        assert_string_equal(field(f, 0, "old_error_message"), "a");
}

/* A crash-loop's text changes on every poll (back-off, pod name): one container.error, the
 * latest text kept; another error in the same region is a second one. */
static void test_error_signature(void **state) {
        struct fixture *f = *state;
        static const char *const texts[] = {
                "Back-off 10s restarting failed container=llm pod=llm-7d9f8b6c5-q2x7m",
                "Back-off 20s restarting failed container=llm pod=llm-7d9f8b6c5-8kzlw",
                "Back-off 40s restarting failed container=llm pod=llm-7d9f8b6c5-x5v2t",
                "Back-off 1m20s restarting failed container=llm pod=llm-7d9f8b6c5-q2x7m",
        };

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), T0));
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, texts[0]), T0 + SEC,
                "deployment.status_changed,container.error,container.ready_changed,deployment.health_changed");
        for (size_t i = 1; i < ELEMENTSOF(texts); i++) {
                _cleanup_free_ char *got = observe(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, texts[i]),
                                                   T0 + (1 + i) * SEC);
                assert_null(strstr(got, "container.error"));
                assert_string_equal(f->w.snap->containers[1].error_message, texts[i]);
        }
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, "Back-off pulling image \"llm:v2\""), T0 + 9 * SEC,
                "container.error");
        assert_string_equal(field(f, 0, "old_error_message"), texts[3]);
        assert_int_equal(f->ev.items[0]->priority, LOG_ERR);
}

/* A crash-loop whose restart count grows is one error; its exit code turning from the program's
 * own failure (1) to a kill (137) is another: a second container.error, at err. */
static void test_error_exit_code(void **state) {
        struct fixture *f = *state;
        usec_t t = T0;

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t));
        for (int i = 0; i < 4; i++) {
                _cleanup_free_ char *msg = NULL, *got = NULL;
                assert_true(asprintf(&msg, "CrashLoopBackOff: container llm exited with code %d, restarted %d times",
                                     i < 3 ? 1 : 137, 3 + i) > 0);
                got = observe(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, msg), t += SEC);
                assert_int_equal(!!strstr(got, "container.error"), i == 0 || i == 3);
        }
        assert_string_equal(event_get(event_list_find(&f->ev, EVENT_CONTAINER_ERROR), "error_message"),
                            "CrashLoopBackOff: container llm exited with code 137, restarted 6 times");
        assert_int_equal(event_list_find(&f->ev, EVENT_CONTAINER_ERROR)->priority, LOG_ERR);
}

/* The kubelet alternates ErrImagePull and ImagePullBackOff: both reported once, then going back
 * and forth between them is not news; a third error is, and so is one after the error cleared. */
static void test_error_alternation(void **state) {
        struct fixture *f = *state;
        const char *pull = "Failed to pull image \"llm:v2\": rpc error: code = NotFound desc = not found";
        const char *backoff = "Back-off pulling image \"llm:v2\"";
        size_t errors = 0;
        usec_t t = T0;

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t));
        for (int i = 0; i < 20; i++) {
                free(observe(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, i % 2 ? backoff : pull), t += SEC));
                for (size_t j = 0; j < f->ev.n; j++)
                        errors += f->ev.items[j]->type == EVENT_CONTAINER_ERROR;
                assert_string_equal(f->w.snap->containers[1].error_message, i % 2 ? backoff : pull);
        }
        assert_int_equal(errors, 2);
        /* By now it flaps: a new kind of error is still an error, once; the flap's repeats are debug. */
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, "Back-off 10s restarting failed container=llm"),
                t += SEC, "container.error");
        assert_int_equal(f->ev.items[0]->priority, LOG_ERR);
        assert_null(event_get(f->ev.items[0], "flapping"));
        free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t += SEC));
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, backoff), t += SEC,
                "deployment.status_changed,container.error,container.ready_changed,deployment.health_changed");
        assert_int_equal(f->ev.items[1]->priority, LOG_DEBUG);
        free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t += SEC));
        free(observe(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, "Back-off 20s restarting failed container=llm"),
                     t += SEC));
        assert_non_null(event_list_find(&f->ev, EVENT_CONTAINER_ERROR));
        assert_int_equal(event_list_find(&f->ev, EVENT_CONTAINER_ERROR)->priority, LOG_DEBUG);
        assert_string_equal(event_get(event_list_find(&f->ev, EVENT_CONTAINER_ERROR), "flapping"), "yes");
        /* Its end tells how many new kinds of error it reported. */
        free(observe(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, "Back-off 20s restarting failed container=llm"),
                     t += FLAP_PARAMS_DEFAULT.stable));
        assert_non_null(event_list_find(&f->ev, EVENT_DEPLOYMENT_FLAPPING_ENDED));
        assert_string_equal(event_get(event_list_find(&f->ev, EVENT_DEPLOYMENT_FLAPPING_ENDED), "new_errors"), "1");
        assert_non_null(strstr(event_list_find(&f->ev, EVENT_DEPLOYMENT_FLAPPING_ENDED)->message,
                               "1 new kind of error reported during it"));
}

/* Going back to an error is not news only for a while: A → B, B for a day, then A again is a
 * container.error that says A (the last event said B). */
static void test_error_return_after_long(void **state) {
        struct fixture *f = *state;
        const char *a = "Failed to pull image \"llm:v2\": rpc error: code = NotFound desc = not found";
        const char *b = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu";
        usec_t t = T0;

        free(observe(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, a), t));
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, b), t += SEC, "container.error,alert.firing");
        free(observe(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, b), t += USEC_PER_DAY));
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, a), t += SEC, "container.error");
        assert_string_equal(field(f, 0, "error_message"), a);
        assert_string_equal(field(f, 0, "old_error_message"), b);
        assert_int_equal(f->ev.items[0]->priority, LOG_ERR);
        /* Within the window, back to B is still the same incident (A, B, A, B flaps, though). */
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, b), t += ERROR_RETURN_WINDOW, "deployment.flapping");
        /* After it, A again is news. */
        free(observe(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, a), t += ERROR_RETURN_WINDOW + SEC));
        assert_non_null(event_list_find(&f->ev, EVENT_CONTAINER_ERROR));
        assert_string_equal(event_get(event_list_find(&f->ev, EVENT_CONTAINER_ERROR), "error_message"), a);
}

/* Flap control: the second return to a recent state is a flap: one deployment.flapping, the
 * changes at debug with FLAPPING=yes, and one summary once stable for flap.stable. */
static void test_flap_control(void **state) {
        struct fixture *f = *state;
        size_t flapping = 0, warnings = 0;
        usec_t t = T0;

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t));
        for (int i = 0; i < 40; i++) {
                t += 2 * SEC;
                struct deployment *d = i % 2 == 0 ? MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, "Readiness probe failed: HTTP probe failed with statuscode: 503")
                                                   : MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL);
                free(observe(f, d, t));
                for (size_t j = 0; j < f->ev.n; j++) {
                        const struct event *e = f->ev.items[j];
                        warnings += e->priority <= LOG_WARNING;
                        if (e->type == EVENT_DEPLOYMENT_FLAPPING) {
                                flapping++;
                                assert_int_equal(i, 2);
                                assert_int_equal(e->priority, LOG_WARNING);
                                assert_string_equal(event_get(e, "flaps"), "status, health, errors and readiness");
                                assert_string_equal(event_get(e, "returns"), "2");
                        } else if (i >= 2 && e->type != EVENT_ALERT_FIRING) {
                                assert_int_equal(e->priority, LOG_DEBUG);
                                assert_string_equal(event_get(e, "flapping"), "yes");
                        }
                }
        }
        assert_int_equal(flapping, 1);
        /* The first bad poll (container.error and deployment.health_changed, which tells its
         * status change too), alert.firing and deployment.flapping. */
        assert_int_equal(warnings, 4);
        assert_true(f->w.flap.flapping);
        /* Calm: the alert resolves once the flips leave its window; the flap ends only once
         * stable for flap.stable. */
        for (int i = 0; i < FLAP_WINDOW + 2; i++) {
                t += 2 * SEC;
                free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t));
                assert_null(event_list_find(&f->ev, EVENT_DEPLOYMENT_FLAPPING_ENDED));
        }
        assert_null(f->w.alert);
        t = f->w.flap.hist->last_change + f->p.flap.stable - SEC;
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t, "");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t + SEC, "deployment.flapping_ended");
        assert_int_equal(f->ev.items[0]->priority, LOG_NOTICE);
        /* 40 changes, the first two before the flap. */
        assert_string_equal(field(f, 0, "changes"), "38");
        assert_string_equal(field(f, 0, "health"), "healthy");
        assert_false(f->w.flap.flapping);
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), t + 2 * SEC, "");
}

/* A poll that changes the status and the health: deployment.health_changed tells both (at the
 * health's priority), deployment.status_changed stays in the journal at info; alone, a status
 * change keeps the priority of a problem. */
static void test_status_with_health(void **state) {
        struct fixture *f = *state;
        const struct event *s, *h;

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), T0));
        OBSERVE(f, MAKE("PARTIALLYDEPLOYED", 1, 1, NULL, 0, 1, "OOMKilled"), T0 + 60 * SEC,
                "deployment.status_changed,container.error,container.ready_changed,deployment.health_changed");
        s = f->ev.items[0];
        h = f->ev.items[3];
        assert_int_equal(s->priority, LOG_INFO);
        assert_string_equal(event_get(s, "old_status"), "ACTIVE");
        assert_string_equal(event_get(s, "seconds_in_previous"), "60");
        assert_int_equal(h->priority, LOG_WARNING);
        assert_string_equal(event_get(h, "old_status"), "ACTIVE");
        assert_string_equal(event_get(h, "status"), "PARTIALLYDEPLOYED");
        assert_string_equal(h->message, "my-instance (project 1): health healthy → degraded, status ACTIVE → "
                                        "PARTIALLYDEPLOYED (region 2: OOMKilled)");
        /* Still degraded, another status: the status change is the news, at warning. */
        OBSERVE(f, MAKE("DEPLOYING", 1, 1, NULL, 0, 1, "OOMKilled"), T0 + 61 * SEC, "deployment.status_changed,alert.firing");
        assert_int_equal(f->ev.items[0]->priority, LOG_WARNING);
        /* Healthy again: both at their usual priorities, health_changed a notice with OLD_STATUS. */
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), T0 + 62 * SEC,
                "deployment.status_changed,container.error_cleared,container.ready_changed,"
                "deployment.health_changed,alert.resolved");
        assert_int_equal(f->ev.items[0]->priority, LOG_INFO);
        assert_int_equal(f->ev.items[3]->priority, LOG_NOTICE);
        assert_string_equal(event_get(f->ev.items[3], "old_status"), "DEPLOYING");
}

/* A deployment that goes gone while flapping: its flap ends with it (every flapping has its
 * end), and when it comes back it starts afresh. */
static void test_flap_gone(void **state) {
        struct fixture *f = *state;
        usec_t t = T0;
        const struct event *e;

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL), t));
        for (int i = 0; i < 6; i++)
                free(observe(f, i % 2 ? MAKE("ACTIVE", 1, 1, NULL) : MAKE("PARTIALLYDEPLOYED", 0, 1, NULL), t += SEC));
        assert_true(f->w.flap.flapping);
        free(observe(f, NULL, t += SEC));
        e = event_list_find(&f->ev, EVENT_DEPLOYMENT_FLAPPING_ENDED);
        assert_non_null(e);
        assert_int_equal(e->priority, LOG_NOTICE);
        assert_string_equal(event_get(e, "health"), "gone");
        assert_string_equal(event_get(e, "reason"), "deployment gone");
        assert_string_equal(event_get(e, "status"), "ACTIVE");
        assert_string_equal(event_get(e, "changes"), "4");
        assert_non_null(strstr(e->message, "gone while flapping"));
        assert_false(f->w.flap.flapping);
        OBSERVE(f, NULL, t += 10 * USEC_PER_MINUTE, "");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), t += SEC, "deployment.discovered");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), t += 10 * USEC_PER_MINUTE, "");
}

static void test_containers_added_removed(void **state) {
        struct fixture *f = *state;
        struct deployment *d;

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL, 1, 1, NULL), T0));
        d = MAKE("ACTIVE", 1, 1, NULL);
        OBSERVE(f, d, T0 + SEC, "container.removed");
        assert_string_equal(field(f, 0, "region_id"), "2");
        d = MAKE("ACTIVE", 1, 1, NULL, 0, 2, NULL);
        d->containers[1].region_id = 9;
        OBSERVE(f, d, T0 + 2 * SEC, "container.added,deployment.health_changed");
        assert_string_equal(field(f, 0, "region_id"), "9");
        assert_string_equal(field(f, 0, "total"), "2");
}

static void test_spec_changed(void **state) {
        struct fixture *f = *state;
        struct deployment *d;

        free(observe(f, MAKE("ACTIVE", 1, 1, NULL), T0));
        d = MAKE("ACTIVE", 1, 1, NULL);
        free(d->image);
        d->image = xstrdup("nginx:2");
        d->containers[0].scale_max = 5;
        free(d->envs_keys);
        d->envs_keys = xstrdup("A,B,C");
        OBSERVE(f, d, T0 + SEC, "deployment.spec_changed");
        assert_string_equal(field(f, 0, "changed"), "image,envs,scale");
        assert_string_equal(field(f, 0, "old_image"), "nginx:1");
        assert_string_equal(field(f, 0, "new_image"), "nginx:2");
        assert_string_equal(f->ev.items[0]->message, "my-instance (project 1): spec changed (image,envs,scale), image nginx:1 → nginx:2");

        d = MAKE("ACTIVE", 1, 1, NULL);
        free(d->image);
        d->image = xstrdup("nginx:2");
        d->containers[0].scale_max = 5;
        free(d->envs_keys);
        d->envs_keys = xstrdup("A,B,C");
        d->command = xstrdup("serve --port 80");
        free(d->flavor_name);
        d->flavor_name = NULL;
        OBSERVE(f, d, T0 + 2 * SEC, "deployment.spec_changed");
        assert_string_equal(field(f, 0, "changed"), "flavor_name,command");
}

static void test_identity_from_request(void **state) {
        struct fixture *f = *state;
        struct deployment *d = MAKE("ACTIVE", 1, 1, NULL);

        /* The body claims another name and project: the request's identity wins. */
        free(d->name);
        d->name = xstrdup("someone-else");
        d->project_id = 99;
        OBSERVE(f, d, T0, "deployment.discovered");
        assert_string_equal(f->ev.items[0]->deployment, "my-instance");
        assert_string_equal(f->w.snap->name, "my-instance");
        assert_int_equal(f->w.snap->project_id, 1);
}

static void test_wants_fast(void **state) {
        struct fixture *f = *state;

        assert_false(watch_state_wants_fast(&f->w));
        free(observe(f, MAKE("ACTIVE", 1, 1, NULL), T0));
        assert_false(watch_state_wants_fast(&f->w));
        free(observe(f, MAKE("DEPLOYING"), T0 + SEC));
        assert_true(watch_state_wants_fast(&f->w));
        free(observe(f, MAKE("ACTIVE", 1, 2, NULL), T0 + 2 * SEC));
        assert_true(watch_state_wants_fast(&f->w));
        free(observe(f, MAKE("PENDING", 0, 0, NULL), T0 + 3 * SEC));
        assert_false(watch_state_wants_fast(&f->w));
        free(observe(f, MAKE("ACTIVE", 1, 1, "x"), T0 + 4 * SEC));
        assert_true(watch_state_wants_fast(&f->w));
        /* A recent problem keeps the pace up until it leaves the damping window. */
        free(observe(f, MAKE("ACTIVE", 1, 1, NULL), T0 + 5 * SEC));
        assert_true(watch_state_wants_fast(&f->w));
        for (int i = 0; i < FLAP_WINDOW; i++)
                free(observe(f, MAKE("ACTIVE", 1, 1, NULL), T0 + (6 + i) * SEC));
        assert_false(watch_state_wants_fast(&f->w));
}

static void test_forget(void **state) {
        struct fixture *f = *state;

        free(observe(f, MAKE("ACTIVE", 0, 1, "bad"), T0));
        free(observe(f, MAKE("ACTIVE", 0, 1, "bad"), T0 + SEC));
        assert_non_null(f->w.alert);
        event_list_clear(&f->ev);
        diff_forget(&f->w, "main", 1, "my-instance", T0 + 2 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 1);
        assert_int_equal(f->ev.items[0]->type, EVENT_ALERT_RESOLVED);
        assert_string_equal(field(f, 0, "reason"), "no longer watched");
}

static void test_api_reachability(void **state) {
        struct fixture *f = *state;
        struct api_state s = {};
        struct api_error err = { .http_status = 503, .summary = (char *) "HTTP 503" };

        event_list_clear(&f->ev);
        diff_api_failure(&params, &s, "main", "https://api", &err, T0, &f->ev);
        diff_api_failure(&params, &s, "main", "https://api", &err, T0 + SEC, &f->ev);
        assert_int_equal(f->ev.n, 0);
        diff_api_failure(&params, &s, "main", "https://api", &err, T0 + 2 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 1);
        assert_int_equal(f->ev.items[0]->type, EVENT_API_UNREACHABLE);
        assert_int_equal(f->ev.items[0]->priority, 3);
        assert_string_equal(event_get(f->ev.items[0], "http_status"), "503");
        for (int i = 0; i < 10; i++)
                diff_api_failure(&params, &s, "main", "https://api", &err, T0 + (3 + i) * SEC, &f->ev);
        assert_int_equal(f->ev.n, 1);
        diff_api_success(&s, "main", "https://api", T0 + 60 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 2);
        assert_int_equal(f->ev.items[1]->type, EVENT_API_RECOVERED);
        assert_string_equal(event_get(f->ev.items[1], "seconds_unreachable"), "58");
        diff_api_success(&s, "main", "https://api", T0 + 61 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 2);
        /* Failures short of the threshold, then a success: nothing at all. */
        diff_api_failure(&params, &s, "main", "https://api", &err, T0 + 70 * SEC, &f->ev);
        diff_api_success(&s, "main", "https://api", T0 + 71 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 2);
}

/* A deployment whose own polls keep failing: deployment.unobservable once, at unreachable_after
 * failures in a row, no transition, and deployment.observable once when it answers again. */
static void test_unobservable(void **state) {
        struct fixture *f = *state;
        struct api_error err = { .http_status = 500, .summary = (char *) "HTTP 500: Internal Server Error",
                                 .request_id = (char *) "req-7" };

        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0, "deployment.discovered");
        event_list_clear(&f->ev);
        diff_observable(&f->w, "main", 1, "my-instance", T0 + SEC, &f->ev);
        assert_int_equal(f->ev.n, 0); /* a good poll of an observable deployment: nothing */
        diff_unobservable(&params, &f->w, "main", 1, "my-instance", 1, &err, T0 + 2 * SEC, &f->ev);
        diff_unobservable(&params, &f->w, "main", 1, "my-instance", 2, &err, T0 + 3 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 0);
        assert_int_equal(f->w.unobservable_since, 0);
        diff_unobservable(&params, &f->w, "main", 1, "my-instance", 3, &err, T0 + 4 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 1);
        assert_int_equal(f->ev.items[0]->type, EVENT_DEPLOYMENT_UNOBSERVABLE);
        assert_int_equal(f->ev.items[0]->priority, LOG_WARNING);
        assert_string_equal(f->ev.items[0]->deployment, "my-instance");
        assert_int_equal(f->ev.items[0]->project_id, 1);
        assert_string_equal(field(f, 0, "http_status"), "500");
        assert_string_equal(field(f, 0, "api_error"), "HTTP 500: Internal Server Error");
        assert_string_equal(field(f, 0, "request_id"), "req-7");
        assert_string_equal(field(f, 0, "failures"), "3");
        assert_string_equal(field(f, 0, "status"), "ACTIVE"); /* the last known state, unchanged */
        assert_string_equal(field(f, 0, "health"), "healthy");
        assert_non_null(strstr(f->ev.items[0]->message, "cannot be observed"));
        assert_int_equal(f->w.unobservable_since, T0 / SEC + 4);
        for (unsigned i = 4; i < 40; i++)
                diff_unobservable(&params, &f->w, "main", 1, "my-instance", i, &err, T0 + i * SEC, &f->ev);
        assert_int_equal(f->ev.n, 1);
        assert_int_equal(f->w.health, HEALTH_HEALTHY);
        assert_null(f->w.alert);
        diff_observable(&f->w, "main", 1, "my-instance", T0 + 94 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 2);
        assert_int_equal(f->ev.items[1]->type, EVENT_DEPLOYMENT_OBSERVABLE);
        assert_int_equal(f->ev.items[1]->priority, LOG_NOTICE);
        assert_string_equal(field(f, 1, "seconds_unobservable"), "90");
        assert_int_equal(f->w.unobservable_since, 0);
        diff_observable(&f->w, "main", 1, "my-instance", T0 + 95 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 2);
        /* The same answer as before the failures: no transition either. */
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0 + 96 * SEC, "");
        /* Failing again later is a new run: reported again. */
        diff_unobservable(&params, &f->w, "main", 1, "my-instance", 3, &err, T0 + 200 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 1);
        assert_int_equal(f->ev.items[0]->type, EVENT_DEPLOYMENT_UNOBSERVABLE);
}

/* Never observed (failing from its first poll): reported without a state, nothing invented. */
static void test_unobservable_from_start(void **state) {
        struct fixture *f = *state;
        struct api_error err = { .summary = (char *) "HTTP 200 with an unusable body: no \"status\"" };

        diff_unobservable(&params, &f->w, "main", 1, "my-instance", 3, &err, T0, &f->ev);
        assert_int_equal(f->ev.n, 1);
        assert_null(field(f, 0, "status"));
        assert_null(field(f, 0, "health"));
        assert_null(field(f, 0, "http_status"));
        assert_string_equal(field(f, 0, "api_error"), err.summary);
        assert_null(f->w.snap);
        diff_observable(&f->w, "main", 1, "my-instance", T0 + 30 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 2);
        assert_string_equal(field(f, 1, "seconds_unobservable"), "30");
        OBSERVE(f, MAKE("ACTIVE", 1, 1, NULL), T0 + 31 * SEC, "deployment.discovered");
}

static void test_auth(void **state) {
        struct fixture *f = *state;
        struct api_error err = { .http_status = 401, .message = (char *) "Bad permanent token: 29841" };
        bool failed = false;

        event_list_clear(&f->ev);
        diff_auth_failure(&failed, "main", 7, &err, T0, &f->ev);
        diff_auth_failure(&failed, "main", 7, &err, T0 + SEC, &f->ev);
        assert_int_equal(f->ev.n, 1);
        assert_int_equal(f->ev.items[0]->type, EVENT_API_AUTH_FAILED);
        assert_int_equal(f->ev.items[0]->priority, 2);
        assert_int_equal(f->ev.items[0]->project_id, 7);
        assert_string_equal(event_get(f->ev.items[0], "api_error"), "Bad permanent token: 29841");
        diff_auth_success(&failed, "main", 7, T0 + 2 * SEC, &f->ev);
        diff_auth_success(&failed, "main", 7, T0 + 3 * SEC, &f->ev);
        assert_int_equal(f->ev.n, 2);
        assert_int_equal(f->ev.items[1]->type, EVENT_API_RECOVERED);
}

static void test_event_ids_unique(void **state) {
        struct fixture *f = *state;

        free(observe(f, MAKE("PARTIALLYDEPLOYED", 1, 1, "a", 0, 1, "b"), T0));
        assert_int_equal(f->ev.n, 3);
        assert_false(sd_id128_equal(f->ev.items[0]->id, f->ev.items[1]->id));
        assert_false(sd_id128_equal(f->ev.items[1]->id, f->ev.items[2]->id));
        assert_int_equal(f->ev.items[0]->time, T0);
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                TEST(test_discovered_once),
                TEST(test_discovered_with_error),
                TEST(test_rollout_story),
                TEST(test_flapping_one_alert),
                TEST(test_flapping_alert_marked),
                TEST(test_single_blip_no_alert),
                TEST(test_for_and_resolve_for),
                TEST(test_stuck),
                TEST(test_stuck_deleting),
                TEST(test_pending_cycle_no_alert),
                TEST(test_gone_and_back),
                TEST(test_never_existed),
                TEST(test_gone_resolves_alert),
                TEST(test_reminder),
                TEST(test_escalation),
                TEST(test_error_changes),
                TEST(test_error_signature),
                TEST(test_error_exit_code),
                TEST(test_error_alternation),
                TEST(test_error_return_after_long),
                TEST(test_flap_gone),
                TEST(test_status_with_health),
                TEST(test_flap_control),
                TEST(test_containers_added_removed),
                TEST(test_spec_changed),
                TEST(test_identity_from_request),
                TEST(test_wants_fast),
                TEST(test_forget),
                TEST(test_api_reachability),
                TEST(test_unobservable),
                TEST(test_unobservable_from_start),
                TEST(test_auth),
                TEST(test_event_ids_unique),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
