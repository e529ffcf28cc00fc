/* Standard Webhooks signing against values computed independently (Python's hmac). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sign.h"

static void test_raw_secret(void **state) {
        unsigned char *key;
        size_t n;
        char *sig;

        assert_int_equal(sign_key_from_secret("s3cret", &key, &n), 0);
        assert_int_equal(n, 6);
        sig = sign_standard_webhooks(key, n, "msg_1", 1700000000, "{\"a\":1}", 7);
        /* python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"s3cret",
         *   b"msg_1.1700000000.{\"a\":1}",hashlib.sha256).digest()).decode())' */
        assert_string_equal(sig, "v1,JTnXZsicQmbYBUKbG0PXd2OqV6VmCFiMTEvW8yxopSo=");
        free(sig);
        free(key);
}

static void test_whsec_secret(void **state) {
        unsigned char *key;
        size_t n;
        char *sig;

        /* The example secret of the Standard Webhooks specification. */
        assert_int_equal(sign_key_from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key, &n), 0);
        assert_int_equal(n, 24);
        sig = sign_standard_webhooks(key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                     "{\"test\": 2432232314}", 20);
        assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        free(sig);
        free(key);
}

static void test_bad_whsec(void **state) {
        unsigned char *key;
        size_t n;

        assert_int_equal(sign_key_from_secret("whsec_", &key, &n), -EINVAL);
        assert_int_equal(sign_key_from_secret("whsec_abc", &key, &n), -EINVAL);
        assert_int_equal(sign_key_from_secret("whsec_!!!!", &key, &n), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_raw_secret),
                cmocka_unit_test(test_whsec_secret),
                cmocka_unit_test(test_bad_whsec),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
