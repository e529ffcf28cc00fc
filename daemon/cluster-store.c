#include "cluster-store.h"
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
        char *range_end;
        size_t size;
        int shard;                /* -1: not a shard */
        uint64_t hash;
};

struct cluster_store {
        struct etcd *etcd;
        char *prefix;
        uint64_t shard_hash[CLUSTER_STORE_SHARDS]; /* of what etcd holds, as far as known */
        bool shard_known[CLUSTER_STORE_SHARDS];
        struct cluster_store_stats stats;
        /* the commit in flight */
        struct op *ops;
        size_t n_ops, next, txn_end;
        char *leader_key;         /* base64 */
        int64_t leader_rev;
        cluster_store_done_fn done;
        /* the load in flight */
        cluster_store_loaded_fn loaded;
        struct saved_state loading;
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
        st->n_ops = st->next = st->txn_end = 0;
        st->leader_key = mfree(st->leader_key);
}

struct cluster_store *cluster_store_free(struct cluster_store *st) {
        if (!st)
                return NULL;
        etcd_call_cancel(st->call);
        ops_clear(st);
        saved_state_done(&st->loading);
        free(st->prefix);
        free(st);
        return NULL;
}

bool cluster_store_busy(const struct cluster_store *st) {
        return st->call != NULL;
}

void cluster_store_reset(struct cluster_store *st) {
        memset(st->shard_known, 0, sizeof(st->shard_known));
}

void cluster_store_get_stats(const struct cluster_store *st, struct cluster_store_stats *ret) {
        *ret = st->stats;
}

static void add_op(struct cluster_store *st, char *key, char *value, char *range_end, int shard) {
        struct op *o = array_append(&st->ops, &st->n_ops, sizeof(*o));

        *o = (struct op) { key, value, range_end, value ? strlen(value) : 0, shard, value ? fnv1a(value) : 0 };
}

static void send_txn(struct cluster_store *st);

static void on_txn(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_store *st = userdata;
        struct json_object *ok;
        cluster_store_done_fn done = st->done;

        st->call = NULL;
        if (r >= 0 && !(json_object_object_get_ex(resp, "succeeded", &ok) && json_object_get_boolean(ok)))
                r = -ESTALE;
        if (r < 0) {
                ops_clear(st);
                done(r, r == -ESTALE ? "the leader key is gone (fenced)" : error, st->userdata);
                return;
        }
        st->stats.txns++;
        for (size_t i = st->next; i < st->txn_end; i++) {
                const struct op *o = &st->ops[i];
                if (o->value) {
                        st->stats.puts++;
                        st->stats.bytes += o->size;
                }
                if (o->shard >= 0) {
                        st->shard_hash[o->shard] = o->hash;
                        st->shard_known[o->shard] = true;
                }
        }
        st->next = st->txn_end;
        if (st->next < st->n_ops) {
                send_txn(st);
                return;
        }
        ops_clear(st);
        done(0, NULL, st->userdata);
}

/* The next transaction: from ops[next], as many as fit; a deletion goes alone (a put in its range
 * in the same transaction is refused by etcd). */
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
                struct json_object *req = json_object_new_object(), *op = json_object_new_object();
                if (i > st->next && (!o->value || !st->ops[i - 1].value || size + o->size > TXN_VALUE_MAX ||
                                     i - st->next >= TXN_OPS_MAX)) {
                        json_object_put(req);
                        json_object_put(op);
                        break;
                }
                size += o->size;
                json_object_object_add(req, "key", b64(o->key));
                if (o->value) {
                        json_object_object_add(req, "value", b64(o->value));
                        json_object_object_add(op, "request_put", req);
                } else {
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

int cluster_store_commit(struct cluster_store *st, const struct saved_state *s, const struct event_list *events,
                         sd_id128_t batch, bool drop_delivered, const char *leader_key, int64_t leader_rev,
                         cluster_store_done_fn done, void *userdata) {
        _cleanup_free_ char *outbox = xasprintf("%s/outbox/", st->prefix);
        char **shards;
        char id[37];

        if (st->call)
                return -EBUSY;
        if (drop_delivered)
                add_op(st, xstrdup(outbox), NULL, prefix_end(outbox), -1);
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
                add_op(st, xasprintf("%s%s/%06zu", outbox, event_id_to_string(batch, id), chunk), text, NULL, -1);
        }
        shards = state_shards_json(s, CLUSTER_STORE_SHARDS);
        for (int i = 0; i < CLUSTER_STORE_SHARDS; i++) {
                if (st->shard_known[i] && st->shard_hash[i] == fnv1a(shards[i]))
                        free(shards[i]);
                else
                        add_op(st, xasprintf("%s/state/shard/%02d", st->prefix, i), shards[i], NULL, i);
        }
        free(shards);
        add_op(st, xasprintf("%s/state/header", st->prefix), state_header_json(s), NULL, -1);
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
        struct json_object *kvs, *v;
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
                _cleanup_free_ char *text = NULL;
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

static void on_state(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_store *st = userdata;
        _cleanup_free_ char *header_key = xasprintf("%s/state/header", st->prefix),
                            *shard_prefix = xasprintf("%s/state/shard/", st->prefix), *header = NULL;
        char *shards[CLUSTER_STORE_SHARDS] = {};
        const char *why = NULL;
        struct json_object *kvs, *k, *v;

        st->call = NULL;
        if (r < 0) {
                loaded(st, r, &(struct event_list) {}, error);
                return;
        }
        if (json_object_object_get_ex(resp, "kvs", &kvs))
                for (size_t i = 0; i < json_object_array_length(kvs); i++) {
                        struct json_object *kv = json_object_array_get_idx(kvs, i);
                        _cleanup_free_ char *key = NULL;
                        unsigned n;
                        if (!json_object_object_get_ex(kv, "key", &k) || !json_object_object_get_ex(kv, "value", &v) ||
                            !(key = etcd_unbase64(json_object_get_string(k), NULL)))
                                continue;
                        if (streq(key, header_key))
                                header = etcd_unbase64(json_object_get_string(v), NULL);
                        else if (strncmp(key, shard_prefix, strlen(shard_prefix)) == 0 && sscanf(key + strlen(shard_prefix), "%u", &n) == 1 &&
                                 n < CLUSTER_STORE_SHARDS) {
                                free(shards[n]);
                                shards[n] = etcd_unbase64(json_object_get_string(v), NULL);
                                st->shard_hash[n] = fnv1a(strempty(shards[n]));
                                st->shard_known[n] = true;
                        }
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
        st->loaded = done;
        st->userdata = userdata;
        return etcd_call(st->etcd, "kv/range", range(st->prefix, "state/"), 0, on_state, st, &st->call);
}
