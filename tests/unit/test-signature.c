/* Error signatures on a corpus of real-shaped Kubernetes, containerd and registry messages
 * (tests/unit/data/error-signatures.txt): the messages of one group are one error, those of
 * different groups are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "signature.h"

struct group {
        char *name;
        char **messages;
        size_t n_messages;
        char *expected;           /* "! ..." line, or NULL */
};

struct corpus {
        struct group *groups;
        size_t n_groups;
};

static void corpus_load(struct corpus *c) {
        _cleanup_fclose_ FILE *f = fopen(TEST_SRCDIR "/unit/data/error-signatures.txt", "re");
        char *line = NULL;
        size_t size = 0;
        ssize_t n;

        assert_non_null(f);
        while ((n = getline(&line, &size, f)) >= 0) {
                struct group *g = c->n_groups > 0 ? &c->groups[c->n_groups - 1] : NULL;

                line[strcspn(line, "\n")] = '\0';
                if (line[0] == '#' || line[0] == '\0')
                        continue;
                if (strncmp(line, "= ", 2) == 0) {
                        g = array_append(&c->groups, &c->n_groups, sizeof(*g));
                        g->name = xstrdup(line + 2);
                } else if (strncmp(line, "! ", 2) == 0) {
                        assert_non_null(g);
                        g->expected = xstrdup(line + 2);
                } else {
                        assert_non_null(g);
                        *(char **) array_append(&g->messages, &g->n_messages, sizeof(char *)) = xstrdup(line);
                }
        }
        free(line);
}

static void corpus_done(struct corpus *c) {
        for (size_t i = 0; i < c->n_groups; i++) {
                for (size_t j = 0; j < c->groups[i].n_messages; j++)
                        free(c->groups[i].messages[j]);
                free(c->groups[i].messages);
                free(c->groups[i].name);
                free(c->groups[i].expected);
        }
        free(c->groups);
}

static void test_corpus(void **state) {
        struct corpus c = {};
        char **sigs;
        size_t failures = 0, messages = 0;

        corpus_load(&c);
        assert_true(c.n_groups >= 30);
        sigs = xcalloc(c.n_groups, sizeof(char *));
        for (size_t i = 0; i < c.n_groups; i++) {
                const struct group *g = &c.groups[i];

                assert_true(g->n_messages >= 1);
                sigs[i] = error_signature(g->messages[0]);
                for (size_t j = 0; j < g->n_messages; j++, messages++) {
                        _cleanup_free_ char *s = error_signature(g->messages[j]);
                        if (!streq(s, sigs[i])) {
                                print_error("group \"%s\": must match\n  %s\n  %s\n", g->name, sigs[i], s);
                                failures++;
                        }
                        if (!error_same_signature(g->messages[0], g->messages[j]))
                                failures++;
                }
                if (g->expected && !streq(g->expected, sigs[i])) {
                        print_error("group \"%s\": expected\n  %s\ngot\n  %s\n", g->name, g->expected, sigs[i]);
                        failures++;
                }
        }
        for (size_t i = 0; i < c.n_groups; i++)
                for (size_t j = i + 1; j < c.n_groups; j++)
                        if (streq(sigs[i], sigs[j]) ||
                            error_same_signature(c.groups[i].messages[0], c.groups[j].messages[0])) {
                                print_error("groups \"%s\" and \"%s\" must not match: %s\n", c.groups[i].name,
                                            c.groups[j].name, sigs[i]);
                                failures++;
                        }
        print_message("%zu messages in %zu groups, %zu failures\n", messages, c.n_groups, failures);
        assert_int_equal(failures, 0);
        for (size_t i = 0; i < c.n_groups; i++)
                free(sigs[i]);
        free(sigs);
        corpus_done(&c);
}

#define SIG(want, msg)                                        \
        do {                                                  \
                _cleanup_free_ char *s_ = error_signature(msg); \
                assert_string_equal(s_, want);                \
        } while (0)

static void test_rules(void **state) {
        SIG("", NULL);
        SIG("", "  \t ");
        SIG("a b", " a \n\t b ");
        /* Durations of every shape, counters, but not versions nor words with digits. */
        SIG("after <dur>, <dur>, <dur>, <dur>", "after 10s, 1m20s, 2h0m0s, 250ms");
        SIG("# of # on h100 image v0.6.3, x# <size> <size>", "3 of 12 on h100 image v0.6.3, x3 2.1GB 48Gi");
        /* kubectl's "(x7 over 5m)" repeat count goes with what it counts. */
        SIG("Back-off pulling image", "Back-off pulling image (x7 over 5m)");
        SIG("llm-<pod> llm-<hash> job-<pod> kube-api-access-<pod>",
            "llm-7d9f8b6c5-q2x7m llm-7d9f8b6c5 job-q2x7m kube-api-access-sczwq");
        /* Words that look like a suffix but carry vowels stay. */
        SIG("cert-manager-webhook vllm-openai", "cert-manager-webhook vllm-openai");
        SIG("<addr> <addr> <addr> <addr> <addr>", "10.0.0.7 10.0.0.7:443 10.244.0.0/16 [fd00::1]:8080 fe80::1");
        SIG("<uuid> <digest> <hex> <hex>",
            "bdfa8741-f70a-11e5-bf51-00269e2bd23c sha256:92814310da31c646d0f7882b90637fd3b8701e92 "
            "42ef1b1a9069 0xc0007202e8");
        SIG("<time> <time> <time> at <time>",
            "2024-05-01T10:02:03.512Z 2024-05-01T10:02:03+02:00 E0501 10:02:03.123456 at 10:02:03");
        SIG("request_id=<id> x-request-id: <id> trace id <id>",
            "request_id=9f2c1e7ab34d x-request-id: abc-DEF-123 trace id 0af7651916cd43dd");
        /* Exit codes and statuses say which error; an HTTP status by its class. */
        SIG("exited with code 137, restarted # times; exit status 2; exit_code=1",
            "exited with code 137, restarted 14 times; exit status 2; exit_code=1");
        SIG("statuscode: 5xx, HTTP status 4xx, status code 5xx", "statuscode: 503, HTTP status 404, status code 500");
        /* Not an address: a Go type, a time, a word with colons. */
        SIG("std::string a:b:c", "std::string a:b:c");
}

/* The searches error_signature() makes for msg. */
static unsigned long searches(const char *msg) {
        unsigned long before = error_signature_searches;
        _cleanup_free_ char *s = error_signature(msg);

        return error_signature_searches - before;
}

/* Hostile text costs work in proportion to its words, not to its bytes times its bytes: a
 * rejected match is not searched again from each of its letters (4000 hex letters without a
 * digit took 4000 searches of the HEX{12,} rule, about 90 ms on the event loop). */
static void test_linear(void **state) {
        char text[4001];
        unsigned long n;
        size_t words = 0;

        for (size_t i = 0; i < sizeof(text) - 1; i++)
                text[i] = "abcdef"[i % 6];
        text[sizeof(text) - 1] = '\0';
        n = searches(text);
        print_message("4000 hex letters: %lu searches\n", n);
        assert_true(n <= 64); /* a few per rule, whatever the length */

        /* Words that each start a match the rules reject (no digit, glued to a letter). */
        for (size_t i = 0; i < sizeof(text) - 1; i++) {
                text[i] = "abcdefabcdefg "[i % 14];
                words += text[i] == ' ';
        }
        n = searches(text);
        print_message("%zu words rejected by the rules: %lu searches\n", words, n);
        assert_true(n <= 64 + 2 * words);
        /* And the result is still right. */
        SIG("x <hex> abcdefabcdef abcdefabcdefg", "x 0abcdefabcdef abcdefabcdef abcdefabcdefg");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rules),
                cmocka_unit_test(test_linear),
                cmocka_unit_test(test_corpus),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
