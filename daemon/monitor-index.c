/* A project's watches by name: an open-addressing hash table of pointers (linear probing, at
 * most 3/4 full). tsearch(3) took a 32-byte node per deployment (24 and malloc's header); this
 * takes 8 to 16 bytes of one array per project. */
#include <sys/auxv.h>

#include "monitor-internal.h"

#define INDEX_MIN 16

/* FNV-1a, started from a per-process random value so that a server cannot choose names that
 * collide; then a final mix, since the low bits pick the slot. */
static uint64_t name_hash(const char *name) {
        static uint64_t seed;
        uint64_t h;

        if (seed == 0) {
                const uint8_t *r = (const uint8_t *) getauxval(AT_RANDOM);
                seed = 0xcbf29ce484222325ULL;
                if (r)
                        for (size_t i = 0; i < 8; i++)
                                seed = (seed ^ r[i]) * 0x100000001b3ULL;
                seed |= 1;
        }
        h = seed;
        for (const char *p = name; *p; p++)
                h = (h ^ (uint8_t) *p) * 0x100000001b3ULL;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
}

/* The slot of name, or the free slot where it would go. */
static size_t slot_of(const struct watch_index *x, const char *name) {
        size_t mask = x->size - 1, i = name_hash(name) & mask;

        while (x->slots[i] && !streq(x->slots[i]->name, name))
                i = (i + 1) & mask;
        return i;
}

struct watch *watch_index_find(const struct watch_index *x, const char *name) {
        return x->size > 0 ? x->slots[slot_of(x, name)] : NULL;
}

static void grow(struct watch_index *x) {
        struct watch_index bigger = { .size = MAX(x->size * 2, (size_t) INDEX_MIN) };

        bigger.slots = xcalloc(bigger.size, sizeof(struct watch *));
        for (size_t i = 0; i < x->size; i++)
                if (x->slots[i])
                        bigger.slots[slot_of(&bigger, x->slots[i]->name)] = x->slots[i];
        bigger.n = x->n;
        free(x->slots);
        *x = bigger;
}

void watch_index_add(struct watch_index *x, struct watch *w) {
        if ((x->n + 1) * 4 > x->size * 3)
                grow(x);
        size_t i = slot_of(x, w->name);
        if (x->slots[i])
                abort(); /* added twice */
        x->slots[i] = w;
        x->n++;
}

void watch_index_remove(struct watch_index *x, struct watch *w) {
        size_t mask, i, j;

        if (x->size == 0)
                return;
        mask = x->size - 1;
        i = slot_of(x, w->name);
        if (x->slots[i] != w)
                return;
        x->slots[i] = NULL;
        x->n--;
        /* Moves back the entries after it that could not sit in their own slot, so that every
         * probe still reaches its entry without crossing a free slot. */
        for (j = (i + 1) & mask; x->slots[j]; j = (j + 1) & mask) {
                size_t home = name_hash(x->slots[j]->name) & mask;
                /* The entry at j may move to i when its home is not in (i, j] (cyclically). */
                if (i <= j ? home <= i || home > j : home <= i && home > j) {
                        x->slots[i] = x->slots[j];
                        x->slots[j] = NULL;
                        i = j;
                }
        }
        if (x->n == 0)
                watch_index_done(x);
}

void watch_index_done(struct watch_index *x) {
        free(x->slots);
        *x = (struct watch_index) {};
}
