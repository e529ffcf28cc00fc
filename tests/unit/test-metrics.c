/* The exposition format (escaping, values, histograms, process metrics) and the HTTP endpoint
 * on a private sd-event loop, answered over a real socket on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "metrics-http.h"
#include "metrics.h"

static char *capture_buf;
static size_t capture_size;

static char *capture(void (*fn)(FILE *f)) {
        FILE *f = open_memstream(&capture_buf, &capture_size);

        assert_non_null(f);
        fn(f);
        assert_int_equal(fclose(f), 0);
        return TAKE_PTR(capture_buf);
}

static void write_escapes(FILE *f) {
        metrics_family(f, "x_total", "counter", "Help with a \\ backslash,\na line feed and \"quotes\".");
        metrics_sample(f, "x_total", 3, "name", "a\"b\\c\nd", "empty", "", NULL);
        metrics_sample(f, "x_total", 0.25, NULL);
}

static void test_escaping(void **state) {
        _cleanup_free_ char *s = capture(write_escapes);

        assert_string_equal(s, "# HELP x_total Help with a \\\\ backslash,\\na line feed and \"quotes\".\n"
                               "# TYPE x_total counter\n"
                               "x_total{name=\"a\\\"b\\\\c\\\\nd\",empty=\"\"} 3\n"
                               "x_total 0.25\n");
}

/* Issue 10 item 5 in /metrics: a discovered deployment's name with an ESC sequence, BEL, CR LF
 * and a C1 CSI (U+009B) is a label value written as the journal's DEPLOYMENT= shows it (each
 * control as the text \xHH, \r, \n), then escaped as the format asks: no control byte reaches
 * the exposition, and a reader of the format gets back the escaped text. */
static void write_hostile(FILE *f) {
        metrics_sample(f, "x", 1, "deployment", "evil\x1b[31m\x07\xc2\x9b" "2J\r\nforged 1", NULL);
}

static void test_hostile_label(void **state) {
        _cleanup_free_ char *s = capture(write_hostile);

        assert_string_equal(s, "x{deployment=\"evil\\\\x1b[31m\\\\x07\\\\xc2\\\\x9b2J\\\\r\\\\nforged 1\"} 1\n");
        for (const char *p = s; *p; p++)
                assert_true(*p == '\n' ? p[1] == '\0' : (unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f);
}

static void write_values(FILE *f) {
        metrics_write_value(f, 0);
        fputc(' ', f);
        metrics_write_value(f, 1700000000.5);
        fputc(' ', f);
        metrics_write_value(f, 0.1);
        fputc(' ', f);
        metrics_write_value(f, 1.0 / 3);
        fputc(' ', f);
        metrics_write_value(f, -2);
        fputc(' ', f);
        metrics_write_value(f, 1.0 / 0.0);
        fputc(' ', f);
        metrics_write_value(f, 18446744073709551615.0);
}

static void test_values(void **state) {
        _cleanup_free_ char *s = capture(write_values);

        /* 0.1 and 1/3 read back exactly; 2^64 is not an integer a double holds exactly. */
        assert_string_equal(s, "0 1700000000.5 0.1 0.33333333333333331 -2 +Inf 1.8446744073709552e+19");
}

static void write_histogram(FILE *f) {
        struct metrics_histogram h = {};
        const char *pairs[] = { "account", "a" };

        metrics_histogram_observe(&h, 0.003);
        metrics_histogram_observe(&h, 0.3);
        metrics_histogram_observe(&h, 60);
        metrics_histogram_write(f, "d_seconds", &h, pairs, 1);
}

static void test_histogram(void **state) {
        _cleanup_free_ char *s = capture(write_histogram);

        assert_non_null(strstr(s, "d_seconds_bucket{account=\"a\",le=\"0.005\"} 1\n"));
        assert_non_null(strstr(s, "d_seconds_bucket{account=\"a\",le=\"0.25\"} 1\n"));
        assert_non_null(strstr(s, "d_seconds_bucket{account=\"a\",le=\"0.5\"} 2\n"));
        assert_non_null(strstr(s, "d_seconds_bucket{account=\"a\",le=\"10\"} 2\n"));
        assert_non_null(strstr(s, "d_seconds_bucket{account=\"a\",le=\"+Inf\"} 3\n"));
        assert_non_null(strstr(s, "d_seconds_sum{account=\"a\"} 60.303\n"));
        assert_non_null(strstr(s, "d_seconds_count{account=\"a\"} 3\n"));
}

static void write_process(FILE *f) {
        assert_int_equal(metrics_write_process(f), 0);
}

/* The process's start time the way /proc/stat's btime gives it (which the daemon cannot read
 * under the shipped unit's ProcSubset=pid): btime plus starttime of /proc/self/stat. */
static double start_from_proc_stat(void) {
        _cleanup_free_ char *stat = NULL, *self = NULL;
        unsigned long long btime, starttime;
        const char *p;
        size_t size;

        assert_int_equal(read_full_file("/proc/stat", 1 << 20, &stat, &size), 0);
        p = strstr(stat, "\nbtime ");
        assert_non_null(p);
        assert_int_equal(sscanf(p, "\nbtime %llu", &btime), 1);
        assert_int_equal(read_full_file("/proc/self/stat", 4096, &self, &size), 0);
        p = strrchr(self, ')');
        assert_non_null(p);
        assert_int_equal(sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                                &starttime), 1);
        return (double) btime + (double) starttime / (double) sysconf(_SC_CLK_TCK);
}

static void test_process(void **state) {
        _cleanup_free_ char *s = capture(write_process), *again = NULL;
        const char *p;
        double start;

        assert_non_null(strstr(s, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total "));
        assert_non_null(strstr(s, "\nprocess_resident_memory_bytes "));
        assert_non_null(strstr(s, "\nprocess_open_fds "));
        assert_non_null(strstr(s, "\nprocess_max_fds "));
        p = strstr(s, "\nprocess_start_time_seconds ");
        assert_non_null(p);
        /* Started within the last day, not at the epoch or in the future. */
        start = strtod(p + strlen("\nprocess_start_time_seconds "), NULL);
        assert_true(start > (double) time(NULL) - 86400 && start <= (double) time(NULL) + 1);
        /* As /proc/stat says (its btime is whole seconds), and the same from one scrape to the next. */
        assert_true(fabs(start - start_from_proc_stat()) < 1.5);
        again = capture(write_process);
        assert_non_null(strstr(again, "\nprocess_start_time_seconds "));
        assert_memory_equal(strstr(again, "\nprocess_start_time_seconds "), p,
                            strcspn(p + 1, "\n") + 1);
}

static void test_parse_listen(void **state) {
        struct sockaddr_storage sa;
        socklen_t len;

        assert_int_equal(metrics_parse_listen("127.0.0.1:9999", &sa, &len), 0);
        assert_int_equal(sa.ss_family, AF_INET);
        assert_int_equal(ntohs(((struct sockaddr_in *) &sa)->sin_port), 9999);
        assert_int_equal(metrics_parse_listen("[::1]:0", &sa, &len), 0);
        assert_int_equal(sa.ss_family, AF_INET6);
        assert_int_equal(metrics_parse_listen("0.0.0.0:1", &sa, &len), 0);
        assert_int_equal(metrics_parse_listen("127.0.0.1", &sa, &len), -EINVAL);
        assert_int_equal(metrics_parse_listen("127.0.0.1:", &sa, &len), -EINVAL);
        assert_int_equal(metrics_parse_listen(":9999", &sa, &len), -EINVAL);
        assert_int_equal(metrics_parse_listen("127.0.0.1:65536", &sa, &len), -EINVAL);
        assert_int_equal(metrics_parse_listen("127.0.0.1:99x", &sa, &len), -EINVAL);
        assert_int_equal(metrics_parse_listen("localhost:9999", &sa, &len), -EINVAL);
        assert_int_equal(metrics_parse_listen("::1:9999", &sa, &len), -EINVAL);
        assert_int_equal(metrics_parse_listen("[::1:9999", &sa, &len), -EINVAL);
}

static unsigned renders;

static int render(FILE *f, void *userdata) {
        renders++;
        metrics_family(f, "t_up", "gauge", "Test.");
        metrics_sample(f, "t_up", 1, "who", userdata, NULL);
        return 0;
}

/* Sends request to the server on port and runs the loop until the server closes the connection
 * (bounded); returns what came back. */
static char *exchange(sd_event *e, unsigned port, const char *request, size_t size) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        size_t got = 0, cap = 65536;
        char *buf = xcalloc(1, cap);
        int fd;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(send(fd, request, size, 0), (ssize_t) size);
        (void) shutdown(fd, SHUT_WR);
        for (unsigned i = 0; i < 2000; i++) {
                ssize_t n;
                assert_true(sd_event_run(e, 50 * USEC_PER_MSEC) >= 0);
                if (cap - got < 65536) {
                        buf = xrealloc(buf, cap * 2);
                        memset(buf + cap, 0, cap);
                        cap *= 2;
                }
                n = recv(fd, buf + got, cap - got - 1, MSG_DONTWAIT);
                if (n == 0)
                        break;
                if (n > 0)
                        got += (size_t) n;
        }
        close(fd);
        return buf;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

#define BIG_SAMPLES 60000

static int render_big(FILE *f, void *userdata) {
        metrics_family(f, "t_big", "gauge", "Many samples.");
        for (unsigned i = 0; i < BIG_SAMPLES; i++)
                fprintf(f, "t_big{i=\"%u\"} %u\n", i, i);
        return 0;
}

/* An exposition larger than the socket buffers (sent in several calls) arrives whole, as
 * announced by Content-Length; HEAD gets the headers only. */
static void test_http_big(void **state) {
        sd_event *e = NULL;
        struct metrics_http *h = NULL;
        char last[64], *r, *body;
        unsigned long length;

        assert_int_equal(sd_event_new(&e), 0);
        unsetenv("LISTEN_FDS");
        assert_int_equal(metrics_http_new(e, "127.0.0.1:0", render_big, NULL, &h), 0);
        r = exchange(e, metrics_http_port(h), GET("/metrics"), strlen(GET("/metrics")));
        assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
        assert_non_null(strstr(r, "Content-Length: "));
        length = strtoul(strstr(r, "Content-Length: ") + 16, NULL, 10);
        body = strstr(r, "\r\n\r\n") + 4;
        assert_true(length > 1000000);
        assert_int_equal(strlen(body), length);
        assert_int_equal(strncmp(body, "# HELP t_big Many samples.\n# TYPE t_big gauge\nt_big{i=\"0\"} 0\n", 61), 0);
        (void) snprintf(last, sizeof(last), "\nt_big{i=\"%u\"} %u\n", BIG_SAMPLES - 1, BIG_SAMPLES - 1);
        assert_string_equal(body + length - strlen(last), last);
        free(r);
        r = exchange(e, metrics_http_port(h), "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 54);
        assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
        assert_string_equal(r + strlen(r) - 4, "\r\n\r\n");
        free(r);
        metrics_http_free(h);
        sd_event_unref(e);
}

static void test_http(void **state) {
        sd_event *e = NULL;
        struct metrics_http *h = NULL;
        char me[] = "me", quoted[] = "a \"quoted\" one";
        char *r;

        assert_int_equal(sd_event_new(&e), 0);
        /* Nothing to serve on: no address and no socket from systemd. */
        unsetenv("LISTEN_FDS");
        assert_int_equal(metrics_http_new(e, NULL, render, me, &h), -ENOENT);
        assert_int_equal(metrics_http_new(e, "127.0.0.1:0", render, quoted, &h), 0);
        assert_true(metrics_http_port(h) > 0);

        renders = 0;
        r = exchange(e, metrics_http_port(h), GET("/metrics"), strlen(GET("/metrics")));
        assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
        assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        assert_non_null(strstr(r, "\r\n\r\n# HELP t_up Test.\n# TYPE t_up gauge\nt_up{who=\"a \\\"quoted\\\" one\"} 1\n"));
        free(r);
        /* A scrape right after gets the same exposition without rendering it again. */
        r = exchange(e, metrics_http_port(h), GET("/metrics"), strlen(GET("/metrics")));
        assert_non_null(strstr(r, "t_up{who="));
        assert_int_equal(renders, 1);
        free(r);

        r = exchange(e, metrics_http_port(h), GET("/metrics/x"), strlen(GET("/metrics/x")));
        assert_non_null(strstr(r, "HTTP/1.1 404 Not Found\r\n"));
        assert_null(strstr(r, "t_up"));
        free(r);
        r = exchange(e, metrics_http_port(h), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 57);
        assert_non_null(strstr(r, "HTTP/1.1 405 Method Not Allowed\r\n"));
        free(r);
        r = exchange(e, metrics_http_port(h), "\x01\x02 garbage\r\n\r\n", 14);
        assert_non_null(strstr(r, "HTTP/1.1 400 Bad Request\r\n"));
        free(r);
        /* Still serving after all that. */
        r = exchange(e, metrics_http_port(h), GET("/"), strlen(GET("/")));
        assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
        free(r);

        metrics_http_free(h);
        /* An address that cannot be bound is an error, not a silent absence. */
        assert_true(metrics_http_new(e, "192.0.2.1:0", render, me, &h) < 0);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escaping),
                cmocka_unit_test(test_hostile_label),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_histogram),
                cmocka_unit_test(test_process),
                cmocka_unit_test(test_parse_listen),
                cmocka_unit_test(test_http),
                cmocka_unit_test(test_http_big),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
