/* The state file: round trip, and a corrupt file moved aside rather than fatal. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "state.h"

static void fill(struct saved_state *s) {
        struct watch_record *r = array_append(&s->watches, &s->n_watches, sizeof(*r));
        struct deployment *d = xcalloc(1, sizeof(*d));
        struct container *c;

        s->written = 1795790338123000ULL;
        s->pid = 42;
        r->url = xstrdup("https://api.gcore.com");
        r->project_id = 1;
        r->name = xstrdup("my-instance");
        r->account = xstrdup("main");
        r->last_error = xstrdup("HTTP 503");
        d->name = xstrdup("my-instance");
        d->project_id = 1;
        d->status = xstrdup("PARTIALLYDEPLOYED");
        d->status_enum = STATUS_PARTIALLYDEPLOYED;
        d->image = xstrdup("nginx:latest");
        d->envs_keys = xstrdup("A");
        c = array_append(&d->containers, &d->n_containers, sizeof(*c));
        c->region_id = 7;
        c->total = 1;
        c->error_message = xstrdup("Failed to pull image");
        c->scale_min = 1;
        c->scale_max = 2;
        r->state = (struct watch_state) {
                .snap = d,
                .health = HEALTH_FAILED,
                .status_since = 1795790000000000ULL,
                .unsettled_since = 1795789000000000ULL,
                .stuck_reported = true,
                .history = 0x5,
                .n_history = 3,
        };
        r->state.alert.open = true;
        assert_int_equal(sd_id128_randomize(&r->state.alert.id), 0);
        r->state.alert.started = 1795790100000000ULL;
        r->state.alert.last_notified = 1795790100000000ULL;
        r->state.alert.severity = xstrdup("critical");
        r->state.alert.summary = xstrdup("region 7: Failed to pull image");
        r->state.alert.regions = xstrdup("7");
        r->state.flap = (struct flap_state) { .flapping = true, .since = 1795790100000000ULL,
                                              .last_change = 1795790160000000ULL, .changes = 12,
                                              .aspects = FLAP_STATUS | FLAP_HEALTH, .returns = 2 };

        struct account_record *a = array_append(&s->accounts, &s->n_accounts, sizeof(*a));
        a->url = xstrdup("https://api.gcore.com");
        a->name = xstrdup("main");
        a->api = (struct api_state) { .failures = 4, .unreachable = true, .unreachable_since = 1795790200000000ULL };
        struct project_record *p = array_append(&s->projects, &s->n_projects, sizeof(*p));
        p->url = xstrdup("https://api.gcore.com");
        p->project_id = 1;
        p->auth_failed = true;
        struct webhook_record *w = array_append(&s->webhooks, &s->n_webhooks, sizeof(*w));
        w->name = xstrdup("ops");
        w->delivered = 10;
        w->backlog = 2;
        w->last_result = xstrdup("HTTP 200");
}

static void test_round_trip(void **state) {
        struct saved_state s = {}, back = {};
        const char *why = NULL;
        char *text, *again;

        fill(&s);
        text = state_to_json(&s);
        assert_int_equal(state_from_json(text, &back, &why), 0);
        again = state_to_json(&back);
        assert_string_equal(again, text);

        const struct watch_state *w = &back.watches[0].state;
        assert_string_equal(back.watches[0].name, "my-instance");
        assert_int_equal(w->health, HEALTH_FAILED);
        assert_true(w->alert.open);
        assert_true(sd_id128_equal(w->alert.id, s.watches[0].state.alert.id));
        assert_string_equal(w->snap->containers[0].error_message, "Failed to pull image");
        assert_int_equal(w->history, 5);
        /* A flap survives a restart, not the poll history behind it. */
        assert_true(w->flap.flapping);
        assert_int_equal(w->flap.last_change, 1795790160000000ULL);
        assert_int_equal(w->flap.changes, 12);
        assert_int_equal(w->flap.aspects, FLAP_STATUS | FLAP_HEALTH);
        assert_int_equal(w->flap.n_keys, 0);
        assert_true(back.accounts[0].api.unreachable);
        assert_true(back.projects[0].auth_failed);
        assert_int_equal(back.webhooks[0].backlog, 2);
        free(text);
        free(again);
        saved_state_done(&s);
        saved_state_done(&back);
}

static void test_rejects(void **state) {
        static const char *const bad[] = {
                "", "\n", "[]", "{\"version\":1,\"deployments\":0}", "{\"version\":2",
                "{\"version\":2,\"deployments\":1}\n",
                "{\"version\":2,\"deployments\":0}\n{\"url\":\"u\",\"project_id\":1,\"name\":\"x\"}\n",
                "{\"version\":2,\"deployments\":1}\n{\"name\":\"x\"}\n",
                "{\"version\":2,\"deployments\":1}\n{\"url\":\"u\",\"project_id\":1,\"name\":\"x\",\"snapshot\":{}}\n",
                "{\"version\":2,\"deployments\":1}\n{\"url\":\"u\",\"project_id\":1,\"name\":\"x\",\"alert\":{\"id\":\"no\"}}\n",
                "{\"version\":2,\"deployments\":1}\n{\"url\":\"u\",\"project_id\":1,\"na",
                "{\"version\":2,\"deployments\":-1}\n",
        };
        struct saved_state s;
        const char *why;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                why = NULL;
                assert_int_equal(state_from_json(bad[i], &s, &why), -EBADMSG);
                assert_non_null(why);
        }
}

static void test_load_save_corrupt(void **state) {
        char dir[] = "/tmp/iw-state-XXXXXX";
        struct saved_state s = {}, back;
        _cleanup_free_ char *path = NULL, *moved = NULL;
        DIR *d;
        struct dirent *de;
        int n = 0;

        assert_non_null(mkdtemp(dir));
        /* Nothing saved yet: an empty state, no complaint. */
        assert_int_equal(state_load(dir, &back, &moved), 0);
        assert_int_equal(back.n_watches, 0);
        fill(&s);
        assert_int_equal(state_save(dir, &s), 0);
        assert_int_equal(state_load(dir, &back, &moved), 0);
        assert_int_equal(back.n_watches, 1);
        saved_state_done(&back);

        path = state_path(dir);
        assert_int_equal(write_file_atomic(path, "{\"version\":2,\"deploym", 21, 0600), 0);
        assert_int_equal(state_load(dir, &back, &moved), -EBADMSG);
        assert_int_equal(back.n_watches, 0);
        assert_non_null(moved);
        assert_int_equal(access(moved, F_OK), 0);
        assert_int_equal(access(path, F_OK), -1);
        unlink(moved);

        d = opendir(dir);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(n, 0); /* no temp files left behind */
        rmdir(dir);
        saved_state_done(&s);
}

/* One line per deployment after the header. */
static void test_lines(void **state) {
        struct saved_state s = {};
        char *text;
        size_t lines = 0;

        fill(&s);
        text = state_to_json(&s);
        for (const char *p = text; *p; p++)
                lines += *p == '\n';
        assert_int_equal(lines, 2);
        assert_non_null(strstr(text, "\"deployments\":1"));
        free(text);
        saved_state_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_lines),
                cmocka_unit_test(test_rejects),
                cmocka_unit_test(test_load_save_corrupt),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
