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
/* Keys per range answer while loading: values are at most etcd's request limit (1.5 MiB by
 * default), so an answer stays near 32 MiB of base64 at worst, half the 64 MiB etcd.c accepts. */
#define PAGE_KEYS 16

enum op_kind {
        OP_OTHER,
        OP_BATCH_DROP,            /* the deletion of one batch: delivered, beyond the limits, or cut */
        OP_CHUNK,                 /* a put of one chunk of a batch's events */
};

struct op {
        char *key;                /* raw */
        char *value;              /* raw, NULL for a deletion of [key, range_end) */
        char *range_end;
        size_t size;
        int shard;                /* -1: not a shard */
        uint64_t hash;
        enum op_kind kind;
        usec_t time;              /* OP_CHUNK: its batch's newest event */
        bool glue;                /* in the same transaction as the op before it */
};

/* A batch in the outbox in etcd, as far as this leader knows (loaded, or written by it). */
struct outbox_batch {
        char *prefix;             /* raw "<prefix>/outbox/<batch>/": its chunks' keys */
        uint64_t bytes;
        usec_t time;              /* CLOCK_REALTIME of its newest event */
        /* Its events were handed to the sinks by this process (loaded and fed at the start, or
         * accepted): deleted once no webhook has a backlog. A batch not fed is one of a commit
         * cut between its transactions, not covered by the header: deleted before the next one. */
        bool fed;
};

/* A chunk read while loading, before they are put in order. */
struct chunk {
        int64_t rev;
        char *key;
        size_t size;
        struct event_list events;
        uint64_t *sizes;          /* of each event's line */
};

struct cluster_store {
        struct etcd *etcd;
        char *prefix;
        uint64_t shard_hash[CLUSTER_STORE_SHARDS]; /* of what etcd holds, as far as known */
        bool shard_known[CLUSTER_STORE_SHARDS];
        char *shard_version[CLUSTER_STORE_SHARDS]; /* of each shard the index names */
        uint64_t seq;             /* of the commits of this process: the shards' version keys */
        struct cluster_store_stats stats;
        uint64_t max_size;        /* the outbox's limits (0: none) */
        usec_t max_age;
        struct outbox_batch *batches; /* oldest first */
        size_t n_batches;
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
        char *page_from;          /* raw: the next page starts at this key */
        size_t page_from_size;
        char *page_end;
        int64_t page_rev;         /* every page at the revision of the first */
        void (*page_kv)(struct cluster_store *st, const char *key, struct json_object *kv);
        void (*page_last)(struct cluster_store *st);
        char *header, *index, *shards[CLUSTER_STORE_SHARDS];
        int64_t header_rev;       /* the mod revision of the header read, 0: none */
        struct chunk *chunks;
        size_t n_chunks;
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
        st->n_ops = st->next = st->txn_end = st->commit_end = 0;
        st->leader_key = mfree(st->leader_key);
        st->batch = mfree(st->batch);
        st->version = mfree(st->version);
}

static void batches_clear(struct cluster_store *st) {
        for (size_t i = 0; i < st->n_batches; i++)
                free(st->batches[i].prefix);
        st->batches = mfree(st->batches);
        st->n_batches = 0;
}

/* What a load in flight gathered. */
static void load_clear(struct cluster_store *st) {
        st->page_from = mfree(st->page_from);
        st->page_end = mfree(st->page_end);
        st->header = mfree(st->header);
        st->index = mfree(st->index);
        for (size_t i = 0; i < CLUSTER_STORE_SHARDS; i++)
                st->shards[i] = mfree(st->shards[i]);
        for (size_t i = 0; i < st->n_chunks; i++) {
                free(st->chunks[i].key);
                free(st->chunks[i].sizes);
                event_list_clear(&st->chunks[i].events);
        }
        st->chunks = mfree(st->chunks);
        st->n_chunks = 0;
}

struct cluster_store *cluster_store_free(struct cluster_store *st) {
        if (!st)
                return NULL;
        etcd_call_cancel(st->call);
        ops_clear(st);
        load_clear(st);
        saved_state_done(&st->loading);
        batches_clear(st);
        cluster_store_reset(st);
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

void cluster_store_set_limits(struct cluster_store *st, uint64_t max_size, usec_t max_age) {
        st->max_size = max_size;
        st->max_age = max_age;
}

static struct op *add_op(struct cluster_store *st, char *key, char *value, char *range_end, int shard) {
        struct op *o = array_append(&st->ops, &st->n_ops, sizeof(*o));

        *o = (struct op) { key, value, range_end, value ? strlen(value) : 0, shard, value ? fnv1a(value) : 0 };
        return o;
}

/* ---- the outbox's bounds ---- */

static bool over_limits(const struct cluster_store *st, uint64_t total, usec_t time, usec_t now) {
        return (st->max_size > 0 && total > st->max_size) || (st->max_age > 0 && time + st->max_age < now);
}

/* A transaction that succeeded: what the outbox in etcd now holds. */
static void note_outbox(struct cluster_store *st, const struct op *o) {
        size_t i;

        switch (o->kind) {
        case OP_BATCH_DROP:
                for (i = 0; i < st->n_batches && !streq(st->batches[i].prefix, o->key); i++)
                        ;
                if (i < st->n_batches) {
                        free(st->batches[i].prefix);
                        memmove(st->batches + i, st->batches + i + 1, (st->n_batches - i - 1) * sizeof(*st->batches));
                        st->n_batches--;
                }
                break;
        case OP_CHUNK: {
                size_t n = (size_t) (strrchr(o->key, '/') - o->key) + 1;
                struct outbox_batch *b = st->n_batches > 0 ? &st->batches[st->n_batches - 1] : NULL;
                if (!b || strlen(b->prefix) != n || strncmp(b->prefix, o->key, n) != 0) {
                        b = array_append(&st->batches, &st->n_batches, sizeof(*b));
                        *b = (struct outbox_batch) { .prefix = xstrndup(o->key, n), .time = o->time };
                }
                b->bytes += o->size;
                break;
        }
        case OP_OTHER:
                break;
        }
}

/* Deletions of the oldest batches while the outbox, with incoming bytes more, is over the
 * limits: it keeps no more than a webhook spool would (whose own limits count the drops).
 * Batches not fed are deleted anyway (cluster_store_commit()). */
static void add_outbox_bounds(struct cluster_store *st, uint64_t incoming) {
        usec_t now = now_usec(CLOCK_REALTIME);
        uint64_t total = incoming;

        for (size_t i = 0; i < st->n_batches; i++)
                if (st->batches[i].fed)
                        total += st->batches[i].bytes;
        for (size_t i = 0; i < st->n_batches && i < TXN_OPS_MAX; i++) {
                const struct outbox_batch *b = &st->batches[i];
                if (!b->fed)
                        continue;
                if (!over_limits(st, total, b->time, now))
                        break;
                add_op(st, xstrdup(b->prefix), NULL, prefix_end(b->prefix), -1)->kind = OP_BATCH_DROP;
                total -= b->bytes;
        }
}

static void send_txn(struct cluster_store *st);

static struct op *add_delete(struct cluster_store *st, const char *from, const char *to) {
        return add_op(st, xstrdup(from), NULL, to ? xstrdup(to) : NULL, -1);
}

static struct outbox_batch *find_batch(struct cluster_store *st, const char *prefix) {
        for (size_t i = 0; i < st->n_batches; i++)
                if (streq(st->batches[i].prefix, prefix))
                        return &st->batches[i];
        return NULL;
}

/* The header and the index are in etcd: the commit is accepted as a whole. */
static void accepted(struct cluster_store *st) {
        struct outbox_batch *b = st->batch ? find_batch(st, st->batch) : NULL;

        for (size_t i = 0; i < st->commit_end; i++) {
                const struct op *o = &st->ops[i];
                if (o->shard < 0)
                        continue;
                st->shard_hash[o->shard] = o->hash;
                st->shard_known[o->shard] = true;
                free(st->shard_version[o->shard]);
                st->shard_version[o->shard] = xstrdup(st->version);
        }
        if (b)
                b->fed = true; /* by done() below */
}

/* A commit that etcd did not take: chunks of its batch may be in etcd (a transaction applied
 * whose answer was lost) without a header covering them. The batch is noted as not fed: the next
 * commit deletes it before its header (its events are committed again, in a new batch). */
static void not_taken(struct cluster_store *st) {
        struct outbox_batch *b;

        if (st->next >= st->commit_end || !st->batch || find_batch(st, st->batch))
                return;
        b = array_append(&st->batches, &st->n_batches, sizeof(*b));
        *b = (struct outbox_batch) { .prefix = TAKE_PTR(st->batch) };
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
        for (size_t i = st->next; i < st->txn_end; i++) {
                const struct op *o = &st->ops[i];
                if (o->value) {
                        st->stats.puts++;
                        st->stats.bytes += o->size;
                }
                note_outbox(st, o);
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
 * glued one after it. Puts and deletions share transactions: no put of a commit falls in a
 * range it deletes (etcd would refuse it). */
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

static char *shard_dir(const struct cluster_store *st, int shard) {
        return xasprintf("%s/state/shard/%04d/", st->prefix, shard);
}

/* The deletion of every version of a shard but the one named key. */
static void delete_other_versions(struct cluster_store *st, int shard, const char *key) {
        _cleanup_free_ char *dir = shard_dir(st, shard), *end = prefix_end(dir), *after = xasprintf("%s\x01", key);

        add_delete(st, dir, key);
        /* The versions after key: no version name goes on past it (they are hex digits). */
        add_delete(st, after, end);
}

static void drop_batch(struct cluster_store *st, const struct outbox_batch *b) {
        _cleanup_free_ char *end = prefix_end(b->prefix);

        add_delete(st, b->prefix, end)->kind = OP_BATCH_DROP;
}

int cluster_store_commit(struct cluster_store *st, const struct saved_state *s, const struct event_list *events,
                         sd_id128_t batch, bool drop_delivered, const char *leader_key, int64_t leader_rev,
                         cluster_store_done_fn done, void *userdata) {
        _cleanup_free_ char *outbox = xasprintf("%s/outbox/", st->prefix), *index = NULL;
        _cleanup_free_ char **texts = NULL;
        size_t n_texts = 0, index_size = 0, first_shard;
        uint64_t bytes = 0;
        usec_t newest = 0;
        char **shards;
        char id[37];
        FILE *fi;

        if (st->call)
                return -EBUSY;
        for (size_t i = 0; i < events->n; ) {
                char *text = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&text, &size);
                if (!f)
                        abort();
                for (; i < events->n && (size_t) ftell(f) < OUTBOX_CHUNK_MAX; i++) {
                        _cleanup_free_ char *json = event_to_json(events->items[i]);
                        fprintf(f, "%s\n", json);
                        newest = MAX(newest, events->items[i]->time);
                }
                if (fclose(f) != 0)
                        abort();
                *(char **) array_append(&texts, &n_texts, sizeof(char *)) = text;
                bytes += size;
        }
        /* The chunks of cut commits first: the header must never cover them. */
        for (size_t i = 0; i < st->n_batches; i++)
                if (!st->batches[i].fed)
                        drop_batch(st, &st->batches[i]);
        if (!drop_delivered)
                add_outbox_bounds(st, bytes);
        /* <prefix>/outbox/<batch>/<chunk>: read back in the order of creation, then of key. */
        if (n_texts > 0)
                st->batch = xasprintf("%s%s/", outbox, event_id_to_string(batch, id));
        for (size_t chunk = 0; chunk < n_texts; chunk++) {
                struct op *o = add_op(st, xasprintf("%s%06zu", st->batch, chunk), texts[chunk], NULL, -1);
                o->kind = OP_CHUNK;
                o->time = newest;
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
        if (drop_delivered)
                for (size_t i = 0; i < st->n_batches; i++)
                        if (st->batches[i].fed)
                                drop_batch(st, &st->batches[i]);
        st->leader_key = xstrdup(leader_key);
        st->leader_rev = leader_rev;
        st->done = done;
        st->userdata = userdata;
        send_txn(st);
        return 0;
}

/* ---- loading ---- */

static void loaded(struct cluster_store *st, int r, struct event_list *outbox, struct event_list *dropped,
                   const char *error) {
        struct saved_state s = st->loading;

        st->loading = (struct saved_state) {};
        if (r < 0) {
                saved_state_done(&s);
                load_clear(st);
                cluster_store_reset(st);
                batches_clear(st);
        }
        st->loaded(r, &s, outbox, dropped, error, st->userdata);
}

static void send_page(struct cluster_store *st);

static void on_page(int r, struct json_object *resp, const char *error, void *userdata) {
        struct cluster_store *st = userdata;
        struct json_object *kvs, *more, *k;
        const char *last = NULL;
        size_t n = 0;

        st->call = NULL;
        if (r >= 0 && faultpoint("load") < 0) {
                r = -EIO;
                error = "fault injected";
        }
        if (r < 0) {
                loaded(st, r, &(struct event_list) {}, &(struct event_list) {}, error);
                return;
        }
        /* Every page at the revision of the first: one consistent picture. */
        if (st->page_rev == 0 && json_object_object_get_ex(resp, "header", &k))
                st->page_rev = etcd_int(k, "revision");
        if (json_object_object_get_ex(resp, "kvs", &kvs))
                n = json_object_array_length(kvs);
        for (size_t i = 0; i < n; i++) {
                struct json_object *kv = json_object_array_get_idx(kvs, i);
                _cleanup_free_ char *key = NULL;
                if (!json_object_object_get_ex(kv, "key", &k) ||
                    !(key = etcd_unbase64(json_object_get_string(k), NULL)))
                        continue;
                last = json_object_get_string(k);
                st->page_kv(st, key, kv);
        }
        if (last && json_object_object_get_ex(resp, "more", &more) && json_object_get_boolean(more)) {
                /* The next page starts right after the last key: the key and a zero byte. */
                free(st->page_from);
                st->page_from = etcd_unbase64(last, &st->page_from_size);
                st->page_from_size++;
                send_page(st);
                return;
        }
        st->page_last(st);
}

static void send_page(struct cluster_store *st) {
        struct json_object *o = json_object_new_object();
        _cleanup_free_ char *from = etcd_base64(st->page_from, st->page_from_size);

        json_object_object_add(o, "key", json_object_new_string(from));
        json_object_object_add(o, "range_end", b64(st->page_end));
        json_object_object_add(o, "limit", json_object_new_int(PAGE_KEYS));
        if (st->page_rev > 0)
                json_object_object_add(o, "revision", json_object_new_int64(st->page_rev));
        if (etcd_call(st->etcd, "kv/range", o, 0, on_page, st, &st->call) < 0) {
                st->call = NULL;
                loaded(st, -EIO, &(struct event_list) {}, &(struct event_list) {}, "cannot start the request");
        }
}

/* Reads every key under <prefix>/<tail> in pages, kv() for each, then last(). */
static void read_range(struct cluster_store *st, const char *tail,
                       void (*kv)(struct cluster_store *st, const char *key, struct json_object *kv),
                       void (*last)(struct cluster_store *st)) {
        free(st->page_from);
        free(st->page_end);
        st->page_from = xasprintf("%s/%s", st->prefix, tail);
        st->page_from_size = strlen(st->page_from);
        st->page_end = prefix_end(st->page_from);
        st->page_kv = kv;
        st->page_last = last;
        send_page(st);
}

static char *value_of(struct json_object *kv) {
        struct json_object *v;

        return json_object_object_get_ex(kv, "value", &v) ? etcd_unbase64(json_object_get_string(v), NULL)
                                                          : xstrdup("");
}

/* The chunks of one batch share their create revision: then the key orders them. */
static int compare_chunk(const void *a, const void *b) {
        const struct chunk *x = a, *y = b;

        if (x->rev != y->rev)
                return x->rev < y->rev ? -1 : 1;
        return strcmp(x->key, y->key);
}

static void outbox_kv(struct cluster_store *st, const char *key, struct json_object *kv) {
        _cleanup_free_ char *text = value_of(kv);
        struct chunk *c;

        if (!text)
                return;
        c = array_append(&st->chunks, &st->n_chunks, sizeof(*c));
        *c = (struct chunk) { .rev = etcd_int(kv, "create_revision"), .key = xstrdup(key), .size = strlen(text) };
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct event *e;
                if (event_from_json(line, &e) < 0) {
                        log_warning("An outbox event in etcd is not an event; skipped");
                        continue;
                }
                event_list_push(&c->events, e);
                c->sizes = xrealloc(c->sizes, c->events.n * sizeof(*c->sizes));
                c->sizes[c->events.n - 1] = strlen(line) + 1;
        }
}

/* Every chunk read: the events in order of creation, the oldest beyond the limits dropped as a
 * spool drops them; the batches noted for the limits of the next commits. */
static void outbox_last(struct cluster_store *st) {
        struct event_list outbox = {}, dropped = {};
        usec_t now = now_usec(CLOCK_REALTIME);
        uint64_t total = 0;

        if (st->n_chunks > 0)
                qsort(st->chunks, st->n_chunks, sizeof(*st->chunks), compare_chunk);
        for (size_t i = 0; i < st->n_chunks; i++)
                for (size_t j = 0; st->chunks[i].rev <= st->header_rev && j < st->chunks[i].events.n; j++)
                        total += st->chunks[i].sizes[j];
        for (size_t i = 0; i < st->n_chunks; i++) {
                struct chunk *c = &st->chunks[i];
                const char *slash = strrchr(c->key, '/');
                size_t n = slash ? (size_t) (slash - c->key) + 1 : strlen(c->key);
                struct outbox_batch *b = st->n_batches > 0 ? &st->batches[st->n_batches - 1] : NULL;
                /* Written after the last header: a commit cut between its transactions, whose
                 * state never got in and whose events nobody was handed. Not fed (its changes
                 * are detected again), deleted before the next header. */
                bool cut = c->rev > st->header_rev;
                if (!b || strlen(b->prefix) != n || strncmp(b->prefix, c->key, n) != 0) {
                        b = array_append(&st->batches, &st->n_batches, sizeof(*b));
                        *b = (struct outbox_batch) { .prefix = xstrndup(c->key, n), .fed = !cut };
                }
                b->bytes += c->size;
                if (cut)
                        continue;
                for (size_t j = 0; j < c->events.n; j++) {
                        struct event *e = c->events.items[j];
                        b->time = MAX(b->time, e->time);
                        if (outbox.n == 0 && over_limits(st, total, e->time, now)) {
                                total -= c->sizes[j];
                                event_list_push(&dropped, e);
                        } else
                                event_list_push(&outbox, e);
                }
                c->events.n = 0;
        }
        load_clear(st);
        loaded(st, 0, &outbox, &dropped, NULL);
        event_list_clear(&outbox);
        event_list_clear(&dropped);
}

/* Keys come in key order: the header, then the index, then the shards, of which only the versions
 * the index names are taken (others are being written, or not yet deleted). */
static void state_kv(struct cluster_store *st, const char *key, struct json_object *kv) {
        _cleanup_free_ char *header_key = xasprintf("%s/state/header", st->prefix),
                            *index_key = xasprintf("%s/state/index", st->prefix),
                            *shard_prefix = xasprintf("%s/state/shard/", st->prefix);
        unsigned n;
        int end = 0;

        if (streq(key, header_key)) {
                free(st->header);
                st->header = value_of(kv);
                st->header_rev = etcd_int(kv, "mod_revision");
        } else if (streq(key, index_key)) {
                free(st->index);
                st->index = value_of(kv);
                for (size_t i = 0, at = 0; st->index && i < CLUSTER_STORE_SHARDS; i++) {
                        const char *line = st->index + at, *nl = strchr(line, '\n');
                        if (!nl)
                                break;
                        free(st->shard_version[i]);
                        st->shard_version[i] = xstrndup(line, (size_t) (nl - line));
                        at += (size_t) (nl - line) + 1;
                }
        } else if (strncmp(key, shard_prefix, strlen(shard_prefix)) == 0 &&
                   sscanf(key + strlen(shard_prefix), "%4u/%n", &n, &end) == 1 && end > 0 &&
                   n < CLUSTER_STORE_SHARDS && st->shard_version[n] &&
                   streq(key + strlen(shard_prefix) + end, st->shard_version[n])) {
                free(st->shards[n]);
                st->shards[n] = value_of(kv);
                st->shard_hash[n] = fnv1a(strempty(st->shards[n]));
                st->shard_known[n] = true;
        }
}

static void state_last(struct cluster_store *st) {
        const char *why = NULL;

        if (st->header && !st->index) {
                log_warning("The state in etcd has no index of its shards; starting from an empty state");
                st->header = mfree(st->header);
        }
        if (st->header && state_from_shards(st->header, st->shards, CLUSTER_STORE_SHARDS, &st->loading, &why) < 0) {
                log_warning("The state in etcd cannot be read (%s); starting from an empty state", why);
                cluster_store_reset(st);
        }
        st->header = mfree(st->header);
        st->index = mfree(st->index);
        for (size_t i = 0; i < CLUSTER_STORE_SHARDS; i++)
                st->shards[i] = mfree(st->shards[i]);
        read_range(st, "outbox/", outbox_kv, outbox_last);
}

int cluster_store_load(struct cluster_store *st, cluster_store_loaded_fn done, void *userdata) {
        if (st->call)
                return -EBUSY;
        load_clear(st);
        saved_state_done(&st->loading);
        st->loading = (struct saved_state) {};
        cluster_store_reset(st);
        batches_clear(st);
        st->header_rev = 0;
        st->loaded = done;
        st->userdata = userdata;
        st->page_rev = 0;
        read_range(st, "state/", state_kv, state_last);
        return 0;
}
