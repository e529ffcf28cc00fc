/* The API client end to end over real HTTP: an in-process libmicrohttpd server on 127.0.0.1,
 * port 0, scripted per path; the client runs on sd-event exactly as in the daemon. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "poll.h"

#define KEY "29841$c767secret"

struct server {
        struct MHD_Daemon *d;
        uint16_t port;
        volatile bool stopping;
        char last_auth[256];
        char last_agent[128];
        char last_url[512];
        pthread_mutex_t lock;
};

static struct server srv;

static const char ok_body[] = "{\"name\":\"my-instance\",\"project_id\":1,\"status\":\"ACTIVE\",\"containers\":"
                              "[{\"region_id\":1,\"deploy_status\":{\"ready\":1,\"total\":1},\"error_message\":null}]}";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body, const char *retry_after) {
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        MHD_add_response_header(r, "Content-Type", "application/json");
        if (retry_after)
                MHD_add_response_header(r, "Retry-After", retry_after);
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static ssize_t endless(void *cls, uint64_t pos, char *buf, size_t max) {
        memset(buf, ' ', max);
        if (pos == 0 && max > 0)
                buf[0] = '[';
        return pos > 64 * 1024 * 1024 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t) max;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **ptr) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *agent = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
        const char *name = strrchr(url, '/') + 1;

        pthread_mutex_lock(&srv.lock);
        snprintf(srv.last_auth, sizeof(srv.last_auth), "%s", strempty(auth));
        snprintf(srv.last_agent, sizeof(srv.last_agent), "%s", strempty(agent));
        snprintf(srv.last_url, sizeof(srv.last_url), "%s", url);
        pthread_mutex_unlock(&srv.lock);

        if (streq(name, "ok"))
                return reply(c, 200, ok_body, NULL);
        if (streq(name, "unauthorized"))
                return reply(c, 401, "{\"exception_class\":\"NotAuthenticated\",\"message\":\"Bad permanent token: 29841\",\"request_id\":\"r-1\"}", NULL);
        if (streq(name, "missing"))
                return reply(c, 404, "{\"exception_class\":\"NotFoundError\",\"message\":\"Inference instance missing could not be found\",\"request_id\":\"r-2\"}", NULL);
        if (streq(name, "throttled"))
                return reply(c, 429, "{\"exception_class\":\"TooManyRequests\",\"message\":\"slow down\",\"request_id\":\"r-3\"}", "7");
        if (streq(name, "broken"))
                return reply(c, 500, "<html>Internal Server Error</html>", NULL);
        if (streq(name, "forbidden"))
                return reply(c, 403, "{\"exception_class\":\"ForbiddenError\",\"message\":\"no capacity\",\"request_id\":\"r-4\"}", NULL);
        if (streq(name, "malformed"))
                return reply(c, 200, "{\"name\":\"my-instance\",\"status\":", NULL);
        if (streq(name, "wrongshape"))
                return reply(c, 200, "[{\"name\":\"my-instance\",\"status\":\"ACTIVE\"}]", NULL);
        if (streq(name, "hang")) {
                while (!srv.stopping)
                        usleep(10 * 1000);
                return MHD_NO;
        }
        if (streq(name, "oversize")) {
                /* Unknown size: chunked, so no Content-Length for curl to check up front. */
                struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, endless, NULL, NULL);
                enum MHD_Result ret = MHD_queue_response(c, 200, r);
                MHD_destroy_response(r);
                return ret;
        }
        return reply(c, 404, "{}", NULL);
}

static int server_start(void **state) {
        const union MHD_DaemonInfo *info;

        pthread_mutex_init(&srv.lock, NULL);
        srv.stopping = false;
        srv.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                                 handler, NULL, MHD_OPTION_SOCK_ADDR,
                                 &(struct sockaddr_in) { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
                                 MHD_OPTION_END);
        if (!srv.d)
                return -1;
        info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
        srv.port = info->port;
        return srv.port ? 0 : -1;
}

static int server_stop(void **state) {
        srv.stopping = true;
        MHD_stop_daemon(srv.d);
        pthread_mutex_destroy(&srv.lock);
        return 0;
}

struct call {
        bool done;
        struct poll_result res;
};

static void on_done(struct poll_result *res, void *userdata) {
        struct call *c = userdata;

        /* The body is only valid during the callback: parse it now, as the poller does. */
        if (res->outcome == API_OK)
                (void) poll_result_parse(res);
        c->res = *res;
        c->res.body = NULL;
        /* Take ownership of what the callee may move out. */
        *res = (struct poll_result) {};
        c->done = true;
}

/* Polls one deployment with the given timeouts, driving the loop for at most 10 s. */
static void poll_one(const char *name, usec_t timeout, uint64_t max_size, struct call *call) {
        _cleanup_free_ char *url = xasprintf("http://127.0.0.1:%u", srv.port);
        struct account a = {
                .name = (char *) "test",
                .url = url,
                .key = (char *) KEY,
                .connect_timeout = 2 * USEC_PER_SEC,
                .timeout = timeout,
                .max_response_size = max_size,
                .page_size = 100,
        };
        struct http_client *http;
        sd_event *e;
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        *call = (struct call) {};
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(http_client_new(e, &http), 0);
        assert_int_equal(poll_get(http, &a, 1, name, on_done, call, NULL), 0);
        while (!call->done && now_usec(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
        assert_true(call->done);
        http_client_free(http);
        sd_event_unref(e);
}

static void test_200(void **state) {
        struct call c;

        poll_one("ok", 5 * USEC_PER_SEC, 1 << 20, &c);
        assert_int_equal(c.res.outcome, API_OK);
        assert_string_equal(c.res.deployment.name, "my-instance");
        assert_int_equal(c.res.deployment.status_enum, STATUS_ACTIVE);
        assert_int_equal(c.res.deployment.n_containers, 1);
        assert_string_equal(srv.last_auth, "APIKey " KEY);
        assert_string_equal(srv.last_agent, PACKAGE_NAME "/" PACKAGE_VERSION);
        assert_string_equal(srv.last_url, "/cloud/v3/inference/1/deployments/ok");
        poll_result_done(&c.res);
}

static void test_401(void **state) {
        struct call c;

        poll_one("unauthorized", 5 * USEC_PER_SEC, 1 << 20, &c);
        assert_int_equal(c.res.outcome, API_AUTH_FAILED);
        assert_int_equal(c.res.error.http_status, 401);
        assert_string_equal(c.res.error.message, "Bad permanent token: 29841");
        assert_string_equal(c.res.error.request_id, "r-1");
        assert_string_equal(c.res.error.summary, "HTTP 401: Bad permanent token: 29841");
        /* The key itself never ends up in what is reported. */
        assert_null(strstr(c.res.error.summary, "c767"));
        poll_result_done(&c.res);
}

static void test_404(void **state) {
        struct call c;

        poll_one("missing", 5 * USEC_PER_SEC, 1 << 20, &c);
        assert_int_equal(c.res.outcome, API_NOT_FOUND);
        assert_string_equal(c.res.error.exception_class, "NotFoundError");
        poll_result_done(&c.res);
}

static void test_429_retry_after(void **state) {
        struct call c;

        poll_one("throttled", 5 * USEC_PER_SEC, 1 << 20, &c);
        assert_int_equal(c.res.outcome, API_RETRYABLE);
        assert_int_equal(c.res.error.http_status, 429);
        assert_int_equal(c.res.error.retry_after, 7 * USEC_PER_SEC);
        poll_result_done(&c.res);
}

static void test_500(void **state) {
        struct call c;

        poll_one("broken", 5 * USEC_PER_SEC, 1 << 20, &c);
        assert_int_equal(c.res.outcome, API_RETRYABLE);
        assert_int_equal(c.res.error.http_status, 500);
        assert_string_equal(c.res.error.summary, "HTTP 500");
        poll_result_done(&c.res);
}

static void test_403_permanent(void **state) {
        struct call c;

        poll_one("forbidden", 5 * USEC_PER_SEC, 1 << 20, &c);
        assert_int_equal(c.res.outcome, API_PERMANENT);
        assert_string_equal(c.res.error.summary, "HTTP 403: no capacity");
        poll_result_done(&c.res);
}

static void test_hang_times_out(void **state) {
        usec_t start = now_usec(CLOCK_MONOTONIC), took;
        struct call c;

        poll_one("hang", 700 * USEC_PER_MSEC, 1 << 20, &c);
        took = now_usec(CLOCK_MONOTONIC) - start;
        assert_int_equal(c.res.outcome, API_RETRYABLE);
        assert_int_equal(c.res.error.http_status, 0);
        assert_non_null(strstr(c.res.error.summary, "timeout after"));
        /* It gave up at the deadline, not before and not long after. */
        assert_true(took >= 650 * USEC_PER_MSEC);
        assert_true(took < 5 * USEC_PER_SEC);
        poll_result_done(&c.res);
}

static void test_oversize_without_length(void **state) {
        struct call c;

        poll_one("oversize", 10 * USEC_PER_SEC, 256 * 1024, &c);
        assert_int_equal(c.res.outcome, API_RETRYABLE);
        assert_string_equal(c.res.error.summary, "response body larger than the configured limit");
        poll_result_done(&c.res);
}

struct raw_call {
        bool done;
        CURLcode result;
        long status;
        size_t size;
        bool too_large;
        char head;
};

static void on_raw_done(const struct http_response *resp, void *userdata) {
        struct raw_call *c = userdata;

        *c = (struct raw_call) { true, resp->result, resp->status, resp->size, resp->too_large, resp->body[0] };
}

/* A webhook's answer is only shown as an excerpt: with truncate, a body past max_size (here one
 * that never ends) is cut, and the request is still answered, with its status. */
static void test_truncate(void **state) {
        _cleanup_free_ char *url = xasprintf("http://127.0.0.1:%u/hooks/oversize", srv.port);
        struct raw_call c = {};
        struct http_client *http;
        sd_event *e;
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(http_client_new(e, &http), 0);
        assert_int_equal(http_request_start(http, &(struct http_request_options) {
                                 .url = url, .timeout = 5 * USEC_PER_SEC, .max_size = 1000, .truncate = true,
                         }, on_raw_done, &c, NULL), 0);
        while (!c.done && now_usec(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
        assert_true(c.done);
        assert_int_equal(c.result, CURLE_OK);
        assert_int_equal(c.status, 200);
        assert_int_equal(c.size, 1000);
        assert_true(c.too_large);
        assert_int_equal(c.head, '[');
        http_client_free(http);
        sd_event_unref(e);
}

static void test_malformed_json(void **state) {
        struct call c;

        poll_one("malformed", 5 * USEC_PER_SEC, 1 << 20, &c);
        assert_int_equal(c.res.outcome, API_RETRYABLE);
        assert_string_equal(c.res.error.summary, "HTTP 200 with an unusable body: response is not valid JSON");
        poll_result_done(&c.res);

        poll_one("wrongshape", 5 * USEC_PER_SEC, 1 << 20, &c);
        assert_int_equal(c.res.outcome, API_RETRYABLE);
        assert_string_equal(c.res.error.summary, "HTTP 200 with an unusable body: response is not a JSON object");
        poll_result_done(&c.res);
}

static void test_connection_refused(void **state) {
        _cleanup_free_ char *url = NULL;
        struct call c;
        uint16_t port = srv.port;

        /* A port nothing listens on: bind one, note it, close it. */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(sa);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &l), 0);
        close(fd);
        srv.port = ntohs(sa.sin_port);
        poll_one("ok", 2 * USEC_PER_SEC, 1 << 20, &c);
        srv.port = port;
        assert_int_equal(c.res.outcome, API_RETRYABLE);
        assert_int_equal(c.res.error.http_status, 0);
        poll_result_done(&c.res);
}

/* A server that answers each connection's first request with keep-alive, then closes the
 * connection while the client holds it idle. */
struct closer {
        int listen_fd;
        volatile int served;
};

static void *closer_run(void *userdata) {
        struct closer *k = userdata;
        static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

        for (int i = 0; i < 2; i++) {
                char buf[4096];
                size_t got = 0;
                int fd = accept(k->listen_fd, NULL, NULL);

                if (fd < 0)
                        break;
                while (got < sizeof(buf) - 1 && !memmem(buf, got, "\r\n\r\n", 4)) {
                        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
                        if (n <= 0)
                                break;
                        got += (size_t) n;
                }
                if (write(fd, answer, sizeof(answer) - 1) < 0)
                        break;
                usleep(100 * 1000);
                close(fd);
                k->served++;
        }
        return NULL;
}

static void get_raw(sd_event *e, struct http_client *http, const char *url, struct raw_call *c) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        *c = (struct raw_call) {};
        assert_int_equal(http_request_start(http, &(struct http_request_options) { .url = url, .timeout = 5 * USEC_PER_SEC },
                                            on_raw_done, c, NULL), 0);
        while (!c->done && now_usec(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
        assert_true(c->done);
}

/* The client keeps a kept-alive connection's socket in its event loop between transfers: when
 * the server closes it meanwhile, the loop must not spin on it, and the next request goes out
 * on a new connection. */
static void test_idle_connection_closed(void **state) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(sa);
        struct closer k = { .listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) };
        _cleanup_free_ char *url = NULL;
        struct http_client *http;
        struct raw_call c;
        pthread_t t;
        usec_t deadline;
        unsigned dispatched = 0;
        sd_event *e;

        assert_true(k.listen_fd >= 0);
        assert_int_equal(bind(k.listen_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(k.listen_fd, 4), 0);
        assert_int_equal(getsockname(k.listen_fd, (struct sockaddr *) &sa, &l), 0);
        url = xasprintf("http://127.0.0.1:%u/idle", ntohs(sa.sin_port));
        assert_int_equal(pthread_create(&t, NULL, closer_run, &k), 0);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(http_client_new(e, &http), 0);

        get_raw(e, http, url, &c);
        assert_int_equal(c.result, CURLE_OK);
        assert_int_equal(c.status, 200);
        /* The server closes the idle connection; the loop then has nothing to do. */
        deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;
        while (k.served < 1 && now_usec(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
        assert_int_equal(k.served, 1);
        deadline = now_usec(CLOCK_MONOTONIC) + 300 * USEC_PER_MSEC;
        while (now_usec(CLOCK_MONOTONIC) < deadline) {
                int r = sd_event_run(e, 10 * USEC_PER_MSEC);
                assert_true(r >= 0);
                dispatched += r > 0;
        }
        /* One wake-up for the close at most (a spinning loop makes thousands). */
        assert_true(dispatched <= 5);

        get_raw(e, http, url, &c);
        assert_int_equal(c.result, CURLE_OK);
        assert_int_equal(c.status, 200);
        http_client_free(http);
        sd_event_unref(e);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(k.served, 2);
        close(k.listen_fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_200),
                cmocka_unit_test(test_401),
                cmocka_unit_test(test_404),
                cmocka_unit_test(test_429_retry_after),
                cmocka_unit_test(test_500),
                cmocka_unit_test(test_403_permanent),
                cmocka_unit_test(test_hang_times_out),
                cmocka_unit_test(test_oversize_without_length),
                cmocka_unit_test(test_truncate),
                cmocka_unit_test(test_malformed_json),
                cmocka_unit_test(test_connection_refused),
                cmocka_unit_test(test_idle_connection_closed),
        };

        curl_global_init(CURL_GLOBAL_DEFAULT);
        int r = cmocka_run_group_tests(tests, server_start, server_stop);
        curl_global_cleanup();
        return r;
}
