#include <openssl/evp.h>

#include "etcd.h"
#include "log.h"

struct etcd {
        struct http_client *http;
        const struct cluster *config;
        char *cert_file, *key_file; /* the credential paths resolved, or the configured files */
        size_t current;             /* index of the endpoint in use */
};

struct etcd_call {
        struct etcd *etcd;
        char *method;
        char *body;
        usec_t timeout;
        size_t tries;
        etcd_done_fn done;
        void *userdata;
        struct http_request *req;
};

static char *credential_path(const char *name) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");

        return name ? xasprintf("%s/%s", dir && *dir ? dir : ".", name) : NULL;
}

int etcd_new(struct http_client *http, const struct cluster *c, struct etcd **ret) {
        struct etcd *e = xcalloc(1, sizeof(*e));

        e->http = http;
        e->config = c;
        e->cert_file = c->cert_file ? xstrdup(c->cert_file) : credential_path(c->cert_credential);
        e->key_file = c->key_file ? xstrdup(c->key_file) : credential_path(c->key_credential);
        *ret = e;
        return 0;
}

struct etcd *etcd_free(struct etcd *e) {
        if (!e)
                return NULL;
        free(e->cert_file);
        free(e->key_file);
        free(e);
        return NULL;
}

const char *etcd_endpoint(const struct etcd *e) {
        return e->config->endpoints[e->current];
}

static void call_free(struct etcd_call *c) {
        free(c->method);
        free(c->body);
        free(c);
}

void etcd_call_cancel(struct etcd_call *c) {
        if (!c)
                return;
        http_request_cancel(c->req);
        call_free(c);
}

static void on_done(const struct http_response *resp, void *userdata);

static int call_start(struct etcd_call *c) {
        struct etcd *e = c->etcd;
        const char *base = etcd_endpoint(e);
        size_t n = strlen(base);
        _cleanup_free_ char *url = NULL;

        while (n > 0 && base[n - 1] == '/')
                n--;
        url = xasprintf("%.*s/v3/%s", (int) n, base, c->method);
        return http_request_start(e->http,
                                  &(struct http_request_options) {
                                          .url = url,
                                          .method = "POST",
                                          .body = c->body,
                                          .body_size = strlen(c->body),
                                          .headers = (const char *const[]) { "Content-Type: application/json", NULL },
                                          .ca_file = e->config->ca_file,
                                          .cert_file = e->cert_file,
                                          .key_file = e->key_file,
                                          .connect_timeout = MIN(e->config->timeout, 2 * USEC_PER_SEC),
                                          .timeout = c->timeout == USEC_INFINITY ? 0 : c->timeout,
                                          .max_size = 64 * 1024 * 1024,
                                  },
                                  on_done, c, &c->req);
}

/* A member that cannot serve (no quorum, no leader, shutting down) answers gRPC's Unavailable
 * (14), or the gateway a 502/503/504: another member may serve. */
static bool unavailable(const struct http_response *resp, struct json_object *o) {
        struct json_object *code;

        if (resp->result != CURLE_OK || resp->status == 0 || resp->status == 502 || resp->status == 503 ||
            resp->status == 504)
                return true;
        return o && json_object_object_get_ex(o, "code", &code) && json_object_get_int(code) == 14;
}

static void on_done(const struct http_response *resp, void *userdata) {
        struct etcd_call *c = userdata;
        struct etcd *e = c->etcd;
        struct json_object *o = resp->status > 0 ? json_tokener_parse(resp->body) : NULL;
        _cleanup_free_ char *why = NULL;
        struct json_object *msg;

        c->req = NULL;
        if (unavailable(resp, o)) {
                _cleanup_free_ char *d = http_response_describe(resp);
                why = xasprintf("%s: %s", etcd_endpoint(e),
                                o && json_object_object_get_ex(o, "message", &msg) ? json_object_get_string(msg) : d);
                log_debug("etcd %s failed on %s", c->method, why);
                json_object_put(o);
                e->current = (e->current + 1) % e->config->n_endpoints;
                if (++c->tries < e->config->n_endpoints && call_start(c) >= 0)
                        return;
                c->done(-EHOSTUNREACH, NULL, why, c->userdata);
        } else if (resp->status != 200 || !o || !json_object_is_type(o, json_type_object)) {
                why = o && json_object_object_get_ex(o, "message", &msg)
                        ? xstrdup(json_object_get_string(msg))
                        : xasprintf("HTTP %ld with %s", resp->status, o ? "an unexpected body" : "no JSON");
                json_object_put(o);
                c->done(-EPROTO, NULL, why, c->userdata);
        } else {
                c->done(0, o, NULL, c->userdata);
                json_object_put(o);
        }
        call_free(c);
}

static size_t discard(char *data, size_t size, size_t nmemb, void *userdata) {
        return size * nmemb;
}

int etcd_call(struct etcd *e, const char *method, struct json_object *body, usec_t timeout, etcd_done_fn done,
              void *userdata, struct etcd_call **ret) {
        struct etcd_call *c = xcalloc(1, sizeof(*c));
        int r;

        c->etcd = e;
        c->method = xstrdup(method);
        c->body = xstrdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
        json_object_put(body);
        c->timeout = timeout == 0 ? e->config->timeout : timeout;
        c->done = done;
        c->userdata = userdata;
        r = call_start(c);
        if (r < 0) {
                call_free(c);
                return r;
        }
        if (ret)
                *ret = c;
        return 0;
}

int etcd_call_blocking(struct etcd *e, const char *method, struct json_object *body, usec_t timeout) {
        const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
        int r = -EHOSTUNREACH;

        for (size_t i = 0; i < e->config->n_endpoints && r < 0; i++) {
                const char *base = etcd_endpoint(e);
                size_t n = strlen(base);
                _cleanup_free_ char *url = NULL;
                CURL *c = curl_easy_init();
                long status = 0;

                while (n > 0 && base[n - 1] == '/')
                        n--;
                url = xasprintf("%.*s/v3/%s", (int) n, base, method);
                if (!c)
                        break;
                (void) curl_easy_setopt(c, CURLOPT_URL, url);
                (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
                (void) curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
                (void) curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
                (void) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) (timeout / USEC_PER_MSEC));
                (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
                if (e->config->ca_file)
                        (void) curl_easy_setopt(c, CURLOPT_CAINFO, e->config->ca_file);
                if (e->cert_file)
                        (void) curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert_file);
                if (e->key_file)
                        (void) curl_easy_setopt(c, CURLOPT_SSLKEY, e->key_file);
                if (curl_easy_perform(c) == CURLE_OK &&
                    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
                        r = 0;
                else
                        e->current = (e->current + 1) % e->config->n_endpoints;
                curl_easy_cleanup(c);
        }
        json_object_put(body);
        return r;
}

char *etcd_base64(const char *data, size_t n) {
        char *out = xmalloc(4 * ((n + 2) / 3) + 1);

        EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) data, (int) n);
        return out;
}

char *etcd_unbase64(const char *s, size_t *ret_n) {
        size_t n = strlen(s);
        unsigned char *out = xmalloc(n / 4 * 3 + 4);
        int len;

        if (n % 4 != 0 || (len = EVP_DecodeBlock(out, (const unsigned char *) s, (int) n)) < 0) {
                free(out);
                return NULL;
        }
        /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
        for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
                len--;
        out[len] = '\0';
        if (ret_n)
                *ret_n = (size_t) len;
        return (char *) out;
}

int64_t etcd_int(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v))
                return 0;
        return json_object_get_int64(v);
}
