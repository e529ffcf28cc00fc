#include <sys/auxv.h>

#include "strtable.h"

#define STRTABLE_MIN 16

/* FNV-1a, started from a per-process random value so that a server cannot choose keys that
 * collide; then a final mix, since the low bits pick the slot. */
static uint64_t key_hash(const char *key) {
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
        for (const char *p = key; *p; p++)
                h = (h ^ (uint8_t) *p) * 0x100000001b3ULL;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
}

static const char *key_of(const struct strtable *t, const void *obj) {
        return (const char *) obj + t->key_offset;
}

/* The slot of key, or the free slot where it would go. */
static size_t slot_of(const struct strtable *t, const char *key) {
        size_t mask = t->size - 1, i = key_hash(key) & mask;

        while (t->slots[i] && !streq(key_of(t, t->slots[i]), key))
                i = (i + 1) & mask;
        return i;
}

void *strtable_find(const struct strtable *t, const char *key) {
        return t->size > 0 ? t->slots[slot_of(t, key)] : NULL;
}

static void grow(struct strtable *t) {
        struct strtable bigger = { .size = MAX(t->size * 2, (size_t) STRTABLE_MIN), .key_offset = t->key_offset };

        bigger.slots = xcalloc(bigger.size, sizeof(void *));
        for (size_t i = 0; i < t->size; i++)
                if (t->slots[i])
                        bigger.slots[slot_of(&bigger, key_of(t, t->slots[i]))] = t->slots[i];
        bigger.n = t->n;
        free(t->slots);
        *t = bigger;
}

void strtable_add(struct strtable *t, void *obj) {
        size_t i;

        if ((t->n + 1) * 4 > t->size * 3)
                grow(t);
        i = slot_of(t, key_of(t, obj));
        if (t->slots[i])
                abort(); /* added twice */
        t->slots[i] = obj;
        t->n++;
}

void strtable_remove(struct strtable *t, void *obj) {
        size_t mask, i;

        if (t->size == 0)
                return;
        mask = t->size - 1;
        i = slot_of(t, key_of(t, obj));
        if (t->slots[i] != obj)
                return;
        t->slots[i] = NULL;
        t->n--;
        /* Moves back the entries after it that could not sit in their own slot, so that every
         * probe still reaches its entry without crossing a free slot. */
        for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
                size_t home = key_hash(key_of(t, t->slots[j])) & mask;
                /* The entry at j may move to i when its home is not in (i, j] (cyclically). */
                if (i <= j ? home <= i || home > j : home <= i && home > j) {
                        t->slots[i] = t->slots[j];
                        t->slots[j] = NULL;
                        i = j;
                }
        }
        if (t->n == 0)
                strtable_done(t);
}

void strtable_done(struct strtable *t) {
        free(t->slots);
        *t = (struct strtable) { .key_offset = t->key_offset };
}
