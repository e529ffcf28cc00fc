#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/random.h>

#include "poll.h"

struct poll_call {
        poll_done_fn done;
        void *userdata;
        bool list;
};

void poll_result_done(struct poll_result *r) {
        api_error_done(&r->error);
        deployment_done(&r->deployment);
        deployment_page_done(&r->page);
}

/* The body's digest only tells an unchanged body from a changed one; it never leaves the
 * process. SipHash-1-3 (libcrypto's EVP_MAC) with a key drawn at start: about 4 instructions a
 * byte, where SHA-256 took 35 under callgrind (which hides the CPU's SHA extensions) and 2 µs a
 * poll natively; keyed, a server cannot make two bodies collide on purpose. One context, keyed
 * once, re-initialised per body (the loop is single-threaded). The key comes from getrandom(2):
 * RAND_bytes would set up libcrypto's DRBG for it alone (3.3 M instructions at the first poll;
 * nothing else draws from it unless HTTPS does). */
static void body_digest(const char *body, size_t size, uint8_t ret[static POLL_DIGEST_SIZE]) {
        static EVP_MAC_CTX *ctx;
        size_t n = 0;

        if (!ctx) {
                EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
                unsigned char key[16];
                size_t out = POLL_DIGEST_SIZE;
                unsigned c_rounds = 1, d_rounds = 3;
                OSSL_PARAM params[] = {
                        OSSL_PARAM_size_t("size", &out),
                        OSSL_PARAM_uint("c-rounds", &c_rounds),
                        OSSL_PARAM_uint("d-rounds", &d_rounds),
                        OSSL_PARAM_END,
                };

                ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
                EVP_MAC_free(mac);
                if (!ctx || getrandom(key, sizeof(key), 0) != (ssize_t) sizeof(key) ||
                    !EVP_MAC_init(ctx, key, sizeof(key), params))
                        abort(); /* libcrypto without SipHash, out of memory, no entropy */
                explicit_bzero(key, sizeof(key));
        } else if (!EVP_MAC_init(ctx, NULL, 0, NULL))
                abort();
        if (!EVP_MAC_update(ctx, (const unsigned char *) body, size) ||
            !EVP_MAC_final(ctx, ret, &n, POLL_DIGEST_SIZE) || n != POLL_DIGEST_SIZE)
                abort();
}

static void fail(struct poll_result *r, enum api_outcome o, long status, char *summary) {
        r->outcome = o;
        r->error.outcome = o;
        r->error.http_status = status;
        r->error.summary = summary;
}

void poll_result_from_response(const struct http_response *resp, bool list, usec_t now_realtime,
                               struct poll_result *ret) {
        struct poll_result r = { .elapsed = resp->elapsed };
        enum api_outcome o;

        if (resp->result != CURLE_OK) {
                fail(&r, API_RETRYABLE, resp->status, http_response_describe(resp));
                goto done;
        }
        o = gcore_classify_status(resp->status);
        if (o == API_OK) {
                body_digest(resp->body, resp->size, r.digest);
                r.outcome = API_OK;
                r.body = resp->body;
                r.size = resp->size;
                r.list = list;
                r.error.http_status = resp->status;
                goto done;
        }

        gcore_parse_error_body(resp->body, resp->size, &r.error);
        if (resp->retry_after)
                (void) gcore_parse_retry_after(resp->retry_after, now_realtime, &r.error.retry_after);
        r.object_scoped = o == API_RETRYABLE && gcore_status_object_scoped(resp->status);
        fail(&r, o, resp->status,
             r.error.message ? xasprintf("HTTP %ld: %s", resp->status, r.error.message)
                             : xasprintf("HTTP %ld", resp->status));
done:
        *ret = r;
}

int poll_result_parse(struct poll_result *r) {
        const char *why = NULL;
        int k;

        if (r->outcome != API_OK)
                return -EINVAL;
        if (r->parsed)
                return 0;
        k = r->list ? gcore_parse_page(r->body, r->size, &r->page, &why)
                    : gcore_parse_deployment(r->body, r->size, &r->deployment, &why);
        if (k < 0) {
                fail(r, API_RETRYABLE, r->error.http_status,
                     xasprintf("HTTP %ld with an unusable body: %s", r->error.http_status, why));
                r->object_scoped = true;
                return k;
        }
        r->parsed = true;
        return 0;
}

static void on_done(const struct http_response *resp, void *userdata) {
        struct poll_call *call = userdata;
        struct poll_result r;

        poll_result_from_response(resp, call->list, now_usec(CLOCK_REALTIME), &r);
        call->done(&r, call->userdata);
        poll_result_done(&r);
}

static int start(struct http_client *c, const struct account *a, const char *url, bool list, bool small,
                 poll_done_fn done, void *userdata, struct http_request **ret) {
        _cleanup_free_ char *auth = xasprintf("Authorization: APIKey %s", strempty(a->key));
        const char *headers[] = { auth, "Accept: application/json", NULL };
        struct poll_call *call = xcalloc(1, sizeof(*call));
        struct http_request_options o = {
                .url = url,
                .headers = headers,
                .ca_file = a->ca_file,
                .connect_timeout = a->connect_timeout,
                .timeout = a->timeout,
                .max_size = a->max_response_size,
                .identity = small,
                .destroy = free,
        };
        int r;

        call->done = done;
        call->userdata = userdata;
        call->list = list;
        r = http_request_start(c, &o, on_done, call, ret);
        /* The header held the key: not left in freed memory (http.c erases its own copy). */
        explicit_bzero(auth, strlen(auth));
        return r;
}

int poll_get(struct http_client *c, const struct account *a, int64_t project_id, const char *name,
             poll_done_fn done, void *userdata, struct http_request **ret) {
        _cleanup_free_ char *url = gcore_url_deployment(a->url, project_id, name);

        return start(c, a, url, false, true, done, userdata, ret);
}

int poll_list(struct http_client *c, const struct account *a, int64_t project_id, uint64_t offset,
              poll_done_fn done, void *userdata, struct http_request **ret) {
        _cleanup_free_ char *url = gcore_url_list(a->url, project_id, a->page_size, offset);

        return start(c, a, url, true, false, done, userdata, ret);
}

int poll_fetch(struct http_client *c, const struct account *a, const char *url, poll_done_fn done, void *userdata,
               struct http_request **ret) {
        return start(c, a, url, false, false, done, userdata, ret);
}
