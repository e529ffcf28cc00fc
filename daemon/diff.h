/* The diff engine: previous state + new observation + clock → new state + events (SPEC §3).
 * Pure: no I/O, no global state; the caller owns every struct. */
#pragma once

#include "event.h"
#include "flap.h"
#include "gcore.h"
#include "health.h"

struct diff_params {
        usec_t stuck_after;
        unsigned alert_for;       /* problem polls in a row before an alert opens */
        unsigned resolve_for;     /* good polls in a row before it resolves */
        usec_t repeat_interval;   /* 0: no reminders */
        unsigned unreachable_after;
        struct flap_params flap;
};

/* Flapping: this many good↔problem flips within the last FLAP_WINDOW polls keep an alert
 * open (or open one) even though no run of problem polls reaches "for". */
#define FLAP_WINDOW 8
#define FLAP_FLIPS 3

struct alert_state {
        bool open;
        sd_id128_t id;            /* the same across firing, reminders and resolved */
        usec_t started;           /* CLOCK_REALTIME */
        usec_t last_notified;     /* firing or last reminder */
        char *severity;           /* "critical" (failed) or "warning" */
        char *summary;            /* the reason when it opened */
        char *regions;            /* regions with errors when it opened, "7" or "1,7"; "" none */
        /* The context its alert.firing carried (NULL: none), which Alertmanager re-posts repeat:
         * the log tail (at most LOGTAIL_MAX bytes), or why there is none, and the capacity hint. */
        char *log_tail;
        char *log_tail_status;
        char *capacity_hint;
};

/* A region whose error changed: (a hash of) the signature of the error before the current one,
 * so that going back to it (ErrImagePull ↔ ImagePullBackOff) is not reported again, as long as
 * it left less than ERROR_RETURN_WINDOW ago: longer than kubelet's 5-minute cap of its image
 * pull back-off, so the two errors of one back-off stay one incident, but an error coming back
 * after a long other one is news again. Kept for this many regions (more are always reported),
 * in an array allocated at a deployment's first error change: most deployments never have one. */
#define ERROR_MEMOS 8
#define ERROR_RETURN_WINDOW (15 * USEC_PER_MINUTE)
struct error_memo {
        int64_t region_id;
        uint64_t signature;       /* 0: a free slot */
        usec_t left;              /* CLOCK_REALTIME when the region left that error */
};

struct watch_state {
        /* In an order without holes: 100,000 of them are kept. */
        struct deployment *snap;  /* last observation; NULL before the first or once gone */
        usec_t status_since;      /* CLOCK_REALTIME start of the current raw status */
        usec_t unsettled_since;   /* CLOCK_REALTIME start of the unsettled run; 0 when settled */
        enum health health;
        uint32_t history;         /* bit 0 = latest poll, 1 = problem */
        uint8_t n_history;
        bool gone;
        bool stuck_reported;
        /* CLOCK_REALTIME seconds since deployment.unobservable; 0: not reported. Seconds, to fit
         * the padding before alert. */
        uint32_t unobservable_since;
        struct alert_state *alert; /* the open alert (allocated while open); NULL when none */
        struct flap_state flap;
        struct error_memo *memos; /* [ERROR_MEMOS] or NULL; not saved: after a restart a return is reported once more */
};

struct api_state {
        unsigned failures;        /* failed polls in a row */
        bool unreachable;
        usec_t unreachable_since; /* CLOCK_REALTIME */
};

/* One poll of a deployment. snap NULL means the API says it does not exist (404, or absent
 * from a complete list). Appends events to out and updates w; the snapshot it stores in w
 * names the deployment with name itself: name must stay valid while w holds that snapshot
 * (the watch's own name), watch_state_copy() copies it. */
void diff_observe(const struct diff_params *p, struct watch_state *w, const char *account,
                  int64_t project_id, const char *name, const struct deployment *snap, usec_t now,
                  struct event_list *out);

/* The deployment left the configuration: an open alert is resolved, nothing else reported. */
void diff_forget(struct watch_state *w, const char *account, int64_t project_id, const char *name,
                 usec_t now, struct event_list *out);

/* Whether w deserves fast_interval: unsettled, a problem, an alert open or a recent problem. */
bool watch_state_wants_fast(const struct watch_state *w);
void watch_state_done(struct watch_state *w);
/* A deep copy of src into dst. */
void watch_state_copy(struct watch_state *dst, const struct watch_state *src);
void alert_state_done(struct alert_state *a);
/* Frees w's alert, if any: it is no longer open. */
void watch_state_close_alert(struct watch_state *w);

/* API reachability of one account (url for messages). */
void diff_api_failure(const struct diff_params *p, struct api_state *s, const char *account,
                      const char *url, const struct api_error *err, usec_t now, struct event_list *out);
void diff_api_success(struct api_state *s, const char *account, const char *url, usec_t now,
                      struct event_list *out);
/* One deployment's own requests failed failures times in a row (the API answers for the
 * others): deployment.unobservable once, at unreachable_after failures, until diff_observable. */
void diff_unobservable(const struct diff_params *p, struct watch_state *w, const char *account,
                       int64_t project_id, const char *name, unsigned failures, const struct api_error *err,
                       usec_t now, struct event_list *out);
/* The deployment answered again (200 or 404): deployment.observable if it was reported. */
void diff_observable(struct watch_state *w, const char *account, int64_t project_id, const char *name,
                     usec_t now, struct event_list *out);
/* Authentication per project: reported once until a poll succeeds again. */
void diff_auth_failure(bool *auth_failed, const char *account, int64_t project_id,
                       const struct api_error *err, usec_t now, struct event_list *out);
void diff_auth_success(bool *auth_failed, const char *account, int64_t project_id, usec_t now,
                       struct event_list *out);
