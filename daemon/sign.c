#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sign.h"

int sign_key_from_secret(const char *secret, unsigned char **ret, size_t *ret_size) {
        static const char prefix[] = "whsec_";
        size_t n = strlen(secret);
        unsigned char *key;
        int len;

        if (strncmp(secret, prefix, sizeof(prefix) - 1) != 0) {
                key = xmalloc(n);
                memcpy(key, secret, n);
                *ret = key;
                *ret_size = n;
                return 0;
        }
        secret += sizeof(prefix) - 1;
        n -= sizeof(prefix) - 1;
        if (n == 0 || n % 4 != 0)
                return -EINVAL;
        key = xmalloc(n / 4 * 3 + 1);
        len = EVP_DecodeBlock(key, (const unsigned char *) secret, (int) n);
        if (len < 0) {
                explicit_bzero(key, n / 4 * 3 + 1); /* what was decoded before the bad character */
                free(key);
                return -EINVAL;
        }
        /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
        if (secret[n - 1] == '=')
                len--;
        if (secret[n - 2] == '=')
                len--;
        *ret = key;
        *ret_size = (size_t) len;
        return 0;
}

char *sign_standard_webhooks(const unsigned char *key, size_t key_size, const char *id, uint64_t timestamp,
                             const char *body, size_t body_size) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
        _cleanup_free_ char *prefix = xasprintf("%s.%llu.", id, (unsigned long long) timestamp);
        size_t plen = strlen(prefix);
        char *msg = xmalloc(plen + body_size);

        memcpy(msg, prefix, plen);
        memcpy(msg + plen, body, body_size);
        if (!HMAC(EVP_sha256(), key, (int) key_size, (const unsigned char *) msg, plen + body_size, mac, &mac_len))
                abort();
        free(msg);
        EVP_EncodeBlock(b64, mac, (int) mac_len);
        return xasprintf("v1,%s", b64);
}
