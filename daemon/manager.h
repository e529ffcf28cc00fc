/* The daemon: owns the configuration, the event loop, the poller and the sinks; handles
 * signals, reloads, the systemd notify protocol and state persistence. */
#pragma once

#include "config.h"

struct manager_options {
        const char *config_path;
};

struct manager;

/* Loads the config (diagnostics are logged) and the saved state, sets up the loop. Returns
 * -EINVAL when the configuration is invalid, another negative errno for other failures. */
int manager_new(const struct manager_options *o, struct manager **ret);
struct manager *manager_free(struct manager *m);
/* Runs until SIGTERM/SIGINT; returns the exit status. */
int manager_run(struct manager *m);
