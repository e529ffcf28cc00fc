/* The Gcore response parser, URL building, outcome classification and Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gcore.h"

static char *fixture(const char *name) {
        _cleanup_free_ char *path = xasprintf("%s/fixtures/%s", TEST_SRCDIR, name);
        char *text = NULL;

        assert_int_equal(read_full_file(path, 1 << 20, &text, NULL), 0);
        return text;
}

static bool ends_cut(const char *s) {
        size_t n = strlen(s), k = strlen(" [... cut]");

        return n >= k && streq(s + n - k, " [... cut]");
}

static int parse(const char *json, struct deployment *d, const char **why) {
        return gcore_parse_deployment(json, strlen(json), d, why);
}

/* A minimal valid body with one member replaced or added. */
static char *body_with(const char *extra) {
        return xasprintf("{\"name\":\"x\",\"project_id\":1,\"status\":\"ACTIVE\",\"containers\":[]%s%s}",
                         extra ? "," : "", extra ? extra : "");
}

static void test_full_fixture(void **state) {
        _cleanup_free_ char *text = fixture("deployment-full.json");
        struct deployment d;
        const char *why = NULL;

        assert_int_equal(parse(text, &d, &why), 0);
        assert_string_equal(d.name, "my-instance");
        assert_int_equal(d.project_id, 1);
        assert_string_equal(d.status, "PARTIALLYDEPLOYED");
        assert_int_equal(d.status_enum, STATUS_PARTIALLYDEPLOYED);
        assert_string_equal(d.image, "nginx:latest");
        assert_string_equal(d.flavor_name, "inference-16vcpu-232gib-1xh100-80gb");
        assert_null(d.command);
        assert_string_equal(d.envs_keys, "API_TOKEN,DEBUG_MODE");
        assert_int_equal(d.n_containers, 2);
        assert_int_equal(d.containers[0].region_id, 1);
        assert_int_equal(d.containers[0].ready, 2);
        assert_int_equal(d.containers[0].total, 2);
        assert_null(d.containers[0].error_message);
        assert_int_equal(d.containers[0].scale_min, 2);
        assert_int_equal(d.containers[0].scale_max, 3);
        assert_int_equal(d.containers[1].region_id, 7);
        assert_string_equal(d.containers[1].error_message, "Failed to pull image");
        deployment_done(&d);
}

static void test_legacy_fixture(void **state) {
        _cleanup_free_ char *text = fixture("deployment-legacy.json");
        struct deployment d;
        const char *why;

        /* Older shape: command a string, retention_policy an int, no container address/error. */
        assert_int_equal(parse(text, &d, &why), 0);
        assert_string_equal(d.command, "nginx -g daemon off;");
        assert_int_equal(d.n_containers, 1);
        assert_null(d.containers[0].error_message);
        deployment_done(&d);
}

static void test_every_status(void **state) {
        static const struct {
                const char *s;
                enum deploy_status e;
        } cases[] = {
                { "ACTIVE", STATUS_ACTIVE },         { "DELETING", STATUS_DELETING },
                { "DEPLOYING", STATUS_DEPLOYING },   { "DISABLED", STATUS_DISABLED },
                { "PARTIALLYDEPLOYED", STATUS_PARTIALLYDEPLOYED },
                { "PENDING", STATUS_PENDING },       { "RUNNING", STATUS_UNKNOWN },
                { "active", STATUS_UNKNOWN },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *j = xasprintf("{\"name\":\"x\",\"status\":\"%s\",\"containers\":[]}", cases[i].s);
                struct deployment d;
                const char *why;
                assert_int_equal(parse(j, &d, &why), 0);
                assert_int_equal(d.status_enum, cases[i].e);
                assert_string_equal(d.status, cases[i].s);
                deployment_done(&d);
        }
}

static void test_command_shapes(void **state) {
        static const struct {
                const char *json;
                const char *want;
        } cases[] = {
                { "\"command\":\"python serve.py\"", "python serve.py" },
                { "\"command\":[\"nginx\",\"-g\",\"daemon off;\"]", "nginx -g daemon off;" },
                { "\"command\":[]", "" },
                { "\"command\":[\"a\",1,null,\"b\"]", "a b" },
                { "\"command\":null", NULL },
                { "\"command\":42", NULL },
                { "\"command\":{\"a\":1}", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *j = body_with(cases[i].json);
                struct deployment d;
                const char *why;
                assert_int_equal(parse(j, &d, &why), 0);
                if (cases[i].want)
                        assert_string_equal(d.command, cases[i].want);
                else
                        assert_null(d.command);
                deployment_done(&d);
        }
}

static void test_nulls_everywhere(void **state) {
        const char *j = "{\"name\":\"x\",\"project_id\":null,\"status\":\"ACTIVE\",\"address\":null,"
                        "\"api_keys\":null,\"command\":null,\"created_at\":null,\"envs\":null,"
                        "\"ingress_opts\":null,\"logging\":null,\"probes\":null,\"timeout\":null,"
                        "\"image\":null,\"flavor_name\":null,\"description\":null,"
                        "\"containers\":[{\"region_id\":3,\"address\":null,\"deploy_status\":{\"ready\":1,\"total\":1},"
                        "\"error_message\":null,\"scale\":null}]}";
        struct deployment d;
        const char *why;

        assert_int_equal(parse(j, &d, &why), 0);
        assert_int_equal(d.project_id, 0);
        assert_null(d.address);
        assert_null(d.image);
        assert_string_equal(d.envs_keys, "");
        assert_int_equal(d.n_containers, 1);
        assert_int_equal(d.containers[0].ready, 1);
        assert_int_equal(d.containers[0].total, 1);
        assert_null(d.containers[0].error_message);
        assert_int_equal(d.containers[0].scale_min, -1);
        deployment_done(&d);
}

static void test_unknown_keys_ignored(void **state) {
        _cleanup_free_ char *j = body_with("\"brand_new\":{\"deep\":[1,2,{\"x\":null}]},\"gpu_count\":8");
        struct deployment d;
        const char *why;

        assert_int_equal(parse(j, &d, &why), 0);
        assert_string_equal(d.name, "x");
        deployment_done(&d);
}

static void test_wrong_types_tolerated(void **state) {
        const char *j = "{\"name\":\"x\",\"status\":\"ACTIVE\",\"project_id\":\"1\",\"image\":5,"
                        "\"envs\":[\"A\"],\"containers\":[{\"region_id\":2,\"deploy_status\":{\"ready\":0,\"total\":1},"
                        "\"error_message\":12,\"scale\":{\"min\":\"1\",\"max\":[]}},"
                        "{\"region_id\":4.0,\"deploy_status\":{\"ready\":1.0,\"total\":2}},"
                        "{\"region_id\":2,\"deploy_status\":{\"ready\":1,\"total\":1}}]}";
        struct deployment d;
        const char *why;

        assert_int_equal(parse(j, &d, &why), 0);
        assert_int_equal(d.project_id, 0);
        assert_null(d.image);
        assert_string_equal(d.envs_keys, "");
        /* Fields that drive no transition tolerate drift; the duplicate region 2 is ignored. */
        assert_int_equal(d.n_containers, 2);
        assert_int_equal(d.containers[0].region_id, 2);
        assert_int_equal(d.containers[0].ready, 0);
        assert_int_equal(d.containers[0].total, 1);
        assert_null(d.containers[0].error_message);
        assert_int_equal(d.containers[0].scale_min, -1);
        assert_int_equal(d.containers[0].scale_max, -1);
        assert_int_equal(d.containers[1].region_id, 4);
        assert_int_equal(d.containers[1].ready, 1);
        assert_int_equal(d.containers[1].total, 2);
        deployment_done(&d);
}

static void test_counts_in_range(void **state) {
        const char *j = "{\"name\":\"x\",\"status\":\"ACTIVE\",\"containers\":["
                        "{\"region_id\":1,\"deploy_status\":{\"ready\":0,\"total\":0}},"
                        "{\"region_id\":2,\"deploy_status\":{\"ready\":2147483647,\"total\":2147483647}},"
                        "{\"region_id\":3,\"deploy_status\":{\"ready\":2e0,\"total\":3}}]}";
        struct deployment d;
        const char *why;

        assert_int_equal(parse(j, &d, &why), 0);
        assert_int_equal(d.n_containers, 3);
        assert_int_equal(d.containers[0].total, 0);
        assert_int_equal(d.containers[1].ready, INT32_MAX);
        assert_int_equal(d.containers[2].ready, 2);
        deployment_done(&d);
}

/* Counts, containers and deploy_status that cannot be trusted make the body unusable (a poll
 * failure), never a 0 that would read as a failed deployment, nor a null that reads as healthy. */
static void test_untrusted_counts(void **state) {
        static const struct {
                const char *containers;
                const char *why;
        } cases[] = {
                { "null", "response has no \"containers\" array" },
                { "{}", "response has no \"containers\" array" },
                { "\"[]\"", "response has no \"containers\" array" },
                { "[null]", "a container is not a JSON object" },
                { "[7]", "a container is not a JSON object" },
                { "[[]]", "a container is not a JSON object" },
                { "[{\"deploy_status\":{\"ready\":1,\"total\":1}}]", "a container has no integer \"region_id\"" },
                { "[{\"region_id\":\"1\",\"deploy_status\":{\"ready\":1,\"total\":1}}]",
                  "a container has no integer \"region_id\"" },
                { "[{\"region_id\":1}]", "a container's \"deploy_status\" is not an object" },
                { "[{\"region_id\":1,\"deploy_status\":null}]", "a container's \"deploy_status\" is not an object" },
                { "[{\"region_id\":1,\"deploy_status\":[1,1]}]", "a container's \"deploy_status\" is not an object" },
                { "[{\"region_id\":1,\"deploy_status\":\"1/1\"}]", "a container's \"deploy_status\" is not an object" },
                { "[{\"region_id\":1,\"deploy_status\":{}}]", "a container's ready count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"total\":1}}]", "a container's ready count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":1}}]", "a container's total count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":null,\"total\":1}}]",
                  "a container's ready count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":\"1\",\"total\":1}}]",
                  "a container's ready count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":1,\"total\":\"1\"}}]",
                  "a container's total count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":true,\"total\":1}}]",
                  "a container's ready count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":[1],\"total\":1}}]",
                  "a container's ready count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":{},\"total\":1}}]",
                  "a container's ready count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":0.5,\"total\":1}}]",
                  "a container's ready count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":1,\"total\":2.5}}]",
                  "a container's total count is not an integer" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":1e308,\"total\":1}}]",
                  "a container's ready count is out of range" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":-1,\"total\":1}}]",
                  "a container's ready count is out of range" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":0,\"total\":-5}}]",
                  "a container's total count is out of range" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":-1.0,\"total\":1}}]",
                  "a container's ready count is out of range" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":2147483648,\"total\":2147483648}}]",
                  "a container's ready count is out of range" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":1,\"total\":99999999999999999999}}]",
                  "a container's total count is out of range" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":1,\"total\":-99999999999999999999}}]",
                  "a container's total count is out of range" },
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":2,\"total\":1}}]",
                  "a container has more ready instances than its total" },
                /* One bad container spoils the body, good siblings notwithstanding. */
                { "[{\"region_id\":1,\"deploy_status\":{\"ready\":1,\"total\":1}},"
                  "{\"region_id\":2,\"deploy_status\":{\"ready\":\"1\",\"total\":1}}]",
                  "a container's ready count is not an integer" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *j = xasprintf("{\"name\":\"x\",\"status\":\"ACTIVE\",\"containers\":%s}",
                                                   cases[i].containers);
                struct deployment d = {};
                const char *why = NULL;
                print_message("%s\n", j);
                assert_int_equal(parse(j, &d, &why), -EBADMSG);
                assert_non_null(why);
                assert_string_equal(why, cases[i].why);
                assert_null(d.name);
                assert_int_equal(d.n_containers, 0);
        }

        /* Numbers beyond what a double holds are not JSON this parser accepts at all. */
        struct deployment d = {};
        const char *why = NULL;
        const char *huge = "{\"name\":\"x\",\"status\":\"ACTIVE\",\"containers\":[{\"region_id\":1,"
                           "\"deploy_status\":{\"ready\":1e400,\"total\":1}}]}";
        assert_int_equal(parse(huge, &d, &why), -EBADMSG);
        assert_non_null(why);
}

/* An error_message of megabytes is carried cut, on a character boundary, and marked. */
static void test_long_error_message(void **state) {
        size_t n = 2 * 1024 * 1024;
        char *msg = xcalloc(n + 1, 1);
        struct deployment d;
        const char *why;

        /* "é" is two bytes: an odd offset of the cut would fall inside one. */
        msg[0] = 'x';
        for (size_t i = 1; i + 1 < n; i += 2)
                memcpy(msg + i, "\xc3\xa9", 2);
        msg[n - 1] = 'y';
        _cleanup_free_ char *j = xasprintf("{\"name\":\"x\",\"status\":\"ACTIVE\",\"containers\":[{\"region_id\":1,"
                                           "\"deploy_status\":{\"ready\":0,\"total\":1},\"error_message\":\"%s\"}]}", msg);
        assert_int_equal(parse(j, &d, &why), 0);
        const char *e = d.containers[0].error_message;
        assert_non_null(e);
        assert_true(strlen(e) <= 4000);
        assert_true(strlen(e) > 3900);
        assert_true(ends_cut(e));
        assert_memory_equal(e, msg, strlen(e) - strlen(" [... cut]"));
        /* Whole characters only: the kept text is x followed by complete "é". */
        assert_int_equal((strlen(e) - strlen(" [... cut]") - 1) % 2, 0);
        deployment_done(&d);

        _cleanup_free_ char *body = xasprintf("{\"message\":\"%s\"}", msg);
        struct api_error err = {};
        gcore_parse_error_body(body, strlen(body), &err);
        assert_true(strlen(err.message) <= 4000);
        assert_true(ends_cut(err.message));
        api_error_done(&err);
        free(msg);
}

static void test_empty_containers(void **state) {
        const char *j = "{\"name\":\"x\",\"status\":\"DEPLOYING\",\"containers\":[]}";
        struct deployment d;
        const char *why;

        assert_int_equal(parse(j, &d, &why), 0);
        assert_int_equal(d.n_containers, 0);
        assert_null(d.containers);
        deployment_done(&d);
}

static void test_unusable_bodies(void **state) {
        static const struct {
                const char *body;
                const char *why;
        } cases[] = {
                { "", "response is not valid JSON" },
                { "not json", "response is not valid JSON" },
                { "{\"name\":\"x\",\"status\":\"ACT", "response is not valid JSON" },
                { "{\"name\":\"x\",\"status\":\"ACTIVE\"} trailing", "response is not valid JSON" },
                { "[]", "response is not a JSON object" },
                { "42", "response is not a JSON object" },
                { "null", "response is not a JSON object" },
                { "\"ACTIVE\"", "response is not a JSON object" },
                { "{\"status\":\"ACTIVE\"}", "response has no \"name\" string" },
                { "{\"name\":\"x\"}", "response has no \"status\" string" },
                { "{\"name\":\"x\",\"status\":null}", "response has no \"status\" string" },
                { "{\"name\":\"x\",\"status\":1}", "response has no \"status\" string" },
                { "{\"name\":\"\",\"status\":\"ACTIVE\"}", "response has no \"name\" string" },
                { "{\"name\":\"x\",\"status\":\"\"}", "response has no \"status\" string" },
                { "{\"name\":\"x\",\"status\":\"ACTIVE\"}", "response has no \"containers\" array" },
                { "{\"name\":\"x\",\"status\":\"ACTIVE\",\"d\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}",
                  "response is not valid JSON" },
                { "{\"name\":\"\xff\xfe\",\"status\":\"ACTIVE\"}", "response is not valid JSON" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct deployment d = {};
                const char *why = NULL;
                assert_int_equal(parse(cases[i].body, &d, &why), -EBADMSG);
                assert_non_null(why);
                assert_string_equal(why, cases[i].why);
                assert_null(d.name);
        }
}

static void test_page(void **state) {
        _cleanup_free_ char *text = fixture("list-page.json");
        struct deployment_page p;
        const char *why;

        assert_int_equal(gcore_parse_page(text, strlen(text), &p, &why), 0);
        assert_int_equal(p.count, 3);
        assert_int_equal(p.n_items, 3);
        assert_string_equal(p.items[0].name, "a-one");
        assert_int_equal(p.items[1].status_enum, STATUS_DEPLOYING);
        assert_int_equal(p.items[2].status_enum, STATUS_PENDING);
        deployment_page_done(&p);
}

static void test_page_unusable(void **state) {
        static const struct {
                const char *body;
                const char *why;
        } cases[] = {
                { "{\"count\":1}", "list response has no \"results\" array" },
                { "{\"count\":1,\"results\":{}}", "list response has no \"results\" array" },
                { "{\"results\":[]}", "list response has no \"count\"" },
                { "{\"count\":-1,\"results\":[]}", "list response has no \"count\"" },
                { "{\"count\":2,\"results\":[{\"name\":\"a\",\"status\":\"ACTIVE\",\"containers\":[]},{\"name\":\"b\"}]}",
                  "response has no \"status\" string" },
                { "{\"count\":1,\"results\":[7]}", "response is not a JSON object" },
                { "[{\"name\":\"a\",\"status\":\"ACTIVE\"}]", "list response has no \"results\" array" },
                { "{\"count\":1,\"results\":[", "response is not valid JSON" },
                /* Parsed one item at a time, still one JSON document: what follows an item counts. */
                { "{\"count\":1,\"results\":[7]", "response is not valid JSON" },
                { "{\"count\":1,\"results\":[]} x", "response is not valid JSON" },
                { "{} x", "response is not valid JSON" },
                { "{\"count\":1,\"results\":[],}", "response is not valid JSON" },
                { "{\"count\":1,\"results\":[{\"name\":\"a\",\"status\":\"ACTIVE\",\"containers\":[]},]}",
                  "response is not valid JSON" },
                { "{\"count\":1 \"results\":[]}", "response is not valid JSON" },
                { "{count:1,\"results\":[]}", "response is not valid JSON" },
                { "{\"results\":[],\"count\":\"1\"}", "list response has no \"count\"" },
                { "{\"count\":3,\"results\":[{\"name\":\"a\",\"status\":\"ACTIVE\",\"containers\":[]},"
                  "{\"name\":\"b\",\"status\":\"ACTIVE\",\"containers\":[]},"
                  "{\"name\":\"a\",\"status\":\"DEPLOYING\",\"containers\":[]}]}",
                  "list response names a deployment twice" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct deployment_page p = {};
                const char *why = NULL;
                assert_int_equal(gcore_parse_page(cases[i].body, strlen(cases[i].body), &p, &why), -EBADMSG);
                assert_string_equal(why, cases[i].why);
                assert_int_equal(p.n_items, 0);
        }
}

/* An item whose counts cannot be trusted is that deployment's problem, not the page's: kept with
 * its name and status only, and marked with the reason. */
static void test_page_untrusted_item(void **state) {
        const char *j = "{\"count\":3,\"results\":["
                        "{\"name\":\"a\",\"status\":\"ACTIVE\",\"containers\":[{\"region_id\":1,"
                        "\"deploy_status\":{\"ready\":1,\"total\":1}}]},"
                        "{\"name\":\"b\",\"status\":\"ACTIVE\",\"containers\":[{\"region_id\":1,"
                        "\"deploy_status\":{\"ready\":\"1\",\"total\":1},\"error_message\":\"x\"}]},"
                        "{\"name\":\"c\",\"status\":\"DEPLOYING\",\"containers\":null}]}";
        struct deployment_page p;
        const char *why = NULL;

        assert_int_equal(gcore_parse_page(j, strlen(j), &p, &why), 0);
        assert_int_equal(p.n_items, 3);
        assert_null(p.unusable[0]);
        assert_int_equal(p.items[0].n_containers, 1);
        assert_string_equal(p.items[1].name, "b");
        assert_string_equal(p.items[1].status, "ACTIVE");
        assert_string_equal(p.unusable[1], "a container's ready count is not an integer");
        assert_int_equal(p.items[1].n_containers, 0);
        assert_null(p.items[1].image);
        assert_string_equal(p.items[2].name, "c");
        assert_string_equal(p.unusable[2], "response has no \"containers\" array");
        deployment_page_done(&p);
}

/* Members in any order, white space anywhere, the last of a member given twice. */
static void test_page_members(void **state) {
        const char *j = " {\n \"results\" : [ {\"name\":\"x\",\"status\":\"ACTIVE\",\"containers\":[]} ] ,"
                        "\"next\":null, \"results\": [\n{\"name\":\"a\",\"status\":\"ACTIVE\",\"containers\":[]},"
                        "\t{\"name\":\"b\",\"status\":\"DEPLOYING\",\"containers\":[]}\r\n],\"count\": 2 }\n";
        struct deployment_page p;
        const char *why = NULL;

        assert_int_equal(gcore_parse_page(j, strlen(j), &p, &why), 0);
        assert_int_equal(p.count, 2);
        assert_int_equal(p.n_items, 2);
        assert_string_equal(p.items[0].name, "a");
        assert_string_equal(p.items[1].status, "DEPLOYING");
        assert_null(p.unusable[1]);
        deployment_page_done(&p);
}

static void test_page_empty(void **state) {
        const char *j = "{\"count\":0,\"results\":[]}";
        struct deployment_page p;
        const char *why;

        assert_int_equal(gcore_parse_page(j, strlen(j), &p, &why), 0);
        assert_int_equal(p.count, 0);
        assert_int_equal(p.n_items, 0);
        deployment_page_done(&p);
}

static void test_urls(void **state) {
        _cleanup_free_ char *a = gcore_url_deployment("https://api.gcore.com", 1, "my-instance");
        _cleanup_free_ char *b = gcore_url_deployment("http://127.0.0.1:8080", 42, "a b/c?d#e%f");
        _cleanup_free_ char *c = gcore_url_deployment("https://h", 7, "ünï");
        _cleanup_free_ char *d = gcore_url_list("https://api.gcore.com", 3, 100, 200);

        assert_string_equal(a, "https://api.gcore.com/cloud/v3/inference/1/deployments/my-instance");
        assert_string_equal(b, "http://127.0.0.1:8080/cloud/v3/inference/42/deployments/a%20b%2Fc%3Fd%23e%25f");
        assert_string_equal(c, "https://h/cloud/v3/inference/7/deployments/%C3%BCn%C3%AF");
        assert_string_equal(d, "https://api.gcore.com/cloud/v3/inference/3/deployments?limit=100&offset=200");
}

static void test_classify(void **state) {
        static const struct {
                long status;
                enum api_outcome o;
        } cases[] = {
                { 200, API_OK },        { 204, API_OK },        { 0, API_RETRYABLE },
                { 301, API_PERMANENT }, { 400, API_PERMANENT }, { 401, API_AUTH_FAILED },
                { 403, API_PERMANENT }, { 404, API_NOT_FOUND }, { 408, API_RETRYABLE },
                { 409, API_RETRYABLE }, { 410, API_PERMANENT }, { 422, API_PERMANENT },
                { 429, API_RETRYABLE }, { 500, API_RETRYABLE }, { 502, API_RETRYABLE },
                { 503, API_RETRYABLE }, { 504, API_RETRYABLE }, { 599, API_RETRYABLE },
                { 600, API_PERMANENT },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_int_equal(gcore_classify_status(cases[i].status), cases[i].o);
}

/* Which retryable failures speak of the object requested (that deployment's problem) and which
 * of the API (the account pauses). */
static void test_object_scoped(void **state) {
        static const long object[] = { 409, 500, 501, 505, 507, 599 };
        static const long api[] = { 0, 200, 404, 408, 425, 429, 502, 503, 504, 600 };

        for (size_t i = 0; i < ELEMENTSOF(object); i++)
                assert_true(gcore_status_object_scoped(object[i]));
        for (size_t i = 0; i < ELEMENTSOF(api); i++)
                assert_false(gcore_status_object_scoped(api[i]));
}

static void test_error_body(void **state) {
        const char *j = "{\"exception_class\":\"NotFoundError\",\"message\":\"Inference instance x could not "
                        "be found\",\"request_id\":\"abc-123\",\"info\":{}}";
        struct api_error e = {};

        gcore_parse_error_body(j, strlen(j), &e);
        assert_string_equal(e.exception_class, "NotFoundError");
        assert_string_equal(e.message, "Inference instance x could not be found");
        assert_string_equal(e.request_id, "abc-123");
        api_error_done(&e);

        gcore_parse_error_body("{\"detail\":\"Authentication credentials were not provided.\"}", 57, &e);
        assert_null(e.exception_class);
        assert_string_equal(e.message, "Authentication credentials were not provided.");
        api_error_done(&e);

        gcore_parse_error_body("<html>502 Bad Gateway</html>", 28, &e);
        assert_null(e.message);
        api_error_done(&e);
}

static void test_retry_after(void **state) {
        usec_t now = 1700000000ULL * USEC_PER_SEC, v;

        assert_int_equal(gcore_parse_retry_after("3", now, &v), 0);
        assert_int_equal(v, 3 * USEC_PER_SEC);
        assert_int_equal(gcore_parse_retry_after(" 120 ", now, &v), 0);
        assert_int_equal(v, 120 * USEC_PER_SEC);
        assert_int_equal(gcore_parse_retry_after("0.5", now, &v), 0);
        assert_int_equal(v, USEC_PER_SEC / 2);
        /* 1700000000 is Tue, 14 Nov 2023 22:13:20 GMT. */
        assert_int_equal(gcore_parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now, &v), 0);
        assert_int_equal(v, 30 * USEC_PER_SEC);
        assert_int_equal(gcore_parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(gcore_parse_retry_after("soon", now, &v), -EINVAL);
        assert_int_equal(gcore_parse_retry_after("-5", now, &v), -EINVAL);
        assert_int_equal(gcore_parse_retry_after("5s", now, &v), -EINVAL);
        assert_int_equal(gcore_parse_retry_after(NULL, now, &v), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_fixture),
                cmocka_unit_test(test_legacy_fixture),
                cmocka_unit_test(test_every_status),
                cmocka_unit_test(test_command_shapes),
                cmocka_unit_test(test_nulls_everywhere),
                cmocka_unit_test(test_unknown_keys_ignored),
                cmocka_unit_test(test_wrong_types_tolerated),
                cmocka_unit_test(test_counts_in_range),
                cmocka_unit_test(test_untrusted_counts),
                cmocka_unit_test(test_long_error_message),
                cmocka_unit_test(test_empty_containers),
                cmocka_unit_test(test_unusable_bodies),
                cmocka_unit_test(test_page),
                cmocka_unit_test(test_page_unusable),
                cmocka_unit_test(test_page_untrusted_item),
                cmocka_unit_test(test_page_members),
                cmocka_unit_test(test_page_empty),
                cmocka_unit_test(test_urls),
                cmocka_unit_test(test_classify),
                cmocka_unit_test(test_object_scoped),
                cmocka_unit_test(test_error_body),
                cmocka_unit_test(test_retry_after),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
