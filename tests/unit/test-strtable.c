/* A set of objects by a string inside them (strtable.c): found after any sequence of additions
 * and removals, removals included that move entries back over a freed slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "strtable.h"

struct watch {
        int other;
        char name[];
};

#define N 5000

static struct watch *new_watch(unsigned i) {
        char name[32];
        struct watch *w;

        snprintf(name, sizeof(name), "dep-%05u", i);
        w = xcalloc(1, sizeof(*w) + strlen(name) + 1);
        strcpy(w->name, name);
        return w;
}

static void check(const struct strtable *x, struct watch **all, const bool *in) {
        size_t n = 0;

        for (unsigned i = 0; i < N; i++) {
                assert_ptr_equal(strtable_find(x, all[i]->name), in[i] ? all[i] : NULL);
                n += in[i];
        }
        assert_int_equal(x->n, n);
        assert_null(strtable_find(x, "dep-x"));
}

static void test_add_find_remove(void **state) {
        struct strtable x = STRTABLE_INIT(struct watch, name);
        struct watch *all[N];
        bool in[N] = {};

        assert_null(strtable_find(&x, "dep-00000"));
        for (unsigned i = 0; i < N; i++)
                all[i] = new_watch(i);
        for (unsigned i = 0; i < N; i++) {
                strtable_add(&x, all[i]);
                in[i] = true;
        }
        assert_true(x.size >= N * 4 / 3 && x.size < N * 4);
        check(&x, all, in);
        /* Every third, then every other one of the rest, in an order that crosses clusters. */
        for (unsigned i = 0; i < N; i += 3) {
                strtable_remove(&x, all[i]);
                in[i] = false;
        }
        check(&x, all, in);
        for (unsigned i = N; i-- > 0;)
                if (in[i] && i % 2 == 0) {
                        strtable_remove(&x, all[i]);
                        in[i] = false;
                }
        check(&x, all, in);
        /* Removing one that is not there changes nothing; adding back finds it again. */
        strtable_remove(&x, all[0]);
        check(&x, all, in);
        for (unsigned i = 0; i < N; i += 6) {
                strtable_add(&x, all[i]);
                in[i] = true;
        }
        check(&x, all, in);
        for (unsigned i = 0; i < N; i++)
                if (in[i])
                        strtable_remove(&x, all[i]);
        /* Empty: the array is gone. */
        assert_int_equal(x.n, 0);
        assert_null(x.slots);
        assert_null(strtable_find(&x, "dep-00001"));
        for (unsigned i = 0; i < N; i++)
                free(all[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_add_find_remove),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
