#include "flap.h"

void flap_state_done(struct flap_state *s) {
        free(s->hist);
        *s = (struct flap_state) {};
}

void flap_state_copy(struct flap_state *dst, const struct flap_state *src) {
        *dst = *src;
        if (src->hist) {
                dst->hist = xcalloc(1, sizeof(*src->hist));
                *dst->hist = *src->hist;
        }
}

unsigned flap_returns(const struct flap_state *s, unsigned window) {
        unsigned n = MIN((unsigned) s->n_keys, MIN(window, (unsigned) FLAP_HISTORY_MAX)), returns = 0;
        const struct flap_history *h = s->hist;

        if (!h)
                return 0;

        /* Poll i changed when its key differs from poll i+1's (older); it returned when its key
         * is also one of the older polls' in the window. */
        for (unsigned i = 0; i + 1 < n; i++) {
                if (h->keys[i] == h->keys[i + 1])
                        continue;
                for (unsigned j = i + 2; j < n; j++)
                        if (h->keys[j] == h->keys[i]) {
                                returns++;
                                break;
                        }
        }
        return returns;
}

/* Whether the last n polls all had the latest key and changed nothing. */
static bool uniform(const struct flap_history *h, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (h->keys[i] != h->keys[0] || h->aspects_of[i] != 0)
                        return false;
        return true;
}

static struct flap_history *history(struct flap_state *s) {
        if (!s->hist) {
                s->hist = xcalloc(1, sizeof(*s->hist));
                for (unsigned i = 0; i < s->n_keys; i++)
                        s->hist->keys[i] = s->key;
        }
        return s->hist;
}

struct flap_history *flap_state_resume(struct flap_state *s) {
        if (s->flapping)
                return NULL;
        flap_state_done(s);
        s->flapping = true;
        s->hist = xcalloc(1, sizeof(*s->hist));
        return s->hist;
}

static void push(struct flap_state *s, uint64_t key, unsigned aspects) {
        struct flap_history *h = s->hist;

        if (!h && (s->n_keys == 0 || s->key == key) && aspects == 0)
                goto counted;
        h = history(s);
        memmove(&h->keys[1], &h->keys[0], sizeof(h->keys[0]) * (FLAP_HISTORY_MAX - 1));
        memmove(&h->aspects_of[1], &h->aspects_of[0], sizeof(h->aspects_of[0]) * (FLAP_HISTORY_MAX - 1));
        h->keys[0] = key;
        h->aspects_of[0] = (uint8_t) aspects;
        /* A flap keeps its history: the signatures of its episode are there. */
        if (!s->flapping && uniform(h, MIN((unsigned) s->n_keys + 1, (unsigned) FLAP_HISTORY_MAX)))
                s->hist = mfree(h);
counted:
        s->key = key;
        if (s->n_keys < FLAP_HISTORY_MAX)
                s->n_keys++;
}

enum flap_verdict flap_observe(const struct flap_params *p, struct flap_state *s, uint64_t key,
                               unsigned aspects, usec_t now) {
        bool changed = s->n_keys > 0 && s->key != key;
        unsigned returns;

        push(s, key, changed ? aspects : 0);
        /* A change pushed a history, and a flap keeps it. */
        if (changed)
                s->hist->last_change = now;
        if (s->flapping) {
                if (changed) {
                        s->hist->changes++;
                        s->hist->aspects |= aspects;
                        return FLAP_ONGOING;
                }
                if (now - MIN(now, s->hist->last_change) < p->stable)
                        return FLAP_ONGOING;
                s->flapping = false;
                return FLAP_ENDED;
        }
        if (!changed || (returns = flap_returns(s, p->window)) <= p->returns)
                return FLAP_CALM;
        s->flapping = true;
        s->hist->since = now;
        s->hist->changes = 1;
        s->hist->aspects = 0;
        for (unsigned i = 0; i < MIN((unsigned) s->n_keys, p->window); i++)
                s->hist->aspects |= s->hist->aspects_of[i];
        s->hist->returns = returns;
        s->hist->n_signatures = s->hist->n_new = 0;
        return FLAP_STARTED;
}

bool flap_signature_is_new(struct flap_state *s, uint64_t sig, bool new) {
        struct flap_history *h;

        if (!s->flapping)
                return false;
        h = history(s);
        for (unsigned i = 0; i < h->n_signatures; i++)
                if (h->signatures[i] == sig)
                        return false;
        if (h->n_signatures >= FLAP_SIGNATURES_MAX)
                return false;
        h->signatures[h->n_signatures++] = sig;
        h->n_new += new;
        return true;
}

unsigned flap_new_signatures(const struct flap_state *s) {
        return s->hist ? s->hist->n_new : 0;
}

const char *flap_aspects_to_string(unsigned aspects, char buf[static 64]) {
        static const char *const names[] = { "status", "health", "errors", "readiness", "regions" };
        const char *parts[ELEMENTSOF(names)];
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (aspects & (1u << i))
                        parts[n++] = names[i];
        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                strcat(buf, i == 0 ? "" : i + 1 == n ? " and " : ", ");
                strcat(buf, parts[i]);
        }
        if (n == 0)
                strcpy(buf, "state");
        return buf;
}
