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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_types),
                cmocka_unit_test(test_priorities),
                cmocka_unit_test(test_json_envelope),
                cmocka_unit_test(test_monitor_event_nulls),
                cmocka_unit_test(test_from_json_rejects),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
