/* What survives a restart (SPEC §5): every watched deployment's last state and open alert,
 * each account's reachability, each project's authentication verdict, and the events that state
 * implies (the outbox, see manager.c's commit()). Written atomically to state.json in the state
 * directory: a header line, one JSON line per deployment, then one JSON line per outbox event. */
#pragma once

#include "diff.h"

struct watch_record {
        char *url;                /* identity: api url, project, name */
        int64_t project_id;
        char *name;
        char *account;            /* the account's name then, for display */
        struct watch_state state;
        usec_t last_poll;         /* CLOCK_REALTIME of the last finished poll (not saved) */
        char *last_error;         /* the last failed poll, for --status */
};

struct account_record {
        char *url;
        char *name;
        struct api_state api;
};

struct project_record {
        char *url;
        int64_t project_id;
        bool auth_failed;
};

/* Delivery figures of one webhook, shown by --status (kept by the webhook module). */
struct webhook_record {
        char *name;
        uint64_t delivered;
        uint64_t dropped;
        uint64_t retrying;        /* attempts that failed and will be retried */
        uint64_t backlog;         /* events waiting in the spool */
        bool disabled;
        usec_t last_attempt;      /* CLOCK_REALTIME */
        char *last_result;        /* "HTTP 200", "HTTP 503, retrying in 4s", ... */
};

struct saved_state {
        usec_t written;           /* CLOCK_REALTIME when written */
        pid_t pid;                /* the daemon that wrote it */
        struct watch_record *watches;
        size_t n_watches;
        /* Set instead of watches (NULL) by a state to be saved only: each_watch(watch_source, fn,
         * userdata) calls fn with each of the n_watches records in turn (stopping at a negative
         * return, which it returns). */
        int (*each_watch)(const void *source, int (*fn)(const struct watch_record *r, void *userdata),
                          void *userdata);
        const void *watch_source;
        struct account_record *accounts;
        size_t n_accounts;
        struct project_record *projects;
        size_t n_projects;
        struct webhook_record *webhooks;
        size_t n_webhooks;
        bool watches_borrowed;    /* the watch records point into their owner (monitor_view()) */
        sd_id128_t batch;         /* the commit that wrote it (manager.c), random; null if none */
        struct event_list outbox; /* the events of that commit; state_load: only those not yet fed */
        bool outbox_borrowed;     /* the events belong to the caller (saved_state_done leaves them) */
};

void saved_state_done(struct saved_state *s);
void watch_record_done(struct watch_record *r);

char *state_to_json(const struct saved_state *s);
/* -EBADMSG with a description in *ret_why when the text is not a state this version reads. */
int state_from_json(const char *text, struct saved_state *ret, const char **ret_why);

/* Reads dir/state.json, after removing the temporary files of saves a crash interrupted. A
 * missing file is an empty state (returns 0). A corrupt or unreadable one is renamed to
 * state.json.corrupt-<time> and reported through *ret_moved_to and *ret_why ("state.json:3: the
 * deployment entry has no url"; returns -EBADMSG or the read error, with *ret empty). The outbox
 * is left empty when state.json.fed names its batch: it was fed already. */
/* For a store that keeps the state in n shards (the etcd of a cluster, docs/ha.md): the header
 * line alone, and for each shard the deployment lines of the watches that hash to it ("" for
 * none; free each and the array). No outbox: the store keeps the events apart. */
char *state_header_json(const struct saved_state *s);
char **state_shards_json(const struct saved_state *s, size_t n);
/* The inverse: the header's counts are taken from the shards (which may come from different
 * commits when a state too large for one transaction was written in several). */
int state_from_shards(const char *header, char *const *shards, size_t n, struct saved_state *ret,
                      const char **ret_why);

int state_load(const char *dir, struct saved_state *ret, char **ret_moved_to, char **ret_why);
/* state_load, handing each deployment record to fn as soon as it is read, so that a restart
 * never holds every record and the copy fn makes of it at once: fn returns true when it took
 * *r (its strings and state are then fn's, or freed by it), false to leave it in ret->watches.
 * On a failure (-EBADMSG, the file moved aside) what fn took stays taken: the caller drops it
 * and starts afresh. */
struct state_taker {
        bool (*fn)(struct watch_record *r, void *userdata);
        void *userdata;
};
int state_load_each(const char *dir, const struct state_taker *take, struct saved_state *ret, char **ret_moved_to,
                    char **ret_why);
int state_save(const char *dir, const struct saved_state *s);
/* Records in state.json.fed that the outbox of batch reached every sink. Not synced: losing it
 * only feeds that outbox again after a crash, with the same ids. */
int state_save_fed(const char *dir, sd_id128_t batch);
char *state_path(const char *dir);
