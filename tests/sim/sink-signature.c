#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sink.h"

#define HMAC_SHA256_LEN 32
/* base64 of 32 bytes, without the terminating NUL */
#define HMAC_SHA256_B64_LEN 44

const char *signature_verdict_to_string(enum signature_verdict v) {
        static const char *const names[] = {
                [SIGNATURE_UNCHECKED] = "unchecked",
                [SIGNATURE_MISSING] = "missing",
                [SIGNATURE_VALID] = "valid",
                [SIGNATURE_INVALID] = "invalid",
        };

        return names[v];
}

int webhook_key_from_secret(const char *secret, uint8_t **ret, size_t *ret_len) {
        size_t n = strlen(secret), pad = 0;
        _cleanup_free_ uint8_t *key = NULL;
        int len;

        if (strncmp(secret, "whsec_", 6) != 0) {
                *ret = (uint8_t *) xstrndup(secret, n);
                *ret_len = n;
                return 0;
        }
        secret += 6;
        n -= 6;
        if (n == 0 || n % 4 != 0)
                return -EINVAL;
        key = xmalloc(n / 4 * 3 + 1);
        len = EVP_DecodeBlock(key, (const unsigned char *) secret, (int) n);
        if (len < 0)
                return -EINVAL;
        /* EVP_DecodeBlock counts the bytes that '=' padding stands for. */
        while (pad < 2 && secret[n - 1 - pad] == '=')
                pad++;
        *ret_len = (size_t) len - pad;
        *ret = TAKE_PTR(key);
        return 0;
}

static int sign(const uint8_t *key, size_t key_len, const char *id, const char *timestamp, const char *body,
                size_t body_len, char out[static HMAC_SHA256_B64_LEN + 1]) {
        uint8_t mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        _cleanup_free_ char *msg = NULL;
        size_t head;

        msg = xasprintf("%s.%s.", id, timestamp);
        head = strlen(msg);
        msg = xrealloc(msg, head + body_len + 1);
        memcpy(msg + head, body, body_len);
        if (!HMAC(EVP_sha256(), key, (int) key_len, (const unsigned char *) msg, head + body_len, mac, &mac_len) ||
            mac_len != HMAC_SHA256_LEN)
                return -EIO;
        (void) EVP_EncodeBlock((unsigned char *) out, mac, (int) mac_len);
        return 0;
}

enum signature_verdict webhook_verify(const uint8_t *key, size_t key_len, const char *id, const char *timestamp,
                                      const char *signature, const char *body, size_t body_len) {
        char expected[HMAC_SHA256_B64_LEN + 1];
        _cleanup_free_ char *list = NULL;
        char *entry, *save = NULL;

        if (!key)
                return SIGNATURE_UNCHECKED;
        if (!id || !timestamp || !signature)
                return SIGNATURE_MISSING;
        if (sign(key, key_len, id, timestamp, body, body_len, expected) < 0)
                return SIGNATURE_INVALID;
        list = xstrdup(signature);
        for (entry = strtok_r(list, " ", &save); entry; entry = strtok_r(NULL, " ", &save)) {
                if (strncmp(entry, "v1,", 3) != 0 || strlen(entry + 3) != HMAC_SHA256_B64_LEN)
                        continue;
                if (CRYPTO_memcmp(entry + 3, expected, HMAC_SHA256_B64_LEN) == 0)
                        return SIGNATURE_VALID;
        }
        return SIGNATURE_INVALID;
}

int webhook_timestamp_fresh(const char *timestamp, usec_t now_realtime, usec_t tolerance) {
        uint64_t ts;
        usec_t t;

        if (parse_uint64_strict(timestamp, &ts) < 0 || ts > UINT64_MAX / USEC_PER_SEC)
                return -EINVAL;
        t = ts * USEC_PER_SEC;
        return (t > now_realtime ? t - now_realtime : now_realtime - t) <= tolerance;
}
