#include <time.h>

#include "sim.h"

/* Scenario time runs with CLOCK_MONOTONIC while not paused; advancing adds to it at once, so a
 * test can jump to the next timeline event instead of sleeping. */

void sim_clock_init(struct sim_clock *c, bool paused) {
        *c = (struct sim_clock) { .base = now_usec(CLOCK_MONOTONIC), .paused = paused };
}

double sim_clock_now(const struct sim_clock *c) {
        if (c->paused)
                return c->offset;
        return c->offset + (double) (now_usec(CLOCK_MONOTONIC) - c->base) / USEC_PER_SEC;
}

void sim_clock_pause(struct sim_clock *c) {
        if (c->paused)
                return;
        c->offset = sim_clock_now(c);
        c->paused = true;
}

void sim_clock_resume(struct sim_clock *c) {
        if (!c->paused)
                return;
        c->base = now_usec(CLOCK_MONOTONIC);
        c->paused = false;
}

void sim_clock_advance(struct sim_clock *c, double seconds) {
        c->offset += seconds;
}
