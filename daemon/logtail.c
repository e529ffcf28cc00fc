#include <json-c/json.h>
#include <limits.h>

#include "logtail.h"

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */
#define ELLIPSIS "\xE2\x80\xA6"    /* U+2026 */

/* The length of the escape sequence at s[0] == ESC: CSI (ESC [ ... final byte), string
 * commands (OSC, DCS, APC, PM, SOS: up to BEL or ESC \), or ESC and one more byte. */
static size_t escape_length(const unsigned char *s, size_t len) {
        size_t i;

        if (len < 2)
                return len;
        if (s[1] == '[') {
                for (i = 2; i < len && !(s[i] >= 0x40 && s[i] <= 0x7E); i++)
                        ;
                return MIN(i + 1, len);
        }
        if (s[1] == ']' || s[1] == 'P' || s[1] == '_' || s[1] == '^' || s[1] == 'X') {
                for (i = 2; i < len; i++) {
                        if (s[i] == 0x07)
                                return i + 1;
                        if (s[i] == 0x1B && i + 1 < len && s[i + 1] == '\\')
                                return i + 2;
                }
                return len;
        }
        return 2;
}

char *logtail_neutralise(const char *s, size_t len, size_t max) {
        const unsigned char *p = (const unsigned char *) s;
        size_t room = max - strlen(ELLIPSIS), cut = SIZE_MAX, o = 0, i = 0;
        char *out = xmalloc(max + 1);

        while (i < len) {
                char buf[1];
                const char *piece = buf;
                size_t n, k = 1;
                uint32_t c;

                if (p[i] == 0x1B) {
                        i += escape_length(p + i, len - i);
                        continue;
                }
                /* s[len] is a NUL (json-c's strings are): no sequence is read past the end. */
                n = utf8_decode(s + i, &c);
                if (n == 0)
                        piece = REPLACEMENT, k = 3, n = 1;
                else if (c == '\t' || c == '\r' || c == '\n')
                        buf[0] = ' ';
                else if (unicode_is_control(c))
                        buf[0] = '?';
                else
                        piece = (const char *) p + i, k = n;
                /* Where the ellipsis goes if the rest does not fit. */
                if (cut == SIZE_MAX && o + k > room)
                        cut = o;
                if (o + k > max) {
                        strcpy(out + cut, ELLIPSIS);
                        return out;
                }
                memcpy(out + o, piece, k);
                o += k;
                i += n;
        }
        out[o] = '\0';
        return out;
}

static const char *member_string(struct json_object *o, const char *key, size_t *ret_len) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
                *ret_len = 0;
                return "";
        }
        *ret_len = (size_t) json_object_get_string_len(v);
        return json_object_get_string(v);
}

static char *line_of(struct json_object *o) {
        _cleanup_free_ char *time = NULL, *pod = NULL, *message = NULL;
        const char *s;
        size_t n;

        s = member_string(o, "time", &n);
        time = logtail_neutralise(s, n, 40);
        s = member_string(o, "pod", &n);
        pod = logtail_neutralise(s, n, 80);
        s = member_string(o, "message", &n);
        message = logtail_neutralise(s, n, LOGTAIL_LINE_MAX);
        return xasprintf("%s %s: %s", time, pod, message);
}

static bool of_region(struct json_object *o, int64_t region_id) {
        struct json_object *r;

        return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "region_id", &r) &&
               json_object_is_type(r, json_type_int) && json_object_get_int64(r) == region_id;
}

int logtail_parse(const char *body, size_t size, int64_t region_id, unsigned max_lines, char **ret,
                  const char **ret_why) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *doc, *results;
        _cleanup_free_ char **lines = NULL;
        size_t n = 0, total = 0;
        char *tail = NULL;

        doc = json_tokener_parse_ex(tok, body, (int) MIN(size, (size_t) INT_MAX));
        json_tokener_free(tok);
        if (!doc || !json_object_is_type(doc, json_type_object) ||
            !json_object_object_get_ex(doc, "results", &results) || !json_object_is_type(results, json_type_array)) {
                json_object_put(doc);
                *ret_why = "not a {count, results} page of log lines";
                return -EBADMSG;
        }
        for (size_t i = 0; i < json_object_array_length(results) && n < MIN(max_lines, LOGTAIL_LINES_MAX); i++) {
                struct json_object *o = json_object_array_get_idx(results, i);
                if (!of_region(o, region_id))
                        continue;
                *(char **) array_append(&lines, &n, sizeof(char *)) = line_of(o);
        }
        json_object_put(doc);
        /* Newest first from the API, oldest first on screen; the newest kept within the cap. */
        for (size_t i = 0; i < n; i++) {
                size_t k = strlen(lines[i]) + 1;
                if (total + k > LOGTAIL_MAX) {
                        for (size_t j = i; j < n; j++)
                                free(lines[j]);
                        n = i;
                        break;
                }
                total += k;
        }
        for (size_t i = n; i > 0; i--) {
                strextendf(&tail, "\n", "%s", lines[i - 1]);
                free(lines[i - 1]);
        }
        *ret = tail ? tail : xstrdup("");
        return 0;
}
