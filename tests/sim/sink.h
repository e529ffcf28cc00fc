/* inferwatch-sink: a webhook receiver for tests and the demo. It records every delivery, checks
 * Standard Webhooks signatures, and can be told to fail, stall or hang for a while. */
#pragma once

#include <stdatomic.h>

#include "peer.h"

/* ---- sink-signature.c: Standard Webhooks (https://www.standardwebhooks.com/) ---- */

enum signature_verdict {
        SIGNATURE_UNCHECKED,      /* no secret configured */
        SIGNATURE_MISSING,        /* webhook-id, -timestamp or -signature absent */
        SIGNATURE_VALID,
        SIGNATURE_INVALID,
};

const char *signature_verdict_to_string(enum signature_verdict v);
/* The HMAC key of a secret: the base64-decoded rest of "whsec_...", else the secret's bytes. */
int webhook_key_from_secret(const char *secret, uint8_t **ret, size_t *ret_len);
/* Valid when any "v1,<base64>" entry of the space-separated signature header is the
 * HMAC-SHA256 of "<id>.<timestamp>.<body>". */
enum signature_verdict webhook_verify(const uint8_t *key, size_t key_len, const char *id, const char *timestamp,
                                      const char *signature, const char *body, size_t body_len);
/* Whether webhook-timestamp (unix seconds) is within tolerance of now; -EINVAL if malformed. */
int webhook_timestamp_fresh(const char *timestamp, usec_t now_realtime, usec_t tolerance);

/* ---- sink-deliveries.c: what arrived, in memory and as JSON lines in a file ---- */

struct deliveries {
        struct json_object *all;  /* array of delivery objects */
        FILE *record;             /* NULL: memory only */
};

int deliveries_open(struct deliveries *d, const char *record_path);
void deliveries_close(struct deliveries *d);
/* Takes entry over, numbers it ("index"), appends it to the record file and flushes. */
void deliveries_add(struct deliveries *d, struct json_object *entry);
struct json_object *deliveries_since(const struct deliveries *d, size_t since);
/* Forgets deliveries in memory; the record file keeps them. */
void deliveries_reset(struct deliveries *d);

/* ---- sink-server.c: the daemon, behaviours, control under /_sink/ ---- */

struct behaviour {
        bool active;
        uint64_t generation;      /* changes on every POST/DELETE: releases hung deliveries */
        unsigned status;
        int64_t remaining;        /* deliveries still to affect, -1: no count */
        usec_t expires;           /* CLOCK_MONOTONIC, USEC_INFINITY: no duration */
        char *retry_after;
        char *location;           /* a Location header, verbatim (a redirect) */
        char *body;
        usec_t delay;
        bool hang;
};

struct sink {
        pthread_mutex_t lock;     /* guards deliveries and behaviour */
        struct deliveries deliveries;
        struct behaviour behaviour;
        uint8_t *key;             /* NULL: signatures unchecked */
        size_t key_len;
        struct park_lot park;     /* takes sink->lock inside: never park with it held */
        struct MHD_Daemon *mhd;
        bool verbose;
        atomic_bool stopping;
};

int sink_start(struct sink *s, const struct sockaddr_in *addr, unsigned *ret_port);
void sink_tick(struct sink *s);
void sink_stop(struct sink *s);
void behaviour_done(struct behaviour *b);
