/* bench-sim: how fast inferwatch-sim answers on loopback. Starts the simulator with a generated
 * fleet, drives it with libcurl multi over keep-alive connections, and prints requests/s, MB/s
 * and the simulator's own CPU use. A benchmark, not a test: figures depend on the machine. */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "util.h"

#define TOKEN "bench-token-0123456789"

struct options {
        const char *sim;
        unsigned seconds;
        unsigned fleet;
};

struct run {
        const char *what;
        unsigned connections;
        unsigned limit;           /* 0: get-one, else list pages of this size */
};

struct stats {
        uint64_t requests;
        uint64_t failures;
        uint64_t bytes;
};

struct bench {
        unsigned port;
        pid_t sim;
        unsigned fleet;
        uint64_t rng;
        struct curl_slist *headers;
};

static uint64_t next_random(struct bench *b) {
        b->rng ^= b->rng << 13;
        b->rng ^= b->rng >> 7;
        b->rng ^= b->rng << 17;
        return b->rng;
}

static size_t count_bytes(char *data, size_t size, size_t n, void *userdata) {
        ((struct stats *) userdata)->bytes += size * n;
        return size * n;
}

static void set_url(struct bench *b, CURL *e, const struct run *r) {
        char url[160];

        if (r->limit == 0)
                snprintf(url, sizeof(url), "http://127.0.0.1:%u/cloud/v3/inference/1/deployments/bench-%05u", b->port,
                         (unsigned) (next_random(b) % b->fleet));
        else
                snprintf(url, sizeof(url), "http://127.0.0.1:%u/cloud/v3/inference/1/deployments?limit=%u&offset=%u",
                         b->port, r->limit, (unsigned) (next_random(b) % (b->fleet - MIN(b->fleet, r->limit) + 1)));
        (void) curl_easy_setopt(e, CURLOPT_URL, url);
}

static CURL *easy_new(struct bench *b, struct stats *st) {
        CURL *e = curl_easy_init();

        if (!e)
                abort();
        (void) curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->headers);
        (void) curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, count_bytes);
        (void) curl_easy_setopt(e, CURLOPT_WRITEDATA, st);
        (void) curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        return e;
}

/* Counts one finished transfer and starts the next on the same handle (and connection). */
static void finish(struct bench *b, CURLM *m, CURLMsg *msg, const struct run *r, struct stats *st, bool more) {
        CURL *e = msg->easy_handle;
        long code = 0;

        (void) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        st->requests++;
        if (msg->data.result != CURLE_OK || code != 200)
                st->failures++;
        (void) curl_multi_remove_handle(m, e);
        if (more) {
                set_url(b, e, r);
                (void) curl_multi_add_handle(m, e);
        } else
                curl_easy_cleanup(e);
}

static double sim_cpu_seconds(pid_t pid) {
        char path[64], buf[1024], *p;
        unsigned long utime, stime;
        _cleanup_fclose_ FILE *f = NULL;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof(buf), f) || !(p = strrchr(buf, ')')))
                return 0;
        /* Fields after "(comm)": state is 3rd, utime the 14th and stime the 15th. */
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
                return 0;
        return (double) (utime + stime) / (double) sysconf(_SC_CLK_TCK);
}

static void run_one(struct bench *b, const struct run *r, unsigned seconds) {
        usec_t start, end;
        struct stats st = {};
        double cpu0, cpu1, elapsed;
        CURLM *m = curl_multi_init();
        unsigned active = r->connections;

        (void) curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long) r->connections);
        (void) curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long) r->connections);
        for (unsigned i = 0; i < r->connections; i++) {
                CURL *e = easy_new(b, &st);
                set_url(b, e, r);
                (void) curl_multi_add_handle(m, e);
        }
        cpu0 = sim_cpu_seconds(b->sim);
        start = now_usec(CLOCK_MONOTONIC);
        end = start + seconds * USEC_PER_SEC;
        /* Count our handles rather than trusting `running`: a transfer may finish inside
         * curl_multi_perform(), leaving running at 0 before its handle is re-added. */
        while (active > 0) {
                bool more = now_usec(CLOCK_MONOTONIC) < end;
                CURLMsg *msg;
                int running, left;

                (void) curl_multi_perform(m, &running);
                while ((msg = curl_multi_info_read(m, &left)))
                        if (msg->msg == CURLMSG_DONE) {
                                finish(b, m, msg, r, &st, more);
                                active -= !more;
                        }
                if (active > 0)
                        (void) curl_multi_poll(m, NULL, 0, 100, NULL);
        }
        elapsed = (double) (now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_SEC;
        cpu1 = sim_cpu_seconds(b->sim);
        curl_multi_cleanup(m);
        printf("%-10s c=%-3u %9.0f req/s %8.1f MB/s   sim CPU %5.1f%%  %9.0f req per sim CPU-second  (%llu failed)\n",
               r->what, r->connections, (double) st.requests / elapsed, (double) st.bytes / elapsed / 1e6,
               100.0 * (cpu1 - cpu0) / elapsed, cpu1 > cpu0 ? (double) st.requests / (cpu1 - cpu0) : 0.0,
               (unsigned long long) st.failures);
        (void) fflush(stdout);
}

static int write_text(const char *path, const char *text) {
        return write_file_atomic(path, text, strlen(text), 0600);
}

/* Starts the simulator with a fleet of bench-00000... in project 1 and waits for its port. */
static int start_sim(struct bench *b, const struct options *o, const char *dir) {
        _cleanup_free_ char *scenario = xasprintf("%s/scenario.json", dir);
        _cleanup_free_ char *tokens = xasprintf("%s/tokens", dir);
        _cleanup_free_ char *port_file = xasprintf("%s/port", dir);
        _cleanup_free_ char *json = xasprintf("{\"fleets\":[{\"project_id\":1,\"prefix\":\"bench-\",\"count\":%u,"
                                              "\"regions\":[1,7],\"ready\":2}]}",
                                              o->fleet);
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 60 * USEC_PER_SEC;
        int r;

        if ((r = write_text(scenario, json)) < 0 || (r = write_text(tokens, TOKEN "\n")) < 0)
                return r;
        b->sim = fork();
        if (b->sim < 0)
                return -errno;
        if (b->sim == 0) {
                /* Its "listening on" line would only clutter the table. */
                if (!freopen("/dev/null", "w", stdout))
                        _exit(127);
                execl(o->sim, o->sim, "--scenario", scenario, "--token-file", tokens, "--port-file", port_file,
                      (char *) NULL);
                _exit(127);
        }
        while (now_usec(CLOCK_MONOTONIC) < deadline) {
                _cleanup_free_ char *text = NULL;

                if (read_full_file(port_file, 64, &text, NULL) == 0) {
                        b->port = (unsigned) atoi(text);
                        return 0;
                }
                if (waitpid(b->sim, NULL, WNOHANG) == b->sim)
                        return -ECHILD;
                usleep(20000);
        }
        return -ETIMEDOUT;
}

static int parse_options(int argc, char *argv[], struct options *o) {
        static const struct option longopts[] = {
                { "sim", required_argument, NULL, 's' },
                { "seconds", required_argument, NULL, 't' },
                { "fleet", required_argument, NULL, 'f' },
                {}
        };
        int c;

        *o = (struct options) { .sim = "tests/sim/inferwatch-sim", .seconds = 3, .fleet = 10000 };
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0)
                switch (c) {
                case 's':
                        o->sim = optarg;
                        break;
                case 't':
                        o->seconds = (unsigned) atoi(optarg);
                        break;
                case 'f':
                        o->fleet = (unsigned) atoi(optarg);
                        break;
                default:
                        return -EINVAL;
                }
        if (o->seconds < 1 || o->fleet < 1000 || o->fleet > 100000) {
                fprintf(stderr, "bench-sim: --seconds >= 1, --fleet in 1000..100000\n");
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct run runs[] = {
                { "get-one", 1, 0 },
                { "get-one", 8, 0 },
                { "get-one", 32, 0 },
                { "list-1000", 1, 1000 },
                { "list-1000", 4, 1000 },
        };
        char dir[] = "/tmp/bench-sim.XXXXXX";
        struct bench b = { .rng = 88172645463325252ULL };
        struct options o;
        int r;

        if (parse_options(argc, argv, &o) < 0)
                return EXIT_FAILURE;
        b.fleet = o.fleet;
        if (!mkdtemp(dir) || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return EXIT_FAILURE;
        b.headers = curl_slist_append(NULL, "Authorization: APIKey " TOKEN);
        r = start_sim(&b, &o, dir);
        if (r < 0)
                fprintf(stderr, "bench-sim: cannot start %s: %s\n", o.sim, strerror(-r));
        else {
                printf("inferwatch-sim on 127.0.0.1:%u, %u deployments (2 regions each), %u s per run, keep-alive\n",
                       b.port, o.fleet, o.seconds);
                for (size_t i = 0; i < ELEMENTSOF(runs); i++)
                        run_one(&b, &runs[i], o.seconds);
        }
        if (b.sim > 0) {
                (void) kill(b.sim, SIGTERM);
                (void) waitpid(b.sim, NULL, 0);
        }
        curl_slist_free_all(b.headers);
        curl_global_cleanup();
        for (const char *f = "scenario.json\0tokens\0port\0"; *f; f += strlen(f) + 1) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, f);
                (void) unlink(p);
        }
        (void) rmdir(dir);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
