#include <syslog.h>

#include "health.h"

static const char *const health_names[_HEALTH_MAX] = {
        [HEALTH_UNKNOWN] = "unknown",
        [HEALTH_HEALTHY] = "healthy",
        [HEALTH_PROGRESSING] = "progressing",
        [HEALTH_DEGRADED] = "degraded",
        [HEALTH_FAILED] = "failed",
        [HEALTH_IDLE] = "idle",
        [HEALTH_DISABLED] = "disabled",
        [HEALTH_DELETING] = "deleting",
        [HEALTH_GONE] = "gone",
};

const char *health_to_string(enum health h) {
        return h >= 0 && h < _HEALTH_MAX ? health_names[h] : "unknown";
}

enum health health_from_string(const char *s) {
        for (int i = 0; i < _HEALTH_MAX; i++)
                if (s && streq(s, health_names[i]))
                        return i;
        return HEALTH_UNKNOWN;
}

bool health_is_problem(enum health h) {
        return h == HEALTH_DEGRADED || h == HEALTH_FAILED;
}

int health_priority(enum health h) {
        switch (h) {
        case HEALTH_FAILED:
                return LOG_ERR;
        case HEALTH_DEGRADED:
        case HEALTH_GONE:
        case HEALTH_UNKNOWN:
                return LOG_WARNING;
        default:
                return LOG_NOTICE;
        }
}

static bool any_short_of_ready(const struct deployment *d) {
        for (size_t i = 0; i < d->n_containers; i++)
                if (d->containers[i].ready < d->containers[i].total)
                        return true;
        return false;
}

bool health_is_unsettled(const struct deployment *d) {
        if (deploy_status_is_transitional(d->status_enum))
                return true;
        return d->status_enum == STATUS_ACTIVE && any_short_of_ready(d);
}

enum health health_compute(const struct deployment *d, usec_t unsettled_for, usec_t stuck_after,
                           const char **reason) {
        bool error = false, serving = false, stuck;
        const char *why;
        enum health h;

        switch (d->status_enum) {
        case STATUS_PENDING:
                h = HEALTH_IDLE, why = "scaled to zero";
                goto done;
        case STATUS_DISABLED:
                h = HEALTH_DISABLED, why = "disabled";
                goto done;
        case STATUS_DELETING:
                h = HEALTH_DELETING, why = "being deleted";
                goto done;
        default:
                break;
        }

        for (size_t i = 0; i < d->n_containers; i++) {
                if (d->containers[i].error_message)
                        error = true;
                if (d->containers[i].ready > 0)
                        serving = true;
        }
        stuck = health_is_unsettled(d) && unsettled_for >= stuck_after;

        if (d->status_enum == STATUS_ACTIVE && !any_short_of_ready(d) && !error) {
                h = HEALTH_HEALTHY, why = "all instances ready";
                goto done;
        }
        if (!error && !stuck) {
                h = HEALTH_PROGRESSING;
                why = d->status_enum == STATUS_ACTIVE ? "not all instances ready" : "rolling out";
                goto done;
        }
        h = serving ? HEALTH_DEGRADED : HEALTH_FAILED;
        why = error ? "container error" : "stuck";
done:
        if (reason)
                *reason = why;
        return h;
}
