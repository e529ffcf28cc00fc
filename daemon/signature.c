#include <ctype.h>
#include <regex.h>
#include <strings.h>

#include "signature.h"

/* Kubernetes' random suffixes (pod names, pod-template-hash) use this alphabet: no vowels, no
 * 0, 1 or 3 (k8s.io/apimachinery/pkg/util/rand). */
#define K8S "[bcdfghjklmnpqrstvwxz2456789]"
#define HEX "[0-9a-fA-F]"

struct rule {
        const char *regex;
        const char *replacement;
        int group;          /* the subexpression replaced; 0: the whole match */
        bool needs_digit;   /* a match without a digit is left alone ("-https" is no pod suffix) */
        bool keep_dotted;   /* a match next to ".<digit>" is part of a version and left alone */
        bool keep_code;     /* a number right after "code" or "status" says which error: left alone */
};

/* Applied in order, each to the output of the ones before. A match only counts when it does
 * not start or end inside a word (see word_bounded). */
static const struct rule rules[] = {
        { HEX "{8}-" HEX "{4}-" HEX "{4}-" HEX "{4}-" HEX "{12}", "<uuid>" },
        { "(sha1|sha256|sha384|sha512|md5):" HEX "{16,}", "<digest>" },
        /* RFC 3339 and Go's time.Time.String(): 2024-05-01T10:02:03.5Z, 2024-05-01 10:02:03 +0000 UTC */
        { "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?"
          "(Z|[+-][0-9]{2}:?[0-9]{2}| [+-][0-9]{4})?( [A-Z]{3,5})?", "<time>" },
        /* klog's header "E0501 10:02:03.123456", then any time of day. */
        { "[IWEF][0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?", "<time>" },
        { "[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?", "<time>" },
        /* Addresses, with their ports: [fd00::1]:8080, 10.0.0.7:443, 10.244.0.0/16, fe80::1. */
        { "\\[" HEX "{0,4}(:" HEX "{0,4}){2,7}(%[a-z0-9]+)?\\](:[0-9]{1,5})?", "<addr>" },
        { "[0-9]{1,3}(\\.[0-9]{1,3}){3}(:[0-9]{1,5}|/[0-9]{1,2})?", "<addr>" },
        { "(" HEX "{1,4}:){1,6}(:" HEX "{1,4}){1,6}|" HEX "{1,4}(:" HEX "{1,4}){7}|(" HEX "{1,4}:){1,7}:",
          "<addr>", 0, true },
        /* Request and trace ids: the value after the word. */
        { "(request|req|trace|correlation|span)[-_ ]?id[\"']?[:= ]+[\"']?([A-Za-z0-9_.-]{6,})", "<id>", 2 },
        /* llm-7d9f8b6c5-q2x7m (Deployment pod), llm-7d9f8b6c5 (ReplicaSet), job-q2x7m: a word of this
         * alphabet alone is not English (no vowels), so no digit is needed. */
        { "-" K8S "{6,10}-" K8S "{5}", "-<pod>" },
        { "-" K8S "{6,10}", "-<hash>" },
        { "-" K8S "{5}", "-<pod>" },
        /* Container ids, image ids, git hashes: long hex runs with a digit; 0x1f. */
        { HEX "{12,}", "<hex>", 0, true },
        { "0x" HEX "+", "<hex>" },
        /* kubectl's repeat count of an event, "(x12 over 5m)", says how long, not what. */
        { " ?\\(x[0-9]+ over [0-9a-z.]+\\)", "" },
        /* Quantities: 2.1GB, 48Gi, 8123456Ki. */
        { "[0-9]+(\\.[0-9]+)?([KMGTPE]i?B?|[kmgtpe]B)", "<size>" },
        /* Durations: 10s, 1m20s, 2h0m0s, 1.5s, 300ms. */
        { "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))*", "<dur>" },
        /* An HTTP status says which error by its class: "statuscode: 503" and "500" are one
         * error (the server is not ready), "404" another (a wrong path). */
        { "([Ss]tatus ?[Cc]ode|HTTP status)[:= ]+[1-5]([0-9]{2})", "xx", 2 },
        /* Counters, attempts, sizes: a bare number, "x12" (kubectl's "(x12 over 5m)"), but not a
         * part of a version (v0.6.3) or of a word (h100), nor an exit code or status ("exit code
         * 137" is a kill, "exit code 1" the program's own failure: two errors). */
        { "x[0-9]+", "x#" },
        { "[0-9]+", "#", 0, false, true, true },
};

static bool is_word(char c) {
        return isalnum((unsigned char) c);
}

/* A match of [so, eo) stands on its own: a word character at either end is not glued to
 * another one outside. */
static bool word_bounded(const char *s, regoff_t so, regoff_t eo) {
        if (is_word(s[so]) && so > 0 && is_word(s[so - 1]))
                return false;
        if (eo > so && is_word(s[eo - 1]) && is_word(s[eo]))
                return false;
        return true;
}

static bool dotted(const char *s, regoff_t so, regoff_t eo) {
        return (so >= 2 && s[so - 1] == '.' && isdigit((unsigned char) s[so - 2])) ||
               (s[eo] == '.' && isdigit((unsigned char) s[eo + 1]));
}

/* The match at so follows "code" or "status" (any case, a whole word) and separators: "exit
 * code 137", "exit status 2", "exit_code=1", "code: 3". */
static bool after_code(const char *s, regoff_t so) {
        regoff_t end = so, start;

        while (end > 0 && strchr(" :=", s[end - 1]))
                end--;
        if (end == so)
                return false;
        for (start = end; start > 0 && is_word(s[start - 1]); start--)
                ;
        return (end - start == 4 && strncasecmp(s + start, "code", 4) == 0) ||
               (end - start == 6 && strncasecmp(s + start, "status", 6) == 0);
}

static bool has_digit(const char *s, regoff_t so, regoff_t eo) {
        for (regoff_t i = so; i < eo; i++)
                if (isdigit((unsigned char) s[i]))
                        return true;
        return false;
}

static bool accepted(const struct rule *r, const char *s, const regmatch_t *m) {
        regoff_t so = m[r->group].rm_so, eo = m[r->group].rm_eo;

        if (so < 0 || eo <= so || !word_bounded(s, m[0].rm_so, m[0].rm_eo))
                return false;
        if (r->needs_digit && !has_digit(s, so, eo))
                return false;
        if (r->keep_code && after_code(s, so))
                return false;
        return !(r->keep_dotted && dotted(s, so, eo));
}

unsigned long error_signature_searches;

/* The output of one rule, appended in amortised constant time per byte. */
struct text {
        char *p;
        size_t n, size;
};

static void text_add(struct text *t, const char *s, size_t n) {
        if (t->n + n + 1 > t->size) {
                t->size = MAX(t->n + n + 1, 2 * t->size);
                t->p = xrealloc(t->p, t->size);
        }
        memcpy(t->p + t->n, s, n);
        t->n += n;
        t->p[t->n] = '\0';
}

/* Where to look again after a rejected match at so: not inside the same word, where every
 * match starts glued to the word character before it and is rejected (word_bounded). Searching
 * again from each of those characters made a long word cost one search per byte (4000 hex
 * letters: 4000 searches of the rest of the text, tens of milliseconds); skipping them makes
 * the searches of one rule at most one per word or separator, each from a later position. */
static size_t next_start(const char *s, size_t so) {
        size_t pos = so + 1;

        while (s[pos] && is_word(s[pos]) && is_word(s[pos - 1]))
                pos++;
        return pos;
}

static char *apply(const struct rule *r, const regex_t *re, const char *s) {
        struct text out = {};
        size_t pos = 0, len = strlen(s);
        regmatch_t m[8];

        text_add(&out, "", 0);
        while (pos < len) {
                error_signature_searches++;
                if (regexec(re, s + pos, (size_t) r->group + 1, m, pos > 0 ? REG_NOTBOL : 0) != 0)
                        break;
                for (int i = 0; i <= r->group; i++)
                        if (m[i].rm_so >= 0) {
                                m[i].rm_so += (regoff_t) pos;
                                m[i].rm_eo += (regoff_t) pos;
                        }
                if (!accepted(r, s, m)) {
                        /* Not this one: keep the text up to where to look again. */
                        size_t next = next_start(s, (size_t) m[0].rm_so);
                        text_add(&out, s + pos, next - pos);
                        pos = next;
                        continue;
                }
                text_add(&out, s + pos, (size_t) (m[r->group].rm_so - (regoff_t) pos));
                text_add(&out, r->replacement, strlen(r->replacement));
                text_add(&out, s + m[r->group].rm_eo, (size_t) (m[0].rm_eo - m[r->group].rm_eo));
                pos = (size_t) MAX(m[0].rm_eo, m[0].rm_so + 1);
        }
        if (pos < len)
                text_add(&out, s + pos, len - pos);
        return out.p;
}

/* Runs of white space become one space, and the ends are trimmed. */
static char *squeeze(const char *s) {
        char *out = xmalloc(strlen(s) + 1), *o = out;

        for (; *s; s++) {
                if (isspace((unsigned char) *s)) {
                        if (o > out && o[-1] != ' ')
                                *o++ = ' ';
                } else
                        *o++ = *s;
        }
        if (o > out && o[-1] == ' ')
                o--;
        *o = '\0';
        return out;
}

/* The rules compiled once, on first use, and never changed after: a constant table the
 * library builds at run time (a signature costs tens of microseconds instead of compiling
 * seventeen expressions each time). */
static const regex_t *compiled_rules(void) {
        static regex_t compiled[ELEMENTSOF(rules)];
        static bool done;

        if (!done) {
                for (size_t i = 0; i < ELEMENTSOF(rules); i++)
                        if (regcomp(&compiled[i], rules[i].regex, REG_EXTENDED) != 0)
                                abort(); /* a bug in the table above */
                done = true;
        }
        return compiled;
}

char *error_signature(const char *msg) {
        const regex_t *re = compiled_rules();
        char *s = squeeze(strempty(msg));

        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                char *n = apply(&rules[i], &re[i], s);
                free(s);
                s = n;
        }
        return s;
}

bool error_same_signature(const char *a, const char *b) {
        _cleanup_free_ char *sa = NULL, *sb = NULL;

        if (!a || !b)
                return a == b;
        if (streq(a, b))
                return true;
        sa = error_signature(a);
        sb = error_signature(b);
        return streq(sa, sb);
}
