/* Private to the daemon's manager (manager.c, commit.c): the manager's fields, and what each file
 * offers the other. manager.c sets up the loop, the poller, reloads, signals and the cluster
 * role; commit.c persists: the transactional outbox (state.json or etcd with its events, then
 * the spools, the journal and the fed mark) and when it runs (the save gap, PENDING_MAX). */
#pragma once

#include <systemd/sd-event.h>

#include "cluster-store.h"
#include "cluster.h"
#include "context.h"
#include "event.h"
#include "heartbeat.h"
#include "manager.h"
#include "metrics-http.h"
#include "monitor.h"
#include "webhook.h"

struct manager {
        char *config_path;
        struct config *config;
        sd_event *event;
        struct http_client *http;
        struct monitor *monitor;
        struct webhooks *webhooks;
        struct context *context;     /* region names and log tails added to events */
        sd_event_source *lazy_save;
        sd_event_source *sigterm, *sigint, *sighup;
        sd_event_source *prepare;    /* a timer that never fires: carries on_prepare */
        sd_event_source *refresh;
        sd_event_source *save_gap_end;
        sd_event_source *pending_full; /* idle defer: the save of more than PENDING_MAX events */
        bool gap_ignored;            /* on_pending_full is committing: the gap does not apply */
        usec_t last_save;            /* CLOCK_MONOTONIC end of the last save */
        usec_t save_gap;
        struct event_list pending;   /* events not yet committed */
        struct event_list replay;    /* the outbox a crash left in state.json, fed at start */
        sd_id128_t replay_batch;     /* the commit that replay is the outbox of */
        bool state_dirty;
        char *last_status;
        int state_lock;              /* held on the state directory for the daemon's lifetime */
        struct metrics_http *metrics;
        uint64_t events[_EVENT_TYPE_MAX]; /* emitted since start, for /metrics */
        struct heartbeat *heartbeat;
        /* In a cluster (docs/ha.md): only the leader has a monitor and webhooks. The member
         * reads the cluster section of the configuration it started with, kept until the end. */
        struct cluster_member *cluster;
        struct config *cluster_config;
        struct cluster_store *store;  /* while leading: the state and the outbox in etcd */
        bool loading;                 /* the state is being read from etcd: nothing to commit yet */
        unsigned load_failures;       /* reads of it that failed in a row */
        struct event_list load_dropped; /* read, but beyond the spool limits: counted as dropped */
        struct event_list inflight;   /* the batch being written to etcd, fed once it is there */
        sd_id128_t inflight_batch;
        sd_event_source *store_retry;
        sd_event_source *drain_end;   /* a stopping leader's last write to etcd: the bound */
        bool stopping;                /* monitor.stopping is pending, the loop ends once drained */
};

static inline bool clustered(const struct manager *m) {
        return m->cluster != NULL;
}

/* manager.c */
void update_status(struct manager *m);

/* commit.c */
/* Adds the commit's own sources to m->event (the lazy save, the end of the save gap, the idle
 * save of more than PENDING_MAX events), all off. */
int commit_sources_new(struct manager *m);
int commit(struct manager *m, bool now);
/* The next commit, a second from now (on_store_retry). */
void retry_store(struct manager *m);
/* Feeds the outbox a crash left in state.json, with its ids. */
void feed_replay(struct manager *m);
