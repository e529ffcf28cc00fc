/* The webhook spool: order through append/pop, the ring's growth, reopening (order and sequence
 * numbers survive, torn temporary files and empty entries are dropped), trimming by size and by age. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "spool.h"

#define T0 1795790338000000ULL

static int setup(void **state) {
        char *dir = xstrdup("/tmp/iw-test-spool-XXXXXX");

        assert_non_null(mkdtemp(dir));
        *state = dir;
        return 0;
}

static int teardown(void **state) {
        char *dir = *state;
        DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.') {
                        char *p = xasprintf("%s/%s", dir, de->d_name);
                        (void) unlink(p);
                        free(p);
                }
        if (d)
                closedir(d);
        (void) rmdir(dir);
        free(dir);
        return 0;
}

static void append(struct spool *s, const char *text, usec_t now) {
        assert_int_equal(spool_append(s, text, strlen(text), now), 0);
}

static void expect_head(struct spool *s, const char *text) {
        char *got = NULL;

        assert_non_null(spool_head(s));
        assert_int_equal(spool_read(s, spool_head(s), &got), 0);
        assert_string_equal(got, text);
        free(got);
}

static size_t count_files(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static void test_append_pop_order(void **state) {
        struct spool *s = NULL;

        assert_int_equal(spool_open(*state, &s), 0);
        assert_null(spool_head(s));
        assert_int_equal(spool_pop(s), -ENOENT);
        append(s, "one", T0);
        append(s, "two!", T0);
        append(s, "three", T0);
        assert_int_equal(spool_sync(&s, 1), 0);
        assert_int_equal(s->n, 3);
        assert_int_equal(s->bytes, 3 + 4 + 5);
        assert_int_equal(count_files(*state), 3);
        expect_head(s, "one");
        assert_int_equal(spool_pop(s), 0);
        expect_head(s, "two!");
        assert_int_equal(spool_pop(s), 0);
        append(s, "four", T0);
        expect_head(s, "three");
        assert_int_equal(spool_pop(s), 0);
        expect_head(s, "four");
        assert_int_equal(spool_pop(s), 0);
        assert_null(spool_head(s));
        assert_int_equal(s->bytes, 0);
        assert_int_equal(count_files(*state), 0);
        spool_free(s);
}

/* The ring grows while its head is in the middle: order must survive the copy. */
static void test_ring_growth(void **state) {
        struct spool *s = NULL;
        size_t next = 0, first = 0;
        char buf[32];

        assert_int_equal(spool_open(*state, &s), 0);
        for (int round = 0; round < 5; round++) {
                for (int i = 0; i < 70; i++) {
                        snprintf(buf, sizeof(buf), "event %zu", next++);
                        append(s, buf, T0);
                }
                for (int i = 0; i < 37; i++) {
                        snprintf(buf, sizeof(buf), "event %zu", first++);
                        expect_head(s, buf);
                        assert_int_equal(spool_pop(s), 0);
                }
        }
        assert_int_equal(s->n, next - first);
        while (spool_head(s)) {
                snprintf(buf, sizeof(buf), "event %zu", first++);
                expect_head(s, buf);
                assert_int_equal(spool_pop(s), 0);
        }
        assert_int_equal(first, next);
        spool_free(s);
}

static void test_reopen_keeps_order(void **state) {
        struct spool *s = NULL;
        uint64_t last;

        assert_int_equal(spool_open(*state, &s), 0);
        /* More than 10 entries: the order is numeric, not that of the directory. */
        for (int i = 0; i < 12; i++) {
                char *t = xasprintf("e%d", i);
                append(s, t, T0);
                free(t);
        }
        assert_int_equal(spool_pop(s), 0);
        assert_int_equal(spool_pop(s), 0);
        assert_int_equal(spool_sync(&s, 1), 0);
        last = s->next_seq;
        spool_free(s);

        assert_int_equal(spool_open(*state, &s), 0);
        assert_int_equal(s->n, 10);
        assert_int_equal(s->bytes, 8 * 2 + 2 * 3);   /* "e2".."e9", "e10", "e11" */
        assert_int_equal(s->next_seq, last);
        append(s, "after", T0);                     /* goes after the old ones */
        for (int i = 2; i < 12; i++) {
                char *t = xasprintf("e%d", i);
                expect_head(s, t);
                assert_int_equal(spool_pop(s), 0);
                free(t);
        }
        expect_head(s, "after");
        spool_free(s);
}

static void touch(const char *dir, const char *name, const char *text) {
        char *p = xasprintf("%s/%s", dir, name);
        FILE *f = fopen(p, "w");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        free(p);
}

static void test_reopen_drops_torn_files(void **state) {
        struct spool *s = NULL;
        char *sub = xasprintf("%s/not-an-entry.json", (char *) *state);

        assert_int_equal(spool_open(*state, &s), 0);
        append(s, "kept", T0);
        spool_free(s);
        /* What a crash in the middle of an append leaves, and what is not the spool's. */
        touch(*state, "0000000000000001.json.tmp", "{\"id\":\"torn");
        touch(*state, "0000000000000007.tmp", "x");
        touch(*state, "notes.txt", "x");
        touch(*state, "12abc.json", "x");
        /* An entry renamed but never synced before a power loss comes back empty. */
        touch(*state, "0000000000000009.json", "");
        assert_int_equal(mkdir(sub, 0700), 0);

        assert_int_equal(spool_open(*state, &s), 0);
        assert_int_equal(s->n, 1);
        expect_head(s, "kept");
        assert_int_equal(count_files(*state), 4); /* the entry, notes.txt, 12abc.json, the directory */
        spool_free(s);
        free(sub);
        sub = xasprintf("%s/0000000000000001.json.tmp", (char *) *state);
        assert_int_equal(access(sub, F_OK), -1);
        free(sub);
        sub = xasprintf("%s/0000000000000009.json", (char *) *state);
        assert_int_equal(access(sub, F_OK), -1);
        free(sub);
        sub = xasprintf("%s/not-an-entry.json", (char *) *state);
        assert_int_equal(rmdir(sub), 0);
        free(sub);
}

static void test_trim_by_size(void **state) {
        struct spool *s = NULL;

        assert_int_equal(spool_open(*state, &s), 0);
        for (int i = 0; i < 10; i++)
                append(s, "0123456789", T0);                  /* 100 bytes */
        assert_int_equal(spool_trim(s, 100, 0, T0), 0);        /* at the bound: nothing */
        assert_int_equal(spool_trim(s, 75, 0, T0), 3);         /* the oldest go */
        assert_int_equal(s->n, 7);
        assert_int_equal(s->bytes, 70);
        assert_int_equal(count_files(*state), 7);
        assert_int_equal(spool_trim(s, 0, 0, T0), 7);
        assert_null(spool_head(s));
        spool_free(s);
}

static void test_trim_by_age(void **state) {
        struct spool *s = NULL;
        usec_t day = 24 * USEC_PER_HOUR;

        assert_int_equal(spool_open(*state, &s), 0);
        append(s, "old", T0);
        append(s, "newer", T0 + day);
        append(s, "newest", T0 + 2 * day);
        assert_int_equal(spool_trim(s, UINT64_MAX, 2 * day, T0 + 2 * day), 0);
        assert_int_equal(spool_trim(s, UINT64_MAX, 2 * day, T0 + 2 * day + 1), 1);
        expect_head(s, "newer");
        assert_int_equal(spool_trim(s, UINT64_MAX, 0, T0 + 100 * day), 0);  /* 0: no age bound */
        spool_free(s);
}

/* After a restart the age comes from the file's modification time. */
static void test_trim_by_age_after_reopen(void **state) {
        struct spool *s = NULL;
        usec_t now = now_usec(CLOCK_REALTIME);
        struct timespec old[2] = { { .tv_sec = (time_t) (now / USEC_PER_SEC) - 3600 },
                                   { .tv_sec = (time_t) (now / USEC_PER_SEC) - 3600 } };
        int fd;

        assert_int_equal(spool_open(*state, &s), 0);
        append(s, "an hour old", now);
        append(s, "fresh", now);
        spool_free(s);
        fd = open(*state, O_RDONLY | O_DIRECTORY);
        assert_int_equal(utimensat(fd, "0000000000000000.json", old, 0), 0);
        close(fd);

        assert_int_equal(spool_open(*state, &s), 0);
        assert_int_equal(spool_trim(s, UINT64_MAX, 30 * USEC_PER_MINUTE, now), 1);
        expect_head(s, "fresh");
        spool_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_append_pop_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ring_growth, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reopen_keeps_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reopen_drops_torn_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_trim_by_size, setup, teardown),
                cmocka_unit_test_setup_teardown(test_trim_by_age, setup, teardown),
                cmocka_unit_test_setup_teardown(test_trim_by_age_after_reopen, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
