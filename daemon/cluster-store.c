#include "cluster-store.h"
#include "crashpoint.h"
#include "log.h"

/* Raw value bytes per transaction: base64 makes 4/3 of it, which stays below etcd's default
 * request limit of 1.5 MiB with room for the keys and the JSON around them. */
#define TXN_VALUE_MAX (1024 * 1024)
/* The events of one commit are cut into values of at most this size (the discovery of a page of
 * 1,000 deployments makes 1.3 MB of events). */
#define OUTBOX_CHUNK_MAX (256 * 1024)
/* etcd's default --max-txn-ops is 128. */
#define TXN_OPS_MAX 100

struct op {
        char *key;                /* raw */
        char *value;              /* raw, NULL for a deletion of [key, range_end) */
        char *range_end;          /* NULL: the key alone */
        size_t size;
        int shard;                /* -1: not a shard */
        uint64_t hash;
        bool glue;                /* in the same transaction as the op before it */
        bool fed;                 /* the deletion of a batch fed by this process */
};

struct strv {
        char **items;
        size_t n;
};

struct cluster_store {
        struct etcd *etcd;
        char *prefix;
        uint64_t shard_hash[CLUSTER_STORE_SHARDS]; /* of what etcd holds, as far as known */
        bool shard_known[CLUSTER_STORE_SHARDS];
        char *shard_version[CLUSTER_STORE_SHARDS]; /* the key of each shard the index names */
        uint64_t seq;             /* of the commits of this process: the shards' version keys */
        /* Outbox batches ("<prefix>/outbox/<batch>/"): the events of those in fed were handed
         * to the sinks by this process; those in orphans are not covered by the header (a
         * commit cut between its transactions) and go before the next header does. */
        struct strv fed, orphans;
        struct cluster_store_stats stats;
        /* the commit in flight */
        struct op *ops;
        size_t n_ops, next, txn_end;
        size_t commit_end;        /* the ops up to here are the commit itself; after: clean-up */
        char *batch;              /* its outbox batch, NULL when it has no events */
        char *version;            /* of the shards it writes */
        char *leader_key;         /* base64 */
        int64_t leader_rev;
        cluster_store_done_fn done;
        /* the load in flight */
        cluster_store_loaded_fn loaded;
        struct saved_state loading;
        int64_t header_rev;       /* the mod revision of the header loaded, 0: none */
        void *userdata;
        struct etcd_call *call;
};

static uint64_t fnv1a(const char *s) {
        uint64_t h = 14695981039346656037ULL;

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 1099511628211ULL;
        return h;
}

/* The end of the range of every key that starts with prefix. */
static char *prefix_end(const char *prefix) {
        char *end = xstrdup(prefix);

        end[strlen(end) - 1]++;
        return end;
}

static struct json_object *b64(const char *s) {
        _cleanup_free_ char *e = etcd_base64(s, strlen(s));

        return json_object_new_string(e);
}

static void strv_push(struct strv *v, char *s) {
        *(char **) array_append(&v->items, &v->n, sizeof(char *)) = s;
}

static void strv_clear(struct strv *v) {
        for (size_t i = 0; i < v->n; i++)
                free(v->items[i]);
        v->items = mfree(v->items);
        v->n = 0;
}

/* "<prefix>/outbox/<batch>/" of a chunk's key, pushed unless it is the last one already. */
static void push_batch(struct strv *v, const char *chunk_key) {
        const char *slash = strrchr(chunk_key, '/');
        size_t n = slash ? (size_t) (slash - chunk_key) + 1 : strlen(chunk_key);

        if (v->n > 0 && strlen(v->items[v->n - 1]) == n && strncmp(v->items[v->n - 1], chunk_key, n) == 0)
                return;
        strv_push(v, xstrndup(chunk_key, n));
}

static char *shard_dir(const struct cluster_store *st, int shard) {
        return xasprintf("%s/state/shard/%04d/", st->prefix, shard);
}

int cluster_store_new(struct etcd *etcd, const char *prefix, struct cluster_store **ret) {
        struct cluster_store *st = xcalloc(1, sizeof(*st));

        st->etcd = etcd;
        st->prefix = xstrdup(prefix);
        *ret = st;
        return 0;
}

static void ops_clear(struct cluster_store *st) {
        for (size_t i = 0; i < st->n_ops; i++) {
                free(st->ops[i].key);
                free(st->ops[i].value);
                free(st->ops[i].range_end);
        }
        st->ops = mfree(st->ops);
        st->n_ops = st->next = st->txn_end = st->commit_end = 0;
        st->leader_key = mfree(st->leader_key);
        st->batch = mfree(st->batch);
        st->version = mfree(st->version);
}

struct cluster_store *cluster_store_free(struct cluster_store *st) {
        if (!st)
                return NULL;
        etcd_call_cancel(st->call);
        ops_clear(st);
        saved_state_done(&st->loading);
        cluster_store_reset(st);
        strv_clear(&st->fed);
        strv_clear(&st->orphans);
        free(st->prefix);
        free(st);
        return NULL;
}

bool cluster_store_busy(const struct cluster_store *st) {
        return st->call != NULL;
}

void cluster_store_reset(struct cluster_store *st) {
        memset(st->shard_known, 0, sizeof(st->shard_known));
        for (size_t i = 0; i < CLUSTER_STORE_SHARDS; i++)
                st->shard_version[i] = mfree(st->shard_version[i]);
}

void cluster_store_get_stats(const struct cluster_store *st, struct cluster_store_stats *ret) {
        *ret = st->stats;
}

static struct op *add_op(struct cluster_store *st, char *key, char *value, char *range_end, int shard) {
        struct op *o = array_append(&st->ops, &st->n_ops, sizeof(*o));

        *o = (struct op) { key, value, range_end, value ? strlen(value) : 0, shard, value ? fnv1a(value) : 0 };
        return o;
}

static void add_delete(struct cluster_store *st, const char *from, const char *to) {
        add_op(st, xstrdup(from), NULL, to ? xstrdup(to) : NULL, -1);
}

static void send_txn(struct cluster_store *st);

/* The header and the index are in etcd: the commit is accepted as a whole. */
static void accepted(struct cluster_store *st) {
        for (size_t i = 0; i < st->commit_end; i++) {
                const struct op *o = &st->ops[i];
                if (o->shard < 0)
                        continue;
                st->shard_hash[o->shard] = o->hash;
                st->shard_known[o->shard] = true;
                free(st->shard_version[o->shard]);
                st->shard_version[o->shard] = xstrdup(st->version);
        }
        strv_clear(&st->orphans);
        if (st->batch)
                strv_push(&st->fed, TAKE_PTR(st->batch)); /* fed by done() below */
}

/* A commit that etcd did not take: its batch's chunks that did get in are not covered by any
 * header; they go before the next one (its events are committed again, in a new batch). Fed
 * batches whose deletion did not get through are still to delete. */
static void not_taken(struct cluster_store *st) {
        if (st->next < st->commit_end && st->batch)
                strv_push(&st->orphans, TAKE_PTR(st->batch));
        for (size_t i = st->next; i < st->n_ops; i++)
                if (st->ops[i].fed)
                        strv_push(&st->fed, TAKE_PTR(st->ops[i].key));
}

static void on_txn(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_store *st = userdata;
        struct json_object *ok;
        cluster_store_done_fn done = st->done;
        bool committing = st->next < st->commit_end;

        st->call = NULL;
        if (r >= 0 && !(json_object_object_get_ex(resp, "succeeded", &ok) && json_object_get_boolean(ok)))
                r = -ESTALE;
        if (r >= 0 && (r = faultpoint("store-answer")) < 0)
                error = "the answer was lost (test fault)";
        if (r < 0) {
                not_taken(st);
                ops_clear(st);
                if (committing)
                        done(r, r == -ESTALE ? "the leader key is gone (fenced)" : error, st->userdata);
                else
                        log_debug("The clean-up of etcd after a commit failed: %s", r == -ESTALE ? "fenced" : error);
                return;
        }
        st->stats.txns++;
        for (size_t i = st->next; i < st->txn_end; i++)
                if (st->ops[i].value) {
                        st->stats.puts++;
                        st->stats.bytes += st->ops[i].size;
                }
        st->next = st->txn_end;
        if (committing && st->next >= st->commit_end) {
                accepted(st);
                /* The clean-up goes on while the events are fed: one write at a time still. */
                if (st->next < st->n_ops)
                        send_txn(st);
                done(0, NULL, st->userdata);
                if (st->next >= st->n_ops)
                        ops_clear(st);
                return;
        }
        if (st->next < st->n_ops) {
                if (committing && st->batch)
                        crashpoint("store-txn"); /* a commit with events cut between its transactions */
                send_txn(st);
                return;
        }
        ops_clear(st);
}

/* The next transaction: from ops[next], as many as fit, never cutting between an op and the
 * glued one after it. */
static void send_txn(struct cluster_store *st) {
        struct json_object *txn = json_object_new_object(), *cmp = json_object_new_object(),
                           *cmps = json_object_new_array(), *success = json_object_new_array();
        size_t size = 0, i = st->next;
        int r;

        json_object_object_add(cmp, "key", json_object_new_string(st->leader_key));
        json_object_object_add(cmp, "target", json_object_new_string("CREATE"));
        json_object_object_add(cmp, "result", json_object_new_string("EQUAL"));
        json_object_object_add(cmp, "create_revision", json_object_new_int64(st->leader_rev));
        json_object_array_add(cmps, cmp);
        json_object_object_add(txn, "compare", cmps);
        for (; i < st->n_ops; i++) {
                const struct op *o = &st->ops[i];
                struct json_object *req, *op;
                size_t glued = o->size, n = 1;
                for (size_t j = i + 1; j < st->n_ops && st->ops[j].glue; j++, n++)
                        glued += st->ops[j].size;
                if (i > st->next && !o->glue && (size + glued > TXN_VALUE_MAX || i - st->next + n > TXN_OPS_MAX))
                        break;
                size += o->size;
                req = json_object_new_object();
                op = json_object_new_object();
                json_object_object_add(req, "key", b64(o->key));
                if (o->value) {
                        json_object_object_add(req, "value", b64(o->value));
                        json_object_object_add(op, "request_put", req);
                } else {
                        if (o->range_end)
                                json_object_object_add(req, "range_end", b64(o->range_end));
                        json_object_object_add(op, "request_delete_range", req);
                }
                json_object_array_add(success, op);
        }
        json_object_object_add(txn, "success", success);
        st->txn_end = i;
        r = etcd_call(st->etcd, "kv/txn", txn, 0, on_txn, st, &st->call);
        if (r < 0) {
                st->call = NULL;
                on_txn(r, NULL, "cannot start the request", st);
        }
}

/* The deletion of every version of a shard but the one named key. */
static void delete_other_versions(struct cluster_store *st, int shard, const char *key) {
        _cleanup_free_ char *dir = shard_dir(st, shard), *end = prefix_end(dir), *after = xasprintf("%s\x01", key);

        add_delete(st, dir, key);
        /* The versions after key: no version name goes on past it (they are hex digits). */
        add_delete(st, after, end);
}

int cluster_store_commit(struct cluster_store *st, const struct saved_state *s, const struct event_list *events,
                         sd_id128_t batch, bool drop_delivered, const char *leader_key, int64_t leader_rev,
                         cluster_store_done_fn done, void *userdata) {
        _cleanup_free_ char *outbox = xasprintf("%s/outbox/", st->prefix), *index = NULL;
        size_t index_size = 0, first_shard;
        FILE *fi;
        char **shards;
        char id[37];

        if (st->call)
                return -EBUSY;
        /* The chunks of cut commits first: the header must never cover them. */
        for (size_t i = 0; i < st->orphans.n; i++) {
                _cleanup_free_ char *end = prefix_end(st->orphans.items[i]);
                add_delete(st, st->orphans.items[i], end);
        }
        if (events->n > 0)
                st->batch = xasprintf("%s%s/", outbox, event_id_to_string(batch, id));
        /* <prefix>/outbox/<batch>/<chunk>: read back in the order of creation, then of key. */
        for (size_t i = 0, chunk = 0; i < events->n; chunk++) {
                char *text = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&text, &size);
                if (!f)
                        abort();
                for (; i < events->n && (size_t) ftell(f) < OUTBOX_CHUNK_MAX; i++) {
                        _cleanup_free_ char *json = event_to_json(events->items[i]);
                        fprintf(f, "%s\n", json);
                }
                if (fclose(f) != 0)
                        abort();
                add_op(st, xasprintf("%s%06zu", st->batch, chunk), text, NULL, -1);
        }
        /* The changed shards under a new version's keys, which no reader looks at before the
         * index names them. */
        st->version = xasprintf("%016" PRIx64 ".%016" PRIx64, (uint64_t) leader_rev, ++st->seq);
        shards = state_shards_json(s, CLUSTER_STORE_SHARDS);
        first_shard = st->n_ops;
        fi = open_memstream(&index, &index_size);
        if (!fi)
                abort();
        for (int i = 0; i < CLUSTER_STORE_SHARDS; i++) {
                if (st->shard_known[i] && st->shard_version[i] && st->shard_hash[i] == fnv1a(shards[i])) {
                        fprintf(fi, "%s\n", st->shard_version[i]);
                        free(shards[i]);
                        continue;
                }
                fprintf(fi, "%s\n", st->version);
                add_op(st, xasprintf("%s/state/shard/%04d/%s", st->prefix, i, st->version), shards[i], NULL, i);
        }
        free(shards);
        if (fclose(fi) != 0)
                abort();
        /* The commit point: the header and the index of the shards' versions, together. */
        add_op(st, xasprintf("%s/state/header", st->prefix), state_header_json(s), NULL, -1);
        add_op(st, xasprintf("%s/state/index", st->prefix), TAKE_PTR(index), NULL, -1)->glue = true;
        st->commit_end = st->n_ops;
        /* Then the clean-up: the versions the index no longer names, the batches fed. */
        for (size_t i = first_shard; i < st->commit_end; i++)
                if (st->ops[i].shard >= 0) {
                        _cleanup_free_ char *key = xstrdup(st->ops[i].key); /* add_op() moves ops */
                        delete_other_versions(st, st->ops[i].shard, key);
                }
        if (drop_delivered) {
                for (size_t i = 0; i < st->fed.n; i++) {
                        _cleanup_free_ char *end = prefix_end(st->fed.items[i]);
                        struct op *o = add_op(st, TAKE_PTR(st->fed.items[i]), NULL, NULL, -1);
                        o->range_end = TAKE_PTR(end);
                        o->fed = true;
                }
                st->fed.items = mfree(st->fed.items);
                st->fed.n = 0;
        }
        st->leader_key = xstrdup(leader_key);
        st->leader_rev = leader_rev;
        st->done = done;
        st->userdata = userdata;
        send_txn(st);
        return 0;
}

/* ---- loading ---- */

static void loaded(struct cluster_store *st, int r, struct event_list *outbox, const char *error) {
        struct saved_state s = st->loading;

        st->loading = (struct saved_state) {};
        if (r < 0)
                saved_state_done(&s);
        st->loaded(r, &s, outbox, error, st->userdata);
}

/* The chunks of one batch share their create revision: then the key orders them. */
static int compare_kv(const void *a, const void *b) {
        struct json_object *x = *(struct json_object *const *) a, *y = *(struct json_object *const *) b;
        int64_t rx = etcd_int(x, "create_revision"), ry = etcd_int(y, "create_revision");
        struct json_object *kx, *ky;

        if (rx != ry)
                return rx < ry ? -1 : 1;
        if (!json_object_object_get_ex(x, "key", &kx) || !json_object_object_get_ex(y, "key", &ky))
                return 0;
        return strcmp(json_object_get_string(kx), json_object_get_string(ky));
}

static void on_outbox(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_store *st = userdata;
        struct event_list l = {};
        struct json_object *kvs, *k, *v;
        _cleanup_free_ struct json_object **sorted = NULL;
        size_t n = 0;

        st->call = NULL;
        if (r >= 0 && json_object_object_get_ex(resp, "kvs", &kvs)) {
                n = json_object_array_length(kvs);
                sorted = xcalloc(n + 1, sizeof(*sorted));
                for (size_t i = 0; i < n; i++)
                        sorted[i] = json_object_array_get_idx(kvs, i);
                qsort(sorted, n, sizeof(*sorted), compare_kv);
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *text = NULL, *key = NULL;
                if (!json_object_object_get_ex(sorted[i], "key", &k) ||
                    !(key = etcd_unbase64(json_object_get_string(k), NULL)))
                        continue;
                /* Written after the last header: a commit cut between its transactions, whose
                 * state never got in and whose events nobody was handed. Deleted before the next
                 * header, never fed: its changes are detected again. */
                if (etcd_int(sorted[i], "create_revision") > st->header_rev) {
                        push_batch(&st->orphans, key);
                        continue;
                }
                push_batch(&st->fed, key); /* fed when the leading starts */
                if (!json_object_object_get_ex(sorted[i], "value", &v) ||
                    !(text = etcd_unbase64(json_object_get_string(v), NULL)))
                        continue;
                for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                        struct event *e;
                        if (event_from_json(line, &e) >= 0)
                                event_list_push(&l, e);
                        else
                                log_warning("An outbox event in etcd is not an event; skipped");
                }
        }
        loaded(st, r, &l, error);
        event_list_clear(&l);
}

static struct json_object *range(const char *prefix, const char *tail) {
        struct json_object *o = json_object_new_object();
        _cleanup_free_ char *key = xasprintf("%s/%s", prefix, tail), *end = prefix_end(key);

        json_object_object_add(o, "key", b64(key));
        json_object_object_add(o, "range_end", b64(end));
        json_object_object_add(o, "sort_order", json_object_new_string("ASCEND"));
        json_object_object_add(o, "sort_target", json_object_new_string("CREATE"));
        return o;
}

/* The value of the key named (a shard's "<prefix>/state/shard/<NNNN>/<version>"), NULL if
 * absent. */
static char *find_shard(struct json_object *kvs, const char *key) {
        _cleanup_free_ char *want = etcd_base64(key, strlen(key));
        struct json_object *k, *v;

        for (size_t i = 0; i < json_object_array_length(kvs); i++) {
                struct json_object *kv = json_object_array_get_idx(kvs, i);
                if (json_object_object_get_ex(kv, "key", &k) && streq(json_object_get_string(k), want) &&
                    json_object_object_get_ex(kv, "value", &v))
                        return etcd_unbase64(json_object_get_string(v), NULL);
        }
        return NULL;
}

/* The state as the header and the index name it: the shards of the versions the index lists,
 * whatever else a commit cut between its transactions left under <prefix>/state/shard/. */
static void on_state(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_store *st = userdata;
        _cleanup_free_ char *header_key = xasprintf("%s/state/header", st->prefix),
                            *index_key = xasprintf("%s/state/index", st->prefix), *header = NULL, *index = NULL;
        char *shards[CLUSTER_STORE_SHARDS] = {};
        const char *why = NULL;
        struct json_object *kvs, *k, *v;

        st->call = NULL;
        if (r < 0) {
                loaded(st, r, &(struct event_list) {}, error);
                return;
        }
        if (!json_object_object_get_ex(resp, "kvs", &kvs))
                kvs = NULL;
        for (size_t i = 0; kvs && i < json_object_array_length(kvs); i++) {
                struct json_object *kv = json_object_array_get_idx(kvs, i);
                _cleanup_free_ char *key = NULL;
                if (!json_object_object_get_ex(kv, "key", &k) || !json_object_object_get_ex(kv, "value", &v) ||
                    !(key = etcd_unbase64(json_object_get_string(k), NULL)))
                        continue;
                if (streq(key, header_key)) {
                        header = etcd_unbase64(json_object_get_string(v), NULL);
                        st->header_rev = etcd_int(kv, "mod_revision");
                } else if (streq(key, index_key))
                        index = etcd_unbase64(json_object_get_string(v), NULL);
        }
        if (header && !index) {
                log_warning("The state in etcd has no index of its shards; starting from an empty state");
                header = mfree(header);
        }
        for (size_t i = 0, n = 0; header && i < CLUSTER_STORE_SHARDS; i++) {
                const char *line = index + n, *nl = strchr(line, '\n');
                _cleanup_free_ char *key = NULL;
                if (!nl)
                        break;
                n += (size_t) (nl - line) + 1;
                st->shard_version[i] = xstrndup(line, (size_t) (nl - line));
                key = xasprintf("%s/state/shard/%04zu/%s", st->prefix, i, st->shard_version[i]);
                if (!(shards[i] = find_shard(kvs, key)))
                        continue;
                st->shard_hash[i] = fnv1a(shards[i]);
                st->shard_known[i] = true;
        }
        if (header && state_from_shards(header, shards, CLUSTER_STORE_SHARDS, &st->loading, &why) < 0) {
                log_warning("The state in etcd cannot be read (%s); starting from an empty state", why);
                cluster_store_reset(st);
        }
        for (size_t i = 0; i < CLUSTER_STORE_SHARDS; i++)
                free(shards[i]);
        if (etcd_call(st->etcd, "kv/range", range(st->prefix, "outbox/"), 0, on_outbox, st, &st->call) < 0) {
                st->call = NULL;
                loaded(st, -EIO, &(struct event_list) {}, "cannot start the request");
        }
}

int cluster_store_load(struct cluster_store *st, cluster_store_loaded_fn done, void *userdata) {
        if (st->call)
                return -EBUSY;
        cluster_store_reset(st);
        strv_clear(&st->fed);
        strv_clear(&st->orphans);
        st->header_rev = 0;
        st->loaded = done;
        st->userdata = userdata;
        return etcd_call(st->etcd, "kv/range", range(st->prefix, "state/"), 0, on_state, st, &st->call);
}
