#include <limits.h>

#include "jsonscan.h"

/* Byte classes of string contents. */
enum {
        C_PLAIN,                  /* printable ASCII but " and \ */
        C_QUOTE,
        C_BACKSLASH,
        C_CONTROL,                /* < 0x20: refused (json-c decides) */
        C_HIGH,                   /* >= 0x80: the start of a UTF-8 sequence, checked */
};

static const uint8_t byte_class[256] = {
        [0x00 ... 0x1f] = C_CONTROL,
        [0x20 ... 0x21] = C_PLAIN,
        ['"'] = C_QUOTE,
        [0x23 ... 0x5b] = C_PLAIN,
        ['\\'] = C_BACKSLASH,
        [0x5d ... 0x7f] = C_PLAIN,
        [0x80 ... 0xff] = C_HIGH,
};

struct scanner {
        struct jscan *j;
        const unsigned char *base, *p, *end;
        unsigned keep_depth;      /* values nested deeper are checked but get no token */
        unsigned depth;           /* of the value being scanned */
};

static bool is_ws(unsigned char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct scanner *s) {
        while (s->p < s->end && is_ws(*s->p))
                s->p++;
}

/* JSCAN_NONE when the value is too deep to be recorded. */
static size_t push(struct scanner *s, enum jscan_type type) {
        struct jscan *j = s->j;

        if (s->depth > s->keep_depth)
                return JSCAN_NONE;
        if (j->n == j->alloc) {
                j->alloc = MAX(j->alloc * 2, (size_t) 256);
                j->tokens = xrealloc(j->tokens, j->alloc * sizeof(struct jscan_token));
        }
        j->tokens[j->n] = (struct jscan_token) { .start = (uint32_t) (s->p - s->base), .type = type };
        return j->n++;
}

static void close_token(struct scanner *s, size_t t) {
        if (t == JSCAN_NONE)
                return;
        s->j->tokens[t].end = (uint32_t) (s->p - s->base);
        s->j->tokens[t].next = (uint32_t) s->j->n;
}

/* The length of the well-formed UTF-8 sequence at p (Unicode 15, table 3-7), or 0. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
        unsigned char lo = 0x80, hi = 0xBF;
        size_t n;

        if (*p >= 0xC2 && *p <= 0xDF)
                n = 2;
        else if (*p >= 0xE0 && *p <= 0xEF)
                n = 3;
        else if (*p >= 0xF0 && *p <= 0xF4)
                n = 4;
        else
                return 0;
        if (*p == 0xE0)
                lo = 0xA0;
        else if (*p == 0xED)
                hi = 0x9F;
        else if (*p == 0xF0)
                lo = 0x90;
        else if (*p == 0xF4)
                hi = 0x8F;
        if ((size_t) (end - p) < n || p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (p[i] < 0x80 || p[i] > 0xBF)
                        return 0;
        return n;
}

static int scan_string(struct scanner *s) {
        const unsigned char *p, *end = s->end;
        bool escaped = false;
        size_t t;

        s->p++; /* the opening quote */
        t = push(s, JSCAN_STRING);
        /* A local cursor: s->p could alias the token array, and would be reloaded every byte. */
        for (p = s->p;;) {
                size_t n;
                while (p < end && byte_class[*p] == C_PLAIN)
                        p++;
                if (p >= end)
                        return -EBADMSG;
                switch (byte_class[*p]) {
                case C_QUOTE:
                        s->p = p;
                        if (t != JSCAN_NONE)
                                s->j->tokens[t].escaped = escaped;
                        close_token(s, t);
                        s->p++;
                        return 0;
                case C_BACKSLASH:
                        /* \u is left to json-c (surrogates, \u0000). */
                        if (end - p < 2 || p[1] == '\0' || !strchr("\"\\/bfnrt", p[1]))
                                return -EBADMSG;
                        escaped = true;
                        p += 2;
                        break;
                case C_HIGH:
                        n = utf8_sequence(p, end);
                        if (n == 0)
                                return -EBADMSG;
                        p += n;
                        break;
                default:
                        return -EBADMSG;
                }
        }
}

/* At most this many digits before and after the point: int64 and strtod are then exact
 * matches of what json-c makes of the number. */
#define MAX_DIGITS 18

static size_t digits(struct scanner *s) {
        const unsigned char *start = s->p;

        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                s->p++;
        return (size_t) (s->p - start);
}

static int scan_number(struct scanner *s) {
        size_t t = push(s, JSCAN_NUMBER), n;

        if (*s->p == '-')
                s->p++;
        if (s->p < s->end && *s->p == '0')
                s->p++; /* a digit after it is refused by the caller's grammar */
        else if ((n = digits(s)) == 0 || n > MAX_DIGITS)
                return -EBADMSG;
        if (t != JSCAN_NONE)
                s->j->tokens[t].integer = true;
        if (s->p < s->end && *s->p == '.') {
                s->p++;
                if ((n = digits(s)) == 0 || n > MAX_DIGITS)
                        return -EBADMSG;
                if (t != JSCAN_NONE)
                        s->j->tokens[t].integer = false;
        }
        if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
                return -EBADMSG;
        close_token(s, t);
        return 0;
}

static int scan_literal(struct scanner *s, const char *word, enum jscan_type type) {
        size_t l = strlen(word), t;

        if ((size_t) (s->end - s->p) < l || memcmp(s->p, word, l) != 0)
                return -EBADMSG;
        t = push(s, type);
        s->p += l;
        close_token(s, t);
        return 0;
}

static int scan_value(struct scanner *s, unsigned depth);

/* An object or an array: members or elements separated by commas, no trailing comma. */
static int scan_container(struct scanner *s, unsigned depth, bool object) {
        size_t t;
        int r;

        if (depth > JSCAN_MAX_DEPTH)
                return -EBADMSG;
        t = push(s, object ? JSCAN_OBJECT : JSCAN_ARRAY);
        s->p++;
        skip_ws(s);
        if (s->p < s->end && *s->p == (object ? '}' : ']')) {
                s->p++;
                close_token(s, t);
                return 0;
        }
        for (;;) {
                if (object) {
                        s->depth = depth + 1;
                        if (s->p >= s->end || *s->p != '"' || (r = scan_string(s)) < 0)
                                return -EBADMSG;
                        skip_ws(s);
                        if (s->p >= s->end || *s->p != ':')
                                return -EBADMSG;
                        s->p++;
                        skip_ws(s);
                }
                if ((r = scan_value(s, depth + 1)) < 0)
                        return r;
                skip_ws(s);
                if (s->p >= s->end)
                        return -EBADMSG;
                if (*s->p == ',') {
                        s->p++;
                        skip_ws(s);
                        continue;
                }
                if (*s->p != (object ? '}' : ']'))
                        return -EBADMSG;
                s->p++;
                close_token(s, t);
                return 0;
        }
}

static int scan_value(struct scanner *s, unsigned depth) {
        s->depth = depth;
        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p) {
        case '{':
                return scan_container(s, depth, true);
        case '[':
                return scan_container(s, depth, false);
        case '"':
                return scan_string(s);
        case 't':
                return scan_literal(s, "true", JSCAN_TRUE);
        case 'f':
                return scan_literal(s, "false", JSCAN_FALSE);
        case 'n':
                return scan_literal(s, "null", JSCAN_NULL);
        default:
                if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
                        return scan_number(s);
                return -EBADMSG;
        }
}

int jscan_parse(struct jscan *j, const char *text, size_t size) {
        return jscan_parse_shallow(j, text, size, UINT_MAX);
}

int jscan_parse_shallow(struct jscan *j, const char *text, size_t size, unsigned keep_depth) {
        struct scanner s = { .j = j, .base = (const unsigned char *) text, .p = (const unsigned char *) text,
                             .end = (const unsigned char *) text + size, .keep_depth = keep_depth };

        j->text = text;
        j->n = 0;
        /* json-c is given the length as an int, terminating NUL included (gcore.c). */
        if (size == 0 || size > INT32_MAX - 1)
                return -EBADMSG;
        skip_ws(&s);
        if (scan_value(&s, 1) < 0 || s.p != s.end)
                return -EBADMSG;
        return 0;
}

void jscan_done(struct jscan *j) {
        free(j->tokens);
        *j = (struct jscan) {};
}

bool jscan_is(const struct jscan *j, size_t tok, enum jscan_type type) {
        return tok < j->n && j->tokens[tok].type == type;
}

void jscan_span(const struct jscan *j, size_t tok, const char **ret_text, size_t *ret_size) {
        const struct jscan_token *t = &j->tokens[tok];

        *ret_text = j->text + t->start;
        *ret_size = t->end - t->start;
}

size_t jscan_first(const struct jscan *j, size_t tok) {
        return tok + 1 < j->tokens[tok].next ? tok + 1 : JSCAN_NONE;
}

size_t jscan_next(const struct jscan *j, size_t tok) {
        return j->tokens[tok].next;
}

/* The character an escape stands for. */
static char unescape(char c) {
        switch (c) {
        case 'b': return '\b';
        case 'f': return '\f';
        case 'n': return '\n';
        case 'r': return '\r';
        case 't': return '\t';
        default: return c; /* " \ / */
        }
}

static bool key_equals(const struct jscan *j, size_t k, const char *key, size_t len) {
        const struct jscan_token *t = &j->tokens[k];
        const char *p = j->text + t->start, *end = j->text + t->end;

        if (!t->escaped)
                return (size_t) (end - p) == len && memcmp(p, key, len) == 0;
        for (; p < end; p++, key++) {
                char c = *p == '\\' ? unescape(*++p) : *p;
                if (*key == '\0' || c != *key)
                        return false;
        }
        return *key == '\0';
}

size_t jscan_member(const struct jscan *j, size_t obj, const char *key) {
        size_t len = strlen(key), found = JSCAN_NONE;

        if (!jscan_is(j, obj, JSCAN_OBJECT))
                return 0;
        for (size_t k = obj + 1; k < j->tokens[obj].next; k = j->tokens[k + 1].next)
                if (key_equals(j, k, key, len))
                        found = k + 1;
        return found;
}

char *jscan_string(const struct jscan *j, size_t tok, size_t *ret_len) {
        const struct jscan_token *t = &j->tokens[tok];
        const char *p = j->text + t->start, *end = j->text + t->end;
        char *s = xmalloc((size_t) (end - p) + 1), *q = s;

        if (!t->escaped) {
                memcpy(s, p, (size_t) (end - p));
                q += end - p;
        } else
                for (; p < end; p++)
                        *q++ = *p == '\\' ? unescape(*++p) : *p;
        *q = '\0';
        if (ret_len)
                *ret_len = (size_t) (q - s);
        return s;
}

bool jscan_number(const struct jscan *j, size_t tok, int64_t *ret_int, double *ret_double) {
        const struct jscan_token *t = &j->tokens[tok];
        const char *p = j->text + t->start, *end = j->text + t->end;
        char buf[2 * MAX_DIGITS + 3];
        int64_t v = 0;
        bool minus = *p == '-';

        if (!t->integer) {
                memcpy(buf, p, (size_t) (end - p));
                buf[end - p] = '\0';
                *ret_double = strtod(buf, NULL);
                return false;
        }
        for (p += minus; p < end; p++)
                v = v * 10 + (*p - '0');
        *ret_int = minus ? -v : v;
        return true;
}
