/* The flap detector as a pure function of the poll history and the clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flap.h"

#define SEC USEC_PER_SEC

/* Feeds one poll per second from t, keys given as a string ("ABAB..."), every change tagged
 * FLAP_HEALTH; returns the verdicts as a string: . calm, S started, o ongoing, E ended. */
static char *play(const struct flap_params *p, struct flap_state *s, const char *keys, usec_t *t) {
        static const char v[] = { [FLAP_CALM] = '.', [FLAP_STARTED] = 'S', [FLAP_ONGOING] = 'o', [FLAP_ENDED] = 'E' };
        char *out = xstrdup(keys);

        for (size_t i = 0; keys[i]; i++, *t += SEC)
                out[i] = v[flap_observe(p, s, (uint64_t) keys[i], FLAP_HEALTH, *t)];
        return out;
}

#define PLAY(p, keys, want)                                     \
        do {                                                    \
                _cleanup_free_ char *got_ = play(p, &s, keys, &t); \
                assert_string_equal(got_, want);                \
        } while (0)

static void test_defaults_flap_at_the_second_return(void **state) {
        struct flap_params p = FLAP_PARAMS_DEFAULT;
        struct flap_state s = {};
        usec_t t = 1000 * SEC;

        /* Good, bad, good (a recovery: one return), bad again (two: flapping). */
        PLAY(&p, "ABAB", "...S");
        assert_true(s.flapping);
        assert_int_equal(s.hist->since, 1003 * SEC);
        assert_int_equal(s.hist->returns, 2);
        assert_int_equal(s.hist->aspects, FLAP_HEALTH);
        /* Every further change is part of it; quiet polls too until stable for 5 minutes. */
        PLAY(&p, "ABABAAAA", "oooooooo");
        assert_int_equal(s.hist->changes, 6);
        t = s.hist->last_change + p.stable - 1;
        PLAY(&p, "A", "o");
        PLAY(&p, "A", "E");
        assert_false(s.flapping);
        /* Calm afterwards; the history still holds the flap, so a new change flaps again. */
        PLAY(&p, "A", ".");
        flap_state_done(&s);
}

static void test_incidents_that_are_not_flaps(void **state) {
        struct flap_params p = FLAP_PARAMS_DEFAULT;
        struct flap_state s = {};
        usec_t t = 0;

        /* A rollout through several states back to the first: one return. */
        PLAY(&p, "AAABCDDDA", ".........");
        /* A long incident and its recovery, then the same error again ten polls later: the
         * window has moved on. */
        flap_state_done(&s);
        memset(&s, 0, sizeof(s));
        PLAY(&p, "AABBBBBBBBBAAAAAAAAAABBBB", ".........................");
        /* Nothing changes at all. */
        flap_state_done(&s);
        memset(&s, 0, sizeof(s));
        PLAY(&p, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "..........................................");
        flap_state_done(&s);
}

static void test_thresholds(void **state) {
        struct flap_params p = { .returns = 3, .window = 6, .stable = 2 * SEC };
        struct flap_state s = {};
        usec_t t = 0;

        /* Four returns within six polls. */
        PLAY(&p, "ABABAB", ".....S");
        assert_int_equal(flap_returns(&s, 6), 4);
        PLAY(&p, "BBB", "oE.");
        /* Returns spread wider than the window never add up. */
        flap_state_done(&s);
        memset(&s, 0, sizeof(s));
        PLAY(&p, "ABBBBABBBBABBBBA", "................");
        flap_state_done(&s);
}

static void test_aspects(void **state) {
        struct flap_params p = FLAP_PARAMS_DEFAULT;
        struct flap_state s = {};
        char b[64];

        flap_observe(&p, &s, 1, 0, 1);
        flap_observe(&p, &s, 2, FLAP_STATUS | FLAP_ERROR, 2);
        flap_observe(&p, &s, 1, FLAP_STATUS | FLAP_ERROR | FLAP_HEALTH, 3);
        assert_int_equal(flap_observe(&p, &s, 2, FLAP_READY, 4), FLAP_STARTED);
        assert_string_equal(flap_aspects_to_string(s.hist->aspects, b), "status, health, errors and readiness");
        assert_string_equal(flap_aspects_to_string(FLAP_ERROR, b), "errors");
        assert_string_equal(flap_aspects_to_string(FLAP_STATUS | FLAP_REGIONS, b), "status and regions");
        assert_string_equal(flap_aspects_to_string(0, b), "state");
        flap_state_done(&s);
}

/* A history of one key repeated is no array: kept only while the window holds a change. */
static void test_history_only_while_changing(void **state) {
        struct flap_params p = FLAP_PARAMS_DEFAULT;
        struct flap_state s = {};
        usec_t t = 0;

        PLAY(&p, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "........................................");
        assert_null(s.hist);
        assert_int_equal(s.n_keys, FLAP_HISTORY_MAX);
        PLAY(&p, "B", ".");
        assert_non_null(s.hist);
        /* The change's poll leaves the window after 32 more (its aspects count until then). */
        PLAY(&p, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "...............................");
        assert_non_null(s.hist);
        PLAY(&p, "B", ".");
        assert_null(s.hist);
        /* What it remembers is unchanged: A then B again is one return, and a second flaps. */
        PLAY(&p, "AB", "..");
        assert_int_equal(flap_returns(&s, 10), 1);
        PLAY(&p, "A", "S");
        flap_state_done(&s);
}

/* A flap episode remembers the error signatures it saw: each is new once, up to
 * FLAP_SIGNATURES_MAX; the next episode starts afresh; the history outlives quiet polls. */
static void test_signatures_per_episode(void **state) {
        struct flap_params p = FLAP_PARAMS_DEFAULT;
        struct flap_state s = {};
        usec_t t = 0;

        assert_false(flap_signature_is_new(&s, 1, true)); /* not flapping: nothing to tell apart */
        PLAY(&p, "ABAB", "...S");
        assert_true(flap_signature_is_new(&s, 1, false)); /* what it started with */
        assert_true(flap_signature_is_new(&s, 2, true));
        assert_false(flap_signature_is_new(&s, 2, true));
        assert_false(flap_signature_is_new(&s, 1, true));
        assert_int_equal(flap_new_signatures(&s), 1);
        /* Quiet polls past the window keep the episode's signatures. */
        PLAY(&p, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "ooooooooooooooooooooooooooooooooooo");
        assert_non_null(s.hist);
        assert_false(flap_signature_is_new(&s, 2, true));
        for (uint64_t sig = 3; sig < 3 + FLAP_SIGNATURES_MAX - 2; sig++)
                assert_true(flap_signature_is_new(&s, sig, true));
        assert_false(flap_signature_is_new(&s, 100, true)); /* the bound: the budget holds */
        assert_int_equal(flap_new_signatures(&s), FLAP_SIGNATURES_MAX - 1);
        t += p.stable;
        PLAY(&p, "B", "E");
        assert_int_equal(flap_new_signatures(&s), FLAP_SIGNATURES_MAX - 1); /* for the end's message */
        /* A new episode: signature 2 is new again. */
        PLAY(&p, "ABA", "..S");
        assert_int_equal(flap_new_signatures(&s), 0);
        assert_true(flap_signature_is_new(&s, 2, true));
        flap_state_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_flap_at_the_second_return),
                cmocka_unit_test(test_incidents_that_are_not_flaps),
                cmocka_unit_test(test_thresholds),
                cmocka_unit_test(test_aspects),
                cmocka_unit_test(test_history_only_while_changing),
                cmocka_unit_test(test_signatures_per_episode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
