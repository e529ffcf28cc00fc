#define SD_JOURNAL_SUPPRESS_LOCATION
#include <json-c/json.h>
#include <stdarg.h>
#include <systemd/sd-journal.h>

#include "journal.h"
#include "log.h"

/* Set once by main() before anything logs. */
static enum log_target log_target = LOG_TARGET_STDERR;
static enum log_format log_format = LOG_FORMAT_TEXT;
static int log_max_level = LOG_INFO;

void log_setup(enum log_target target, enum log_format format, int max_level) {
        log_target = target;
        log_format = format;
        log_max_level = max_level;
}

enum log_target log_get_target(void) {
        return log_target;
}

int log_get_max_level(void) {
        return log_max_level;
}

/* A message may quote text from the API: one line, no control reaches a terminal or makes
 * journald store MESSAGE as binary. JSON keeps the characters, as escapes. */
static void log_string(int level, const char *msg) {
        _cleanup_free_ char *line = NULL;
        char t[32];

        if (log_format == LOG_FORMAT_JSON && log_target != LOG_TARGET_JOURNAL) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "time", json_object_new_string(format_rfc3339(t, now_usec(CLOCK_REALTIME))));
                json_object_object_add(o, "priority", json_object_new_string(priority_to_string(level)));
                json_object_object_add(o, "message", json_object_new_string(msg));
                line = json_sanitize(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                fprintf(stderr, "%s\n", line);
                fflush(stderr);
                return;
        }
        if (log_target == LOG_TARGET_JOURNAL) {
                /* Cut as an event's fields are (journal.c): it may quote a whole API text. */
                line = cescape_cell_cut(msg, TEXT_SHOWN_MAX);
                (void) sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", level,
                                       "SYSLOG_IDENTIFIER=" SYSLOG_IDENTIFIER, NULL);
                return;
        }
        line = cescape_cell(msg);
        fprintf(stderr, "%s %-7s %s\n", format_rfc3339(t, now_usec(CLOCK_REALTIME)), priority_to_string(level), line);
        fflush(stderr);
}

_printf_(2, 0) static void log_va(int level, const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL;

        if (level > log_max_level)
                return;
        msg = xvasprintf(fmt, ap);
        log_string(level, msg);
}

void log_full(int level, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_va(level, fmt, ap);
        va_end(ap);
}

int log_full_errno(int level, int r, const char *fmt, ...) {
        va_list ap;

        errno = r < 0 ? -r : r; /* for %m */
        va_start(ap, fmt);
        log_va(level, fmt, ap);
        va_end(ap);
        return r;
}

void log_event(const struct event *e) {
        if (log_target == LOG_TARGET_JOURNAL)
                (void) journal_send_event(e);
        else if (log_format == LOG_FORMAT_JSON)
                event_print_json(stderr, e);
        else
                event_print_text(stderr, e);
}
