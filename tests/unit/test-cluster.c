/* The cluster section (config-cluster.c) and the etcd gateway's encodings (etcd.c): defaults,
 * values, every malformed case with its "FILE:LINE: message". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <unistd.h>

/* Not "config.h": -I. finds autoconf's header of the same name first. */
#include "config.h"
#include "etcd.h"
#include "state.h"

#define BASE "accounts = ( { key = \"k\"; } );\nprojects = ( { id = 1; deployments = \"*\"; } );\n"

/* Loads text + BASE; returns the config, or NULL with the first error in *error. */
static struct config *load(const char *text, char **error) {
        _cleanup_free_ char *full = xasprintf("%s%s", text, BASE);
        struct config_diag d = {};
        struct config *c = NULL;

        (void) config_load_string(full, "t.conf", 0, &d, &c);
        *error = d.n_errors > 0 ? xstrdup(d.errors[0]) : NULL;
        config_diag_done(&d);
        return c;
}

static void expect_error(const char *text, const char *want) {
        _cleanup_free_ char *error = NULL;
        struct config *c = load(text, &error);

        if (!error || !streq(error, want))
                fail_msg("want: %s\ngot:  %s", want, error ? error : "(no error)");
        assert_null(c);
}

static void test_absent(void **state) {
        _cleanup_free_ char *error = NULL;
        struct config *c = load("", &error);

        assert_non_null(c);
        assert_int_equal(c->cluster.n_endpoints, 0);
        config_free(c);
}

static void test_defaults_and_values(void **state) {
        _cleanup_free_ char *error = NULL;
        char host[256] = "";
        struct config *c = load("cluster = { endpoints = [ \"http://127.0.0.1:2379\", \"https://e2:2379/\" ]; };\n",
                                &error);

        assert_non_null(c);
        assert_int_equal(c->cluster.n_endpoints, 2);
        assert_string_equal(c->cluster.endpoints[1], "https://e2:2379/");
        assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
        assert_string_equal(c->cluster.name, host);
        assert_string_equal(c->cluster.prefix, "inferwatch");
        assert_int_equal(c->cluster.lease_ttl, 10 * USEC_PER_SEC);
        assert_int_equal(c->cluster.timeout, 5 * USEC_PER_SEC);
        config_free(c);

        c = load("cluster = { endpoints = [ \"http://127.0.0.1:2379\" ]; name = \"m-1\"; prefix = \"iw\";\n"
                 "  lease_ttl = \"3s\"; timeout = \"1s\"; ca_file = \"/ca.pem\"; cert_credential = \"c\";\n"
                 "  key_file = \"/k.pem\"; };\n",
                 &error);
        assert_non_null(c);
        assert_string_equal(c->cluster.name, "m-1");
        assert_string_equal(c->cluster.prefix, "iw");
        assert_int_equal(c->cluster.lease_ttl, 3 * USEC_PER_SEC);
        assert_string_equal(c->cluster.ca_file, "/ca.pem");
        assert_string_equal(c->cluster.cert_credential, "c");
        assert_string_equal(c->cluster.key_file, "/k.pem");
        config_free(c);
}

static void test_errors(void **state) {
        expect_error("cluster = { name = \"a\"; };\n",
                     "t.conf:1: cluster: \"endpoints\" is required (the client URLs of etcd)");
        expect_error("cluster = { endpoints = [ \"ftp://x\" ]; };\n",
                     "t.conf:1: cluster.endpoints[0]: must start with \"http://\" or \"https://\"");
        expect_error("cluster = { endpoints = [ \"http://x\" ];\n lease_ttl = \"1s\"; };\n",
                     "t.conf:2: cluster.lease_ttl: must be between 2s and 5m, got 1s");
        expect_error("cluster = { endpoints = [ \"http://x\" ]; cert_file = \"/c\"; };\n",
                     "t.conf:1: cluster: a client certificate needs its key and a key its certificate");
        expect_error("cluster = { endpoints = [ \"http://x\" ]; cert_file = \"/c\"; cert_credential = \"c\";"
                     " key_file = \"/k\"; };\n",
                     "t.conf:1: cluster: set \"cert_file\" or \"cert_credential\", not both");
        expect_error("cluster = { endpoints = [ \"http://x\" ]; prefix = \"a/b\"; };\n",
                     "t.conf:1: cluster.prefix: invalid name \"a/b\"; use 1 to 64 characters from A-Z a-z 0-9 _ . -");
        expect_error("cluster = ( 1 );\n", "t.conf:1: cluster: expected a group { ... }, got a list");
}

static void test_base64(void **state) {
        _cleanup_free_ char *a = etcd_base64("iw/leader", 9), *b = NULL, *c = NULL;
        size_t n;

        assert_string_equal(a, "aXcvbGVhZGVy");
        b = etcd_unbase64(a, &n);
        assert_int_equal(n, 9);
        assert_string_equal(b, "iw/leader");
        c = etcd_unbase64("bTE=", &n);
        assert_string_equal(c, "m1");
        assert_int_equal(n, 2);
        assert_null(etcd_unbase64("abc", &n));
}

/* The state in shards (the etcd store): each deployment in exactly one shard, the same one every
 * time, and the whole read back from the header and the shards. */
static void test_state_shards(void **state) {
        struct watch_record w[5] = {};
        struct saved_state s = { .watches = w, .n_watches = 5, .watches_borrowed = true }, back = {};
        _cleanup_free_ char *header = NULL;
        char **shards, **again;
        const char *why = NULL;
        size_t lines = 0;

        for (size_t i = 0; i < 5; i++) {
                w[i].url = (char *) "https://api.example";
                w[i].project_id = 1 + (int64_t) i % 2;
                w[i].name = xasprintf("dep-%zu", i);
        }
        header = state_header_json(&s);
        shards = state_shards_json(&s, 4);
        again = state_shards_json(&s, 4);
        for (size_t i = 0; i < 4; i++) {
                assert_string_equal(shards[i], again[i]);
                for (const char *p = shards[i]; (p = strchr(p, '\n')); p++)
                        lines++;
        }
        assert_int_equal(lines, 5);
        assert_int_equal(state_from_shards(header, shards, 4, &back, &why), 0);
        assert_int_equal(back.n_watches, 5);
        for (size_t i = 0; i < 5; i++) {
                bool found = false;
                for (size_t j = 0; j < back.n_watches; j++)
                        found = found || (streq(back.watches[j].name, w[i].name) &&
                                          back.watches[j].project_id == w[i].project_id);
                assert_true(found);
        }
        saved_state_done(&back);
        /* A shard missing (never written) leaves its deployments out, not the state unreadable. */
        lines = 0;
        for (const char *p = shards[0]; (p = strchr(p, '\n')); p++)
                lines++;
        free(shards[0]);
        shards[0] = xstrdup("");
        assert_int_equal(state_from_shards(header, shards, 4, &back, &why), 0);
        assert_int_equal(back.n_watches, 5 - lines);
        saved_state_done(&back);
        assert_int_equal(state_from_shards("not json", shards, 4, &back, &why), -EBADMSG);
        for (size_t i = 0; i < 4; i++) {
                free(shards[i]);
                free(again[i]);
        }
        free(shards);
        free(again);
        for (size_t i = 0; i < 5; i++)
                free(w[i].name);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absent),
                cmocka_unit_test(test_defaults_and_values),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_state_shards),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
