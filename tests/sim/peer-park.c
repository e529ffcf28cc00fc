#include "peer.h"

struct parked {
        struct MHD_Connection *connection;
        usec_t wake_at;
        uint64_t key;
};

void park_lot_init(struct park_lot *p) {
        *p = (struct park_lot) {};
        (void) pthread_mutex_init(&p->lock, NULL);
}

void park_lot_done(struct park_lot *p) {
        free(p->items);
        (void) pthread_mutex_destroy(&p->lock);
}

bool park(struct park_lot *p, struct MHD_Connection *c, usec_t wake_at, uint64_t key) {
        struct parked *e;

        (void) pthread_mutex_lock(&p->lock);
        if (p->closed) {
                (void) pthread_mutex_unlock(&p->lock);
                return false;
        }
        e = array_append(&p->items, &p->n_items, sizeof(*p->items));
        *e = (struct parked) { .connection = c, .wake_at = wake_at, .key = key };
        /* Suspending under the lock: park_tick() cannot resume a connection before it is
         * suspended, which libmicrohttpd calls undefined behaviour. */
        MHD_suspend_connection(c);
        (void) pthread_mutex_unlock(&p->lock);
        return true;
}

void park_tick(struct park_lot *p, usec_t now, bool (*hold)(uint64_t key, void *userdata), void *userdata) {
        size_t kept = 0;

        (void) pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < p->n_items; i++) {
                struct parked *e = &p->items[i];
                bool due = e->wake_at == USEC_INFINITY ? !(hold && hold(e->key, userdata)) : now >= e->wake_at;

                if (due)
                        MHD_resume_connection(e->connection);
                else
                        p->items[kept++] = *e;
        }
        p->n_items = kept;
        (void) pthread_mutex_unlock(&p->lock);
}

void park_close(struct park_lot *p) {
        (void) pthread_mutex_lock(&p->lock);
        p->closed = true;
        for (size_t i = 0; i < p->n_items; i++)
                MHD_resume_connection(p->items[i].connection);
        p->n_items = 0;
        (void) pthread_mutex_unlock(&p->lock);
}
