#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "manager.h"
#include "once.h"
#include "status.h"

#define EXIT_USAGE 2
#define EXIT_CONFIG 78 /* EX_CONFIG of sysexits.h */
/* -t: valid as far as it could be checked, but credentials were not ($CREDENTIALS_DIRECTORY is
 * unset): EX_TEMPFAIL of sysexits.h, "try again" where the credentials are. */
#define EXIT_UNCHECKED 75

enum action {
        ACTION_RUN,
        ACTION_CHECK,
        ACTION_ONCE,
        ACTION_STATUS,
};

struct options {
        enum action action;
        bool once;                /* --once was asked for, even on a command line in error */
        const char *config;
        bool json;
        bool help;
        bool version;
        enum log_target target;
        enum log_format format;
        int level;
};

static void help(void) {
        printf("Usage: inferwatchd [OPTIONS]\n"
               "Watch Gcore Everywhere Inference deployments and report every change that matters.\n\n"
               "  -c, --config=FILE        configuration file (default %s)\n"
               "  -t, --check-config       validate the configuration and exit (0 valid, 78 invalid,\n"
               "                           75 valid but credentials not checked)\n"
               "      --once               poll everything once, print a table, exit with a Nagios code\n"
               "      --status             show what the running daemon last saw (no API calls)\n"
               "      --json               with --once or --status: print JSON\n"
               "      --log-target=TARGET  auto, journal or stderr (default auto: the journal under systemd)\n"
               "      --log-format=FORMAT  text or json, for stderr (default text)\n"
               "      --log-level=LEVEL    emerg ... debug (default info)\n"
               "  -V, --version            print the version and exit\n"
               "  -h, --help               print this help and exit\n\n"
               "See inferwatchd(8) and inferwatch.conf(5).\n",
               SYSCONFDIR "/inferwatch/inferwatch.conf");
}

/* Under systemd, stderr is connected to the journal and $JOURNAL_STREAM names it. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

/* Says what is wrong on stderr; the first problem is kept for --once's verdict line. */
_printf_(2, 3) static void usage_error(char **first, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *line = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        line = cescape_cell(msg); /* the arguments are anybody's text */
        fprintf(stderr, "inferwatchd: %s\n", line);
        if (!*first)
                *first = TAKE_PTR(line);
}

/* Every problem of the command line is reported, not only the first, and the options after a
 * bad one are still read: --once must be recognised wherever it stands. On failure returns
 * -EINVAL and the first problem in *ret_error. */
static int parse_args(int argc, char *argv[], struct options *o, char **ret_error) {
        enum {
                ARG_ONCE = 0x100,
                ARG_STATUS,
                ARG_JSON,
                ARG_LOG_TARGET,
                ARG_LOG_FORMAT,
                ARG_LOG_LEVEL,
        };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, 't' },
                { "once", no_argument, NULL, ARG_ONCE },
                { "status", no_argument, NULL, ARG_STATUS },
                { "json", no_argument, NULL, ARG_JSON },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "log-format", required_argument, NULL, ARG_LOG_FORMAT },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_free_ char *error = NULL;
        const char *target = "auto";
        bool check = false, status = false;
        int c;

        opterr = 0; /* usage_error() words them */
        while ((c = getopt_long(argc, argv, ":c:tVh", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        o->config = optarg;
                        break;
                case 't':
                        check = true;
                        break;
                case ARG_ONCE:
                        o->once = true;
                        break;
                case ARG_STATUS:
                        status = true;
                        break;
                case ARG_JSON:
                        o->json = true;
                        break;
                case ARG_LOG_TARGET:
                        if (streq(optarg, "auto") || streq(optarg, "journal") || streq(optarg, "stderr"))
                                target = optarg;
                        else
                                usage_error(&error, "--log-target must be auto, journal or stderr");
                        break;
                case ARG_LOG_FORMAT:
                        if (streq(optarg, "json"))
                                o->format = LOG_FORMAT_JSON;
                        else if (streq(optarg, "text"))
                                o->format = LOG_FORMAT_TEXT;
                        else
                                usage_error(&error, "--log-format must be text or json");
                        break;
                case ARG_LOG_LEVEL:
                        o->level = priority_from_string(optarg);
                        if (o->level < 0)
                                usage_error(&error, "unknown log level \"%s\"", optarg);
                        break;
                case 'V':
                        o->version = true;
                        break;
                case 'h':
                        o->help = true;
                        break;
                case ':':
                        usage_error(&error, "option \"%s\" needs a value", argv[optind - 1]);
                        break;
                default:
                        /* A short option is in optopt; a long one is the argument just read. */
                        if (optopt > 0 && optopt < 0x100)
                                usage_error(&error, "unknown option \"-%c\"", optopt);
                        else
                                usage_error(&error, "unknown option \"%s\"", argv[optind - 1]);
                        break;
                }
        }
        if (optind < argc)
                usage_error(&error, "unexpected argument \"%s\"", argv[optind]);
        if (check + o->once + status > 1)
                usage_error(&error, "-t, --once and --status exclude each other");
        if (o->json && !o->once && !status)
                usage_error(&error, "--json needs --once or --status");
        if (error) {
                *ret_error = TAKE_PTR(error);
                return -EINVAL;
        }
        o->action = check ? ACTION_CHECK : o->once ? ACTION_ONCE : status ? ACTION_STATUS : ACTION_RUN;
        if (streq(target, "journal") || (streq(target, "auto") && stderr_is_journal()))
                o->target = LOG_TARGET_JOURNAL;
        return 0;
}

/* Outside the service there is no $CREDENTIALS_DIRECTORY to look in: the verdict says which
 * credentials -t could not check, and its exit status too, so that it promises no more than was
 * checked (the service would refuse to start on a missing or bad one). */
static int check_config(const char *path) {
        struct config_diag diag = {};
        struct config *c = NULL;
        int r;

        r = config_load(path, 0, &diag, &c);
        config_diag_print(&diag, stderr);
        config_diag_done(&diag);
        if (r < 0)
                return EXIT_CONFIG;
        printf("%s: OK (%zu account%s, %zu project%s, %zu webhook%s)", path, c->n_accounts,
               plural(c->n_accounts), c->n_projects, plural(c->n_projects), c->n_webhooks,
               plural(c->n_webhooks));
        r = c->n_unchecked_credentials > 0 ? EXIT_UNCHECKED : EXIT_SUCCESS;
        if (r == EXIT_UNCHECKED) {
                printf(", but %zu credential%s not checked ($CREDENTIALS_DIRECTORY is not set): ",
                       c->n_unchecked_credentials, plural(c->n_unchecked_credentials));
                for (size_t i = 0; i < c->n_unchecked_credentials; i++)
                        printf("%s%s", i > 0 ? ", " : "", c->unchecked_credentials[i]);
        }
        printf("\n");
        config_free(c);
        return r;
}

static int run(const struct options *o) {
        struct manager *m = NULL;
        int r;

        r = manager_new(&(struct manager_options) { .config_path = o->config }, &m);
        if (r < 0)
                return r == -EINVAL ? EXIT_CONFIG : EXIT_FAILURE;
        r = manager_run(m);
        manager_free(m);
        return r;
}

int main(int argc, char *argv[]) {
        struct options o = {
                .config = SYSCONFDIR "/inferwatch/inferwatch.conf",
                .level = LOG_INFO,
        };
        _cleanup_free_ char *usage = NULL;
        int r;

        if (parse_args(argc, argv, &o, &usage) < 0) {
                if (!o.once)
                        return EXIT_USAGE;
                /* A Nagios check that cannot run says UNKNOWN, not a state of what it watches. */
                printf("INFERWATCH UNKNOWN - invalid command line: %s\n", usage);
                return NAGIOS_UNKNOWN;
        }
        if (o.help) {
                help();
                return EXIT_SUCCESS;
        }
        if (o.version) {
                printf("inferwatchd %s\n", PACKAGE_VERSION);
                return EXIT_SUCCESS;
        }
        log_setup(o.target, o.format, o.level);
        /* Writes to a closed webhook or API connection must not kill the daemon. */
        (void) signal(SIGPIPE, SIG_IGN);
        srandom((unsigned) now_usec(CLOCK_MONOTONIC) ^ (unsigned) getpid());
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "inferwatchd: libcurl failed to initialise\n");
                return EXIT_FAILURE;
        }

        switch (o.action) {
        case ACTION_CHECK:
                r = check_config(o.config);
                break;
        case ACTION_ONCE:
                r = run_once(o.config, o.json);
                break;
        case ACTION_STATUS:
                r = run_status(o.config, o.json);
                break;
        default:
                r = run(&o);
                break;
        }
        curl_global_cleanup();
        return r;
}
