/* The commit path of the manager: the transactional outbox (commit()) and when it runs. */
#include "crashpoint.h"
#include "log.h"
#include "manager-internal.h"
#include "open-alerts.h"
#include "state.h"

/* Delivery figures alone are saved at most this often (a burst delivers thousands a second). */
#define STATE_LAZY_DELAY USEC_PER_SEC
/* A save costs in proportion to the deployments watched (10,000 make 8 MB of JSON), and a burst
 * of changes (the first poll of every deployment, an outage) comes one response per loop
 * iteration: saving after each would be quadratic. So a change that comes within the gap after
 * a save waits for the gap to end, and is then committed with every other change of the gap
 * (commit()). The gap is ten times what the last save took, within
 * these bounds: saves take at most about a tenth of the time, and the first change after a
 * quiet period is flushed at once. */
#define SAVE_GAP_MIN (50 * USEC_PER_MSEC)
/* Events waiting for a postponed save; beyond this many the save happens as soon as the loop has
 * nothing else to dispatch (on_pending_full), or at the end of the gap, not after each answer. */
#define PENDING_MAX 500
#define SAVE_GAP_MAX USEC_PER_SEC

/* Writes state.json: the current state with its outbox, the events of this batch. Only
 * commit() calls it. ret (optional) gets the state as written (a view: use it before anything
 * changes), for the etcd store of a leader. Returns state_save()'s result, logged. */
static int save_state(struct manager *m, sd_id128_t batch, struct saved_state *ret) {
        usec_t started = now_usec(CLOCK_MONOTONIC);
        struct saved_state s;
        int r;

        if (ret)
                monitor_view(m->monitor, &s);
        else
                monitor_stream(m->monitor, &s);
        if (m->webhooks)
                webhooks_export(m->webhooks, &s);
        s.batch = batch;
        s.outbox = m->pending;
        s.outbox_borrowed = true;
        r = state_save(m->config->state_directory, &s);
        if (r < 0)
                log_warning_errno(r, "Failed to save state in %s: %m", m->config->state_directory);
        if (ret)
                *ret = s;
        else
                saved_state_done(&s);
        m->last_save = now_usec(CLOCK_MONOTONIC);
        m->save_gap = MIN(MAX(10 * (m->last_save - started), SAVE_GAP_MIN), SAVE_GAP_MAX);
        return r;
}

/* Whether a save due now must wait for the end of the gap after the last one (the timer then
 * wakes the loop, and the commit after it saves). */
static bool save_postponed(struct manager *m) {
        usec_t until = m->last_save + m->save_gap;
        int enabled = SD_EVENT_OFF;

        if (m->last_save == 0 || now_usec(CLOCK_MONOTONIC) >= until)
                return false;
        (void) sd_event_source_get_enabled(m->save_gap_end, &enabled);
        if (enabled == SD_EVENT_OFF) {
                (void) sd_event_source_set_time(m->save_gap_end, until);
                (void) sd_event_source_set_enabled(m->save_gap_end, SD_EVENT_ONESHOT);
        }
        return true;
}

static void save_lazily(struct manager *m) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(m->lazy_save, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_time_relative(m->lazy_save, STATE_LAZY_DELAY);
        (void) sd_event_source_set_enabled(m->lazy_save, SD_EVENT_ONESHOT);
}

/* Hands a committed batch's events to the sinks: every webhook spool that wants them (made
 * durable together), then the journal; then notes the batch as fed, unless the spools could not
 * be synced (the next start then feeds it again, with the same ids). Empties l. What the spool
 * limits dropped meanwhile (webhook.dropped, for the journal only: no webhook takes it) is
 * logged with the batch: the spool files are gone already, so no state is ahead of it. */
static void feed(struct manager *m, struct event_list *l, sd_id128_t batch) {
        bool durable = true;

        if (m->webhooks && l->n > 0) {
                for (size_t i = 0; i < l->n; i++) {
                        webhooks_offer(m->webhooks, l->items[i]);
                        crashpoint("spool");
                }
                durable = webhooks_commit(m->webhooks) >= 0;
                webhooks_take_events(m->webhooks, l);
        }
        for (size_t i = 0; i < l->n; i++) {
                m->events[l->items[i]->type]++;
                log_event(l->items[i]);
                crashpoint("journal");
        }
        crashpoint("fed");
        if (durable)
                (void) state_save_fed(m->config->state_directory, batch);
        event_list_clear(l);
}

/* Everything outstanding into m->pending: the events of the monitor, the webhooks (webhook.*)
 * and the manager's own are all there, so a commit never leaves one behind. */
static void collect(struct manager *m) {
        size_t n = m->pending.n;

        if (!m->monitor)
                return;
        monitor_take_events(m->monitor, &m->pending);
        if (monitor_take_dirty(m->monitor))
                m->state_dirty = true;
        if (m->webhooks) {
                webhooks_take_events(m->webhooks, &m->pending);
                if (webhooks_take_dirty(m->webhooks))
                        save_lazily(m);
        }
        /* They may wait for the end of the save gap: packed, they take half the room. */
        for (size_t i = n; i < m->pending.n; i++)
                m->pending.items[i] = event_pack(m->pending.items[i]);
}

/* The next commit, a second from now: after an etcd write or a save of state.json that failed
 * (on_store_retry). */
void retry_store(struct manager *m) {
        (void) sd_event_source_set_time_relative(m->store_retry, USEC_PER_SEC);
        (void) sd_event_source_set_enabled(m->store_retry, SD_EVENT_ONESHOT);
}

static bool retry_pending(struct manager *m) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(m->store_retry, &enabled);
        return enabled != SD_EVENT_OFF;
}

static void on_stored(int r, const char *error, void *userdata) {
        struct manager *m = userdata;
        struct event_list l = {};

        if (r == 0) {
                feed(m, &m->inflight, m->inflight_batch);
                update_status(m);
                return;
        }
        if (r == -ESTALE) {
                /* Another member leads: nothing of this batch was accepted. */
                event_list_clear(&m->inflight);
                cluster_member_abdicate(m->cluster, "etcd refused a fenced write: the leader key is gone");
                return;
        }
        /* Not accepted: the events go back ahead of what came since, and are committed again
         * (with the state as it is then) until etcd takes them or the fence stops this member. */
        log_warning("Cannot write the state to etcd: %s; retrying", error);
        event_list_move(&l, &m->inflight);
        event_list_move(&l, &m->pending);
        m->pending = l;
        m->state_dirty = true;
        retry_store(m);
}

/* commit() of a leader: the state (sharded) and the batch's events into etcd in a fenced
 * transaction; fed once etcd has them (on_stored), the same outbox design with etcd as the
 * durable side. state.json is still written, for --status. */
static int store_commit(struct manager *m, sd_id128_t batch) {
        struct saved_state s;
        const char *key;
        int64_t rev;
        bool drop;
        int r;

        if (!cluster_member_fence(m->cluster, &key, &rev))
                return 0;
        cluster_store_set_limits(m->store, m->config->spool_max_size, m->config->spool_max_age);
        save_state(m, batch, &s);
        /* Earlier batches are all delivered (or dropped) when no webhook has a backlog. */
        drop = !m->webhooks || webhooks_backlogged(m->webhooks) == 0;
        s.outbox = (struct event_list) {}; /* the store takes the events from m->inflight */
        event_list_move(&m->inflight, &m->pending);
        m->inflight_batch = batch;
        m->state_dirty = false;
        r = faultpoint("store");
        if (r >= 0)
                r = cluster_store_commit(m->store, &s, &m->inflight, batch, drop, key, rev, on_stored, m);
        saved_state_done(&s);
        if (r < 0)
                on_stored(r, "the write could not start", m);
        return 0;
}

/* The one place that persists state, after every loop iteration that did something (and when
 * the lazy save of delivery figures is due). It is a transactional outbox:
 *
 *   1. collect(): every outstanding event, from every producer, into m->pending;
 *   2. save_state(): state.json = the current state + those events (its outbox), written to a
 *      temporary file, synced, renamed over the old one: both or neither are on disk;
 *   3. feed(): the events into every webhook spool (synced), then the journal;
 *   4. state.json.fed records the batch (a random id, also in state.json) as fed.
 *
 * Since the in-memory state changes only together with the events it implies, and nothing else
 * writes state.json, no state is ever on disk without its events: a crash before 2 loses the
 * changes and their events together (the restarted daemon detects them again; nothing of them
 * was reported), a crash after 2 leaves the events in state.json, and the restarted daemon feeds
 * them again with the ids they had (manager_run), so a receiver or a journal reader may see a
 * repeat with the same id, never a loss. An alert's ALERT_ID is in the same write as its
 * alert.firing, so an alert never fires twice under two ids.
 *
 * Unless now is set, changes that come right after a save wait for the save gap to end
 * (SAVE_GAP_MIN): neither their state nor their events reach disk, a sink or the journal before. */
int commit(struct manager *m, bool now) {
        sd_id128_t batch;

        /* A member that does not lead emits nothing: what it has of its own (monitor.started,
         * monitor.stopping) goes to its journal only. */
        if (clustered(m) && !cluster_member_leads(m->cluster)) {
                /* Still a leader whose lease ran out before its fence fired (a long reload): what
                 * it has pending was never stored in etcd. It stops leading (on_deposed drops
                 * it) rather than emit it. */
                if (m->store) {
                        cluster_member_abdicate(m->cluster, "lease not renewed within its TTL");
                        return 0;
                }
                for (size_t i = 0; i < m->pending.n; i++) {
                        m->events[m->pending.items[i]->type]++;
                        log_event(m->pending.items[i]);
                }
                event_list_clear(&m->pending);
                m->state_dirty = false;
                update_status(m);
                return 0;
        }
        collect(m);
        if (!m->state_dirty && m->pending.n == 0)
                return 0;
        /* A log tail on its way holds every event (and the state they imply) back, briefly. */
        if (m->context)
                context_prepare(m->context, &m->pending);
        if (!now && m->pending.n < PENDING_MAX && m->context && context_waiting(m->context))
                return 0;
        /* After a write that failed, the retry timer commits (on_store_retry): not every loop
         * iteration before it. */
        if (!now && retry_pending(m))
                return 0;
        /* One write to etcd at a time, none while the state is read from it; the completion of
         * the write commits what came meanwhile. */
        if (m->store && (m->loading || cluster_store_busy(m->store)))
                return 0;
        /* The discovery of 10,000 deployments would otherwise hold them all in memory: beyond
         * PENDING_MAX the save comes when no other source is pending (or the gap ends). Not from
         * here: this runs before each dispatch (on_prepare), and one full save per answer of
         * 1,000 discoveries is quadratic (100,000 deployments: 79 saves, 31 s of CPU). After the
         * checks above, so that the idle source is only asked for a save it can make. */
        if (!now && !m->gap_ignored && save_postponed(m)) {
                if (m->pending.n >= PENDING_MAX)
                        (void) sd_event_source_set_enabled(m->pending_full, SD_EVENT_ONESHOT);
                return 0;
        }
        /* The events are final before they are committed: the outbox holds them as reported. */
        if (m->context)
                context_finish(m->context, &m->pending);
        /* In the state of this commit: the alert and the context it fired with, in one write. */
        open_alerts_keep_context(m->monitor, &m->pending);
        if (sd_id128_randomize(&batch) < 0)
                abort();
        if (m->store)
                return store_commit(m, batch);
        if (save_state(m, batch, NULL) < 0) {
                /* Nothing of this batch is on disk: nothing of it is fed either (a restart would
                 * detect it again, under new ids). The events stay pending, the state dirty, and
                 * the commit is tried again a second later, with what came meanwhile. */
                retry_store(m);
                return 0;
        }
        m->state_dirty = false;
        feed(m, &m->pending, batch);
        /* The delivery figures saved are those from before the feed (spooled, dropped by the
         * limits): --status shows the new ones after the lazy save. */
        if (m->webhooks && webhooks_take_dirty(m->webhooks))
                save_lazily(m);
        update_status(m);
        return 0;
}

static int on_lazy_save(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        m->state_dirty = true;
        return commit(m, false);
}

static int on_save_gap_end(sd_event_source *s, uint64_t usec, void *userdata) {
        return commit(userdata, false);
}

/* An idle-priority defer source: dispatched when no other source is pending, so one save takes
 * every answer that came meanwhile (at the normal priority it came after each answer again). */
static int on_pending_full(sd_event_source *s, void *userdata) {
        struct manager *m = userdata;
        int r;

        m->gap_ignored = true;
        r = commit(m, false);
        m->gap_ignored = false;
        return r;
}

void feed_replay(struct manager *m) {
        if (m->replay.n == 0)
                return;
        log_info("Delivering the %zu event%s of the last commit before a crash", m->replay.n, plural(m->replay.n));
        feed(m, &m->replay, m->replay_batch);
}

int commit_sources_new(struct manager *m) {
        int r;

        if ((r = sd_event_add_time_relative(m->event, &m->lazy_save, CLOCK_MONOTONIC, STATE_LAZY_DELAY,
                                            100 * USEC_PER_MSEC, on_lazy_save, m)) < 0 ||
            (r = sd_event_add_time(m->event, &m->save_gap_end, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC,
                                   on_save_gap_end, m)) < 0 ||
            (r = sd_event_add_defer(m->event, &m->pending_full, on_pending_full, m)) < 0 ||
            (r = sd_event_source_set_priority(m->pending_full, SD_EVENT_PRIORITY_IDLE)) < 0)
                return r;
        (void) sd_event_source_set_enabled(m->lazy_save, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->save_gap_end, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->pending_full, SD_EVENT_OFF);
        return 0;
}
