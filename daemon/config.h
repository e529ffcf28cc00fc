/* The configuration: libconfig file → plain structs, validated, with FILE:LINE diagnostics. */
#pragma once

#include "util.h"

enum webhook_format {
        WEBHOOK_FORMAT_JSON,
        WEBHOOK_FORMAT_SLACK,
        WEBHOOK_FORMAT_ALERTMANAGER,
        _WEBHOOK_FORMAT_MAX,
};

struct account {
        char *name;               /* "default" when the config gives none */
        char *url;                /* base URL without trailing slash, e.g. https://api.gcore.com */
        char *key_file;           /* where the API key comes from: exactly one of these three */
        char *key_credential;     /* name under $CREDENTIALS_DIRECTORY */
        char *key;                /* the key itself, once loaded (never logged) */
        bool key_inline;          /* the key was written in the config file itself */
        char *ca_file;            /* NULL: system trust store */
        usec_t connect_timeout;   /* default 5 s */
        usec_t timeout;           /* whole request, default 30 s */
        uint64_t max_response_size; /* default 8 MiB */
        unsigned page_size;       /* list endpoint page size, 1..1000, default 100 */
        unsigned max_requests_per_second; /* deployment polls' ceiling, default 10; 0: none */
        bool list_named_deployments; /* through the list when it takes fewer requests, default true */
        unsigned line;            /* where it was defined, for later messages */
};

struct project {
        int64_t id;               /* > 0 */
        struct account *account;  /* borrowed from config->accounts */
        bool all;                 /* deployments = "*" */
        char **deployments;       /* names when !all */
        size_t n_deployments;
        unsigned line;
};

struct webhook {
        char *name;               /* defaults to "webhook-N" */
        char *url;                /* NULL after -t when it comes from url_file/url_credential */
        char *url_file;           /* where the URL comes from, when it is a capability (Slack) */
        char *url_credential;
        enum webhook_format format;
        char **headers;           /* "Name: value" strings, sent as given */
        size_t n_headers;
        char **events;            /* event type globs ("alert.*"); none = all */
        size_t n_events;
        int min_priority;         /* syslog level: events with priority <= this pass; default 6 (info) */
        char **deployments;       /* deployment name globs; none = all */
        size_t n_deployments;
        int64_t *projects;        /* project ids; none = all */
        size_t n_projects;
        char *secret_file;        /* signing secret: at most one of these three */
        char *secret_credential;
        char *secret;             /* loaded secret (never logged); NULL = unsigned */
        bool secret_inline;
        char *ca_file;
        usec_t timeout;           /* per attempt, default 10 s */
        usec_t retry_max_interval; /* cap of the retry backoff, default 5 min */
        bool watchdog;            /* alertmanager: post the always-firing InferwatchWatchdog alert */
        bool log_tail;            /* deliver log tails (they may hold sensitive data), default true */
        unsigned line;
};

/* etcd, when several inferwatchd share the work (docs/ha.md); n_endpoints == 0: no cluster. */
struct cluster {
        char **endpoints;         /* etcd client URLs */
        size_t n_endpoints;
        char *name;               /* this member's, default the hostname */
        char *prefix;             /* of every key, default "inferwatch" */
        usec_t lease_ttl;         /* default 10 s */
        usec_t timeout;           /* per etcd request, default 5 s */
        char *ca_file;
        char *cert_file;          /* client certificate and key: files ... */
        char *key_file;
        char *cert_credential;    /* ... or credentials */
        char *key_credential;
        unsigned line;
};

struct config {
        char *path;               /* the file it was loaded from */

        usec_t interval;          /* stable deployments, default 60 s */
        usec_t fast_interval;     /* transitional or with an open problem, default 2 s */
        usec_t stuck_after;       /* default 15 min */
        unsigned alert_for;       /* key "for": polls before an alert opens, default 2 */
        unsigned resolve_for;     /* healthy polls before it resolves, default 1 */
        usec_t repeat_interval;   /* reminder period of an open alert, default 4 h; 0 = never */
        unsigned unreachable_after; /* failed polls in a row before api.unreachable, default 3 */
        unsigned flap_returns;    /* flapping: more returns to a recent state than this, default 1 ... */
        unsigned flap_window;     /* ... within this many polls, default 10 */
        usec_t flap_stable;       /* and over once stable this long, default 5 min */
        unsigned max_in_flight;   /* concurrent API requests, default 16 */
        char *state_directory;    /* default $STATE_DIRECTORY or the configured statedir */
        uint64_t spool_max_size;  /* per webhook, default 64 MiB */
        usec_t spool_max_age;     /* default 7 d */
        unsigned log_tail_lines;  /* log lines attached to container errors and alerts, default 5; 0 = off */

        struct account *accounts;
        size_t n_accounts;
        struct project *projects;
        size_t n_projects;
        struct webhook *webhooks;
        size_t n_webhooks;
        struct cluster cluster;    /* no endpoints: not clustered */

        /* The credentials named by the file that could not be checked, each once: without
         * CONFIG_LOAD_SECRETS (-t) outside the service, where $CREDENTIALS_DIRECTORY is unset. */
        char **unchecked_credentials;
        size_t n_unchecked_credentials;

        struct metrics_config {
                char *listen;     /* "ADDRESS:PORT" to serve /metrics on; NULL: only sockets from systemd */
                unsigned line;
        } metrics;
        struct heartbeat_config {
                char *url;        /* pinged after each good cycle; NULL: no heartbeat (never logged) */
                char *url_file, *url_credential;
                char *fail_url;   /* pinged while the API is unreachable; NULL: none (never logged) */
                char *fail_url_file, *fail_url_credential;
                usec_t timeout;   /* per ping, default 10 s */
                unsigned line;
        } heartbeat;
};

/* Diagnostics collected while loading: each line is complete, "FILE:LINE: message". */
struct config_diag {
        char **errors;
        size_t n_errors;
        char **warnings;
        size_t n_warnings;
};

enum config_load_flags {
        /* Keep the API keys, webhook secrets and URLs read from files and credentials (the
         * daemon and --once do). Without it (-t) they are read and checked just the same, then
         * erased; only credentials are skipped when $CREDENTIALS_DIRECTORY is not set. */
        CONFIG_LOAD_SECRETS = 1 << 0,
        /* Open no key, secret or URL file or credential at all, only check the settings that
         * name them (--status, which needs the state directory and calls nothing). */
        CONFIG_LOAD_SKIP_SECRETS = 1 << 1,
};

/* Loads and validates path. On success returns 0 and sets *ret (warnings may still be in
 * diag). On failure returns a negative errno, *ret is untouched, and diag holds at least one
 * error. */
int config_load(const char *path, unsigned flags, struct config_diag *diag, struct config **ret);
/* Same, from a string; "name" stands for the file name in messages. Used by tests and fuzzers. */
int config_load_string(const char *text, const char *name, unsigned flags, struct config_diag *diag,
                       struct config **ret);

struct config *config_free(struct config *c);
/* Writes the warnings, then the errors, one a line. */
void config_diag_print(const struct config_diag *d, FILE *f);
void config_diag_done(struct config_diag *d);

const char *webhook_format_to_string(enum webhook_format f);
/* The groups of keys, from i = 0: "" (the top level), then each list of groups ("accounts",
 * "projects", "webhooks"), then NULL. The documentation checks read them. */
const char *config_group_name(size_t i);
/* The i-th key (from 0) the parser accepts in group, in table order; NULL past the last one or
 * for an unknown group. */
const char *config_known_key(const char *group, size_t i);
struct account *config_find_account(const struct config *c, const char *name);
/* Whether two cluster sections differ in any key (a reload cannot change the one in force). */
bool cluster_config_differs(const struct cluster *a, const struct cluster *b);
