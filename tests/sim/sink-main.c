#include <getopt.h>

#include "sink.h"

/* Resolution of delays and of the end of hangs. */
#define TICK_USEC (5 * USEC_PER_MSEC)
#define SECRET_FILE_MAX 4096

struct options {
        const char *record;
        const char *secret_file;
        const char *port_file;
        struct sockaddr_in listen;
        bool verbose;
};

static void help(void) {
        printf("Usage: inferwatch-sink [OPTIONS]\n\n"
               "Receives webhooks on 127.0.0.1 for tests and demos; see docs/simulator.md.\n\n"
               "  --record FILE       append every delivery to FILE as a JSON line\n"
               "  --secret-file FILE  Standard Webhooks secret to verify signatures with\n"
               "  --listen ADDR       127.0.0.1:PORT to listen on (default 127.0.0.1:0, any free port)\n"
               "  --port-file FILE    write the bound port there once listening\n"
               "  -v, --verbose       log every delivery to stderr\n"
               "  -h, --help          show this help\n");
}

static int parse_options(int argc, char *argv[], struct options *o) {
        static const struct option longopts[] = {
                { "record", required_argument, NULL, 'r' },
                { "secret-file", required_argument, NULL, 's' },
                { "listen", required_argument, NULL, 'l' },
                { "port-file", required_argument, NULL, 'p' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        *o = (struct options) {};
        (void) peer_parse_listen("127.0.0.1:0", &o->listen);
        while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) >= 0)
                switch (c) {
                case 'r':
                        o->record = optarg;
                        break;
                case 's':
                        o->secret_file = optarg;
                        break;
                case 'p':
                        o->port_file = optarg;
                        break;
                case 'l':
                        if (peer_parse_listen(optarg, &o->listen) < 0) {
                                fprintf(stderr, "inferwatch-sink: --listen wants 127.0.0.1:PORT, got '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'v':
                        o->verbose = true;
                        break;
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "inferwatch-sink: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static int load_secret(struct sink *s, const char *path) {
        _cleanup_free_ char *secret = NULL;
        size_t n;
        int r;

        r = read_full_file(path, SECRET_FILE_MAX, &secret, &n);
        if (r < 0)
                return r;
        while (n > 0 && strchr(" \t\r\n", secret[n - 1]))
                secret[--n] = '\0';
        if (n == 0)
                return -EINVAL;
        return webhook_key_from_secret(secret, &s->key, &s->key_len);
}

static int sink_init(struct sink *s, const struct options *o) {
        int r;

        *s = (struct sink) { .verbose = o->verbose };
        (void) pthread_mutex_init(&s->lock, NULL);
        park_lot_init(&s->park);
        r = deliveries_open(&s->deliveries, o->record);
        if (r < 0) {
                fprintf(stderr, "inferwatch-sink: %s: %s\n", o->record, strerror(-r));
                return r;
        }
        if (o->secret_file) {
                r = load_secret(s, o->secret_file);
                if (r < 0) {
                        fprintf(stderr, "inferwatch-sink: %s: %s\n", o->secret_file,
                                r == -EINVAL ? "not a usable secret (empty, or bad base64 after whsec_)" : strerror(-r));
                        return r;
                }
        }
        return 0;
}

static void sink_done(struct sink *s) {
        sink_stop(s);
        deliveries_close(&s->deliveries);
        behaviour_done(&s->behaviour);
        if (s->key)
                memset(s->key, 0, s->key_len);
        free(s->key);
        park_lot_done(&s->park);
        (void) pthread_mutex_destroy(&s->lock);
}

static int run(int argc, char *argv[]) {
        struct options o;
        struct sink s = {};
        unsigned port;
        int r;

        r = parse_options(argc, argv, &o);
        if (r < 0)
                return r;
        peer_block_signals();
        r = sink_init(&s, &o);
        if (r < 0)
                goto out;
        r = sink_start(&s, &o.listen, &port);
        if (r < 0) {
                fprintf(stderr, "inferwatch-sink: cannot listen on 127.0.0.1:%u\n", (unsigned) ntohs(o.listen.sin_port));
                goto out;
        }
        r = peer_announce(port, o.port_file);
        if (r < 0) {
                fprintf(stderr, "inferwatch-sink: %s: %s\n", o.port_file, strerror(-r));
                goto out;
        }
        while (peer_wait_signal(TICK_USEC) == 0)
                sink_tick(&s);
out:
        sink_done(&s);
        return r;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
