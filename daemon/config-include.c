/* @include, done by the loader rather than by libconfig. libconfig 1.5 (Debian 12's) prepends the
 * main file's directory even to an absolute name ("/etc/x//etc/x/extra.conf"), opens whatever the
 * name is (a FIFO blocks it until a writer comes, a directory makes its scanner call exit(2)),
 * and has no hook to check a name first (config_set_include_func came in 1.7). So every file is
 * read here, regular files only and without blocking, and libconfig is handed one text with the
 * includes expanded; l->lines maps each of its lines back to FILE:LINE.
 *
 * The directive is recognised where libconfig's scanner recognises it: at the start of a line,
 * outside comments and strings, as @include "NAME" with \\ and \" escapes in NAME. An absolute
 * NAME is used as it is; a relative one is taken from the directory of the file that holds the
 * @include (the main file's, for the main file's own includes). */
#include "config-internal.h"

#define INCLUDE_DEPTH_MAX 10U /* as libconfig's */

/* Appends n bytes to l->text; the buffer grows by copying, so no freed copy of a secret stays. */
static void text_append(struct loader *l, const char *p, size_t n) {
        if (l->text_size + n + 1 > l->text_alloc) {
                size_t alloc = MAX(l->text_alloc * 2, l->text_size + n + 1 + 4096);
                char *t = xmalloc(alloc);

                if (l->text) {
                        memcpy(t, l->text, l->text_size);
                        explicit_bzero(l->text, l->text_alloc);
                        free(l->text);
                }
                l->text = t;
                l->text_alloc = alloc;
        }
        memcpy(l->text + l->text_size, p, n);
        l->text_size += n;
        l->text[l->text_size] = '\0';
}

/* Appends text from line *line of source src, recording where each new line of l->text starts. */
static void emit(struct loader *l, size_t src, unsigned *line, const char *p, size_t n) {
        while (n > 0) {
                const char *nl = memchr(p, '\n', n);
                size_t k = nl ? (size_t) (nl - p) + 1 : n;

                if (l->text_size == 0 || l->text[l->text_size - 1] == '\n')
                        *(struct line_origin *) array_append(&l->lines, &l->n_lines, sizeof(*l->lines)) =
                                (struct line_origin) { src, *line, l->text_size };
                text_append(l, p, k);
                *line += nl != NULL;
                p += k;
                n -= k;
        }
}

/* At p, the start of a line: the directive's opening, up to and including its first quote. */
static const char *include_open(const char *p) {
        p += strspn(p, " \t");
        if (strncmp(p, "@include", 8) != 0 || !strchr(" \t", p[8]) || p[8] == '\0')
                return NULL;
        p += 8 + strspn(p + 8, " \t");
        return *p == '"' ? p + 1 : NULL;
}

/* Reads NAME from p (after the opening quote) as libconfig does; returns what follows the closing
 * quote, or NULL if there is none. Counts the newlines NAME holds into *line. */
static const char *include_name(const char *p, char **ret, unsigned *line) {
        _cleanup_free_ char *name = xstrdup("");
        size_t n = 0;

        for (; *p && *p != '"'; p++) {
                if (*p == '\\' && (p[1] == '\\' || p[1] == '"'))
                        p++;
                else if (*p == '\\')
                        continue; /* libconfig drops a backslash that escapes nothing */
                if (*p == '\n')
                        (*line)++;
                name = xrealloc(name, n + 2);
                name[n++] = *p;
                name[n] = '\0';
        }
        if (*p != '"')
                return NULL;
        *ret = TAKE_PTR(name);
        return p + 1;
}

static char *resolve(const char *including, const char *name) {
        const char *slash = strrchr(including, '/');

        if (name[0] == '/' || !slash)
                return xstrdup(name);
        return xasprintf("%.*s/%s", (int) (slash - including), including, name);
}

static int expand_file(struct loader *l, size_t src, const char *text, unsigned depth);

unsigned nul_line(const char *text, size_t size) {
        const char *nul = memchr(text, '\0', size);
        unsigned line = 1;

        if (!nul)
                return 0;
        for (const char *p = text; p < nul; p++)
                line += *p == '\n';
        return line;
}

static int include_file(struct loader *l, size_t src, unsigned line, const char *name, unsigned depth) {
        _cleanup_free_ char *path = resolve(l->sources[src].name, name), *q = cescape(path), *text = NULL;
        size_t size = 0;
        unsigned nul;
        int r;

        if (depth >= INCLUDE_DEPTH_MAX) {
                report_at(l, src, line, true, "cannot include \"%s\": more than %u levels of @include", q,
                          INCLUDE_DEPTH_MAX);
                return -EINVAL;
        }
        /* Never blocks: a FIFO or a device is refused before anything is read. */
        r = read_full_file(path, CONFIG_FILE_MAX, &text, &size);
        if (r < 0) {
                report_at(l, src, line, true, "cannot include \"%s\": %s", q, file_error(r));
                return -EINVAL;
        }
        nul = nul_line(text, size);
        if (nul > 0) {
                report_at(l, loader_source(l, path), nul, true, NUL_MESSAGE);
                explicit_bzero(text, size); /* all of it: what follows the NUL too */
                return -EINVAL;
        }
        r = expand_file(l, loader_source(l, path), text, depth + 1);
        erase_and_free(TAKE_PTR(text));
        return r;
}

enum scan_state { SCAN_CODE, SCAN_STRING, SCAN_COMMENT };

/* The position after the character at p in state *state, updating the state. */
static const char *scan_step(const char *p, enum scan_state *state) {
        switch (*state) {
        case SCAN_CODE:
                if (*p == '"')
                        *state = SCAN_STRING;
                else if (p[0] == '/' && p[1] == '*') {
                        *state = SCAN_COMMENT;
                        return p + 2;
                } else if (*p == '#' || (p[0] == '/' && p[1] == '/'))
                        return p + strcspn(p, "\n"); /* a comment to the end of the line */
                return p + 1;
        case SCAN_STRING:
                if (*p == '\\' && p[1] && p[1] != '\n')
                        return p + 2;
                if (*p == '"')
                        *state = SCAN_CODE;
                return p + 1;
        case SCAN_COMMENT:
                if (p[0] == '*' && p[1] == '/') {
                        *state = SCAN_CODE;
                        return p + 2;
                }
                return p + 1;
        }
        return p + 1;
}

/* Emits text (of source src), expanding its includes; reports every include refused. */
static int expand_file(struct loader *l, size_t src, const char *text, unsigned depth) {
        enum scan_state state = SCAN_CODE;
        const char *seg = text, *p = text;
        unsigned line = 1, seg_line = 1, opened = 0;
        int r = 0;

        while (*p) {
                bool bol = p == text || p[-1] == '\n';
                const char *open = state == SCAN_CODE && bol ? include_open(p) : NULL;
                _cleanup_free_ char *name = NULL;
                unsigned at = line;
                const char *after;

                if (!open) {
                        enum scan_state before = state;
                        const char *next = scan_step(p, &state);
                        if (before == SCAN_CODE && state != SCAN_CODE)
                                opened = line;
                        for (; p < next; p++)
                                line += *p == '\n';
                        continue;
                }
                emit(l, src, &seg_line, seg, (size_t) (p - seg));
                after = include_name(open, &name, &line);
                if (!after) {
                        report_at(l, src, at, true, "@include: the file name has no closing quote");
                        return -EINVAL;
                }
                if (include_file(l, src, at, name, depth) < 0)
                        r = -EINVAL;
                if (l->text_size > 0 && l->text[l->text_size - 1] != '\n')
                        text_append(l, "\n", 1);
                /* The rest of the line, after what the file held, as libconfig reads it: not at
                 * the start of a line, so that another @include there is no directive. */
                seg_line = line;
                emit(l, src, &seg_line, "/**/", 4);
                seg = p = after;
        }
        emit(l, src, &seg_line, seg, (size_t) (p - seg));
        /* An included file's string or comment left open would run on into the file that
         * includes it, and its error be blamed on a line there (or the comment closed by the
         * rest of the @include's line): the included file is the one at fault. */
        if (depth > 0 && state != SCAN_CODE) {
                report_at(l, src, opened, true, "%s opened here is not closed at the end of the file",
                          state == SCAN_STRING ? "a string" : "a comment");
                r = -EINVAL;
        }
        return r;
}

int loader_expand(struct loader *l, const char *main_text) {
        int r = expand_file(l, 0, main_text, 0);

        /* read_full_file drops a file's last newline, and libconfig's scanner wants one to end a
         * comment on the last line ("# x" there was a syntax error). */
        if (l->text_size > 0 && l->text[l->text_size - 1] != '\n')
                text_append(l, "\n", 1);
        return r;
}
