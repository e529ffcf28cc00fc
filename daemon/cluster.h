/* Membership of an etcd cluster of inferwatchd (docs/ha.md): a lease kept alive, a campaign in
 * etcd's election service for "<prefix>/leader", and the local fence: a leader that has not
 * renewed its lease within the TTL stops leading on its own clock, whether or not etcd answers. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "etcd.h"
#include "event.h"

struct cluster_member;

struct cluster_callbacks {
        /* This member now leads: start polling and emitting. */
        void (*elected)(void *userdata);
        /* It no longer does (why: one line): stop at once, emit nothing more. */
        void (*deposed)(void *userdata, const char *why);
        /* A cluster.* event of this member, for its journal only (and its event counts). */
        void (*event)(void *userdata, const struct event *e);
};

int cluster_member_new(sd_event *event, struct http_client *http, const struct cluster *c,
                       const struct cluster_callbacks *cb, void *userdata, struct cluster_member **ret);
/* Resigns the leadership (if held) and revokes the lease without waiting. NULL-safe. */
struct cluster_member *cluster_member_free(struct cluster_member *m);
int cluster_member_start(struct cluster_member *m);
/* At exit: revokes the lease (the leadership with it, so that another member leads at once
 * rather than after the TTL), waiting at most a second. */
void cluster_member_stop(struct cluster_member *m);

bool cluster_member_leads(const struct cluster_member *m);
/* "leader", "follower" or "candidate" (no lease yet: etcd not reached). */
const char *cluster_member_role(const struct cluster_member *m);
/* The leader's member name as last seen in etcd, or NULL. */
const char *cluster_member_leader(const struct cluster_member *m);

/* The etcd client the member uses (for the store of a leader's state). */
struct etcd *cluster_member_etcd(const struct cluster_member *m);
/* While leading: the leader key (base64) and its create revision, which fenced writes compare. */
bool cluster_member_fence(const struct cluster_member *m, const char **ret_key, int64_t *ret_rev);
/* Stops leading at once (a fenced write was refused): deposed is called. */
void cluster_member_abdicate(struct cluster_member *m, const char *why);

/* The file in the state directory where a member notes its role for --status. */
#define CLUSTER_STATUS_FILE "cluster.json"
/* Writes it atomically: {"member", "role", "leader", "written"}. */
int cluster_member_save(const struct cluster_member *m, const char *state_directory);
