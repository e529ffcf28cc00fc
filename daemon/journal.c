#define SD_JOURNAL_SUPPRESS_LOCATION
#include <ctype.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "journal.h"

static void iov_add(struct iovec **iov, size_t *n, char *s) {
        struct iovec *v = array_append(iov, n, sizeof(struct iovec));

        v->iov_base = s;
        v->iov_len = strlen(s);
}

/* KEY=value, the value escaped: journald stores a field with a control character or bytes that
 * are not UTF-8 as binary, and `journalctl -a` would replay the escapes on a terminal. And cut:
 * a message that quotes an API text of TEXT_SHOWN_MAX bytes is longer than that. */
static char *field_line(const char *key, const char *value) {
        _cleanup_free_ char *text = cescape_cell_cut(value, TEXT_SHOWN_MAX);
        char *s = xasprintf("%s=%s", key, text);

        for (char *p = s; *p != '='; p++)
                *p = (char) toupper((unsigned char) *p);
        return s;
}

int journal_send_event(const struct event *e) {
        struct iovec *iov = NULL;
        size_t n = 0;
        char id[37];
        int r;

        iov_add(&iov, &n, field_line("MESSAGE", strempty(e->message)));
        iov_add(&iov, &n, xasprintf("PRIORITY=%d", e->priority));
        iov_add(&iov, &n, xasprintf("MESSAGE_ID=" SD_ID128_FORMAT_STR,
                                    SD_ID128_FORMAT_VAL(event_type_message_id(e->type))));
        iov_add(&iov, &n, xstrdup("SYSLOG_IDENTIFIER=" SYSLOG_IDENTIFIER));
        iov_add(&iov, &n, xasprintf("EVENT=%s", event_type_to_string(e->type)));
        iov_add(&iov, &n, xasprintf("EVENT_ID=%s", event_id_to_string(e->id, id)));
        if (e->account)
                iov_add(&iov, &n, field_line("ACCOUNT", e->account));
        if (e->project_id)
                iov_add(&iov, &n, xasprintf("PROJECT_ID=%lld", (long long) e->project_id));
        if (e->deployment)
                iov_add(&iov, &n, field_line("DEPLOYMENT", e->deployment));
        for (size_t i = 0; i < e->n_fields; i++)
                iov_add(&iov, &n, field_line(e->fields[i].key, e->fields[i].value));

        r = sd_journal_sendv(iov, (int) n);
        for (size_t i = 0; i < n; i++)
                free(iov[i].iov_base);
        free(iov);
        return r;
}

void event_print_text(FILE *f, const struct event *e) {
        _cleanup_free_ char *message = cescape_cell(strempty(e->message));
        char t[32];

        fprintf(f, "%s %-7s %-26s %s\n", format_rfc3339(t, e->time), priority_to_string(e->priority),
                event_type_to_string(e->type), message);
        fflush(f);
}

void event_print_json(FILE *f, const struct event *e) {
        _cleanup_free_ char *raw = event_to_json(e), *j = json_sanitize(raw);

        fprintf(f, "%s\n", j);
        fflush(f);
}
