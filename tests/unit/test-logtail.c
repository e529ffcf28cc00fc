/* Log tails, region names and capacity: untrusted text made safe, pages parsed, regions
 * labelled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "logtail.h"
#include "region.h"

static void check(const char *in, size_t len, size_t max, const char *want) {
        _cleanup_free_ char *out = logtail_neutralise(in, len, max);

        assert_string_equal(out, want);
        assert_true(strlen(out) <= max);
}

static void test_neutralise(void **state) {
        static const char ansi[] = "\x1b[31mred\x1b[0m \x1b]0;title\x07ok \x1b]8;;http://x\x1b\\link";
        static const char nul[] = "a\0b";

        check("plain text", 10, 100, "plain text");
        check(ansi, sizeof(ansi) - 1, 100, "red ok link");
        check(nul, 3, 100, "a?b");
        check("tab\there\r\nnext", 14, 100, "tab here  next");
        check("bell\x07 del\x7f", 10, 100, "bell? del?");
        /* Invalid UTF-8: a lone continuation, an overlong '/', a surrogate, a cut sequence. */
        check("\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82", 11, 100,
              "\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD");
        /* C1 control U+009B (a CSI on some terminals), a right-to-left override. */
        check("x\xc2\x9by\xe2\x80\xaez", 8, 100, "x?y?z");
        check("Luxembourg-2 \xc3\xa9", 15, 100, "Luxembourg-2 \xc3\xa9");
        /* Cut: on a character boundary, with an ellipsis, never above max. */
        check("abcdefghij", 10, 10, "abcdefghij");
        check("abcdefghijk", 11, 10, "abcdefg\xE2\x80\xA6");
        check("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10, 9, "\xc3\xa9\xc3\xa9\xc3\xa9\xE2\x80\xA6");
}

static void test_neutralise_huge(void **state) {
        size_t n = 1 << 20;
        _cleanup_free_ char *big = xmalloc(n + 1), *out = NULL;

        memset(big, 'A', n);
        big[n] = '\0';
        big[5] = '\x1b';
        out = logtail_neutralise(big, n, LOGTAIL_LINE_MAX);
        assert_true(strlen(out) <= LOGTAIL_LINE_MAX);
        assert_non_null(strstr(out, "\xE2\x80\xA6"));
        assert_null(strchr(out, '\x1b'));
}

static void test_parse(void **state) {
        static const char page[] =
                "{\"count\": 4, \"results\": ["
                "{\"message\": \"newest\", \"pod\": \"p-1\", \"region_id\": 7, \"time\": \"t4\"},"
                "{\"message\": \"other region\", \"pod\": \"p-2\", \"region_id\": 8, \"time\": \"t3\"},"
                "{\"message\": \"with \\u0000 nul and \\u001b[2J\", \"pod\": \"p-1\", \"region_id\": 7, \"time\": \"t2\"},"
                "{\"message\": \"oldest\", \"pod\": \"p-1\", \"region_id\": 7, \"time\": \"t1\"}]}";
        _cleanup_free_ char *tail = NULL, *two = NULL, *none = NULL;
        const char *why = NULL;

        assert_int_equal(logtail_parse(page, sizeof(page) - 1, 7, 5, &tail, &why), 0);
        assert_string_equal(tail, "t1 p-1: oldest\nt2 p-1: with ? nul and \nt4 p-1: newest");
        assert_int_equal(logtail_parse(page, sizeof(page) - 1, 7, 2, &two, &why), 0);
        assert_string_equal(two, "t2 p-1: with ? nul and \nt4 p-1: newest");
        assert_int_equal(logtail_parse(page, sizeof(page) - 1, 9, 5, &none, &why), 0);
        assert_string_equal(none, "");
        assert_int_equal(logtail_parse("<html>", 6, 7, 5, &tail, &why), -EBADMSG);
        assert_int_equal(logtail_parse("[1]", 3, 7, 5, &tail, &why), -EBADMSG);
        assert_int_equal(logtail_parse("{\"results\": 3}", 14, 7, 5, &tail, &why), -EBADMSG);
}

static void test_regions(void **state) {
        static const char page[] =
                "{\"count\": 3, \"results\": ["
                "{\"id\": 7, \"display_name\": \"Luxembourg-2\", \"slug\": \"luxembourg-2\", \"state\": \"ACTIVE\"},"
                "{\"id\": 1, \"display_name\": \"Evil\\u001b[31m\", \"state\": \"MAINTENANCE\"},"
                "{\"id\": \"x\", \"display_name\": \"no id\"}, 5]}";
        struct region_directory d = {};
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        const char *why = NULL;

        assert_int_equal(region_directory_parse(page, sizeof(page) - 1, &d, &why), 0);
        assert_int_equal(d.n, 2);
        a = region_label(&d, 7);
        b = region_label(&d, 1);
        c = region_label(&d, 99);
        assert_string_equal(a, "Luxembourg-2 (7)");
        assert_string_equal(b, "Evil (1)");
        assert_string_equal(c, "99");
        assert_string_equal(region_directory_find(&d, 1)->state, "MAINTENANCE");
        region_directory_done(&d);
        assert_int_equal(region_directory_parse("nope", 4, &d, &why), -EBADMSG);
        assert_int_equal(region_directory_parse("{}", 2, &d, &why), -EBADMSG);
}

static void test_capacity(void **state) {
        static const char page[] =
                "{\"count\": 2, \"results\": ["
                "{\"region_id\": 7, \"capacity\": [{\"flavor_name\": \"1xA100\", \"capacity\": 0},"
                "                                {\"flavor_name\": \"1xH100\", \"capacity\": 4}]},"
                "{\"region_id\": 8, \"capacity\": \"lots\"}, 3]}";
        const char *why = NULL;
        int64_t n = -1;

        assert_int_equal(capacity_parse(page, sizeof(page) - 1, 7, "1xH100", &n, &why), 0);
        assert_int_equal(n, 4);
        assert_int_equal(capacity_parse(page, sizeof(page) - 1, 7, "1xA100", &n, &why), 0);
        assert_int_equal(n, 0);
        assert_int_equal(capacity_parse(page, sizeof(page) - 1, 7, "2xA100", &n, &why), -ENOENT);
        assert_int_equal(capacity_parse(page, sizeof(page) - 1, 8, "1xA100", &n, &why), -ENOENT);
        assert_int_equal(capacity_parse(page, sizeof(page) - 1, 9, "1xA100", &n, &why), -ENOENT);
        assert_int_equal(capacity_parse("[]", 2, 7, "1xA100", &n, &why), -EBADMSG);
        assert_int_equal(capacity_parse("{\"results\"", 12, 7, "1xA100", &n, &why), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_neutralise),
                cmocka_unit_test(test_neutralise_huge),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_regions),
                cmocka_unit_test(test_capacity),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
