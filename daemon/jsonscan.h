/* A strict tokenizer for a subset of JSON, for the hot path of parsing API responses: json-c
 * builds a tree of allocated objects for every value, which made a 100-item list page cost
 * about 3 ms (10,000 deployments: 0.3 s of CPU per poll cycle); scanning the same page into a
 * flat array of tokens costs a tenth of that.
 *
 * It only accepts what it can judge exactly as json-c (strict mode, UTF-8 validation) would:
 * strict RFC 8259 JSON whose strings are well-formed UTF-8 with the simple escapes (\" \\ \/ \b
 * \f \n \r \t, no \u), whose numbers are integers of at most 18 digits or decimals without an
 * exponent, nested at most JSCAN_MAX_DEPTH deep, with nothing before or after the value but
 * spaces, tabs and line ends before it. Anything else, malformed or merely unusual, is refused,
 * and the caller parses the text with json-c instead, which stays the reference. */
#pragma once

#include "util.h"

#define JSCAN_MAX_DEPTH 12
/* "No such token": a missing member, the end of an array. */
#define JSCAN_NONE ((size_t) -1)

enum jscan_type {
        JSCAN_NULL,
        JSCAN_FALSE,
        JSCAN_TRUE,
        JSCAN_NUMBER,
        JSCAN_STRING,
        JSCAN_ARRAY,
        JSCAN_OBJECT,
};

/* One value. An object's tokens are followed by its members as pairs: the key (a string
 * token), then the value's tokens; an array's by its elements' tokens. */
struct jscan_token {
        uint32_t start, end;      /* the value's bytes; for a string, between the quotes */
        uint32_t next;            /* the index of the first token after this value's own */
        uint8_t type;
        bool escaped;             /* a string with backslash escapes */
        bool integer;             /* a number without a fraction */
};

struct jscan {
        const char *text;
        struct jscan_token *tokens;
        size_t n, alloc;
};

/* 0, or -EBADMSG when the text is malformed or outside the subset. j keeps its token array
 * between calls; jscan_done() frees it. */
int jscan_parse(struct jscan *j, const char *text, size_t size);
/* The same, but values nested deeper than keep_depth (the top value is at depth 1) are checked
 * and get no token: a 10,000-deployment state file keeps one token per deployment, whose text
 * (jscan_span) is then parsed on its own. */
int jscan_parse_shallow(struct jscan *j, const char *text, size_t size, unsigned keep_depth);
void jscan_done(struct jscan *j);
/* The text of a value (a string's without its quotes). */
void jscan_span(const struct jscan *j, size_t tok, const char **ret_text, size_t *ret_size);

/* The value of the last member named key of the object at token obj (json-c keeps the last
 * of duplicate keys), or JSCAN_NONE when there is none or obj is not an object (or NONE). */
size_t jscan_member(const struct jscan *j, size_t obj, const char *key);
/* The elements of an array, the members' keys of an object: the first child (JSCAN_NONE when
 * empty), and the token after a child; children end at jscan_next(j, container). */
size_t jscan_first(const struct jscan *j, size_t tok);
size_t jscan_next(const struct jscan *j, size_t tok);
/* False for JSCAN_NONE. */
bool jscan_is(const struct jscan *j, size_t tok, enum jscan_type type);

/* The decoded text of a string token (malloc'ed), and its length in *ret_len if not NULL. */
char *jscan_string(const struct jscan *j, size_t tok, size_t *ret_len);
/* A number token: *ret_int and true for an integer, else *ret_double (strtod) and false. */
bool jscan_number(const struct jscan *j, size_t tok, int64_t *ret_int, double *ret_double);
