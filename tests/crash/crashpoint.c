/* The crash hooks of the test build (see daemon/crashpoint.h). INFERWATCH_CRASHPOINT=WHERE:N
 * kills the daemon with SIGKILL at the Nth call of crashpoint(WHERE) ("spool", "state",
 * "journal", "fed"; "any" counts every call). Unset, nothing happens.
 * INFERWATCH_FAULT=WHERE:N, WHERE:N-M or WHERE:N- makes faultpoint(WHERE) ("save", "sync", "store", "load") fail
 * with -EIO at its Nth call, its Nth to Mth, or its Nth and every later one ("store-answer": the
 * answer to an etcd transaction, lost after etcd applied it).
 * INFERWATCH_PAUSE=WHERE:MS makes pausepoint(WHERE) ("reload") sleep MS milliseconds. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crashpoint.h"

void crashpoint(const char *where) {
        static unsigned long calls;
        static const char *spec;
        static bool read;
        const char *colon;

        if (!read) {
                spec = getenv("INFERWATCH_CRASHPOINT");
                read = true;
        }
        if (!spec || !(colon = strchr(spec, ':')))
                return;
        if (!(strncmp(spec, "any", 3) == 0 && colon == spec + 3) &&
            !(strncmp(spec, where, (size_t) (colon - spec)) == 0 && where[colon - spec] == '\0'))
                return;
        if (++calls == strtoul(colon + 1, NULL, 10))
                (void) raise(SIGKILL);
}

int faultpoint(const char *where) {
        static unsigned long calls;
        const char *spec = getenv("INFERWATCH_FAULT"), *colon;
        unsigned long from, to;
        char *end;

        if (!spec || !(colon = strchr(spec, ':')) ||
            !(strncmp(spec, where, (size_t) (colon - spec)) == 0 && where[colon - spec] == '\0'))
                return 0;
        from = to = strtoul(colon + 1, &end, 10);
        if (*end == '-')
                to = end[1] ? strtoul(end + 1, NULL, 10) : (unsigned long) -1;
        calls++;
        return calls >= from && calls <= to ? -EIO : 0;
}

void pausepoint(const char *where) {
        const char *spec = getenv("INFERWATCH_PAUSE"), *colon;
        unsigned long ms;

        if (!spec || !(colon = strchr(spec, ':')) ||
            !(strncmp(spec, where, (size_t) (colon - spec)) == 0 && where[colon - spec] == '\0'))
                return;
        ms = strtoul(colon + 1, NULL, 10);
        (void) nanosleep(&(struct timespec) { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L }, NULL);
}
