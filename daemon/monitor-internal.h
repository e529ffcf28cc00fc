/* Private to the poller (monitor.c, schedule.c): its types, and what each file offers the other.
 * monitor.c owns the watches and observations; schedule.c times the jobs and backs off. */
#pragma once

#include <sys/queue.h>

#include "monitor.h"
#include "poll.h"
#include "strtable.h"

#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

enum job_kind {
        JOB_GET,
        JOB_LIST,
};

struct job {
        /* In an order without holes: 100,000 of them are kept. */
        uint8_t kind;             /* enum job_kind */
        bool queued;
        bool parked;
        uint32_t slot;            /* 1 + its index in the monitor's heap of armed jobs, 0: not armed */
        struct mproject *project;
        usec_t due;               /* CLOCK_MONOTONIC, while armed */
        struct http_request *req;
        usec_t started;           /* CLOCK_MONOTONIC start of the request in flight */
        TAILQ_ENTRY(job) link;    /* in the run queue (queued) or the account's parked list (parked) */
        usec_t rate_slot;         /* CLOCK_MONOTONIC start reserved under the account's rate ceiling (rate.c) */
};

TAILQ_HEAD(job_list, job);

/* What most watches never have, allocated while one of them is there: the get-one body a watch
 * observed (the deployments of a "*" project are mostly only ever listed) and its poll's last
 * error (a pointer instead of 40 bytes inline). */
struct watch_extra {
        uint8_t sha256[POLL_DIGEST_SIZE]; /* the get-one body ... */
        uint32_t seq;             /* ... observed as the watch's obs_seq; 0: none */
        char *last_error;         /* NULL: its last poll succeeded */
};

/* A watch's get-one job, allocated the first time the watch is polled on its own: a "*" project's
 * deployments (and a named project's under PLAN_LIST) are mostly only ever listed. */
struct watch_job {
        struct job job;
        struct watch *watch;
};

struct watch {
        /* In an order without holes: 100,000 of them are kept. */
        struct mproject *project;
        struct watch_job *job;    /* NULL: never polled on its own (watch_job() makes it) */
        struct watch_state state;
        uint32_t obs_seq;         /* bumped by every observation applied (never 0 once bumped) */
        uint32_t seen_cycle;      /* "*": the list cycle that last listed it */
        struct watch_extra *extra; /* NULL: no digest and no error */
        usec_t observed_at;       /* start of the request whose observation was applied last */
        usec_t observed_realtime; /* when it was applied, for /metrics */
        usec_t last_poll;         /* CLOCK_REALTIME */
        TAILQ_ENTRY(watch) link;  /* in the project's watches, in the order they were added */
        unsigned failures;        /* failures in a row that speak of it (poll_result.object_scoped) */
        bool failure_reported;    /* watch_failure said it fails on its own */
        char name[];              /* in the watch's own allocation */
};


struct maccount {
        struct monitor *m;
        const struct account *cfg;
        struct api_state api;
        unsigned rounds;          /* backoff rounds since the last success */
        usec_t backoff_started;   /* CLOCK_MONOTONIC; 0 when not backing off */
        sd_event_source *backoff_timer;
        struct job_list parked;
        struct job *probe;
        struct job *object_failed; /* the last get-one that failed on its own, if nothing of the
                                    * account succeeded since (compared, never followed) */
        uint64_t requests[_API_OUTCOME_MAX]; /* for /metrics */
        struct metrics_histogram duration;
        usec_t rate_next;         /* rate.c: CLOCK_MONOTONIC of the next free request slot */
        usec_t rate_busy_since;   /* since when polls wait for slots (0: they do not) */
        bool rate_warned;         /* the sustained excess was said */
        uint64_t delayed;         /* polls delayed by the ceiling, for /metrics */
};

enum request_plan {
        PLAN_GET,                 /* each named deployment by get-one */
        PLAN_LIST,                /* the named ones through the list endpoint */
};

struct mproject {
        struct job job;           /* JOB_LIST for "*" projects */
        struct monitor *m;
        const struct project *cfg;
        struct maccount *account;
        struct strtable by_name;  /* struct watch by name */
        TAILQ_HEAD(, watch) watches;
        bool auth_failed;
        uint32_t cycle;           /* list cycles completed (wraps) */
        uint64_t offset;
        unsigned pages;
        char *last_error;         /* list failures */
        bool list_failed;
        struct page_memo *memos;  /* by page number */
        size_t n_memos;
        usec_t cycle_started;     /* CLOCK_MONOTONIC start of the current list cycle's first page */
        enum request_plan plan;   /* plan.c: named projects only ("*" always lists) */
        size_t n_named;
        size_t n_unlisted;        /* named, but not in the last complete list cycle */
        int64_t count;            /* the list's last count; -1: not known yet */
};

struct monitor {
        sd_event *event;
        struct http_client *http;
        const struct config *cfg;
        struct diff_params params;
        struct maccount *accounts;
        size_t n_accounts;
        struct mproject *projects;
        size_t n_projects;
        struct job_list queue;
        unsigned in_flight;
        struct job **armed;       /* binary heap of the armed jobs, earliest due first */
        size_t n_armed, n_armed_alloc;
        sd_event_source *clock;   /* wakes up when the earliest armed job's window ends */
        bool once;
        struct event_list events;
        bool dirty;
};

/* monitor.c */
void emit(struct monitor *m, struct event_list *l);
void job_start(struct job *j);

/* monitor.c: a watch's get-one job, made on first use; the watch of a JOB_GET job */
struct job *watch_job(struct watch *w);
static inline struct watch *job_watch(struct job *j) {
        return container_of(j, struct watch_job, job)->watch;
}
/* w is covered by its project's list again: its job is freed unless it is armed, queued, parked,
 * in flight or the account's probe. */
void watch_job_drop(struct watch *w);
/* Whether w's job is armed, queued, parked or in flight (false when it has none). */
bool watch_pending(const struct watch *w);
/* Whether j is w's job (false when w has none). */
static inline bool is_watch_job(const struct job *j, const struct watch *w) {
        return w->job && j == &w->job->job;
}

/* schedule.c: jobs' timers, the run queue, account backoff, deployments' own failures */
void job_stop(struct job *j);
void schedule_done(struct monitor *m);
const char *job_describe(struct job *j, char buf[static 256]);
const char *watch_describe(const struct watch *w, char buf[static 256]);
void job_arm(struct job *j, usec_t delay);
bool job_pending(const struct job *j);
void job_park(struct job *j);
void job_finished(struct job *j);
bool account_backing_off(const struct maccount *a);
int on_backoff_timer(sd_event_source *s, uint64_t usec, void *userdata);
void account_probe_lost(struct maccount *a);
void account_success(struct maccount *a, const struct job *j);
void account_failure(struct maccount *a, struct job *j, const struct api_error *err);
bool object_failure_is_account(const struct maccount *a, const struct watch *w);
void watch_failure(struct watch *w, const struct api_error *err);
void watch_answered(struct watch *w, enum api_outcome o);
usec_t stable_delay(const struct monitor *m);
usec_t stable_delay_since(const struct monitor *m, usec_t started);
usec_t fast_delay(const struct monitor *m);
void watch_reschedule(struct watch *w);

/* plan.c: whether a named project is polled by get-one or through the list endpoint */
bool project_lists(const struct mproject *p);
void plan_init(struct mproject *p);
bool plan_page(struct mproject *p, int64_t count);
void plan_cycle_complete(struct mproject *p);
usec_t plan_next_cycle(struct mproject *p);
void plan_list_unusable(struct mproject *p);

/* rate.c: the account's request-rate ceiling */
bool rate_hold(struct job *j);
