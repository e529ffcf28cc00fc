#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "spool.h"

#define SUFFIX ".json"

static int compare_entry(const void *a, const void *b) {
        uint64_t x = ((const struct spool_entry *) a)->seq, y = ((const struct spool_entry *) b)->seq;

        return x < y ? -1 : x > y;
}

static struct spool_entry *at(const struct spool *s, size_t i) {
        return &s->entries[(s->head + i) % s->alloc];
}

static void push(struct spool *s, struct spool_entry e) {
        if (s->n == s->alloc) {
                size_t alloc = s->alloc ? s->alloc * 2 : 64;
                struct spool_entry *n = xcalloc(alloc, sizeof(*n));
                for (size_t i = 0; i < s->n; i++)
                        n[i] = *at(s, i);
                free(s->entries);
                s->entries = n;
                s->alloc = alloc;
                s->head = 0;
        }
        *at(s, s->n++) = e;
        s->bytes += e.size;
}

static char *entry_name(uint64_t seq) {
        return xasprintf("%016llu" SUFFIX, (unsigned long long) seq);
}

int spool_open(const char *dir, struct spool **ret) {
        struct spool *s;
        DIR *d;
        int fd;
        struct dirent *de;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        s = xcalloc(1, sizeof(*s));
        s->dir = xstrdup(dir);
        s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0) {
                int r = -errno;
                spool_free(s);
                return r;
        }
        fd = dup(s->dir_fd);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                int r = -errno;
                if (fd >= 0)
                        (void) close(fd);
                spool_free(s);
                return r;
        }
        while ((de = readdir(d))) {
                struct stat st;
                char *end;
                unsigned long long seq;

                if (de->d_name[0] == '.')
                        continue;
                /* Temporary files of an append that a crash interrupted never got renamed. */
                if (strstr(de->d_name, ".tmp")) {
                        (void) unlinkat(s->dir_fd, de->d_name, 0);
                        continue;
                }
                seq = strtoull(de->d_name, &end, 10);
                if (!streq(end, SUFFIX) || fstatat(s->dir_fd, de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
                        continue;
                /* Renamed but never synced before a power loss: the data is gone. So is the
                 * state saved after it, so the event is detected again. */
                if (st.st_size == 0) {
                        (void) unlinkat(s->dir_fd, de->d_name, 0);
                        continue;
                }
                push(s, (struct spool_entry) {
                        .seq = seq,
                        .size = (uint64_t) st.st_size,
                        .time = (usec_t) st.st_mtim.tv_sec * USEC_PER_SEC + (usec_t) st.st_mtim.tv_nsec / 1000,
                });
        }
        closedir(d);
        /* A fresh ring holds its entries from index 0, in directory order: sort them. (qsort
         * of NULL is undefined even for 0 entries.) */
        if (s->n > 0) {
                qsort(s->entries, s->n, sizeof(*s->entries), compare_entry);
                s->next_seq = s->entries[s->n - 1].seq + 1;
        }
        *ret = s;
        return 0;
}

struct spool *spool_free(struct spool *s) {
        if (!s)
                return NULL;
        if (s->dir_fd >= 0)
                (void) close(s->dir_fd);
        free(s->dir);
        free(s->entries);
        free(s);
        return NULL;
}

int spool_append(struct spool *s, const char *data, size_t size, usec_t now) {
        _cleanup_free_ char *name = entry_name(s->next_seq), *tmp = xasprintf("%s.tmp", name);
        _cleanup_close_ int fd = -1;
        size_t done = 0;

        fd = openat(s->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        while (done < size) {
                ssize_t k = write(fd, data + done, size - done);
                if (k < 0) {
                        int r = errno == EINTR ? 0 : -errno;
                        if (r < 0) {
                                (void) unlinkat(s->dir_fd, tmp, 0);
                                return r;
                        }
                        continue;
                }
                done += (size_t) k;
        }
        /* rename only after the data: a crash of the daemon leaves either nothing or the whole
         * event; a power loss before spool_sync may leave an empty file (spool_open drops it). */
        if (renameat(s->dir_fd, tmp, s->dir_fd, name) < 0) {
                int r = -errno;
                (void) unlinkat(s->dir_fd, tmp, 0);
                return r;
        }
        push(s, (struct spool_entry) { .seq = s->next_seq++, .size = size, .time = now });
        s->unsynced = true;
        return 0;
}

int spool_sync(struct spool **spools, size_t n) {
        int fd = -1;

        for (size_t i = 0; i < n && fd < 0; i++)
                if (spools[i]->unsynced)
                        fd = spools[i]->dir_fd;
        if (fd < 0)
                return 0;
        /* One syncfs per batch instead of an fsync per event: the files and the directory
         * entries of the whole batch, of every spool (they share the state directory's file
         * system), reach the disk together. */
        if (syncfs(fd) < 0)
                return -errno;
        for (size_t i = 0; i < n; i++)
                spools[i]->unsynced = false;
        return 0;
}

const struct spool_entry *spool_head(const struct spool *s) {
        return s->n > 0 ? at(s, 0) : NULL;
}

int spool_read(const struct spool *s, const struct spool_entry *e, char **ret) {
        _cleanup_free_ char *name = entry_name(e->seq), *path = xasprintf("%s/%s", s->dir, name);

        return read_full_file(path, 64 * 1024 * 1024, ret, NULL);
}

int spool_pop(struct spool *s) {
        _cleanup_free_ char *name = NULL;
        struct spool_entry *e;

        if (s->n == 0)
                return -ENOENT;
        e = at(s, 0);
        name = entry_name(e->seq);
        s->bytes -= e->size;
        s->head = (s->head + 1) % s->alloc;
        s->n--;
        if (unlinkat(s->dir_fd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

size_t spool_trim(struct spool *s, uint64_t max_size, usec_t max_age, usec_t now) {
        size_t dropped = 0;

        while (s->n > 0 && (s->bytes > max_size || (max_age && at(s, 0)->time + max_age < now))) {
                (void) spool_pop(s);
                dropped++;
        }
        return dropped;
}
