#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "cluster-store.h"
#include "cluster.h"
#include "context.h"
#include "crashpoint.h"
#include "heartbeat.h"
#include "lock.h"
#include "log.h"
#include "manager-internal.h"
#include "metrics-collect.h"
#include "metrics-http.h"
#include "monitor.h"
#include "open-alerts.h"
#include "state.h"
#include "webhook.h"

/* Even without changes the state is rewritten this often, so that --status shows the daemon
 * alive (each rewrite serialises every deployment again: about 90 ms for 10,000). */
#define STATE_REFRESH_MIN (5 * USEC_PER_MINUTE)
/* How long a stopping leader waits for etcd to take its last commit, before it revokes its
 * lease anyway. */
#define STOP_DRAIN (2 * USEC_PER_SEC)

static void log_diagnostics(const struct config_diag *d) {
        for (size_t i = 0; i < d->n_warnings; i++)
                log_warning("%s", d->warnings[i]);
        for (size_t i = 0; i < d->n_errors; i++)
                log_error("%s", d->errors[i]);
}

static int load_config(const char *path, struct config **ret) {
        struct config_diag diag = {};
        int r;

        r = config_load(path, CONFIG_LOAD_SECRETS, &diag, ret);
        log_diagnostics(&diag);
        config_diag_done(&diag);
        return r;
}

static struct event *monitor_event(struct manager *m, enum event_type t) {
        struct event *e = event_new(t, now_usec(CLOCK_REALTIME), NULL, 0, NULL);
        size_t n_deployments = 0;

        for (size_t i = 0; i < m->config->n_projects; i++)
                n_deployments += m->config->projects[i].n_deployments;
        event_add(e, "version", PACKAGE_VERSION);
        event_add(e, "config", m->config_path);
        event_add_int(e, "projects", (int64_t) m->config->n_projects);
        event_add_int(e, "named_deployments", (int64_t) n_deployments);
        event_add_int(e, "webhooks", (int64_t) m->config->n_webhooks);
        event_list_push(&m->pending, e);
        return e;
}

/* "3 deployments: 2 healthy, 1 degraded; 1 alert open; ..." for systemd's STATUS=. */
static void status_line(struct manager *m, char **ret) {
        static const enum health order[] = {
                HEALTH_HEALTHY, HEALTH_PROGRESSING, HEALTH_DEGRADED, HEALTH_FAILED, HEALTH_IDLE,
                HEALTH_DISABLED, HEALTH_DELETING, HEALTH_GONE, HEALTH_UNKNOWN,
        };
        struct monitor_counts c;
        const char *sep = " ";
        size_t size = 0;
        FILE *f = open_memstream(ret, &size);

        if (!f)
                abort();
        if (clustered(m)) {
                const char *leader = cluster_member_leader(m->cluster);
                fprintf(f, "%s (%s)", cluster_member_role(m->cluster), m->cluster_config->cluster.name);
                if (!m->monitor) {
                        fprintf(f, "; leader %s", leader ? leader : "unknown");
                        goto done;
                }
                fprintf(f, "; ");
        }
        monitor_count(m->monitor, &c);
        fprintf(f, "%zu deployment%s:", c.deployments, plural(c.deployments));
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (c.by_health[order[i]] > 0) {
                        fprintf(f, "%s%zu %s", sep, c.by_health[order[i]], health_to_string(order[i]));
                        sep = ", ";
                }
        fprintf(f, "; %zu alert%s open", c.alerts_open, plural(c.alerts_open));
        if (c.accounts_unreachable > 0)
                fprintf(f, "; %zu API account%s unreachable", c.accounts_unreachable, plural(c.accounts_unreachable));
        if (m->config->n_webhooks > 0) {
                size_t b = webhooks_backlogged(m->webhooks);
                fprintf(f, "; %zu webhook%s backlogged", b, plural(b));
        }
        if (c.projects_auth_failed > 0)
                fprintf(f, "; %zu project%s failing authentication", c.projects_auth_failed,
                        plural(c.projects_auth_failed));
done:
        if (fclose(f) != 0)
                abort();
}

void update_status(struct manager *m) {
        _cleanup_free_ char *s = NULL;

        status_line(m, &s);
        if (streq_ptr(s, m->last_status))
                return;
        (void) sd_notifyf(false, "STATUS=%s", s);
        if (clustered(m))
                (void) cluster_member_save(m->cluster, m->config->state_directory);
        free(m->last_status);
        m->last_status = TAKE_PTR(s);
}

static void on_loaded(int r, struct saved_state *s, struct event_list *outbox, struct event_list *dropped,
                      const char *error, void *userdata);
static void start_load(struct manager *m);

static int on_store_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        if (m->loading) {
                start_load(m);
                return 0;
        }
        return commit(m, true);
}

static void open_alerts(void *userdata, struct am_alert **ret, size_t *n) {
        struct manager *m = userdata;

        open_alerts_collect(m->monitor, m->context, ret, n);
}

/* A stopping leader has nothing left to write to etcd (or no longer leads). */
static bool drained(struct manager *m) {
        return !m->store || m->loading ||
               (!cluster_store_busy(m->store) && m->pending.n == 0 && m->inflight.n == 0);
}

static int on_never(sd_event_source *s, uint64_t usec, void *userdata) {
        return 0;
}

/* Runs at the start of every loop iteration, before sd-event arms its timers and waits: after
 * whatever the previous iteration dispatched, as a post source would, but without an iteration
 * of its own (a post source is dispatched like any source: one more epoll_wait per wake-up). */
static int on_prepare(sd_event_source *s, void *userdata) {
        struct manager *m = userdata;
        int r = commit(m, m->stopping);

        if (m->stopping && drained(m))
                (void) sd_event_exit(m->event, 0);
        return r;
}

static int on_drain_end(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        log_warning("Stopping before etcd took the last commit");
        return sd_event_exit(m->event, 0);
}

/* SIGTERM: monitor.stopping is committed like any event; a leader waits (at most STOP_DRAIN)
 * until etcd has it and what was pending, so that the next leader starts from them. */
static int stop(struct manager *m) {
        struct event *e;

        if (m->stopping)
                return 0;
        m->stopping = true;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
        e = monitor_event(m, EVENT_MONITOR_STOPPING);
        event_set_message(e, "inferwatchd stopping");
        m->state_dirty = true;
        if (!m->store || m->loading) {
                commit(m, true);
                return sd_event_exit(m->event, 0);
        }
        (void) sd_event_source_set_time_relative(m->drain_end, STOP_DRAIN);
        (void) sd_event_source_set_enabled(m->drain_end, SD_EVENT_ONESHOT);
        return commit(m, true);
}

static int on_refresh(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        m->state_dirty = true;
        (void) sd_event_source_set_time_relative(s, MAX(m->config->interval, STATE_REFRESH_MIN));
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* Deployments that are no longer watched: their open alerts are resolved. */
static void forget_leftovers(struct manager *m, struct saved_state *s) {
        struct event_list l = {};
        usec_t now = now_usec(CLOCK_REALTIME);

        for (size_t i = 0; i < s->n_watches; i++) {
                struct watch_record *r = &s->watches[i];
                diff_forget(&r->state, r->account ? r->account : "", r->project_id, r->name, now, &l);
        }
        if (l.n > 0)
                m->state_dirty = true;
        event_list_move(&m->pending, &l);
}

static int render_metrics(FILE *f, void *userdata) {
        struct manager *m = userdata;

        return metrics_collect(f, &(const struct metrics_sources) {
                .monitor = m->monitor, .webhooks = m->webhooks, .context = m->context, .events = m->events,
                .cluster_member = clustered(m) ? m->cluster_config->cluster.name : NULL,
                .cluster_leader = clustered(m) && cluster_member_leads(m->cluster) });
}

static bool take_watch(struct watch_record *r, void *userdata) {
        return monitor_import_watch(userdata, r);
}

/* Loads state.json and its outbox (a crash left events unfed: fed first, with their ids). Each
 * deployment's record goes into *mon's watch as it is read, rather than every record first and
 * then the watches (a restart on 100,000: 96 MiB peak, 82 MiB so); when the file is rejected
 * midway, what *mon took goes with it and a fresh monitor starts afresh. */
static int load_state(struct manager *m, struct config *c, struct monitor **mon, struct saved_state *s) {
        _cleanup_free_ char *moved = NULL, *why = NULL;
        int r = 0;

        if (state_load_each(c->state_directory, &(struct state_taker) { take_watch, *mon }, s, &moved, &why) < 0) {
                log_warning("Saved state rejected: %s; moved aside to %s, starting afresh", why,
                            moved ? moved : "(could not move it)");
                *mon = monitor_free(*mon);
                r = monitor_new(m->event, m->http, c, false, mon);
        }
        m->replay_batch = s->batch;
        event_list_move(&m->replay, &s->outbox);
        return r;
}

/* load: the state comes from state.json (else s holds it already). */
static int start_monitor(struct manager *m, struct config *c, struct saved_state *s, bool load) {
        struct monitor *mon;
        int r;

        r = context_new(m->event, m->http, c, &m->context);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event context: %m");
        r = monitor_new(m->event, m->http, c, false, &mon);
        if (r >= 0 && load)
                r = load_state(m, c, &mon, s);
        if (r < 0)
                return log_error_errno(r, "Failed to set up polling: %m");
        r = webhooks_new(m->event, m->http, c, s, open_alerts, m, &m->webhooks);
        if (r < 0) {
                monitor_free(mon);
                return r;
        }
        monitor_import(mon, s);
        m->monitor = mon;
        forget_leftovers(m, s);
        context_start(m->context);
        return monitor_start(mon);
}

static int ensure_state_directory(const char *dir) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (access(dir, W_OK) < 0)
                return -errno;
        return 0;
}

/* Two daemons on one directory would overwrite each other's spool and state. Returns the
 * descriptor holding the lock, or a negative errno, logged. */
static int lock_state_directory(const char *dir) {
        pid_t holder;
        int r = state_lock_acquire(dir, &holder);

        if (r == -EBUSY && holder > 0)
                log_error("State directory %s is in use by inferwatchd pid %ld; only one daemon may use it", dir,
                          (long) holder);
        else if (r == -EBUSY)
                log_error("State directory %s is in use by another inferwatchd; only one daemon may use it", dir);
        else if (r < 0)
                log_error_errno(r, "Cannot lock state directory %s: %m", dir);
        return r;
}

static void start_leading(struct manager *m, struct saved_state *s);

/* A read of the state from etcd failed: retried a second later, LOAD_TRIES_MAX times in a row at
 * most; then this member lets another one try (it may reach etcd better, or read a state that
 * this one cannot), rather than holding the leadership without polling. */
#define LOAD_TRIES_MAX 3
static void load_failed(struct manager *m, const char *error) {
        _cleanup_free_ char *why = NULL;

        if (++m->load_failures < LOAD_TRIES_MAX) {
                log_warning("Cannot read the state from etcd: %s; retrying", error);
                retry_store(m);
                return;
        }
        why = xasprintf("cannot read the state from etcd (%u tries: %s); another member may try",
                        m->load_failures, error);
        cluster_member_abdicate(m->cluster, why);
}

static void start_load(struct manager *m) {
        int r = cluster_store_load(m->store, on_loaded, m);

        if (r < 0)
                load_failed(m, strerror(-r));
}

/* The state and the undelivered batches the last leader left in etcd: the poller starts from
 * them, and the batches are fed first, with their ids (a receiver may see some again). */
static void on_loaded(int r, struct saved_state *s, struct event_list *outbox, struct event_list *dropped,
                      const char *error, void *userdata) {
        struct manager *m = userdata;

        if (r < 0) {
                load_failed(m, error);
                return;
        }
        m->loading = false;
        m->load_failures = 0;
        log_info("Leading from the state in etcd: %zu deployment%s, %zu event%s not known delivered",
                 s->n_watches, plural(s->n_watches), outbox->n, plural(outbox->n));
        event_list_move(&m->replay, outbox);
        event_list_move(&m->load_dropped, dropped);
        if (sd_id128_randomize(&m->replay_batch) < 0)
                abort();
        start_leading(m, s);
        saved_state_done(s);
}

/* This member now leads: the poller and the webhooks start from the state in etcd. */
static void on_elected(void *userdata) {
        struct manager *m = userdata;

        (void) cluster_store_new(cluster_member_etcd(m->cluster), m->cluster_config->cluster.prefix, &m->store);
        cluster_store_set_limits(m->store, m->config->spool_max_size, m->config->spool_max_age);
        m->loading = true;
        m->load_failures = 0;
        start_load(m);
}

static void start_leading(struct manager *m, struct saved_state *s) {
        if (start_monitor(m, m->config, s, false) < 0) {
                log_error("Cannot start polling as the leader");
                m->monitor = monitor_free(m->monitor);
                m->webhooks = webhooks_free(m->webhooks);
                m->context = context_free(m->context);
                /* Nothing can be committed without a poller, and the outbox stays in etcd for
                 * the next leader: let another member lead (on_deposed drops the rest). */
                cluster_member_abdicate(m->cluster, "cannot start polling");
                return;
        }
        /* What the spools would have dropped at once, counted as they count it. */
        if (m->webhooks)
                webhooks_count_dropped(m->webhooks, &m->load_dropped, "older or more than the spool limits allow");
        event_list_clear(&m->load_dropped);
        feed_replay(m);
        m->state_dirty = true;
        free(m->last_status);
        m->last_status = NULL;
        commit(m, true);
}

/* Deposed: nothing more is polled, committed or delivered. What was not committed yet is
 * dropped with its state (the next leader detects it again). */
static void on_deposed(void *userdata, const char *why) {
        struct manager *m = userdata;

        m->monitor = monitor_free(m->monitor);
        m->webhooks = webhooks_free(m->webhooks);
        m->context = context_free(m->context);
        m->store = cluster_store_free(m->store);
        m->loading = false;
        event_list_clear(&m->pending);
        event_list_clear(&m->inflight);
        event_list_clear(&m->replay);
        event_list_clear(&m->load_dropped);
        m->state_dirty = false;
        (void) sd_event_source_set_enabled(m->store_retry, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->lazy_save, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->save_gap_end, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->pending_full, SD_EVENT_OFF);
        update_status(m);
}

/* A cluster.* event: to the journal only, counted with the others. */
static void on_member_event(void *userdata, const struct event *e) {
        struct manager *m = userdata;

        m->events[e->type]++;
        log_event(e);
}

/* The heartbeat points into the configuration: a new one for c, before the old one is freed. */
static void renew_heartbeat(struct manager *m, struct config *c) {
        m->heartbeat = heartbeat_free(m->heartbeat);
        if (heartbeat_new(m->event, m->http, c, &m->monitor, &m->heartbeat) < 0)
                m->heartbeat = NULL;
}

static void reload(struct manager *m) {
        struct config *c = NULL;
        struct monitor *old;
        struct webhooks *old_webhooks;
        struct context *old_context;
        struct config *old_config = m->config;
        struct saved_state s;
        int r, lock = -1;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading configuration",
                          (unsigned long long) now_usec(CLOCK_MONOTONIC));
        r = load_config(m->config_path, &c);
        pausepoint("reload");
        if (r >= 0 && (r = ensure_state_directory(c->state_directory)) < 0)
                log_error_errno(r, "State directory %s is not usable: %m", c->state_directory);
        /* A new state directory is locked before it is used; the old lock is kept until then. */
        if (r >= 0 && !state_lock_is(m->state_lock, c->state_directory))
                r = lock = lock_state_directory(c->state_directory);
        if (r < 0) {
                log_error("Reloading %s failed, keeping the configuration in force", m->config_path);
                config_free(c);
                goto done;
        }

        /* The membership is set up once: a reload keeps the cluster section the daemon started with. */
        if (cluster_config_differs(&(m->cluster_config ? m->cluster_config : m->config)->cluster, &c->cluster))
                log_warning("The cluster section of %s changed: it takes effect at the next restart, the one in "
                            "force is kept until then", m->config_path);
        commit(m, true);
        /* After that commit: a leader whose lease ran out is a follower now (on_deposed). */
        old = m->monitor;
        old_webhooks = m->webhooks;
        old_context = m->context;
        if (!old) {
                /* A member that does not lead has nothing to carry over. */
                renew_heartbeat(m, c);
                if (old_config != m->cluster_config)
                        config_free(old_config);
                m->config = c;
                if (lock >= 0) {
                        (void) close(m->state_lock);
                        m->state_lock = lock;
                }
                goto done;
        }
        monitor_export(old, &s);
        webhooks_export(old_webhooks, &s);
        m->monitor = NULL;
        m->webhooks = NULL;
        m->context = NULL;
        m->config = c;
        r = start_monitor(m, c, &s, false);
        saved_state_done(&s);
        if (r < 0) {
                /* Could not build the new poller: go back to the old one untouched. */
                m->monitor = monitor_free(m->monitor);
                m->webhooks = webhooks_free(m->webhooks);
                m->context = context_free(m->context);
                m->monitor = old;
                m->webhooks = old_webhooks;
                m->context = old_context;
                m->config = old_config;
                config_free(c);
                if (lock >= 0)
                        (void) close(lock);
                log_error("Reloading %s failed, keeping the configuration in force", m->config_path);
                goto done;
        }
        monitor_free(old);
        webhooks_free(old_webhooks);
        context_free(old_context);
        renew_heartbeat(m, c);
        if (old_config != m->cluster_config)
                config_free(old_config);
        if (lock >= 0) {
                (void) close(m->state_lock);
                m->state_lock = lock;
        }
        m->state_dirty = true;
        struct event *e = monitor_event(m, EVENT_MONITOR_RELOADED);
        event_set_message(e, "configuration reloaded from %s: %zu project%s, %zu webhook%s", m->config_path,
                          c->n_projects, plural(c->n_projects), c->n_webhooks, plural(c->n_webhooks));
done:
        free(m->last_status);
        m->last_status = NULL;
        commit(m, true);
        (void) sd_notify(false, "READY=1");
        update_status(m);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                reload(m);
                return 0;
        }
        log_info("Received %s, stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        return stop(m);
}

int manager_new(const struct manager_options *o, struct manager **ret) {
        struct manager *m = xcalloc(1, sizeof(*m));
        struct saved_state s = {};
        int r;

        m->state_lock = -1;
        m->config_path = xstrdup(o->config_path);
        r = load_config(m->config_path, &m->config);
        if (r < 0) {
                log_error("%s is not valid, not starting", m->config_path);
                manager_free(m);
                return -EINVAL;
        }
        r = ensure_state_directory(m->config->state_directory);
        if (r < 0) {
                log_error_errno(r, "State directory %s is not usable: %m", m->config->state_directory);
                goto fail;
        }
        r = m->state_lock = lock_state_directory(m->config->state_directory);
        if (r < 0)
                goto fail;

        /* A loop of our own, not sd_event_default(): every iteration of the default loop checks
         * that it runs in its thread with gettid(2), a system call per wake-up (glibc does not
         * cache it). Nothing else here asks for the default loop. */
        if ((r = sd_event_new(&m->event)) < 0 ||
            (r = sd_event_set_watchdog(m->event, true)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sigterm, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sigint, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sighup, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_signal, m)) < 0 ||
            (r = sd_event_add_time(m->event, &m->prepare, CLOCK_MONOTONIC, USEC_INFINITY, 0, on_never, m)) < 0 ||
            (r = sd_event_source_set_prepare(m->prepare, on_prepare)) < 0 ||
            (r = sd_event_add_time_relative(m->event, &m->refresh, CLOCK_MONOTONIC,
                                            MAX(m->config->interval, STATE_REFRESH_MIN), USEC_PER_SEC, on_refresh,
                                            m)) < 0 ||
            (r = commit_sources_new(m)) < 0 ||
            (r = sd_event_add_time(m->event, &m->store_retry, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC,
                                   on_store_retry, m)) < 0 ||
            (r = sd_event_add_time(m->event, &m->drain_end, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC,
                                   on_drain_end, m)) < 0 ||
            (r = http_client_new(m->event, &m->http)) < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                goto fail;
        }
        (void) sd_event_source_set_enabled(m->prepare, SD_EVENT_ON);
        (void) sd_event_source_set_enabled(m->store_retry, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->drain_end, SD_EVENT_OFF);
        if (m->config->cluster.n_endpoints > 0) {
                /* A follower until etcd says otherwise: config loaded, nothing polled. */
                m->cluster_config = m->config;
                r = cluster_member_new(m->event, m->http, &m->cluster_config->cluster,
                                       &(struct cluster_callbacks) { on_elected, on_deposed, on_member_event }, m,
                                       &m->cluster);
                if (r < 0) {
                        log_error_errno(r, "Failed to set up the cluster membership: %m");
                        goto fail;
                }
        } else if ((r = start_monitor(m, m->config, &s, true)) < 0)
                goto fail;
        r = metrics_http_new(m->event, m->config->metrics.listen, render_metrics, m, &m->metrics);
        if (r < 0 && r != -ENOENT)
                goto fail;
        if (m->metrics)
                log_info("Serving /metrics on port %u", metrics_http_port(m->metrics));
        r = heartbeat_new(m->event, m->http, m->config, &m->monitor, &m->heartbeat);
        if (r < 0 && r != -ENOENT)
                goto fail;
        saved_state_done(&s);
        *ret = m;
        return 0;
fail:
        saved_state_done(&s);
        manager_free(m);
        /* -EINVAL means an invalid configuration to the caller. */
        return r == -EINVAL ? -EIO : r;
}

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        metrics_http_free(m->metrics);
        heartbeat_free(m->heartbeat);
        monitor_free(m->monitor);
        webhooks_free(m->webhooks);
        cluster_store_free(m->store);
        cluster_member_free(m->cluster);
        event_list_clear(&m->inflight);
        sd_event_source_disable_unref(m->store_retry);
        sd_event_source_disable_unref(m->drain_end);
        context_free(m->context);
        http_client_free(m->http);
        event_list_clear(&m->pending);
        event_list_clear(&m->replay);
        event_list_clear(&m->load_dropped);
        sd_event_source_disable_unref(m->sigterm);
        sd_event_source_disable_unref(m->sigint);
        sd_event_source_disable_unref(m->sighup);
        sd_event_source_disable_unref(m->prepare);
        sd_event_source_disable_unref(m->refresh);
        sd_event_source_disable_unref(m->lazy_save);
        sd_event_source_disable_unref(m->save_gap_end);
        sd_event_source_disable_unref(m->pending_full);
        sd_event_unref(m->event);
        if (m->cluster_config != m->config)
                config_free(m->cluster_config);
        config_free(m->config);
        free(m->config_path);
        free(m->last_status);
        if (m->state_lock >= 0)
                (void) close(m->state_lock);
        free(m);
        return NULL;
}

int manager_run(struct manager *m) {
        struct event *e;
        int r;

        /* A crash after a commit's state.json and before its events were all fed: feed them now,
         * with their ids, ahead of anything new. */
        feed_replay(m);
        if (m->cluster)
                (void) cluster_member_start(m->cluster);
        e = monitor_event(m, EVENT_MONITOR_STARTED);
        event_set_message(e, "inferwatchd " PACKAGE_VERSION " started: %zu project%s, %zu webhook%s, polling every %s",
                          m->config->n_projects, plural(m->config->n_projects), m->config->n_webhooks,
                          plural(m->config->n_webhooks), format_duration((char[32]) {}, m->config->interval));
        commit(m, true);
        (void) sd_notify(false, "READY=1");
        update_status(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");

        /* Stopped otherwise than by a signal (an error of the loop): as a signal would. */
        if (!m->stopping) {
                m->stopping = true;
                (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
                e = monitor_event(m, EVENT_MONITOR_STOPPING);
                event_set_message(e, "inferwatchd stopping");
                m->state_dirty = true;
                commit(m, true);
        }
        if (m->cluster)
                cluster_member_stop(m->cluster);
        return r < 0 ? 1 : 0;
}
