/* The derived health of a deployment (SPEC §3): a pure function of a snapshot and time. */
#pragma once

#include "deployment.h"

enum health {
        HEALTH_UNKNOWN,           /* no successful poll yet */
        HEALTH_HEALTHY,
        HEALTH_PROGRESSING,
        HEALTH_DEGRADED,
        HEALTH_FAILED,
        HEALTH_IDLE,
        HEALTH_DISABLED,
        HEALTH_DELETING,
        HEALTH_GONE,
        _HEALTH_MAX,
};

/* Whether the snapshot is "on its way" rather than settled: a transitional status, or ACTIVE
 * with fewer ready instances than total. The time spent continuously in such a state is what
 * stuck_after is measured against. */
bool health_is_unsettled(const struct deployment *d);

/* unsettled_for: how long the deployment has been continuously unsettled (0 when settled).
 * reason, when not NULL, receives a short static explanation ("image pull error in region 7"
 * is built by the caller; this gives e.g. "container error", "stuck", "not all ready"). */
enum health health_compute(const struct deployment *d, usec_t unsettled_for, usec_t stuck_after,
                           const char **reason);

const char *health_to_string(enum health h);
enum health health_from_string(const char *s);
/* degraded and failed: the states an alert is about. */
bool health_is_problem(enum health h);
/* The syslog priority of entering this health. */
int health_priority(enum health h);
