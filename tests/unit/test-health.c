/* SPEC §3's health table, row by row, as a pure function of a snapshot and time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "health.h"

#define STUCK (15 * USEC_PER_MINUTE)

/* status, then triples of ready,total,error (NULL for none), ended by -1. */
static struct deployment make(const char *status, ...) {
        struct deployment d = { .name = xstrdup("x"), .status = xstrdup(status) };
        va_list ap;

        d.status_enum = deploy_status_from_string(status);
        va_start(ap, status);
        for (int64_t region = 1;; region++) {
                int ready = va_arg(ap, int);
                if (ready < 0)
                        break;
                struct container *c = array_append(&d.containers, &d.n_containers, sizeof(*c));
                c->region_id = region;
                c->ready = ready;
                c->total = va_arg(ap, int);
                c->error_message = xstrdup(va_arg(ap, const char *));
        }
        va_end(ap);
        return d;
}


#define CHECK(want, reason, unsettled_for, ...)                                                     \
        do {                                                                                        \
                struct deployment d_ = make(__VA_ARGS__, -1);                                       \
                const char *why_ = NULL;                                                            \
                assert_string_equal(health_to_string(health_compute(&d_, unsettled_for, STUCK, &why_)), \
                                    health_to_string(want));                                        \
                assert_string_equal(why_, reason);                                                  \
                deployment_done(&d_);                                                               \
        } while (0)

static void test_healthy(void **state) {
        CHECK(HEALTH_HEALTHY, "all instances ready", 0, "ACTIVE", 2, 2, NULL, 1, 1, NULL);
        CHECK(HEALTH_HEALTHY, "all instances ready", 0, "ACTIVE");
        /* More ready than asked for (a scale-down in progress) is still healthy. */
        CHECK(HEALTH_HEALTHY, "all instances ready", 0, "ACTIVE", 3, 2, NULL);
}

static void test_progressing(void **state) {
        CHECK(HEALTH_PROGRESSING, "rolling out", 0, "DEPLOYING");
        CHECK(HEALTH_PROGRESSING, "rolling out", STUCK - 1, "DEPLOYING", 0, 1, NULL);
        CHECK(HEALTH_PROGRESSING, "rolling out", 60 * USEC_PER_SEC, "PARTIALLYDEPLOYED", 1, 2, NULL, 0, 1, NULL);
        CHECK(HEALTH_PROGRESSING, "not all instances ready", 0, "ACTIVE", 1, 2, NULL);
        /* An unknown status is treated as a transition. */
        CHECK(HEALTH_PROGRESSING, "rolling out", 0, "RESTARTING", 1, 1, NULL);
}

static void test_degraded(void **state) {
        /* Some capacity serves while a region reports an error... */
        CHECK(HEALTH_DEGRADED, "container error", 0, "PARTIALLYDEPLOYED", 2, 2, NULL, 0, 1, "Failed to pull image");
        CHECK(HEALTH_DEGRADED, "container error", 0, "ACTIVE", 2, 2, "OOMKilled");
        /* ...or a rollout has been short of ready beyond stuck_after. */
        CHECK(HEALTH_DEGRADED, "stuck", STUCK, "PARTIALLYDEPLOYED", 1, 2, NULL);
        CHECK(HEALTH_DEGRADED, "stuck", STUCK + 1, "ACTIVE", 1, 3, NULL);
}

static void test_failed(void **state) {
        CHECK(HEALTH_FAILED, "container error", 0, "PARTIALLYDEPLOYED", 0, 1, "Failed to pull image", 0, 2, NULL);
        CHECK(HEALTH_FAILED, "container error", 0, "DEPLOYING", 0, 1, "No capacity available in the region");
        CHECK(HEALTH_FAILED, "stuck", STUCK, "DEPLOYING");
        CHECK(HEALTH_FAILED, "stuck", 2 * STUCK, "DEPLOYING", 0, 2, NULL, 0, 1, NULL);
}

static void test_other_states(void **state) {
        CHECK(HEALTH_IDLE, "scaled to zero", 0, "PENDING", 0, 0, NULL);
        /* Scaled to zero is normal, whatever the containers say and however long it lasts. */
        CHECK(HEALTH_IDLE, "scaled to zero", 10 * STUCK, "PENDING", 0, 1, NULL);
        CHECK(HEALTH_DISABLED, "disabled", 0, "DISABLED", 0, 0, NULL);
        CHECK(HEALTH_DELETING, "being deleted", 0, "DELETING", 1, 1, NULL);
        CHECK(HEALTH_DELETING, "being deleted", 2 * STUCK, "DELETING");
}

static void test_unsettled(void **state) {
        struct deployment a = make("ACTIVE", 1, 1, NULL, -1), b = make("ACTIVE", 0, 1, NULL, -1),
                          c = make("DELETING", -1), d = make("PENDING", 0, 1, NULL, -1),
                          e = make("DISABLED", -1), f = make("PARTIALLYDEPLOYED", 1, 1, NULL, -1);

        assert_false(health_is_unsettled(&a));
        assert_true(health_is_unsettled(&b));
        assert_true(health_is_unsettled(&c));
        assert_false(health_is_unsettled(&d));
        assert_false(health_is_unsettled(&e));
        assert_true(health_is_unsettled(&f));
        deployment_done(&a);
        deployment_done(&b);
        deployment_done(&c);
        deployment_done(&d);
        deployment_done(&e);
        deployment_done(&f);
}

static void test_names_and_priorities(void **state) {
        for (int h = 0; h < _HEALTH_MAX; h++)
                assert_int_equal(health_from_string(health_to_string(h)), h);
        assert_int_equal(health_from_string("bogus"), HEALTH_UNKNOWN);
        assert_int_equal(health_priority(HEALTH_FAILED), 3);
        assert_int_equal(health_priority(HEALTH_DEGRADED), 4);
        assert_int_equal(health_priority(HEALTH_HEALTHY), 5);
        assert_true(health_is_problem(HEALTH_DEGRADED));
        assert_true(health_is_problem(HEALTH_FAILED));
        assert_false(health_is_problem(HEALTH_IDLE));
        assert_false(health_is_problem(HEALTH_GONE));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_healthy),
                cmocka_unit_test(test_progressing),
                cmocka_unit_test(test_degraded),
                cmocka_unit_test(test_failed),
                cmocka_unit_test(test_other_states),
                cmocka_unit_test(test_unsettled),
                cmocka_unit_test(test_names_and_priorities),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
