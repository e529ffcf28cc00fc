/* The state directory's lock: taken once, refused to a second taker with the holder's PID,
 * seen without being taken, gone when its descriptor closes. OFD locks conflict between open
 * file descriptions, so one process can play both daemons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lock.h"

static void test_lock(void **state) {
        char dir[] = "/tmp/test-lock-XXXXXX", *other;
        pid_t holder = -1;
        int fd, fd2;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(state_lock_holder(dir, &holder), 0); /* no lock file yet */
        assert_int_equal(holder, 0);

        fd = state_lock_acquire(dir, &holder);
        assert_true(fd >= 0);
        assert_true(state_lock_is(fd, dir));
        assert_int_equal(state_lock_holder(dir, &holder), 1);
        assert_int_equal(holder, getpid());

        assert_int_equal(state_lock_acquire(dir, &holder), -EBUSY);
        assert_int_equal(holder, getpid());

        other = xasprintf("%s/sub", dir);
        assert_int_equal(mkdir(other, 0700), 0);
        assert_false(state_lock_is(fd, other));
        fd2 = state_lock_acquire(other, &holder); /* another directory: its own lock */
        assert_true(fd2 >= 0);
        (void) close(fd2);

        (void) close(fd);
        assert_int_equal(state_lock_holder(dir, &holder), 0);
        fd = state_lock_acquire(dir, &holder);
        assert_true(fd >= 0);
        (void) close(fd);

        for (const char *d = other; d; d = d == other ? dir : NULL) {
                _cleanup_free_ char *f = xasprintf("%s/" STATE_LOCK_FILE, d);
                assert_int_equal(unlink(f), 0);
                assert_int_equal(rmdir(d), 0);
        }
        free(other);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lock),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
