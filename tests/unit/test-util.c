/* Durations, sizes, time formats and the atomic file writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "util.h"

static void test_durations(void **state) {
        static const struct {
                const char *s;
                usec_t v;
        } ok[] = {
                { "60", 60 * USEC_PER_SEC },     { "90s", 90 * USEC_PER_SEC },
                { "15m", 15 * USEC_PER_MINUTE }, { "1h30m", 90 * USEC_PER_MINUTE },
                { "500ms", 500 * USEC_PER_MSEC }, { "2d", 2 * USEC_PER_DAY },
                { "1 h 5 min", 65 * USEC_PER_MINUTE }, { "0", 0 },
                { "10sec", 10 * USEC_PER_SEC },  { "250us", 250 },
        };
        static const char *const bad[] = { "", "s", "5x", "1h30", "-5s", "1.5s", "abc", "99999999999999999999s" };
        usec_t v;

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                assert_int_equal(parse_duration(ok[i].s, &v), 0);
                assert_int_equal(v, ok[i].v);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_true(parse_duration(bad[i], &v) < 0);
}

static void test_sizes(void **state) {
        uint64_t v;

        assert_int_equal(parse_size("8MiB", &v), 0);
        assert_int_equal(v, 8ULL << 20);
        assert_int_equal(parse_size("512KiB", &v), 0);
        assert_int_equal(v, 512ULL << 10);
        assert_int_equal(parse_size("100kB", &v), 0);
        assert_int_equal(v, 100000);
        assert_int_equal(parse_size("1GiB", &v), 0);
        assert_int_equal(v, 1ULL << 30);
        assert_int_equal(parse_size("4096", &v), 0);
        assert_int_equal(v, 4096);
        assert_true(parse_size("8 pints", &v) < 0);
        assert_true(parse_size("", &v) < 0);
}

static void test_rfc3339(void **state) {
        char b[32];
        usec_t v;

        assert_string_equal(format_rfc3339(b, 1795790338123456ULL), "2026-11-27T14:38:58.123Z");
        assert_int_equal(parse_rfc3339("2026-11-27T14:38:58.123Z", &v), 0);
        assert_int_equal(v, 1795790338123000ULL);
        assert_int_equal(parse_rfc3339("2026-11-27T15:38:58+01:00", &v), 0);
        assert_int_equal(v, 1795790338000000ULL);
        assert_int_equal(parse_rfc3339("2025-08-22T11:21:00Z", &v), 0);
        assert_true(parse_rfc3339("2025-08-22", &v) < 0);
        assert_true(parse_rfc3339("2025-13-22T11:21:00Z", &v) < 0);
        assert_true(parse_rfc3339("2025-08-22T11:21:00", &v) < 0);
        assert_true(parse_rfc3339("2025-08-22T11:21:00Zjunk", &v) < 0);
}

static void test_format_duration(void **state) {
        char b[32];

        assert_string_equal(format_duration(b, 850 * USEC_PER_MSEC), "850ms");
        assert_string_equal(format_duration(b, 42 * USEC_PER_SEC), "42s");
        assert_string_equal(format_duration(b, 252 * USEC_PER_SEC), "4m12s");
        assert_string_equal(format_duration(b, 3 * USEC_PER_HOUR + 5 * USEC_PER_MINUTE), "3h05m");
        assert_string_equal(format_duration(b, 2 * USEC_PER_DAY + 4 * USEC_PER_HOUR), "2d04h");
}

static void test_jitter(void **state) {
        for (int i = 0; i < 1000; i++) {
                usec_t j = jitter(10 * USEC_PER_SEC, 0.1);
                assert_true(j >= 9 * USEC_PER_SEC && j <= 11 * USEC_PER_SEC);
                assert_true(random_below(7) < 7);
        }
        assert_int_equal(jitter(0, 0.5), 0);
}

static void test_strextendf(void **state) {
        _cleanup_free_ char *s = NULL;

        strextendf(&s, ", ", "%d healthy", 2);
        assert_string_equal(s, "2 healthy");
        strextendf(&s, ", ", "%s", "");
        strextendf(&s, ", ", "%d %s", 1, "failed");
        assert_string_equal(s, "2 healthy, , 1 failed");
}

static void test_backoff_delay(void **state) {
        const usec_t base = USEC_PER_SEC, cap = 10 * USEC_PER_SEC;

        for (int i = 0; i < 200; i++) {
                usec_t d1 = backoff_delay(base, cap, 1, 0), d3 = backoff_delay(base, cap, 3, 0);
                usec_t d9 = backoff_delay(base, cap, 9, 0);
                assert_true(d1 >= base * 3 / 4 && d1 <= base);            /* 1 s, less up to 25 % */
                assert_true(d3 >= 3 * USEC_PER_SEC && d3 <= 4 * USEC_PER_SEC); /* doubled twice */
                assert_true(d9 >= cap * 3 / 4 && d9 <= cap);              /* capped */
        }
        assert_int_equal(backoff_delay(base, cap, 1, 30 * USEC_PER_SEC), 30 * USEC_PER_SEC);
        assert_int_equal(backoff_delay(base, cap, 1, 2 * USEC_PER_HOUR), RETRY_AFTER_MAX);
}

static void test_atomic_write(void **state) {
        char dir[] = "/tmp/iw-util-XXXXXX";
        _cleanup_free_ char *path = NULL, *back = NULL;
        struct stat st;
        size_t size;

        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/f", dir);
        assert_int_equal(write_file_atomic(path, "one\n", 4, 0600), 0);
        assert_int_equal(write_file_atomic(path, "two", 3, 0600), 0);
        assert_int_equal(read_full_file(path, 100, &back, &size), 0);
        assert_string_equal(back, "two");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        free(back);
        back = NULL;
        assert_int_equal(read_full_file(path, 2, &back, &size), -EFBIG);
        assert_int_equal(read_full_file(dir, 100, &back, &size), -EISDIR);
        unlink(path);
        rmdir(dir);
}

static void test_glob(void **state) {
        assert_true(glob_match("prod-*", "prod-llama"));
        assert_false(glob_match("prod-*", "staging-llama"));
        assert_true(glob_match("alert.*", "alert.firing"));
        assert_true(glob_match("*", "x"));
}

/* Quoted in a message: plain ASCII, quotes escaped. In a table cell: only control characters. */
static void test_cescape(void **state) {
        static const struct {
                const char *in, *quoted, *cell;
        } cases[] = {
                { "", "", "" },
                { "plain-name_1.2", "plain-name_1.2", "plain-name_1.2" },
                { "a\nb\tc\rd", "a\\nb\\tc\\rd", "a\\nb\\tc\\rd" },
                { "bell\x07 esc\x1b[31m del\x7f", "bell\\x07 esc\\x1b[31m del\\x7f",
                  "bell\\x07 esc\\x1b[31m del\\x7f" },
                { "say \"hi\" \\o/", "say \\\"hi\\\" \\\\o/", "say \"hi\" \\o/" },
                { "caf\xc3\xa9", "caf\\xc3\\xa9", "caf\xc3\xa9" },
                /* A CR LF would forge a second log line. */
                { "pull failed\r\n2026-11-29T00:00:00.000Z crit    forged", "pull failed\\r\\n2026-11-29T00:00:00.000Z crit    forged",
                  "pull failed\\r\\n2026-11-29T00:00:00.000Z crit    forged" },
                /* C1 controls as UTF-8 (U+0080, U+009B CSI, U+009F): as dangerous as ESC. */
                { "a\xc2\x80" "b\xc2\x9b" "31mc\xc2\x9f", "a\\xc2\\x80b\\xc2\\x9b" "31mc\\xc2\\x9f",
                  "a\\xc2\\x80b\\xc2\\x9b" "31mc\\xc2\\x9f" },
                /* U+00A0 and U+00FF are text; U+2028 LINE SEPARATOR and U+202E (bidi override) are not. */
                { "\xc2\xa0\xc3\xbf", "\\xc2\\xa0\\xc3\\xbf", "\xc2\xa0\xc3\xbf" },
                { "x\xe2\x80\xa8y\xe2\x80\xaez", "x\\xe2\\x80\\xa8y\\xe2\\x80\\xaez", "x\\xe2\\x80\\xa8y\\xe2\\x80\\xaez" },
                { "\xe2\x82\xac \xf0\x9f\x94\xa5", "\\xe2\\x82\\xac \\xf0\\x9f\\x94\\xa5", "\xe2\x82\xac \xf0\x9f\x94\xa5" },
                /* Not UTF-8: a stray continuation byte, a lone lead byte, 0xff, an overlong '/',
                 * a surrogate, beyond U+10FFFF. Each byte is escaped, what follows is read again. */
                { "\x80" "a\xc3(\xff\xc0\xaf", "\\x80a\\xc3(\\xff\\xc0\\xaf", "\\x80a\\xc3(\\xff\\xc0\\xaf" },
                { "\xed\xa0\x80|\xf4\x90\x80\x80", "\\xed\\xa0\\x80|\\xf4\\x90\\x80\\x80",
                  "\\xed\\xa0\\x80|\\xf4\\x90\\x80\\x80" },
                /* A sequence cut by the end of the string (a NUL from the API's "\u0000" ends it). */
                { "end\xe2\x82\0\xac", "end\\xe2\\x82", "end\\xe2\\x82" },
                { "\x1b]0;title\x07\x1b[2J", "\\x1b]0;title\\x07\\x1b[2J", "\\x1b]0;title\\x07\\x1b[2J" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *q = cescape(cases[i].in), *c = cescape_cell(cases[i].in);
                assert_string_equal(q, cases[i].quoted);
                assert_string_equal(c, cases[i].cell);
        }
}

/* Where to cut so that the shown text fits: whole characters, each counted as it is shown. */
static void test_cescape_cell_prefix(void **state) {
        static const struct {
                const char *in;
                size_t max, n;
        } cases[] = {
                { "", 10, 0 },
                { "abc", 3, 3 },
                { "abc", 2, 2 },
                { "\x1b\x1b\x1b", 8, 2 },           /* \x1b\x1b: 8 bytes */
                { "\x1b\x1b\x1b", 7, 1 },
                { "a\xc2\x9b", 8, 1 },                /* U+009B: 8 bytes shown, none of it fits */
                { "a\xc2\x9b", 9, 3 },
                { "\xe2\x82\xac\xe2\x82\xac", 4, 3 }, /* euro signs stay, whole */
                { "\xe2\x82\xac\xe2\x82\xac", 5, 3 },
                { "\r\n", 3, 1 },
                { "\xff", 3, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *all = cescape_cell(cases[i].in);
                size_t n = cescape_cell_prefix(cases[i].in, cases[i].max);
                _cleanup_free_ char *cut = xstrndup(cases[i].in, n), *shown = cescape_cell(cut);

                assert_int_equal(n, cases[i].n);
                assert_true(strlen(shown) <= cases[i].max);
                assert_true(strncmp(all, shown, strlen(shown)) == 0);
        }
}

static void test_cescape_cell_cut(void **state) {
        _cleanup_free_ char *fits = cescape_cell_cut("ab\x1b", 6), *cut = cescape_cell_cut("abcdefghijkl\x1b", 14);
        _cleanup_free_ char *esc = cescape_cell_cut("\x1b\x1b\x1b\x1b\x1b\x1b", 20);

        assert_string_equal(fits, "ab\\x1b");
        assert_string_equal(cut, "abcd" TEXT_CUT_MARK);
        assert_string_equal(esc, "\\x1b\\x1b" TEXT_CUT_MARK);
}

/* JSON text from json-c: what it leaves raw (DEL, C1, line separators, bytes that are not UTF-8)
 * becomes \u escapes, so a JSON reader gets the same characters and a terminal no control. */
static void test_json_sanitize(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "", "" },
                { "{\"a\": \"plain caf\xc3\xa9 \xe2\x82\xac\"}", "{\"a\": \"plain caf\xc3\xa9 \xe2\x82\xac\"}" },
                { "{\n  \"a\": \"\\u001b[31m\\r\\n\"\n}", "{\n  \"a\": \"\\u001b[31m\\r\\n\"\n}" },
                { "\"del\x7f c1\xc2\x9b" "31m \xc2\x85\"", "\"del\\u007f c1\\u009b31m \\u0085\"" },
                { "\"ls\xe2\x80\xa8ps\xe2\x80\xa9\"", "\"ls\\u2028ps\\u2029\"" },
                { "\"bad\xff\xc3(\xed\xa0\x80\"", "\"bad\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\"" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = json_sanitize(cases[i].in);
                assert_string_equal(s, cases[i].out);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_durations),
                cmocka_unit_test(test_sizes),
                cmocka_unit_test(test_rfc3339),
                cmocka_unit_test(test_format_duration),
                cmocka_unit_test(test_jitter),
                cmocka_unit_test(test_backoff_delay),
                cmocka_unit_test(test_strextendf),
                cmocka_unit_test(test_atomic_write),
                cmocka_unit_test(test_glob),
                cmocka_unit_test(test_cescape),
                cmocka_unit_test(test_cescape_cell_prefix),
                cmocka_unit_test(test_cescape_cell_cut),
                cmocka_unit_test(test_json_sanitize),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
