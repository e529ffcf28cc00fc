#include "cluster.h"
#include "event.h"
#include "log.h"

/* Renewals per TTL: one lost renewal still leaves two chances. */
#define RENEWALS_PER_TTL 3
/* The lease counts from when its renewal left, minus this share of the TTL (1/10): the time
 * between the fence's check and an emission, and clock drift, stay within the lease etcd
 * keeps, which counts from when the renewal arrived. */
#define FENCE_MARGIN_DIV 10
#define RETRY_DELAY USEC_PER_SEC

enum role {
        ROLE_CANDIDATE, /* no lease */
        ROLE_FOLLOWER,  /* a lease and a campaign waiting */
        ROLE_LEADER,
};

struct cluster_member {
        sd_event *event;
        const struct cluster *config;
        struct etcd *etcd;
        struct cluster_callbacks cb;
        void *userdata;
        enum role role;
        int64_t lease;              /* 0: none */
        usec_t lease_ttl;           /* as granted */
        usec_t renew_sent;          /* CLOCK_MONOTONIC when the request in flight left */
        usec_t valid_until;         /* CLOCK_MONOTONIC end of the lease as this member counts it */
        char *election;             /* "<prefix>/leader", base64 */
        char *leader_key;           /* ours, base64, while leading */
        int64_t leader_rev;         /* its create revision: what fenced writes compare */
        char *leader_name;          /* the leader's member name as last seen */
        bool unreachable;           /* cluster.etcd_unreachable logged, not yet recovered */
        struct etcd_call *grant, *keepalive, *campaign, *observe;
        sd_event_source *renew_timer, *fence_timer, *retry_timer;
};

static void member_event(struct cluster_member *m, enum event_type t, const char *fmt, ...) _printf_(3, 4);
static void member_event(struct cluster_member *m, enum event_type t, const char *fmt, ...) {
        struct event *e = event_new(t, now_usec(CLOCK_REALTIME), NULL, 0, NULL);
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        event_set_message(e, "%s", msg);
        event_add(e, "member", m->config->name);
        if (m->leader_name)
                event_add(e, "leader", m->leader_name);
        event_add_int(e, "lease_ttl_sec", (int64_t) (m->config->lease_ttl / USEC_PER_SEC));
        if (m->cb.event)
                m->cb.event(m->userdata, e);
        else
                log_event(e);
        event_free(e);
}

static void unreachable(struct cluster_member *m, const char *what, const char *error) {
        if (m->unreachable)
                return;
        m->unreachable = true;
        member_event(m, EVENT_CLUSTER_ETCD_UNREACHABLE, "etcd unreachable (%s: %s); %s", what, error,
                     m->role == ROLE_LEADER ? "still leading until the lease runs out" : "retrying");
}

static void reachable(struct cluster_member *m) {
        if (m->unreachable)
                log_notice("etcd reachable again through %s", etcd_endpoint(m->etcd));
        m->unreachable = false;
}

static void arm(sd_event_source *s, usec_t when) {
        (void) sd_event_source_set_time(s, when);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void start_grant(struct cluster_member *m);
static void start_campaign(struct cluster_member *m);

/* Back to a candidate without a lease: the leadership, if held, ends at once. */
static void lose(struct cluster_member *m, const char *why) {
        bool led = m->role == ROLE_LEADER;

        etcd_call_cancel(m->campaign);
        etcd_call_cancel(m->keepalive);
        m->campaign = m->keepalive = NULL;
        (void) sd_event_source_set_enabled(m->renew_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->fence_timer, SD_EVENT_OFF);
        m->role = ROLE_CANDIDATE;
        m->lease = 0;
        m->leader_key = mfree(m->leader_key);
        if (led) {
                m->cb.deposed(m->userdata, why);
                member_event(m, EVENT_CLUSTER_LEADER_LOST, "%s stopped leading: %s", m->config->name, why);
        } else
                log_info("Cluster lease lost: %s", why);
        arm(m->retry_timer, now_usec(CLOCK_MONOTONIC) + RETRY_DELAY);
}

/* The fence: runs before anything else the loop has pending (SD_EVENT_PRIORITY_IMPORTANT), so
 * that a leader waking from a pause past its lease stops before any timer of the poller or the
 * webhooks, or any response, is handled. */
static int on_fence(sd_event_source *s, uint64_t usec, void *userdata) {
        struct cluster_member *m = userdata;
        char b[32];
        _cleanup_free_ char *why = xasprintf("lease not renewed within its TTL of %s", format_duration(b, m->lease_ttl));

        lose(m, why);
        return 0;
}

static void set_valid_until(struct cluster_member *m, usec_t sent, usec_t ttl) {
        m->lease_ttl = ttl;
        m->valid_until = sent + ttl - ttl / FENCE_MARGIN_DIV;
        arm(m->fence_timer, m->valid_until);
}

static void on_observed(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_member *m = userdata;
        struct json_object *kv, *value;
        _cleanup_free_ char *key = NULL;

        m->observe = NULL;
        if (r < 0 || !json_object_object_get_ex(resp, "kv", &kv))
                return;
        if (json_object_object_get_ex(kv, "value", &value)) {
                free(m->leader_name);
                m->leader_name = etcd_unbase64(json_object_get_string(value), NULL);
        }
        /* Another key leads while this member believes it does: its key was deleted (the lease
         * revoked by an operator, say). */
        if (m->role == ROLE_LEADER && json_object_object_get_ex(kv, "key", &value) &&
            !streq(json_object_get_string(value), m->leader_key))
                lose(m, "another member's key holds the leadership in etcd");
}

static void observe_leader(struct cluster_member *m) {
        struct json_object *o;

        if (m->observe)
                return;
        o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(m->election));
        if (etcd_call(m->etcd, "election/leader", o, 0, on_observed, m, &m->observe) < 0)
                m->observe = NULL;
}

static void on_keepalive(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_member *m = userdata;
        struct json_object *result = NULL;
        int64_t ttl;

        m->keepalive = NULL;
        if (r < 0) {
                unreachable(m, "lease renewal", error);
                arm(m->renew_timer, now_usec(CLOCK_MONOTONIC) + RETRY_DELAY);
                return;
        }
        reachable(m);
        (void) json_object_object_get_ex(resp, "result", &result);
        ttl = etcd_int(result, "TTL");
        if (ttl <= 0) {
                lose(m, "etcd says the lease has expired");
                return;
        }
        set_valid_until(m, m->renew_sent, (usec_t) ttl * USEC_PER_SEC);
        arm(m->renew_timer, m->renew_sent + m->lease_ttl / RENEWALS_PER_TTL);
        observe_leader(m);
}

static int on_renew(sd_event_source *s, uint64_t usec, void *userdata) {
        struct cluster_member *m = userdata;
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "ID", json_object_new_int64(m->lease));
        m->renew_sent = now_usec(CLOCK_MONOTONIC);
        if (etcd_call(m->etcd, "lease/keepalive", o, 0, on_keepalive, m, &m->keepalive) < 0) {
                m->keepalive = NULL;
                arm(m->renew_timer, now_usec(CLOCK_MONOTONIC) + RETRY_DELAY);
        }
        return 0;
}

static void on_campaign(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_member *m = userdata;
        struct json_object *leader, *key;

        m->campaign = NULL;
        if (r < 0 || !json_object_object_get_ex(resp, "leader", &leader) ||
            !json_object_object_get_ex(leader, "key", &key)) {
                if (r == -EHOSTUNREACH)
                        unreachable(m, "campaign", error);
                else
                        log_warning("etcd refused the campaign: %s", error ? error : "no leader key in the answer");
                arm(m->retry_timer, now_usec(CLOCK_MONOTONIC) + RETRY_DELAY);
                return;
        }
        reachable(m);
        /* The campaign may have waited longer than the lease lasts: the fence decides. */
        if (now_usec(CLOCK_MONOTONIC) >= m->valid_until) {
                lose(m, "elected after the lease had run out");
                return;
        }
        free(m->leader_key);
        m->leader_key = xstrdup(json_object_get_string(key));
        m->leader_rev = etcd_int(leader, "rev");
        free(m->leader_name);
        m->leader_name = xstrdup(m->config->name);
        m->role = ROLE_LEADER;
        member_event(m, EVENT_CLUSTER_LEADER_ACQUIRED, "%s leads (lease %" PRIx64 ", through %s)", m->config->name,
                     (uint64_t) m->lease, etcd_endpoint(m->etcd));
        m->cb.elected(m->userdata);
}

static void start_campaign(struct cluster_member *m) {
        struct json_object *o = json_object_new_object();
        _cleanup_free_ char *value = etcd_base64(m->config->name, strlen(m->config->name));

        json_object_object_add(o, "name", json_object_new_string(m->election));
        json_object_object_add(o, "lease", json_object_new_int64(m->lease));
        json_object_object_add(o, "value", json_object_new_string(value));
        if (etcd_call(m->etcd, "election/campaign", o, USEC_INFINITY, on_campaign, m, &m->campaign) < 0) {
                m->campaign = NULL;
                arm(m->retry_timer, now_usec(CLOCK_MONOTONIC) + RETRY_DELAY);
        }
}

static void on_grant(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_member *m = userdata;
        int64_t id = r < 0 ? 0 : etcd_int(resp, "ID"), ttl = r < 0 ? 0 : etcd_int(resp, "TTL");

        m->grant = NULL;
        if (id == 0 || ttl <= 0) {
                unreachable(m, "lease grant", error ? error : "no lease in the answer");
                arm(m->retry_timer, now_usec(CLOCK_MONOTONIC) + RETRY_DELAY);
                return;
        }
        reachable(m);
        m->lease = id;
        m->role = ROLE_FOLLOWER;
        /* Followers keep their lease too: a campaign needs a live one. */
        set_valid_until(m, m->renew_sent, (usec_t) ttl * USEC_PER_SEC);
        arm(m->renew_timer, m->renew_sent + m->lease_ttl / RENEWALS_PER_TTL);
        start_campaign(m);
        observe_leader(m);
}

static void start_grant(struct cluster_member *m) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "TTL", json_object_new_int64((int64_t) (m->config->lease_ttl / USEC_PER_SEC)));
        m->renew_sent = now_usec(CLOCK_MONOTONIC);
        if (etcd_call(m->etcd, "lease/grant", o, 0, on_grant, m, &m->grant) < 0) {
                m->grant = NULL;
                arm(m->retry_timer, now_usec(CLOCK_MONOTONIC) + RETRY_DELAY);
        }
}

/* A failed grant or campaign is retried; a campaign with a lease still valid keeps the lease. */
static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct cluster_member *m = userdata;

        if (m->lease == 0)
                start_grant(m);
        else if (!m->campaign && m->role != ROLE_LEADER)
                start_campaign(m);
        return 0;
}

int cluster_member_new(sd_event *event, struct http_client *http, const struct cluster *c,
                       const struct cluster_callbacks *cb, void *userdata, struct cluster_member **ret) {
        struct cluster_member *m = xcalloc(1, sizeof(*m));
        _cleanup_free_ char *election = xasprintf("%s/leader", c->prefix);
        int r;

        m->event = sd_event_ref(event);
        m->config = c;
        m->cb = *cb;
        m->userdata = userdata;
        m->election = etcd_base64(election, strlen(election));
        if ((r = etcd_new(http, c, &m->etcd)) < 0 ||
            (r = sd_event_add_time(event, &m->renew_timer, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC, on_renew,
                                   m)) < 0 ||
            (r = sd_event_add_time(event, &m->fence_timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_fence, m)) < 0 ||
            (r = sd_event_add_time(event, &m->retry_timer, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC, on_retry,
                                   m)) < 0 ||
            (r = sd_event_source_set_priority(m->fence_timer, SD_EVENT_PRIORITY_IMPORTANT)) < 0) {
                cluster_member_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

struct cluster_member *cluster_member_free(struct cluster_member *m) {
        if (!m)
                return NULL;
        etcd_call_cancel(m->grant);
        etcd_call_cancel(m->keepalive);
        etcd_call_cancel(m->campaign);
        etcd_call_cancel(m->observe);
        sd_event_source_disable_unref(m->renew_timer);
        sd_event_source_disable_unref(m->fence_timer);
        sd_event_source_disable_unref(m->retry_timer);
        etcd_free(m->etcd);
        sd_event_unref(m->event);
        free(m->election);
        free(m->leader_key);
        free(m->leader_name);
        free(m);
        return NULL;
}

int cluster_member_start(struct cluster_member *m) {
        start_grant(m);
        return 0;
}

void cluster_member_stop(struct cluster_member *m) {
        struct json_object *o;

        if (m->lease == 0)
                return;
        o = json_object_new_object();
        json_object_object_add(o, "ID", json_object_new_int64(m->lease));
        if (etcd_call_blocking(m->etcd, "lease/revoke", o, USEC_PER_SEC) >= 0)
                log_info("Cluster lease revoked%s", m->role == ROLE_LEADER ? ": another member may lead now" : "");
        m->lease = 0;
        m->role = ROLE_CANDIDATE;
}

bool cluster_member_leads(const struct cluster_member *m) {
        return m && m->role == ROLE_LEADER && now_usec(CLOCK_MONOTONIC) < m->valid_until;
}

const char *cluster_member_role(const struct cluster_member *m) {
        return m->role == ROLE_LEADER ? "leader" : m->role == ROLE_FOLLOWER ? "follower" : "candidate";
}

const char *cluster_member_leader(const struct cluster_member *m) {
        return m->leader_name;
}

struct etcd *cluster_member_etcd(const struct cluster_member *m) {
        return m->etcd;
}

bool cluster_member_fence(const struct cluster_member *m, const char **ret_key, int64_t *ret_rev) {
        if (!cluster_member_leads(m))
                return false;
        *ret_key = m->leader_key;
        *ret_rev = m->leader_rev;
        return true;
}

void cluster_member_abdicate(struct cluster_member *m, const char *why) {
        if (m->role == ROLE_LEADER)
                lose(m, why);
}

int cluster_member_save(const struct cluster_member *m, const char *state_directory) {
        struct json_object *o = json_object_new_object();
        _cleanup_free_ char *path = xasprintf("%s/" CLUSTER_STATUS_FILE, state_directory);
        char t[32];
        const char *text;
        int r;

        json_object_object_add(o, "member", json_object_new_string(m->config->name));
        json_object_object_add(o, "role", json_object_new_string(cluster_member_role(m)));
        json_object_object_add(o, "leader", m->leader_name ? json_object_new_string(m->leader_name) : NULL);
        json_object_object_add(o, "written", json_object_new_string(format_rfc3339(t, now_usec(CLOCK_REALTIME))));
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        r = write_file_atomic(path, text, strlen(text), 0600);
        json_object_put(o);
        return r;
}
