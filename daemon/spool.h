/* The durable queue of one webhook: one file per event under its spool directory, named by a
 * sequence number so that order survives restarts. Appends are made durable in batches. */
#pragma once

#include "util.h"

struct spool_entry {
        uint64_t seq;
        uint64_t size;
        usec_t time;              /* CLOCK_REALTIME when spooled (the file's mtime) */
};

struct spool {
        char *dir;
        int dir_fd;
        struct spool_entry *entries; /* a ring, oldest first */
        size_t head, n, alloc;
        uint64_t next_seq;
        uint64_t bytes;
        bool unsynced;
};

/* Creates dir if needed and reads what it holds; what a crash left (a temporary file, or an
 * empty one after a power loss) is dropped. */
int spool_open(const char *dir, struct spool **ret);
struct spool *spool_free(struct spool *s);

int spool_append(struct spool *s, const char *data, size_t size, usec_t now);
/* Makes every append so far to these spools durable: one syncfs for the whole batch, since
 * spools live on one file system. */
int spool_sync(struct spool **spools, size_t n);

const struct spool_entry *spool_head(const struct spool *s);
int spool_read(const struct spool *s, const struct spool_entry *e, char **ret);
int spool_pop(struct spool *s);

/* Drops the oldest entries while the spool is above max_size bytes or its head is older than
 * max_age; returns how many were dropped. */
size_t spool_trim(struct spool *s, uint64_t max_size, usec_t max_age, usec_t now);
