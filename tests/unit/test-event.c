/* Event types, MESSAGE_IDs, the JSON envelope and its round trip. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "event.h"

static void test_types(void **state) {
        for (int i = 0; i < _EVENT_TYPE_MAX; i++) {
                assert_non_null(event_type_to_string(i));
                assert_int_equal(event_type_from_string(event_type_to_string(i)), i);
                for (int k = 0; k < i; k++)
                        assert_false(sd_id128_equal(event_type_message_id(i), event_type_message_id(k)));
                assert_true(event_type_default_priority(i) >= 0 && event_type_default_priority(i) <= 7);
        }
        assert_int_equal(event_type_from_string("alert.fired"), -EINVAL);
        assert_int_equal(event_type_default_priority(EVENT_ALERT_FIRING), 3);
        assert_int_equal(event_type_default_priority(EVENT_API_AUTH_FAILED), 2);
}

static void test_priorities(void **state) {
        assert_int_equal(priority_from_string("err"), 3);
        assert_int_equal(priority_from_string("error"), 3);
        assert_int_equal(priority_from_string("warning"), 4);
        assert_int_equal(priority_from_string("7"), 7);
        assert_int_equal(priority_from_string("8"), -EINVAL);
        assert_int_equal(priority_from_string("loud"), -EINVAL);
        assert_string_equal(priority_to_string(5), "notice");
}

static void test_json_envelope(void **state) {
        struct event *e = event_new(EVENT_CONTAINER_ERROR, 1795790338123000ULL, "main", 1, "my-instance");
        struct json_object *o, *v, *data;
        char *text;
        char id[37];

        event_add_int(e, "region_id", 7);
        event_add(e, "error_message", "Failed to pull image \"x\"");
        event_set_message(e, "my-instance (project 1): region 7: Failed to pull image");
        text = event_to_json(e);
        o = json_tokener_parse(text);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "id", &v));
        assert_string_equal(json_object_get_string(v), event_id_to_string(e->id, id));
        assert_int_equal(strlen(id), 36);
        assert_true(json_object_object_get_ex(o, "type", &v));
        assert_string_equal(json_object_get_string(v), "container.error");
        assert_true(json_object_object_get_ex(o, "time", &v));
        assert_string_equal(json_object_get_string(v), "2026-11-27T14:38:58.123Z");
        assert_true(json_object_object_get_ex(o, "priority", &v));
        assert_string_equal(json_object_get_string(v), "err");
        assert_true(json_object_object_get_ex(o, "project_id", &v));
        assert_int_equal(json_object_get_int64(v), 1);
        assert_true(json_object_object_get_ex(o, "deployment", &v));
        assert_string_equal(json_object_get_string(v), "my-instance");
        assert_true(json_object_object_get_ex(o, "data", &data));
        assert_true(json_object_object_get_ex(data, "region_id", &v));
        assert_true(json_object_is_type(v, json_type_int));
        assert_int_equal(json_object_get_int64(v), 7);
        assert_true(json_object_object_get_ex(data, "error_message", &v));
        assert_string_equal(json_object_get_string(v), "Failed to pull image \"x\"");
        json_object_put(o);

        struct event *back = NULL;
        assert_int_equal(event_from_json(text, &back), 0);
        assert_true(sd_id128_equal(back->id, e->id));
        assert_int_equal(back->type, e->type);
        assert_int_equal(back->time, e->time);
        assert_int_equal(back->priority, 3);
        assert_int_equal(back->project_id, 1);
        assert_string_equal(back->deployment, "my-instance");
        assert_string_equal(back->account, "main");
        assert_string_equal(back->message, e->message);
        assert_string_equal(event_get(back, "region_id"), "7");
        assert_string_equal(event_get(back, "error_message"), "Failed to pull image \"x\"");
        char *again = event_to_json(back);
        assert_string_equal(again, text);
        free(again);
        free(text);
        event_free(back);
        event_free(e);
}

static void test_monitor_event_nulls(void **state) {
        struct event *e = event_new(EVENT_MONITOR_STARTED, 1795790338123000ULL, NULL, 0, NULL);
        char *text = event_to_json(e);

        assert_non_null(strstr(text, "\"project_id\":null"));
        assert_non_null(strstr(text, "\"deployment\":null"));
        free(text);
        event_free(e);
}

static void test_from_json_rejects(void **state) {
        static const char *const bad[] = {
                "", "[]", "{}", "{\"id\":\"x\",\"type\":\"alert.firing\",\"time\":\"2026-11-27T14:38:58.123Z\"}",
                "{\"id\":\"6f1d2c3b-1111-4a2b-9c3d-0123456789ab\",\"type\":\"nope\",\"time\":\"2026-11-27T14:38:58.123Z\"}",
                "{\"id\":\"6f1d2c3b-1111-4a2b-9c3d-0123456789ab\",\"type\":\"alert.firing\",\"time\":\"yesterday\"}",
        };
        struct event *e = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(event_from_json(bad[i], &e), -EBADMSG);
}

/* A packed event reads as the original did, in one allocation; a change unpacks it. */
static void test_pack(void **state) {
        struct event *e = event_new(EVENT_DEPLOYMENT_DISCOVERED, 1700000000000000, "prod", 7, "llama");
        struct event *d;
        _cleanup_free_ char *before = NULL, *after = NULL;

        event_add(e, "status", "ACTIVE");
        event_add_int(e, "ready", 2);
        event_set_message(e, "llama (project 7): discovered");
        before = event_to_json(e);
        e = event_pack(e);
        assert_true(e->packed);
        assert_true(event_pack(e) == e);
        after = event_to_json(e);
        assert_string_equal(before, after);
        assert_string_equal(event_get(e, "ready"), "2");
        assert_true((char *) e->fields > (char *) e && (char *) e->message > (char *) e->fields);
        /* A copy is not packed; each change of the packed one gives it allocations of its own. */
        d = event_dup(e);
        assert_false(d->packed);
        event_free(d);
        event_add(e, "region_names", "Luxembourg-2");
        assert_false(e->packed);
        assert_string_equal(event_get(e, "status"), "ACTIVE");
        assert_string_equal(event_get(e, "region_names"), "Luxembourg-2");
        event_free(event_pack(e));

        e = event_pack(event_new(EVENT_MONITOR_STARTED, 1, NULL, 0, NULL));
        assert_null(e->account);
        assert_null(e->deployment);
        assert_null(e->message);
        assert_null(e->fields);
        event_set_message(e, "started");
        assert_string_equal(e->message, "started");
        event_free(e);

        e = event_new(EVENT_DEPLOYMENT_GONE, 1, "prod", 7, "llama");
        event_add(e, "status", "ACTIVE");
        event_add(e, "health", "healthy");
        e = event_pack(e);
        event_drop(e, "status");
        assert_int_equal(e->n_fields, 1);
        assert_string_equal(event_get(e, "health"), "healthy");
        event_free(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_types),
                cmocka_unit_test(test_priorities),
                cmocka_unit_test(test_json_envelope),
                cmocka_unit_test(test_monitor_event_nulls),
                cmocka_unit_test(test_from_json_rejects),
                cmocka_unit_test(test_pack),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
