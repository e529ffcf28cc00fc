/* Standard Webhooks signatures: "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>". */
#pragma once

#include "util.h"

/* The key is the base64-decoded part after "whsec_" when the secret has that prefix (the
 * Standard Webhooks convention), else the secret's bytes. -EINVAL on bad base64. */
int sign_key_from_secret(const char *secret, unsigned char **ret, size_t *ret_size);
/* Returns the header value "v1,<base64>". */
char *sign_standard_webhooks(const unsigned char *key, size_t key_size, const char *id, uint64_t timestamp,
                             const char *body, size_t body_size);
