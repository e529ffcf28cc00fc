/* The loader's sources (the main file and its @includes), where each line of the text comes
 * from, and its diagnostics: every message is
 * "FILE:LINE: message", collected, then sorted by file, line and the order found. The message
 * catalogue is at the top of config.c. */
#include "config-internal.h"

size_t loader_source(struct loader *l, const char *name) {
        struct source *s;

        for (size_t i = 0; i < l->n_sources; i++)
                if (streq(l->sources[i].name, name))
                        return i;
        s = array_append(&l->sources, &l->n_sources, sizeof(*s));
        s->name = xstrdup(name);
        return l->n_sources - 1;
}

size_t loader_origin(const struct loader *l, unsigned line, unsigned *ret_line) {
        const struct line_origin *o;

        if (line == 0 || l->n_lines == 0) {
                *ret_line = 0;
                return 0;
        }
        /* libconfig may blame the line after the last one, at the end of the text. */
        o = &l->lines[MIN(line, l->n_lines) - 1];
        *ret_line = o->line + (line > l->n_lines ? line - (unsigned) l->n_lines : 0);
        return o->source;
}

size_t setting_origin(const struct loader *l, const config_setting_t *s, unsigned *ret_line) {
        return loader_origin(l, config_setting_source_line(s), ret_line);
}

void loader_init(struct loader *l, const char *name, unsigned flags, bool is_file) {
        *l = (struct loader) {
                .flags = flags,
                .is_file = is_file,
                .credentials_dir = getenv("CREDENTIALS_DIRECTORY"),
        };
        if (l->credentials_dir && !*l->credentials_dir)
                l->credentials_dir = NULL;
        (void) loader_source(l, name);
}

void loader_done(struct loader *l) {
        for (size_t i = 0; i < l->n_sources; i++)
                free(l->sources[i].name);
        free(l->sources);
        if (l->text)
                explicit_bzero(l->text, l->text_alloc); /* it may hold inline secrets */
        free(l->text);
        free(l->lines);
        for (size_t i = 0; i < l->n_unchecked; i++)
                free(l->unchecked[i]);
        free(l->unchecked);
        for (size_t i = 0; i < l->n_diags; i++)
                free(l->diags[i].text);
        free(l->diags);
}

_printf_(5, 0) static void report_va(struct loader *l, size_t src, unsigned line, bool error,
         const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        struct diag_entry *e = array_append(&l->diags, &l->n_diags, sizeof(*e));
        const char *name = l->sources[src].name;
        const char *kind = error ? "" : "warning: ";

        e->source = src;
        e->line = line;
        e->seq = l->n_diags;
        e->error = error;
        e->text = line > 0 ? xasprintf("%s:%u: %s%s", name, line, kind, msg)
                           : xasprintf("%s: %s%s", name, kind, msg);
        if (error)
                l->n_errors++;
}

/* About setting s, at its file and line; s == NULL or the root: about the main file as a whole. */
void report(struct loader *l, const config_setting_t *s, bool error, const char *fmt, ...) {
        unsigned line = 0;
        size_t src = s ? setting_origin(l, s, &line) : 0;
        va_list ap;

        va_start(ap, fmt);
        report_va(l, src, line, error, fmt, ap);
        va_end(ap);
}

void report_at(struct loader *l, size_t src, unsigned line, bool error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report_va(l, src, line, error, fmt, ap);
        va_end(ap);
}

static int diag_entry_compare(const void *a, const void *b) {
        const struct diag_entry *x = a, *y = b;

        if (x->source != y->source)
                return x->source < y->source ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void loader_flush_diag(struct loader *l, struct config_diag *diag) {
        if (l->n_diags == 0)
                return; /* qsort(NULL, 0, ...) is undefined */
        qsort(l->diags, l->n_diags, sizeof(*l->diags), diag_entry_compare);
        for (size_t i = 0; i < l->n_diags; i++) {
                struct diag_entry *e = &l->diags[i];
                if (e->error)
                        *(char **) array_append(&diag->errors, &diag->n_errors, sizeof(char *)) =
                                TAKE_PTR(e->text);
                else
                        *(char **) array_append(&diag->warnings, &diag->n_warnings, sizeof(char *)) =
                                TAKE_PTR(e->text);
        }
}

/* "line 7", or "other.conf:7" when first and the setting being reported live in different files. */
char *where(struct loader *l, const config_setting_t *first, const config_setting_t *now) {
        unsigned line, now_line;
        size_t a = setting_origin(l, first, &line);
        size_t b = setting_origin(l, now, &now_line);

        if (a == b)
                return xasprintf("line %u", line);
        return xasprintf("%s:%u", l->sources[a].name, line);
}

const char *file_error(int r) {
        /* read_full_file() refuses, without blocking, anything but a directory or a regular file. */
        return r == -EINVAL ? "Not a regular file" : strerror(-r);
}

/* ------------------------------------------------------------------------------------------ */
/* Messages about values */

static const char *type_name(const config_setting_t *s) {
        switch (config_setting_type(s)) {
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "an integer";
        case CONFIG_TYPE_FLOAT:
                return "a float";
        case CONFIG_TYPE_STRING:
                return "a string";
        case CONFIG_TYPE_BOOL:
                return "a boolean";
        case CONFIG_TYPE_ARRAY:
                return "an array";
        case CONFIG_TYPE_LIST:
                return "a list";
        case CONFIG_TYPE_GROUP:
                return "a group";
        default:
                return "nothing";
        }
}

int type_error(struct loader *l, const config_setting_t *s, const char *path, const char *what) {
        report_error(l, s, "%s: expected %s, got %s", path, what, type_name(s));
        return -EINVAL;
}

int range_error(struct loader *l, const config_setting_t *s, const char *path, bool zero_ok,
                const char *min, const char *max, const char *got) {
        report_error(l, s, "%s: must be %sbetween %s and %s, got %s", path, zero_ok ? "0 (never) or " : "",
                     min, max, got);
        return -EINVAL;
}

/* The closest candidate within edit distance 2 (and closer than s is long), or NULL. */
static const char *closest(const char *const *candidates, size_t n, const char *s) {
        const char *best = NULL;
        size_t best_d = 3;

        for (size_t i = 0; i < n; i++) {
                size_t d = string_distance(candidates[i], s);
                if (d < best_d && d < strlen(s)) {
                        best = candidates[i];
                        best_d = d;
                }
        }
        return best;
}

char *did_you_mean(const char *const *candidates, size_t n, const char *s) {
        const char *c = closest(candidates, n, s);

        return c ? xasprintf(" (did you mean \"%s\"?)", c) : xstrdup("");
}

void config_diag_print(const struct config_diag *d, FILE *f) {
        for (size_t i = 0; i < d->n_warnings; i++)
                fprintf(f, "%s\n", d->warnings[i]);
        for (size_t i = 0; i < d->n_errors; i++)
                fprintf(f, "%s\n", d->errors[i]);
}

void config_diag_done(struct config_diag *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n_errors; i++)
                free(d->errors[i]);
        free(d->errors);
        for (size_t i = 0; i < d->n_warnings; i++)
                free(d->warnings[i]);
        free(d->warnings);
        *d = (struct config_diag) {};
}
