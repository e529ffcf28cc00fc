#include <getopt.h>
#include <time.h>

#include "sim.h"

/* How often the scenario clock, fault durations and parked connections are looked at: the
 * resolution of timeline events and slow drips. */
#define TICK_USEC (5 * USEC_PER_MSEC)
#define TOKEN_FILE_MAX (1024u * 1024)

struct options {
        const char *scenario;
        const char *token_file;
        const char *port_file;
        struct sockaddr_in listen;
        uint64_t seed;
        bool verbose;
};

static void help(void) {
        printf("Usage: inferwatch-sim [OPTIONS]\n\n"
               "Simulates the Gcore Everywhere Inference API on 127.0.0.1 for tests and demos.\n\n"
               "  --scenario FILE     initial deployments, timeline, fleets (docs/simulator.md)\n"
               "  --token-file FILE   accepted API tokens, one per line (never pass them as arguments)\n"
               "  --listen ADDR       127.0.0.1:PORT to listen on (default 127.0.0.1:0, any free port)\n"
               "  --port-file FILE    write the bound port there once listening\n"
               "  --seed N            seed of the random changes (default 1)\n"
               "  -v, --verbose       log every request to stderr\n"
               "  -h, --help          show this help\n");
}

static int parse_options(int argc, char *argv[], struct options *o) {
        static const struct option longopts[] = {
                { "scenario", required_argument, NULL, 's' },
                { "token-file", required_argument, NULL, 't' },
                { "listen", required_argument, NULL, 'l' },
                { "port-file", required_argument, NULL, 'p' },
                { "seed", required_argument, NULL, 'S' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        *o = (struct options) { .seed = 1 };
        (void) peer_parse_listen("127.0.0.1:0", &o->listen);
        while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) >= 0)
                switch (c) {
                case 's':
                        o->scenario = optarg;
                        break;
                case 't':
                        o->token_file = optarg;
                        break;
                case 'p':
                        o->port_file = optarg;
                        break;
                case 'l':
                        if (peer_parse_listen(optarg, &o->listen) < 0) {
                                fprintf(stderr, "inferwatch-sim: --listen wants 127.0.0.1:PORT, got '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'S':
                        if (parse_uint64_strict(optarg, &o->seed) < 0) {
                                fprintf(stderr, "inferwatch-sim: --seed wants a number, got '%s'\n", optarg);
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
                fprintf(stderr, "inferwatch-sim: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

/* One token per line; blank lines and trailing whitespace are ignored. */
static int load_token_file(struct sim *sim, const char *path) {
        _cleanup_free_ char *text = NULL;
        char *line, *save = NULL;
        int r;

        r = read_full_file(path, TOKEN_FILE_MAX, &text, NULL);
        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                size_t n = strlen(line);

                while (n > 0 && strchr(" \t\r", line[n - 1]))
                        line[--n] = '\0';
                if (n > 0)
                        *(char **) array_append(&sim->tokens, &sim->n_tokens, sizeof(char *)) = xstrdup(line);
        }
        return 0;
}

static int sim_init(struct sim *sim, const struct options *o) {
        _cleanup_free_ char *error = NULL;
        const char *why = NULL;
        int r;

        *sim = (struct sim) { .verbose = o->verbose };
        (void) pthread_mutex_init(&sim->lock, NULL);
        park_lot_init(&sim->park);
        counters_init(&sim->counters);
        sim->model = model_new();
        r = scenario_load(o->scenario, o->seed, sim->model, &sim->scenario, &error);
        if (r < 0) {
                fprintf(stderr, "inferwatch-sim: %s\n", error);
                return r;
        }
        /* The scenario's tokens are handed over, the file's appended. */
        sim->tokens = TAKE_PTR(sim->scenario->tokens);
        sim->n_tokens = sim->scenario->n_tokens;
        sim->scenario->n_tokens = 0;
        if (o->token_file) {
                r = load_token_file(sim, o->token_file);
                if (r < 0) {
                        fprintf(stderr, "inferwatch-sim: %s: %s\n", o->token_file, strerror(-r));
                        return r;
                }
        }
        if (sim->n_tokens == 0)
                fprintf(stderr, "inferwatch-sim: no API tokens configured, authentication is off\n");
        sim->context.regions = TAKE_PTR(sim->scenario->regions);
        sim->context.capacity = TAKE_PTR(sim->scenario->capacity);
        if (sim_context_set_regions(&sim->context, sim->context.regions, &why) < 0) {
                fprintf(stderr, "inferwatch-sim: %s: regions: %s\n", o->scenario, why);
                return -EINVAL;
        }
        sim_clock_init(&sim->clock, sim->scenario->start_paused);
        return 0;
}

static void sim_done(struct sim *sim) {
        sim_stop(sim);
        sim->model = model_free(sim->model);
        sim->scenario = scenario_free(sim->scenario);
        faults_done(&sim->faults);
        counters_done(&sim->counters);
        sim_context_done(&sim->context);
        for (size_t i = 0; i < sim->n_tokens; i++)
                free(sim->tokens[i]);
        free(sim->tokens);
        park_lot_done(&sim->park);
        (void) pthread_mutex_destroy(&sim->lock);
}

static int run(int argc, char *argv[]) {
        struct options o;
        struct sim sim = {};
        unsigned port;
        int r;

        r = parse_options(argc, argv, &o);
        if (r < 0)
                return r;
        peer_block_signals();
        r = sim_init(&sim, &o);
        if (r < 0)
                goto out;
        r = sim_start(&sim, &o.listen, &port);
        if (r < 0) {
                fprintf(stderr, "inferwatch-sim: cannot listen on 127.0.0.1:%u\n", (unsigned) ntohs(o.listen.sin_port));
                goto out;
        }
        r = peer_announce(port, o.port_file);
        if (r < 0) {
                fprintf(stderr, "inferwatch-sim: %s: %s\n", o.port_file, strerror(-r));
                goto out;
        }
        while (peer_wait_signal(TICK_USEC) == 0)
                sim_tick(&sim);
out:
        sim_done(&sim);
        return r;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
