/* Where the daemon's own messages and its events go: the journal, or stderr as text or JSON
 * lines. main() sets the target once; everything else just logs. */
#pragma once

#include <syslog.h>

#include "event.h"

enum log_target {
        LOG_TARGET_STDERR,
        LOG_TARGET_JOURNAL,
};

enum log_format {
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
};

void log_setup(enum log_target target, enum log_format format, int max_level);
enum log_target log_get_target(void);
int log_get_max_level(void);

void log_full(int level, const char *fmt, ...) _printf_(2, 3);
/* Logs and returns r (a negative errno), with %m meaning strerror(-r). */
int log_full_errno(int level, int r, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)
#define log_error_errno(r, ...) log_full_errno(LOG_ERR, r, __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_WARNING, r, __VA_ARGS__)

/* One event to the log target: a structured journal entry, or a line on stderr. */
void log_event(const struct event *e);
