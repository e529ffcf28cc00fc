/* The state file: round trip, its outbox, and a corrupt file moved aside (saying why) rather than
 * fatal. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "logtail.h"
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
                .unobservable_since = 1795790300,
                .history = 0x5,
                .n_history = 3,
        };
        r->state.alert = xcalloc(1, sizeof(*r->state.alert));
        r->state.alert->open = true;
        assert_int_equal(sd_id128_randomize(&r->state.alert->id), 0);
        r->state.alert->started = 1795790100000000ULL;
        r->state.alert->last_notified = 1795790100000000ULL;
        r->state.alert->severity = xstrdup("critical");
        r->state.alert->summary = xstrdup("region 7: Failed to pull image");
        r->state.alert->regions = xstrdup("7");
        r->state.alert->log_tail = xstrdup("Pulling image\nBack-off: Failed to pull image");
        r->state.alert->log_tail_status = xstrdup("ok");
        r->state.alert->capacity_hint = xstrdup("capacity for 1xA100 in Luxembourg-2 (7): 0");
        *flap_state_resume(&r->state.flap) = (struct flap_history) {
                .since = 1795790100000000ULL, .last_change = 1795790160000000ULL, .changes = 12,
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
        assert_non_null(w->alert);
        assert_true(w->alert->open);
        assert_true(sd_id128_equal(w->alert->id, s.watches[0].state.alert->id));
        /* The context of the alert's firing post, for the Alertmanager re-posts after a restart. */
        assert_string_equal(w->alert->log_tail, "Pulling image\nBack-off: Failed to pull image");
        assert_string_equal(w->alert->log_tail_status, "ok");
        assert_string_equal(w->alert->capacity_hint, "capacity for 1xA100 in Luxembourg-2 (7): 0");
        assert_string_equal(w->snap->containers[0].error_message, "Failed to pull image");
        assert_int_equal(w->history, 5);
        /* Reported unobservable: its deployment.observable is still due after a restart. */
        assert_int_equal(w->unobservable_since, 1795790300);
        assert_non_null(strstr(text, "\"unobservable_since\":1795790300000000"));
        /* A flap survives a restart, not the poll history behind it. */
        assert_true(w->flap.flapping);
        assert_int_equal(w->flap.hist->last_change, 1795790160000000ULL);
        assert_int_equal(w->flap.hist->changes, 12);
        assert_int_equal(w->flap.hist->aspects, FLAP_STATUS | FLAP_HEALTH);
        assert_int_equal(w->flap.n_keys, 0);
        assert_true(back.accounts[0].api.unreachable);
        assert_true(back.projects[0].auth_failed);
        assert_int_equal(back.webhooks[0].backlog, 2);
        free(text);
        free(again);
        saved_state_done(&s);
        saved_state_done(&back);
}

/* A log tail beyond LOGTAIL_MAX is not one inferwatchd wrote: the alert loads without it. */
static void test_oversized_tail(void **state) {
        struct saved_state s = {}, back = {};
        const char *why = NULL;
        char *text;

        fill(&s);
        free(s.watches[0].state.alert->log_tail);
        s.watches[0].state.alert->log_tail = xmalloc(LOGTAIL_MAX + 2);
        memset(s.watches[0].state.alert->log_tail, 'a', LOGTAIL_MAX + 1);
        s.watches[0].state.alert->log_tail[LOGTAIL_MAX + 1] = 0;
        text = state_to_json(&s);
        assert_int_equal(state_from_json(text, &back, &why), 0);
        assert_non_null(back.watches[0].state.alert);
        assert_null(back.watches[0].state.alert->log_tail);
        assert_string_equal(back.watches[0].state.alert->summary, "region 7: Failed to pull image");
        free(text);
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
        _cleanup_free_ char *path = NULL, *moved = NULL, *why = NULL;
        DIR *d;
        struct dirent *de;
        int n = 0;

        assert_non_null(mkdtemp(dir));
        /* Nothing saved yet: an empty state, no complaint. */
        assert_int_equal(state_load(dir, &back, &moved, &why), 0);
        assert_int_equal(back.n_watches, 0);
        fill(&s);
        assert_int_equal(state_save(dir, &s), 0);
        assert_int_equal(state_load(dir, &back, &moved, &why), 0);
        assert_int_equal(back.n_watches, 1);
        saved_state_done(&back);

        path = state_path(dir);
        assert_int_equal(write_file_atomic(path, "{\"version\":2,\"deploym", 21, 0600), 0);
        assert_int_equal(state_load(dir, &back, &moved, &why), -EBADMSG);
        assert_int_equal(back.n_watches, 0);
        assert_non_null(moved);
        assert_non_null(why);
        assert_non_null(strstr(why, "/state.json:1: the first line is not JSON"));
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

static char *make_dir(void) {
        char *dir = xstrdup("/tmp/iw-state-XXXXXX");

        assert_non_null(mkdtemp(dir));
        return dir;
}

static void remove_dir(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        assert_int_equal(rmdir(dir), 0);
}

/* Loads dir's state: n events to feed again, the batch id batch. */
static void expect_outbox(const char *dir, size_t n, sd_id128_t batch) {
        _cleanup_free_ char *moved = NULL, *why = NULL;
        struct saved_state back;

        assert_int_equal(state_load(dir, &back, &moved, &why), 0);
        assert_int_equal(back.outbox.n, n);
        assert_true(sd_id128_equal(back.batch, batch));
        saved_state_done(&back);
}

/* The outbox goes into the same file as the state; once fed, a load leaves it out. */
static void test_outbox(void **state) {
        _cleanup_free_ char *dir = make_dir(), *moved = NULL, *why = NULL;
        struct saved_state s = {}, back;
        struct event *e = event_new(EVENT_ALERT_FIRING, 1795790100000000ULL, "main", 1, "my-instance");
        sd_id128_t first, second;
        char a[37], b[37];

        fill(&s);
        event_add(e, "alert_id", "x");
        event_add_int(e, "region_id", 7);
        event_set_message(e, "ALERT");
        event_list_push(&s.outbox, e);
        event_list_push(&s.outbox, event_new(EVENT_MONITOR_STARTED, 1795790100000000ULL, NULL, 0, NULL));
        assert_int_equal(sd_id128_randomize(&first), 0);
        assert_int_equal(sd_id128_randomize(&second), 0);
        s.batch = first;
        assert_int_equal(state_save(dir, &s), 0);

        assert_int_equal(state_load(dir, &back, &moved, &why), 0);
        assert_true(sd_id128_equal(back.batch, first));
        assert_int_equal(back.n_watches, 1);
        assert_int_equal(back.outbox.n, 2);
        assert_string_equal(event_id_to_string(back.outbox.items[0]->id, a), event_id_to_string(e->id, b));
        assert_int_equal(back.outbox.items[0]->type, EVENT_ALERT_FIRING);
        assert_string_equal(event_get(back.outbox.items[0], "region_id"), "7");
        assert_int_equal(back.outbox.items[1]->type, EVENT_MONITOR_STARTED);
        saved_state_done(&back);

        /* Fed: the next load has nothing to feed again. */
        assert_int_equal(state_save_fed(dir, first), 0);
        expect_outbox(dir, 0, first);
        /* Any other batch was not fed, whatever the mark says (a crash after its rename). */
        s.batch = second;
        assert_int_equal(state_save(dir, &s), 0);
        expect_outbox(dir, 2, second);
        /* A mark that cannot be read: fed again (a repeat, never a loss). */
        _cleanup_free_ char *fed = xasprintf("%s/state.json.fed", dir);
        assert_int_equal(write_file_atomic(fed, "garbage", 7, 0600), 0);
        s.batch = first;
        assert_int_equal(state_save(dir, &s), 0);
        expect_outbox(dir, 2, first);

        saved_state_done(&s);
        remove_dir(dir);
}

/* A file of the previous version (no outbox) still reads: an upgrade keeps the state. */
static void test_reads_version_2(void **state) {
        struct saved_state s;
        const char *why = NULL;

        assert_int_equal(state_from_json("{\"version\":2,\"deployments\":1}\n"
                                         "{\"url\":\"u\",\"project_id\":1,\"name\":\"x\"}\n", &s, &why), 0);
        assert_int_equal(s.n_watches, 1);
        assert_int_equal(s.outbox.n, 0);
        assert_true(sd_id128_is_null(s.batch));
        saved_state_done(&s);
}

/* What a crash in the middle of a save leaves is removed at the next start. */
static void test_temporary_files_removed(void **state) {
        _cleanup_free_ char *dir = make_dir(), *tmp = xasprintf("%s/state.json.tmp.12345", dir), *moved = NULL,
                            *why = NULL, *other = xasprintf("%s/notes.txt", dir);
        struct saved_state back;
        int fd;

        fd = open(tmp, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"version\":2,", 13), 13);
        close(fd);
        fd = open(other, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(state_load(dir, &back, &moved, &why), 0);
        assert_int_equal(access(tmp, F_OK), -1);
        assert_int_equal(access(other, F_OK), 0);
        remove_dir(dir);
}

/* A rejected file says where and what. */
static void test_rejection_says_why(void **state) {
        _cleanup_free_ char *dir = make_dir(), *path = NULL, *moved = NULL, *why = NULL;
        static const char text[] = "{\"version\":2,\"deployments\":2}\n"
                                   "{\"url\":\"u\",\"project_id\":1,\"name\":\"x\"}\n"
                                   "{\"url\":\"u\",\"project_id\":0,\"name\":\"y\"}\n";
        struct saved_state back;

        path = state_path(dir);
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
        assert_int_equal(state_load(dir, &back, &moved, &why), -EBADMSG);
        assert_non_null(why);
        assert_non_null(strstr(why, "/state.json:3: "));
        assert_non_null(strstr(why, "\"project_id\" is missing or not a positive integer"));
        remove_dir(dir);
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

static int give_records(const void *source, int (*fn)(const struct watch_record *r, void *userdata), void *userdata) {
        const struct saved_state *from = source;
        int r = 0;

        for (size_t i = 0; i < from->n_watches && r >= 0; i++)
                r = fn(&from->watches[i], userdata);
        return r;
}

/* A snapshot is stored packed (one allocation): a copy holds the same, and so does a load. */
static void test_packed_snapshot(void **state) {
        struct saved_state s = {}, back;
        _cleanup_free_ char *text = NULL;
        const struct deployment *d;
        struct deployment *copy;
        const char *why = NULL;

        fill(&s);
        d = s.watches[0].state.snap;
        copy = deployment_dup_named(d, "other-name");
        assert_true(copy->packed);
        assert_string_equal(copy->name, "other-name");
        assert_string_equal(copy->status, "PARTIALLYDEPLOYED");
        assert_string_equal(copy->image, "nginx:latest");
        assert_null(copy->flavor_name);
        assert_string_equal(copy->envs_keys, "A");
        assert_int_equal(copy->n_containers, 1);
        assert_int_equal(copy->containers[0].region_id, 7);
        assert_int_equal(copy->containers[0].scale_max, 2);
        assert_string_equal(copy->containers[0].error_message, "Failed to pull image");
        deployment_free(copy);

        text = state_to_json(&s);
        assert_int_equal(state_from_json(text, &back, &why), 0);
        assert_true(back.watches[0].state.snap->packed);
        assert_string_equal(back.watches[0].state.snap->containers[0].error_message, "Failed to pull image");
        saved_state_done(&back);
        saved_state_done(&s);
}

/* A state saved from records given one at a time (each_watch) is the same file. */
static void test_streamed_records(void **state) {
        struct saved_state s = {}, streamed, back;
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        const char *why = NULL;

        fill(&s);
        text = state_to_json(&s);
        streamed = s;
        streamed.watches = NULL;
        streamed.each_watch = give_records;
        streamed.watch_source = &s;
        text2 = state_to_json(&streamed);
        assert_string_equal(text2, text);
        assert_int_equal(state_from_json(text2, &back, &why), 0);
        assert_int_equal(back.n_watches, 1);
        assert_string_equal(back.watches[0].name, "my-instance");
        saved_state_done(&back);
        saved_state_done(&s);
}

/* Takes every record but "keep", counting them. */
static bool take_but_keep(struct watch_record *r, void *userdata) {
        if (streq(r->name, "keep"))
                return false;
        (*(unsigned *) userdata)++;
        watch_record_done(r);
        return true;
}

static void test_load_each(void **state) {
        char dir[] = "/tmp/iw-state-XXXXXX";
        struct saved_state s = {}, back;
        _cleanup_free_ char *path = NULL, *moved = NULL, *why = NULL;
        unsigned taken = 0;

        assert_non_null(mkdtemp(dir));
        fill(&s);
        for (int i = 0; i < 2; i++) {
                struct watch_record *r = array_append(&s.watches, &s.n_watches, sizeof(*r));
                r->url = xstrdup("https://api.gcore.com");
                r->project_id = 1;
                r->name = xstrdup(i == 0 ? "keep" : "other");
        }
        assert_int_equal(state_save(dir, &s), 0);
        assert_int_equal(state_load_each(dir, &(struct state_taker) { take_but_keep, &taken }, &back, &moved, &why), 0);
        assert_int_equal(taken, 2);
        assert_int_equal(back.n_watches, 1);
        assert_string_equal(back.watches[0].name, "keep");
        assert_int_equal(back.n_accounts, 1);
        saved_state_done(&back);

        /* Its last record cut off: what was taken before stays taken, the load fails. */
        path = state_path(dir);
        {
                _cleanup_free_ char *text = NULL;
                size_t size;
                assert_int_equal(read_full_file(path, 1 << 20, &text, &size), 0);
                *strrchr(text, '\n') = '\0';
                *(strrchr(text, '\n') + 1) = '\0';
                assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
        }
        taken = 0;
        assert_int_equal(state_load_each(dir, &(struct state_taker) { take_but_keep, &taken }, &back, &moved, &why),
                         -EBADMSG);
        assert_int_equal(taken, 1);
        assert_int_equal(back.n_watches, 0);
        assert_non_null(strstr(why, "cut short"));
        assert_int_equal(unlink(moved), 0);
        assert_int_equal(rmdir(dir), 0);
        saved_state_done(&s);
}

/* Checks each record taken is the next one saved, whole (a restart takes them a batch at a time). */
struct in_order {
        const struct saved_state *saved;
        size_t next;
};

static bool take_in_order(struct watch_record *r, void *userdata) {
        struct in_order *o = userdata;
        const struct watch_record *w = &o->saved->watches[o->next++];

        assert_string_equal(r->name, w->name);
        assert_string_equal(r->url, w->url);
        assert_string_equal(r->account, w->account);
        assert_string_equal(r->last_error, w->last_error);
        assert_non_null(r->state.snap);
        assert_true(r->state.snap->packed);
        assert_string_equal(r->state.snap->name, w->state.snap->name);
        assert_string_equal(r->state.snap->status, "PARTIALLYDEPLOYED");
        assert_int_equal(r->state.snap->n_containers, 1);
        assert_string_equal(r->state.snap->containers[0].error_message, "Failed to pull image");
        assert_int_equal(r->state.history, w->state.history);
        assert_true(r->state.alert && r->state.alert->open);
        assert_string_equal(r->state.alert->summary, "region 7: Failed to pull image");
        assert_true(r->state.flap.flapping);
        watch_record_done(r);
        return true;
}

static void test_load_each_batches(void **state) {
        char dir[] = "/tmp/iw-state-XXXXXX";
        struct saved_state s = {}, back;
        _cleanup_free_ char *path = NULL, *moved = NULL, *why = NULL, *text = NULL;
        struct in_order order = { &s };
        size_t size;
        char *p;

        assert_non_null(mkdtemp(dir));
        fill(&s);
        /* More records than a batch holds, one larger than a batch. */
        for (size_t i = 1; i < 3000; i++) {
                struct watch_record *r = array_append(&s.watches, &s.n_watches, sizeof(*r));
                r->url = xstrdup(s.watches[0].url);
                r->project_id = 1;
                r->name = xasprintf("d%04zu", i);
                r->account = xstrdup("main");
                r->last_error = xstrdup("HTTP 503");
                if (i == 1500) {
                        free(r->last_error);
                        r->last_error = xcalloc(1, 300 * 1024 + 1);
                        memset(r->last_error, 'x', 300 * 1024);
                }
                watch_state_copy(&r->state, &s.watches[0].state);
                deployment_free(r->state.snap);
                r->state.snap = deployment_dup_named(s.watches[0].state.snap, r->name);
                r->state.history = (uint32_t) i;
        }
        assert_int_equal(state_save(dir, &s), 0);
        assert_int_equal(state_load_each(dir, &(struct state_taker) { take_in_order, &order }, &back, &moved, &why), 0);
        assert_int_equal(order.next, 3000);
        assert_int_equal(back.n_watches, 0);
        saved_state_done(&back);

        /* A bad line within a batch: FILE:LINE, the batch's records not yet taken are dropped. */
        path = state_path(dir);
        assert_int_equal(read_full_file(path, 64 << 20, &text, &size), 0);
        p = text;
        for (int i = 0; i < 1201; i++)
                p = strchr(p, '\n') + 1;
        *p = '[';
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
        order.next = 0;
        assert_int_equal(state_load_each(dir, &(struct state_taker) { take_in_order, &order }, &back, &moved, &why),
                         -EBADMSG);
        assert_true(order.next > 0 && order.next < 1200);
        assert_non_null(strstr(why, "state.json:1202: a deployment line is not JSON"));
        assert_int_equal(unlink(moved), 0);
        assert_int_equal(rmdir(dir), 0);
        saved_state_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_lines),
                cmocka_unit_test(test_streamed_records),
                cmocka_unit_test(test_packed_snapshot),
                cmocka_unit_test(test_oversized_tail),
                cmocka_unit_test(test_rejects),
                cmocka_unit_test(test_load_save_corrupt),
                cmocka_unit_test(test_load_each),
                cmocka_unit_test(test_load_each_batches),
                cmocka_unit_test(test_outbox),
                cmocka_unit_test(test_reads_version_2),
                cmocka_unit_test(test_temporary_files_removed),
                cmocka_unit_test(test_rejection_says_why),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
