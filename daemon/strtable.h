/* A set of objects by a string inside each (a char array member at key_offset): an
 * open-addressing hash table of pointers, linear probing, at most 3/4 full. For 100,000 of
 * them: 8 to 16 bytes each of one array, where tsearch(3) took a 32-byte node. */
#pragma once

#include "util.h"

struct strtable {
        void **slots;             /* size slots, NULL: free */
        size_t size;              /* 0 or a power of two */
        size_t n;
        size_t key_offset;        /* of the key's first char in each object */
};

#define STRTABLE_INIT(type, member) ((struct strtable) { .key_offset = offsetof(type, member) })

void *strtable_find(const struct strtable *t, const char *key);
/* obj's key must not be in t already. */
void strtable_add(struct strtable *t, void *obj);
/* Nothing when obj is not in t; frees the array when t becomes empty. */
void strtable_remove(struct strtable *t, void *obj);
void strtable_done(struct strtable *t);
