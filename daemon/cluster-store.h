/* The leader's state and its accepted events in etcd (docs/ha.md): the state header, the index
 * of the shards' versions and 64 shards of deployment lines under <prefix>/state/, each commit's
 * events under <prefix>/outbox/<batch>/ until every webhook has delivered them. Every write is a
 * transaction fenced on the leader key's create revision; only what changed is written. A
 * commit is accepted when its header and index are in etcd, in one transaction, its last: a
 * reader sees the state of the last accepted commit and the outboxes written up to it, never
 * what a commit cut between its transactions left. */
#pragma once

#include "etcd.h"
#include "state.h"

#define CLUSTER_STORE_SHARDS 64

struct cluster_store;

struct cluster_store_stats {
        uint64_t txns;            /* transactions sent and accepted */
        uint64_t puts;            /* keys written */
        uint64_t bytes;           /* values written (before base64) */
};

int cluster_store_new(struct etcd *etcd, const char *prefix, struct cluster_store **ret);
/* Cancels what is in flight (no callback). NULL-safe. */
struct cluster_store *cluster_store_free(struct cluster_store *st);

/* The limits of the outbox in etcd, those of a webhook spool (spool_max_size, spool_max_age;
 * 0: none): a load drops the oldest events beyond them, a commit deletes the oldest batches. */
void cluster_store_set_limits(struct cluster_store *st, uint64_t max_size, usec_t max_age);

/* r: 0, or -EHOSTUNREACH/-EPROTO (error says why). On success *s is the state (empty when etcd
 * holds none), *outbox the events of every batch not yet known delivered, oldest first, and
 * *dropped the older ones beyond the limits; the callee takes all three and feeds the events
 * before its next commit. The keys are read in pages of a few values at one revision, so that no
 * answer comes near the size limit. Batches written after the header are left out (a commit cut
 * between its transactions: nobody was handed their events, and the state does not have their
 * changes); the next commit deletes them. */
typedef void (*cluster_store_loaded_fn)(int r, struct saved_state *s, struct event_list *outbox,
                                        struct event_list *dropped, const char *error, void *userdata);
int cluster_store_load(struct cluster_store *st, cluster_store_loaded_fn done, void *userdata);

/* r: 0 when the whole commit is in etcd, -ESTALE when the fence refused it (this member no
 * longer leads), -EHOSTUNREACH/-EPROTO when etcd did not take it (error says why). */
typedef void (*cluster_store_done_fn)(int r, const char *error, void *userdata);
/* Serialises s and events at once, then writes: the deletion of batches left by cut commits and,
 * unless drop_delivered, of the oldest batches beyond the limits; the events of this batch, the
 * changed shards under new version keys, and last the header with the index naming those
 * versions: in one transaction when they fit in etcd's request limits, else in several. done()
 * is called once the header is in; the clean-up goes on after it (busy meanwhile): the versions
 * no longer named and, when drop_delivered (no webhook has a backlog), the batches this process
 * fed (loaded or committed), never another one. One commit at a time. */
int cluster_store_commit(struct cluster_store *st, const struct saved_state *s, const struct event_list *events,
                         sd_id128_t batch, bool drop_delivered, const char *leader_key, int64_t leader_rev,
                         cluster_store_done_fn done, void *userdata);
bool cluster_store_busy(const struct cluster_store *st);
/* Forgets what it believes etcd holds of the state: the next commit writes every shard. */
void cluster_store_reset(struct cluster_store *st);
void cluster_store_get_stats(const struct cluster_store *st, struct cluster_store_stats *ret);
