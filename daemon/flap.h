/* Flap detection for every event of a deployment (SPEC §3, noise budget), after monit's
 * "N times within M cycles" and Nagios' flap detection with hysteresis: a deployment flaps when,
 * within the last `window` polls, it came back to a state it had just left more than `returns`
 * times; it stops flapping once nothing changed for `stable` (a duration). A state is a key the
 * caller derives from what matters of a poll (status, health, each region's error signature and
 * whether it serves). Pure: a function of the history in flap_state and the clock. */
#pragma once

#include "util.h"

#define FLAP_HISTORY_MAX 32

/* What changed during a flap, for the message: */
enum {
        FLAP_STATUS = 1 << 0,
        FLAP_HEALTH = 1 << 1,
        FLAP_ERROR = 1 << 2,
        FLAP_READY = 1 << 3,
        FLAP_REGIONS = 1 << 4,
};

struct flap_params {
        unsigned returns;         /* flapping when more returns than this ... */
        unsigned window;          /* ... within the last this many polls (2..FLAP_HISTORY_MAX) */
        usec_t stable;            /* and stable again after this long without a change */
};

/* The defaults of inferwatch.conf(5) (flap_returns, flap_window, flap_stable). */
#define FLAP_PARAMS_DEFAULT ((struct flap_params) { .returns = 1, .window = 10, .stable = 5 * USEC_PER_MINUTE })

/* Error signatures (hashes) a flap episode remembers: a new kind of error during a flap is
 * reported as usual, once per signature, up to this many per episode. */
#define FLAP_SIGNATURES_MAX 8

/* The keys of the last polls, kept only while they differ or the deployment flaps: most
 * deployments never change, and a history of one key repeated needs no array (100,000 of them
 * would take 30 MiB). The flap episode is here too: a flap keeps its history. */
struct flap_history {
        uint64_t keys[FLAP_HISTORY_MAX]; /* keys[0] is the latest poll's */
        uint8_t aspects_of[FLAP_HISTORY_MAX]; /* what each of those polls changed */
        uint64_t signatures[FLAP_SIGNATURES_MAX]; /* seen in this flap episode */
        uint8_t n_signatures;
        uint8_t n_new;            /* of them, new kinds reported during the episode */
        usec_t since;             /* CLOCK_REALTIME start of the flap */
        usec_t last_change;       /* CLOCK_REALTIME of the latest change (kept while flapping) */
        unsigned changes;         /* changes since the flap started */
        unsigned aspects;         /* FLAP_* that changed since the flap started */
        unsigned returns;         /* returns in the window when it started (for the message) */
};

struct flap_state {
        /* NULL: the last n_keys polls all had key and changed nothing; never NULL while
         * flapping (the episode's figures are there). */
        struct flap_history *hist;
        uint64_t key;             /* the latest poll's */
        uint8_t n_keys;
        bool flapping;
};

enum flap_verdict {
        FLAP_CALM,                /* not flapping */
        FLAP_STARTED,             /* this poll started a flap */
        FLAP_ONGOING,             /* still flapping: this poll's changes are part of it */
        FLAP_ENDED,               /* stable for long enough: the flap is over */
};

/* One poll: key is its state, aspects what its events changed (FLAP_*). */
enum flap_verdict flap_observe(const struct flap_params *p, struct flap_state *s, uint64_t key,
                               unsigned aspects, usec_t now);

/* Frees the history, and forgets the flap. */
void flap_state_done(struct flap_state *s);
/* A flap that goes on across a restart: flapping, with a history of no polls (NULL on a state
 * already flapping); for the caller to fill in its figures. */
struct flap_history *flap_state_resume(struct flap_state *s);
/* A deep copy of src into dst. */
void flap_state_copy(struct flap_state *dst, const struct flap_state *src);

/* While s flaps: whether the error signature sig (a hash) is new to this flap episode, recording
 * it; new counts it as a new kind of error reported during the episode (false: the errors the
 * flap started with). False when the episode already holds FLAP_SIGNATURES_MAX signatures. */
bool flap_signature_is_new(struct flap_state *s, uint64_t sig, bool new);
/* New kinds of error reported during the episode (its end tells how many). */
unsigned flap_new_signatures(const struct flap_state *s);

/* Returns within the last window polls: changes to a key seen earlier in the window. */
unsigned flap_returns(const struct flap_state *s, unsigned window);

/* "status, health and errors" for aspects; buf of at least 64 bytes. */
const char *flap_aspects_to_string(unsigned aspects, char buf[static 64]);
