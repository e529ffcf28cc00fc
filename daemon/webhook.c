#include <sys/stat.h>
#include <syslog.h>

#include "crashpoint.h"
#include "log.h"
#include "sign.h"
#include "spool.h"
#include "webhook.h"

#define RETRY_BASE USEC_PER_SEC
/* Alertmanager forgets an alert that is not re-sent within its resolve_timeout (5 min by
 * default): open alerts are re-posted at least this often. */
#define AM_REPOST_MAX (60 * USEC_PER_SEC)
#define EXCERPT_MAX 200

struct sink {
        struct webhooks *owner;
        const struct webhook *cfg;
        struct spool *spool;
        unsigned char *key;
        size_t key_size;
        char *url;
        struct http_request *req;
        sd_event_source *timer;   /* retry backoff, or the next Alertmanager re-post */
        bool waiting;             /* the timer is a retry backoff */
        bool reposting;           /* the request in flight is a re-post, not the spool head */
        uint64_t sent_seq;        /* the spool entry of the delivery in flight */
        bool disabled;
        unsigned attempt;
        uint64_t delivered, dropped;
        uint64_t failed;          /* attempts that failed and were retried, for /metrics */
        usec_t last_attempt;
        char *last_result;
        usec_t last_repost;
};

struct webhooks {
        sd_event *event;
        usec_t started;           /* CLOCK_REALTIME, the watchdog alert's startsAt */
        struct http_client *http;
        const struct config *cfg;
        struct sink *sinks;
        size_t n_sinks;
        struct spool **spools;    /* the sinks' spools, synced together */
        webhooks_alerts_fn alerts;
        void *alerts_userdata;
        struct event_list events;
        bool dirty;
};

static void kick(struct sink *s);

static struct event *internal_event(struct sink *s, enum event_type t) {
        struct event *e = event_new(t, now_usec(CLOCK_REALTIME), NULL, 0, NULL);

        event_add(e, "webhook", s->cfg->name);
        event_list_push(&s->owner->events, e);
        return e;
}

bool webhook_accepts(const struct webhook *cfg, const struct event *e) {
        bool ok;

        /* Never tell a webhook about webhooks: a failing one would feed itself. */
        if (e->type == EVENT_WEBHOOK_DROPPED || e->type == EVENT_WEBHOOK_DISABLED)
                return false;
        if (!(render_wants(cfg->format, e) || (cfg->n_events > 0 && render_wants_if_named(cfg->format, e))) ||
            e->priority > cfg->min_priority)
                return false;
        if (cfg->n_events > 0) {
                ok = false;
                for (size_t i = 0; i < cfg->n_events && !ok; i++)
                        ok = glob_match(cfg->events[i], event_type_to_string(e->type));
                if (!ok)
                        return false;
        }
        /* Filters on deployments and projects only apply to events that name one. */
        if (cfg->n_deployments > 0 && e->deployment) {
                ok = false;
                for (size_t i = 0; i < cfg->n_deployments && !ok; i++)
                        ok = glob_match(cfg->deployments[i], e->deployment);
                if (!ok)
                        return false;
        }
        if (cfg->n_projects > 0 && e->project_id) {
                ok = false;
                for (size_t i = 0; i < cfg->n_projects && !ok; i++)
                        ok = cfg->projects[i] == e->project_id;
                if (!ok)
                        return false;
        }
        return true;
}

static void set_result(struct sink *s, char *text) {
        free(s->last_result);
        s->last_result = text;
        s->last_attempt = now_usec(CLOCK_REALTIME);
        s->owner->dirty = true;
}

static void arm(struct sink *s, usec_t delay, bool retry) {
        s->waiting = retry;
        (void) sd_event_source_set_time_relative(s->timer, delay);
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static usec_t repost_period(const struct sink *s) {
        return MIN(s->owner->cfg->interval, AM_REPOST_MAX);
}

/* The endsAt of an open alert posted now: AM_HOLD_PERIODS re-posts ahead. */
static usec_t am_open_until(const struct sink *s) {
        return now_usec(CLOCK_REALTIME) + AM_HOLD_PERIODS * repost_period(s);
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        struct sink *s = userdata;

        s->waiting = false;
        kick(s);
        return 0;
}

static usec_t retry_delay(const struct sink *s, usec_t retry_after) {
        return backoff_delay(RETRY_BASE, s->cfg->retry_max_interval, s->attempt, retry_after);
}

static char *excerpt(const struct http_response *r) {
        size_t n = MIN(r->size, (size_t) EXCERPT_MAX);
        char *e;

        /* Never cut a UTF-8 character in two: the excerpt goes into JSON and the journal. */
        if (n < r->size)
                while (n > 0 && ((unsigned char) r->body[n] & 0xC0) == 0x80)
                        n--;
        e = xstrndup(r->body, n);

        for (char *p = e; *p; p++)
                if ((unsigned char) *p < 0x20)
                        *p = ' ';
        return e;
}

/* webhook.dropped: count events will never be delivered, for reason. */
static void report_dropped(struct sink *s, size_t count, const char *reason) {
        struct event *e = internal_event(s, EVENT_WEBHOOK_DROPPED);

        s->dropped += count;
        s->owner->dirty = true;
        event_add(e, "reason", reason);
        event_add_int(e, "count", (int64_t) count);
        if (count == 1)
                event_set_message(e, "webhook %s: event dropped: %s", s->cfg->name, reason);
        else
                event_set_message(e, "webhook %s: %zu events dropped: %s", s->cfg->name, count, reason);
}

static void drop_head(struct sink *s, const char *why) {
        (void) spool_pop(s->spool);
        s->attempt = 0;
        report_dropped(s, 1, why);
}

/* Whether the entry just sent still heads the spool (the spool's limits may have dropped it
 * meanwhile: it was then counted as dropped). */
static bool sent_is_head(const struct sink *s) {
        const struct spool_entry *head = spool_head(s->spool);

        return head && head->seq == s->sent_seq;
}

static void on_delivered(const struct http_response *resp, void *userdata) {
        struct sink *s = userdata;
        long st = resp->status;
        _cleanup_free_ char *what = http_response_describe(resp);
        char b[32];

        s->req = NULL;
        if (resp->result == CURLE_OK && st >= 200 && st < 300) {
                if (sent_is_head(s))
                        (void) spool_pop(s->spool);
                s->delivered++;
                s->attempt = 0;
                set_result(s, xasprintf("HTTP %ld", st));
                kick(s);
                return;
        }
        if (resp->result == CURLE_OK && st == 410) {
                struct event *e = internal_event(s, EVENT_WEBHOOK_DISABLED);
                s->disabled = true;
                event_add_int(e, "http_status", st);
                event_set_message(e, "webhook %s answered 410 Gone: disabled until reload; %zu event%s kept in its spool",
                                  s->cfg->name, s->spool->n, plural(s->spool->n));
                set_result(s, xstrdup("HTTP 410, disabled"));
                return;
        }
        if (resp->result != CURLE_OK || st == 408 || st == 429 || st >= 500) {
                usec_t retry_after = 0, delay;
                if (resp->retry_after)
                        (void) gcore_parse_retry_after(resp->retry_after, now_usec(CLOCK_REALTIME), &retry_after);
                s->attempt++;
                s->failed++;
                delay = retry_delay(s, retry_after);
                set_result(s, xasprintf("%s, retrying in %s (attempt %u)", what, format_duration(b, delay), s->attempt));
                log_full(s->attempt == 1 ? LOG_NOTICE : LOG_DEBUG, "Webhook %s: %s", s->cfg->name, s->last_result);
                arm(s, delay, true);
                return;
        }
        /* Any other answer will not change by asking again. A redirect (http to https, a moved
         * receiver) is not followed: the url must name where the receiver is. */
        _cleanup_free_ char *body = excerpt(resp), *why =
                resp->redirect_origin ? xasprintf("HTTP %ld: a redirect to %s, not followed: set the webhook's url to "
                                                  "where the receiver is", st, resp->redirect_origin)
                                      : xasprintf("HTTP %ld: %s", st, body);
        set_result(s, xasprintf("HTTP %ld, dropped", st));
        if (sent_is_head(s))
                drop_head(s, why);
        kick(s);
}

static void on_reposted(const struct http_response *resp, void *userdata) {
        struct sink *s = userdata;
        _cleanup_free_ char *what = http_response_describe(resp);

        s->req = NULL;
        s->reposting = false;
        if (resp->result != CURLE_OK || resp->status < 200 || resp->status >= 300)
                log_notice("Webhook %s: re-post of open alerts failed: %s", s->cfg->name, what);
        kick(s);
}

static int post(struct sink *s, const char *id, const char *body, http_done_fn done) {
        const char **headers = xcalloc(s->cfg->n_headers + 5, sizeof(char *));
        _cleanup_free_ char *h_id = NULL, *h_ts = NULL, *h_sig = NULL, *sig = NULL;
        size_t n = 0;
        uint64_t ts = now_usec(CLOCK_REALTIME) / USEC_PER_SEC;
        int r;

        headers[n++] = "Content-Type: application/json";
        for (size_t i = 0; i < s->cfg->n_headers; i++)
                headers[n++] = s->cfg->headers[i];
        if (s->key) {
                /* Signed afresh on every attempt: the receiver checks the timestamp's age. */
                sig = sign_standard_webhooks(s->key, s->key_size, id, ts, body, strlen(body));
                headers[n++] = h_id = xasprintf("webhook-id: %s", id);
                headers[n++] = h_ts = xasprintf("webhook-timestamp: %llu", (unsigned long long) ts);
                headers[n++] = h_sig = xasprintf("webhook-signature: %s", sig);
        }
        headers[n] = NULL;
        r = http_request_start(s->owner->http,
                               &(struct http_request_options) {
                                       .url = s->url,
                                       .method = "POST",
                                       .body = body,
                                       .body_size = strlen(body),
                                       .headers = headers,
                                       .ca_file = s->cfg->ca_file,
                                       .connect_timeout = MIN(s->cfg->timeout, 10 * USEC_PER_SEC),
                                       .timeout = s->cfg->timeout,
                                       /* Only an excerpt of an answer is ever shown. */
                                       .max_size = 64 * 1024,
                                       .truncate = true,
                               },
                               done, s, &s->req);
        free(headers);
        s->last_attempt = now_usec(CLOCK_REALTIME);
        return r;
}

static void send_head(struct sink *s) {
        const struct spool_entry *head = spool_head(s->spool);
        _cleanup_free_ char *text = NULL, *body = NULL;
        struct event *e = NULL;
        char id[37];
        int r;

        r = spool_read(s->spool, head, &text);
        if (r < 0 || event_from_json(text, &e) < 0) {
                log_warning("Webhook %s: spooled event %llu is unreadable, dropping it", s->cfg->name,
                            (unsigned long long) head->seq);
                drop_head(s, "unreadable spool entry");
                kick(s);
                return;
        }
        if (s->cfg->format == WEBHOOK_FORMAT_ALERTMANAGER)
                body = render_alertmanager_event(e, now_usec(CLOCK_REALTIME), am_open_until(s));
        else
                body = render_event(s->cfg->format, e);
        s->sent_seq = head->seq;
        r = post(s, event_id_to_string(e->id, id), body, on_delivered);
        event_free(e);
        if (r < 0) {
                s->attempt++;
                set_result(s, xasprintf("could not start the request: %s", strerror(-r)));
                arm(s, retry_delay(s, 0), true);
        }
}

/* The re-post follows the webhook's filters as the alert.firing of each alert did. */
static size_t keep_accepted(const struct webhook *cfg, struct am_alert *alerts, size_t n) {
        size_t kept = 0;

        static const enum event_type types[] = {
                [AM_DEPLOYMENT] = EVENT_ALERT_FIRING,
                [AM_API_UNREACHABLE] = EVENT_API_UNREACHABLE,
                [AM_API_AUTH_FAILED] = EVENT_API_AUTH_FAILED,
        };

        for (size_t i = 0; i < n; i++) {
                struct event e = {
                        .type = types[alerts[i].kind],
                        .priority = event_type_default_priority(types[alerts[i].kind]),
                        .project_id = alerts[i].project_id,
                        .deployment = (char *) alerts[i].deployment,
                };
                if (webhook_accepts(cfg, &e))
                        alerts[kept++] = alerts[i];
        }
        return kept;
}

static void send_repost(struct sink *s) {
        struct am_alert *alerts = NULL;
        size_t n = 0;
        _cleanup_free_ char *body = NULL;
        sd_id128_t rid;
        char id[37];

        s->last_repost = now_usec(CLOCK_MONOTONIC);
        arm(s, repost_period(s), false);
        if (s->owner->alerts) {
                s->owner->alerts(s->owner->alerts_userdata, &alerts, &n);
                n = keep_accepted(s->cfg, alerts, n);
        }
        for (size_t i = 0; i < n && !s->cfg->log_tail; i++)
                alerts[i].without_tail = true;
        if (n == 0 && !s->cfg->watchdog) {
                free(alerts);
                return;
        }
        body = render_alertmanager_open(alerts, n, s->cfg->watchdog ? s->owner->started : 0, am_open_until(s));
        free(alerts);
        if (sd_id128_randomize(&rid) < 0)
                return;
        s->reposting = true;
        if (post(s, event_id_to_string(rid, id), body, on_reposted) < 0)
                s->reposting = false;
}

static void kick(struct sink *s) {
        usec_t now, due;

        if (s->disabled || s->req || s->waiting)
                return;
        if (spool_head(s->spool)) {
                send_head(s);
                return;
        }
        if (s->cfg->format != WEBHOOK_FORMAT_ALERTMANAGER)
                return;
        now = now_usec(CLOCK_MONOTONIC);
        due = s->last_repost + repost_period(s);
        if (now >= due)
                send_repost(s);
        else
                /* A retry backoff may have taken the timer meanwhile: the re-post needs it back,
                 * or open alerts would expire in Alertmanager while nothing else happens. */
                arm(s, due - now, false);
}

static int sink_init(struct webhooks *w, struct sink *s, const struct webhook *cfg, const struct saved_state *saved) {
        _cleanup_free_ char *root = xasprintf("%s/spool", w->cfg->state_directory);
        _cleanup_free_ char *dir = xasprintf("%s/%s", root, cfg->name);
        int r;

        s->owner = w;
        s->cfg = cfg;
        /* The name is a directory under spool/: "." or ".." would put events elsewhere. */
        if (streq(cfg->name, ".") || streq(cfg->name, ".."))
                return log_error_errno(-EINVAL, "Webhook name \"%s\" cannot name its spool directory, rename it",
                                       cfg->name);
        s->url = cfg->format == WEBHOOK_FORMAT_ALERTMANAGER ? render_alertmanager_url(cfg->url) : xstrdup(cfg->url);
        if (cfg->secret) {
                r = sign_key_from_secret(cfg->secret, &s->key, &s->key_size);
                if (r < 0)
                        return log_error_errno(r, "Webhook %s: the signing secret starts with whsec_ but is not base64",
                                               cfg->name);
        }
        if (mkdir(root, 0700) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", root);
        r = spool_open(dir, &s->spool);
        if (r < 0)
                return log_error_errno(r, "Failed to open the spool %s: %m", dir);
        r = sd_event_add_time_relative(w->event, &s->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, s);
        if (r < 0)
                return log_error_errno(r, "Failed to set up a webhook timer: %m");
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        for (size_t i = 0; saved && i < saved->n_webhooks; i++)
                if (streq_ptr(saved->webhooks[i].name, cfg->name)) {
                        s->delivered = saved->webhooks[i].delivered;
                        s->dropped = saved->webhooks[i].dropped;
                        s->last_attempt = saved->webhooks[i].last_attempt;
                        s->last_result = xstrdup(saved->webhooks[i].last_result);
                }
        if (s->spool->n > 0)
                log_info("Webhook %s: %zu undelivered event%s in the spool, delivering", cfg->name, s->spool->n,
                         plural(s->spool->n));
        return 0;
}

int webhooks_new(sd_event *event, struct http_client *http, const struct config *c, const struct saved_state *saved,
                 webhooks_alerts_fn alerts, void *alerts_userdata, struct webhooks **ret) {
        struct webhooks *w = xcalloc(1, sizeof(*w));
        int r;

        w->event = sd_event_ref(event);
        w->started = now_usec(CLOCK_REALTIME);
        w->http = http;
        w->cfg = c;
        w->alerts = alerts;
        w->alerts_userdata = alerts_userdata;
        w->sinks = xcalloc(c->n_webhooks, sizeof(struct sink));
        for (size_t i = 0; i < c->n_webhooks; i++, w->n_sinks++) {
                r = sink_init(w, &w->sinks[i], &c->webhooks[i], saved);
                if (r < 0) {
                        w->n_sinks++;
                        webhooks_free(w);
                        return r;
                }
        }
        w->spools = xcalloc(w->n_sinks, sizeof(struct spool *));
        for (size_t i = 0; i < w->n_sinks; i++)
                w->spools[i] = w->sinks[i].spool;
        for (size_t i = 0; i < w->n_sinks; i++)
                kick(&w->sinks[i]);
        *ret = w;
        return 0;
}

struct webhooks *webhooks_free(struct webhooks *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < w->n_sinks; i++) {
                struct sink *s = &w->sinks[i];
                http_request_cancel(s->req);
                sd_event_source_disable_unref(s->timer);
                spool_free(s->spool);
                if (s->key)
                        explicit_bzero(s->key, s->key_size);
                free(s->key);
                free(s->url);
                free(s->last_result);
        }
        free(w->sinks);
        free(w->spools);
        event_list_clear(&w->events);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

/* The event as spooled for webhooks that opted out of log tails: logs may hold sensitive data,
 * so the tail is not even written to their spools. */
static char *event_to_json_without_tail(const struct event *e) {
        struct event *copy = event_dup(e);
        char *json;

        event_drop(copy, "log_tail");
        json = event_to_json(copy);
        event_free(copy);
        return json;
}

void webhooks_offer(struct webhooks *w, const struct event *e) {
        _cleanup_free_ char *json = NULL, *json_no_tail = NULL;

        for (size_t i = 0; i < w->n_sinks; i++) {
                struct sink *s = &w->sinks[i];
                const char *body;
                int r;

                if (!webhook_accepts(s->cfg, e))
                        continue;
                if (!s->cfg->log_tail && event_get(e, "log_tail")) {
                        if (!json_no_tail)
                                json_no_tail = event_to_json_without_tail(e);
                        body = json_no_tail;
                } else {
                        if (!json)
                                json = event_to_json(e);
                        body = json;
                }
                r = spool_append(s->spool, body, strlen(body), e->time);
                if (r < 0) {
                        _cleanup_free_ char *why = xasprintf("could not be spooled: %s", strerror(-r));
                        report_dropped(s, 1, why);
                }
                w->dirty = true;
        }
}

int webhooks_commit(struct webhooks *w) {
        usec_t now = now_usec(CLOCK_REALTIME);
        int r;

        for (size_t i = 0; i < w->n_sinks; i++) {
                struct sink *s = &w->sinks[i];
                size_t dropped;

                /* Also while the head is in flight (a slow receiver is always busy): its
                 * answer then finds another head, and leaves it be (sent_is_head). */
                dropped = spool_trim(s->spool, w->cfg->spool_max_size, w->cfg->spool_max_age, now);
                if (dropped > 0) {
                        s->attempt = 0;
                        report_dropped(s, dropped, "spool over its size or age limit");
                }
        }
        r = faultpoint("sync");
        if (r >= 0)
                r = spool_sync(w->spools, w->n_sinks);
        if (r < 0)
                log_warning_errno(r, "Failed to sync the webhook spools: %m");
        for (size_t i = 0; i < w->n_sinks; i++)
                kick(&w->sinks[i]);
        return r < 0 ? r : 0;
}

void webhooks_take_events(struct webhooks *w, struct event_list *out) {
        event_list_move(out, &w->events);
}

void webhooks_export(const struct webhooks *w, struct saved_state *s) {
        for (size_t i = 0; i < w->n_sinks; i++) {
                const struct sink *k = &w->sinks[i];
                struct webhook_record *r = array_append(&s->webhooks, &s->n_webhooks, sizeof(*r));
                r->name = xstrdup(k->cfg->name);
                r->delivered = k->delivered;
                r->dropped = k->dropped;
                r->retrying = k->attempt;
                r->backlog = k->spool->n;
                r->disabled = k->disabled;
                r->last_attempt = k->last_attempt;
                r->last_result = xstrdup(k->last_result);
        }
}

size_t webhooks_backlogged(const struct webhooks *w) {
        size_t n = 0;

        for (size_t i = 0; i < w->n_sinks; i++)
                n += w->sinks[i].spool->n > 0 && !w->sinks[i].disabled;
        return n;
}

void webhooks_count_dropped(struct webhooks *w, const struct event_list *l, const char *reason) {
        for (size_t i = 0; i < w->n_sinks; i++) {
                size_t n = 0;
                for (size_t j = 0; j < l->n; j++)
                        n += webhook_accepts(w->sinks[i].cfg, l->items[j]);
                if (n > 0)
                        report_dropped(&w->sinks[i], n, reason);
        }
}

bool webhooks_take_dirty(struct webhooks *w) {
        bool d = w->dirty;

        w->dirty = false;
        return d;
}

void webhooks_foreach(const struct webhooks *w, webhooks_figures_fn fn, void *userdata) {
        for (size_t i = 0; i < w->n_sinks; i++) {
                const struct sink *k = &w->sinks[i];
                const struct spool_entry *head = spool_head(k->spool);
                fn(&(struct webhook_figures) {
                           .name = k->cfg->name,
                           .delivered = k->delivered,
                           .dropped = k->dropped,
                           .failed = k->failed,
                           .backlog = k->spool->n,
                           .backlog_bytes = k->spool->bytes,
                           .oldest = head ? head->time : 0,
                           .disabled = k->disabled,
                   }, userdata);
        }
}
