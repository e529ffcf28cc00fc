/* Gcore API: URL building, tolerant parsing of InferenceInstanceOutSerializerV3, and the
 * meaning of an outcome. Everything here is pure: no I/O, so it is tested directly. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <math.h>

#include "gcore.h"

/* Deeper nesting than the schema's own (probes → probe → http_get → headers) means garbage. */
#define JSON_MAX_DEPTH 16

static const char *const outcome_names[_API_OUTCOME_MAX] = {
        [API_OK] = "ok",
        [API_AUTH_FAILED] = "auth_failed",
        [API_NOT_FOUND] = "not_found",
        [API_RETRYABLE] = "retryable",
        [API_PERMANENT] = "permanent",
};

const char *api_outcome_to_string(enum api_outcome o) {
        return o >= 0 && o < _API_OUTCOME_MAX ? outcome_names[o] : "unknown";
}

static char *escape(const char *s) {
        char *e = curl_easy_escape(NULL, s, 0);
        char *r;

        if (!e)
                abort(); /* only fails on OOM */
        r = xstrdup(e);
        curl_free(e);
        return r;
}

char *gcore_url_deployment(const char *base, int64_t project_id, const char *name) {
        _cleanup_free_ char *n = escape(name);

        return xasprintf("%s/cloud/v3/inference/%lld/deployments/%s", base, (long long) project_id, n);
}

char *gcore_url_list(const char *base, int64_t project_id, unsigned limit, uint64_t offset) {
        return xasprintf("%s/cloud/v3/inference/%lld/deployments?limit=%u&offset=%llu", base,
                         (long long) project_id, limit, (unsigned long long) offset);
}

/* 0 and *ret set (NULL for a JSON null) when body is one complete JSON value, else -EBADMSG. */
static int parse_json(const char *body, size_t size, struct json_object **ret) {
        struct json_tokener *tok;
        struct json_object *o;
        int r = -EBADMSG;

        if (size == 0 || size > INT32_MAX - 1)
                return -EBADMSG;
        tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        if (!tok)
                abort();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        /* The length includes the terminating NUL so that a bare trailing number completes. */
        o = json_tokener_parse_ex(tok, body, (int) size + 1);
        if (json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) >= size) {
                *ret = o;
                o = NULL;
                r = 0;
        }
        json_object_put(o);
        json_tokener_free(tok);
        return r;
}

/* A borrowed member of an object, or NULL when absent, null or obj is not an object. */
static struct json_object *member(struct json_object *obj, const char *key) {
        struct json_object *v;

        if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v))
                return NULL;
        return v; /* NULL for JSON null as well */
}

/* A string member, duplicated; NULL for anything but a non-empty string. */
static char *member_string(struct json_object *obj, const char *key) {
        struct json_object *v = member(obj, key);

        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
                return NULL;
        return xstrdup(json_object_get_string(v));
}

/* An integer. Integral doubles are accepted (schema drift); anything else gives def. */
static int64_t int_value(struct json_object *v, int64_t def) {
        if (json_object_is_type(v, json_type_int))
                return json_object_get_int64(v);
        if (json_object_is_type(v, json_type_double)) {
                double d = json_object_get_double(v);
                if (isfinite(d) && d == floor(d) && fabs(d) < 9e15)
                        return (int64_t) d;
        }
        return def;
}

static int64_t member_int(struct json_object *obj, const char *key, int64_t def) {
        return int_value(member(obj, key), def);
}

static char *parse_command(struct json_object *v) {
        if (json_object_is_type(v, json_type_string))
                return xstrdup(json_object_get_string(v));
        if (!json_object_is_type(v, json_type_array))
                return NULL;

        char *s = NULL;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                struct json_object *e = json_object_array_get_idx(v, i);
                if (json_object_is_type(e, json_type_string))
                        strextendf(&s, " ", "%s", json_object_get_string(e));
        }
        return s ? s : xstrdup("");
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static char *parse_envs_keys(struct json_object *v) {
        size_t n = 0;
        const char **keys;
        char *s;

        if (!json_object_is_type(v, json_type_object))
                return xstrdup("");
        keys = xcalloc(json_object_object_length(v) + 1, sizeof(char *));
        json_object_object_foreach(v, k, val) {
                (void) val;
                keys[n++] = k;
        }
        qsort(keys, n, sizeof(char *), compare_strings);
        s = NULL;
        for (size_t i = 0; i < n; i++)
                strextendf(&s, ",", "%s", keys[i]);
        free(keys);
        return s ? s : xstrdup("");
}

/* Text from the API that events and the state carry (error_message, an error body's message):
 * at most TEXT_SHOWN_MAX bytes as every text sink shows it (controls escaped, see cescape_cell),
 * cut between characters and marked as cut: a text of control characters, four times longer
 * once escaped, must fit too. */
/* A text member like member_string, at most TEXT_SHOWN_MAX bytes once escaped. */
static char *member_text(struct json_object *obj, const char *key) {
        struct json_object *v = member(obj, key);
        const char *s;
        size_t n;

        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
                return NULL;
        s = json_object_get_string(v);
        n = cescape_cell_prefix(s, TEXT_SHOWN_MAX);
        if (s[n] == '\0')
                return xstrdup(s);
        n = cescape_cell_prefix(s, TEXT_SHOWN_MAX - strlen(TEXT_CUT_MARK));
        return xasprintf("%.*s%s", (int) n, s, TEXT_CUT_MARK);
}

/* An instance count (deploy_status.ready or .total) that can be trusted: a JSON integer (or an
 * integral number, schema drift) from 0 to INT32_MAX, so that sums over regions stay exact.
 * Anything else makes the body unusable: read as 0 it would be a fake transition. */
static int member_count(struct json_object *obj, const char *key, int32_t *ret) {
        struct json_object *v = member(obj, key);

        if (json_object_is_type(v, json_type_int)) {
                errno = 0;
                int64_t n = json_object_get_int64(v);
                if (errno != 0 || n < 0 || n > INT32_MAX)
                        return -ERANGE;
                *ret = (int32_t) n;
                return 0;
        }
        if (json_object_is_type(v, json_type_double)) {
                double d = json_object_get_double(v);
                if (!isfinite(d) || d != floor(d))
                        return -EINVAL;
                if (d < 0 || d > INT32_MAX)
                        return -ERANGE;
                *ret = (int32_t) d;
                return 0;
        }
        return -EINVAL;
}

static int parse_container(struct json_object *c, struct container *k, const char **ret_why) {
        struct json_object *ds, *scale;
        int r;

        if (!json_object_is_type(c, json_type_object)) {
                *ret_why = "a container is not a JSON object";
                return -EBADMSG;
        }
        /* Without a region a container cannot be told apart from its siblings. */
        k->region_id = member_int(c, "region_id", INT64_MIN);
        if (k->region_id == INT64_MIN) {
                *ret_why = "a container has no integer \"region_id\"";
                return -EBADMSG;
        }
        ds = member(c, "deploy_status");
        if (!json_object_is_type(ds, json_type_object)) {
                *ret_why = "a container's \"deploy_status\" is not an object";
                return -EBADMSG;
        }
        r = member_count(ds, "ready", &k->ready);
        if (r < 0) {
                *ret_why = r == -ERANGE ? "a container's ready count is out of range"
                                        : "a container's ready count is not an integer";
                return -EBADMSG;
        }
        r = member_count(ds, "total", &k->total);
        if (r < 0) {
                *ret_why = r == -ERANGE ? "a container's total count is out of range"
                                        : "a container's total count is not an integer";
                return -EBADMSG;
        }
        if (k->ready > k->total) {
                *ret_why = "a container has more ready instances than its total";
                return -EBADMSG;
        }
        scale = member(c, "scale");
        k->error_message = member_text(c, "error_message");
        /* Only compared (a changed scale): beyond 32 bits is beyond any replica count. */
        k->scale_min = container_int32(member_int(scale, "min", -1), INT32_MIN);
        k->scale_max = container_int32(member_int(scale, "max", -1), INT32_MIN);
        return 0;
}

/* Every container must be usable: its counts are what health is computed from. */
static int parse_containers(struct json_object *arr, struct deployment *d, const char **ret_why) {
        size_t n;

        if (!json_object_is_type(arr, json_type_array)) {
                *ret_why = "response has no \"containers\" array";
                return -EBADMSG;
        }
        n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
                struct container k = {};
                if (parse_container(json_object_array_get_idx(arr, i), &k, ret_why) < 0) {
                        container_done(&k);
                        return -EBADMSG;
                }
                if (deployment_find_container(d, k.region_id)) {
                        container_done(&k);
                        continue;
                }
                *(struct container *) array_append(&d->containers, &d->n_containers, sizeof(k)) = k;
        }
        return 0;
}

/* -EBADMSG: o is not a deployment; -EUCLEAN: it is one (*ret holds its name and status only)
 * whose containers cannot be trusted. */
static int parse_object(struct json_object *o, struct deployment *ret, const char **ret_why) {
        struct deployment d = {};

        if (!json_object_is_type(o, json_type_object)) {
                *ret_why = "response is not a JSON object";
                return -EBADMSG;
        }
        d.name = member_string(o, "name");
        d.status = member_string(o, "status");
        if (!d.name || !d.status) {
                *ret_why = d.name ? "response has no \"status\" string" : "response has no \"name\" string";
                deployment_done(&d);
                return -EBADMSG;
        }
        d.status_enum = deploy_status_from_string(d.status);
        d.project_id = member_int(o, "project_id", 0);
        d.image = member_string(o, "image");
        d.flavor_name = member_string(o, "flavor_name");
        d.address = member_string(o, "address");
        d.command = parse_command(member(o, "command"));
        d.envs_keys = parse_envs_keys(member(o, "envs"));
        if (parse_containers(member(o, "containers"), &d, ret_why) < 0) {
                *ret = (struct deployment) { .name = TAKE_PTR(d.name), .status = TAKE_PTR(d.status),
                                             .status_enum = d.status_enum, .project_id = d.project_id };
                deployment_done(&d);
                return -EUCLEAN;
        }
        *ret = d;
        return 0;
}

int gcore_parse_deployment(const char *body, size_t size, struct deployment *ret, const char **ret_why) {
        struct json_object *o;
        int r;

        if (parse_json(body, size, &o) < 0) {
                *ret_why = "response is not valid JSON";
                return -EBADMSG;
        }
        r = parse_object(o, ret, ret_why);
        if (r == -EUCLEAN) {
                deployment_done(ret);
                r = -EBADMSG;
        }
        json_object_put(o);
        return r;
}

void deployment_page_done(struct deployment_page *p) {
        for (size_t i = 0; i < p->n_items; i++)
                deployment_done(&p->items[i]);
        free(p->items);
        free(p->unusable);
        *p = (struct deployment_page) {};
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool has_duplicate_name(const struct deployment_page *p) {
        _cleanup_free_ const char **names = xcalloc(p->n_items, sizeof(char *));
        bool dup = false;

        for (size_t i = 0; i < p->n_items; i++)
                names[i] = p->items[i].name;
        qsort(names, p->n_items, sizeof(char *), compare_names);
        for (size_t i = 1; i < p->n_items && !dup; i++)
                dup = streq(names[i - 1], names[i]);
        return dup;
}

/* A list page is parsed one item at a time: as one json-c tree, a page of 1000 items took
 * 15 MiB at once. Only what lies between values is read here ({"key": value, ...} at the top,
 * the items of "results"); every key and value is json-c's to parse. */
struct scan {
        const char *p, *end;
        struct json_tokener *tok;
};

static void skip_space(struct scan *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

static bool scan_char(struct scan *s, char c) {
        skip_space(s);
        if (s->p >= s->end || *s->p != c)
                return false;
        s->p++;
        return true;
}

/* The next value (NULL for a JSON null); -EBADMSG when there is none. */
static int scan_value(struct scan *s, struct json_object **ret) {
        skip_space(s);
        json_tokener_reset(s->tok);
        *ret = json_tokener_parse_ex(s->tok, s->p, (int) (s->end - s->p));
        if (json_tokener_get_error(s->tok) != json_tokener_success) {
                json_object_put(*ret);
                *ret = NULL;
                return -EBADMSG;
        }
        s->p += json_tokener_get_parse_end(s->tok);
        return 0;
}

/* The items of "results", after its '['. The first item that is no deployment is remembered in
 * *item_r and *item_why (the scan goes on: invalid JSON further on is what the page is). */
static int scan_items(struct scan *s, struct deployment_page *p, size_t *n_unusable, int *item_r,
                      const char **item_why) {
        struct json_object *v;

        if (scan_char(s, ']'))
                return 0;
        do {
                if (scan_value(s, &v) < 0)
                        return -EBADMSG;
                if (*item_r >= 0) {
                        struct deployment *d = array_append(&p->items, &p->n_items, sizeof(*d));
                        const char **why = array_append(&p->unusable, n_unusable, sizeof(*why));
                        int r = parse_object(v, d, item_why);
                        if (r == -EUCLEAN)
                                *why = *item_why;
                        else if (r < 0)
                                *item_r = r;
                }
                json_object_put(v);
        } while (scan_char(s, ','));
        return scan_char(s, ']') ? 0 : -EBADMSG;
}

/* The top-level object's members; *has_results when the last "results" was an array, *count
 * the last "count" (-1 if none or not an integer). */
static int scan_page(struct scan *s, struct deployment_page *p, bool *has_results, int64_t *count, int *item_r,
                     const char **item_why) {
        size_t n_unusable = 0;

        if (scan_char(s, '}'))
                goto end;
        do {
                struct json_object *key, *v;
                bool results, is_count;
                if (scan_value(s, &key) < 0 || !json_object_is_type(key, json_type_string) || !scan_char(s, ':')) {
                        json_object_put(key);
                        return -EBADMSG;
                }
                results = streq(json_object_get_string(key), "results");
                is_count = streq(json_object_get_string(key), "count");
                json_object_put(key);
                if (results) {
                        /* A member given twice counts the last time, as in a tree. */
                        deployment_page_done(p);
                        n_unusable = 0;
                        *item_r = 0;
                        *has_results = scan_char(s, '[');
                        if (*has_results) {
                                if (scan_items(s, p, &n_unusable, item_r, item_why) < 0)
                                        return -EBADMSG;
                                continue;
                        }
                }
                if (scan_value(s, &v) < 0)
                        return -EBADMSG;
                if (is_count)
                        *count = int_value(v, -1);
                json_object_put(v);
        } while (scan_char(s, ','));
        if (!scan_char(s, '}'))
                return -EBADMSG;
end:
        /* Nothing but white space after it. */
        skip_space(s);
        return s->p == s->end ? 0 : -EBADMSG;
}

int gcore_parse_page(const char *body, size_t size, struct deployment_page *ret, const char **ret_why) {
        struct deployment_page p = {};
        struct scan s = { .p = body, .end = body + size };
        struct json_object *o = NULL;
        bool has_results = false;
        const char *item_why = NULL;
        int64_t count = -1;
        int r, item_r = 0;

        if (size == 0 || size > INT32_MAX - 1) {
                *ret_why = "response is not valid JSON";
                return -EBADMSG;
        }
        if (!scan_char(&s, '{')) {
                /* Not an object: either no JSON or no "results". */
                r = parse_json(body, size, &o);
                json_object_put(o);
                *ret_why = r < 0 ? "response is not valid JSON" : "list response has no \"results\" array";
                return -EBADMSG;
        }
        /* Items are two levels below the top, as they were in a tree. */
        s.tok = json_tokener_new_ex(JSON_MAX_DEPTH - 2);
        if (!s.tok)
                abort();
        json_tokener_set_flags(s.tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
                                      JSON_TOKENER_ALLOW_TRAILING_CHARS);
        r = scan_page(&s, &p, &has_results, &count, &item_r, &item_why);
        p.count = count;
        json_tokener_free(s.tok);
        if (r < 0)
                *ret_why = "response is not valid JSON";
        else if (!has_results)
                *ret_why = "list response has no \"results\" array";
        else if (count < 0)
                *ret_why = "list response has no \"count\"";
        else if (item_r < 0)
                *ret_why = item_why;
        /* One name twice would be two observations of one deployment from one response. */
        else if (has_duplicate_name(&p))
                *ret_why = "list response names a deployment twice";
        else {
                *ret = p;
                return 0;
        }
        deployment_page_done(&p);
        return -EBADMSG;
}

enum api_outcome gcore_classify_status(long s) {
        if (s >= 200 && s < 300)
                return API_OK;
        if (s == 401)
                return API_AUTH_FAILED;
        if (s == 404)
                return API_NOT_FOUND;
        if (s == 0 || s == 408 || s == 409 || s == 425 || s == 429 || (s >= 500 && s < 600))
                return API_RETRYABLE;
        return API_PERMANENT;
}

bool gcore_status_object_scoped(long s) {
        return s == 409 || (s >= 500 && s < 600 && s != 502 && s != 503 && s != 504);
}

void gcore_parse_error_body(const char *body, size_t size, struct api_error *e) {
        struct json_object *o;

        if (parse_json(body, size, &o) < 0 || !o)
                return;
        free(e->exception_class);
        free(e->message);
        free(e->request_id);
        e->exception_class = member_string(o, "exception_class");
        e->message = member_text(o, "message");
        e->request_id = member_string(o, "request_id");
        /* Some Gcore services answer {"detail": "..."} (Django REST framework). */
        if (!e->message)
                e->message = member_text(o, "detail");
        json_object_put(o);
}

int gcore_parse_retry_after(const char *value, usec_t now_realtime, usec_t *ret) {
        const char *p = value;

        if (!value)
                return -EINVAL;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p >= '0' && *p <= '9') {
                char *end;
                errno = 0;
                double secs = strtod(p, &end);
                while (*end == ' ' || *end == '\t')
                        end++;
                if (errno != 0 || *end || !isfinite(secs) || secs < 0)
                        return -EINVAL;
                *ret = secs > 1e9 ? (usec_t) 1e9 * USEC_PER_SEC : (usec_t) (secs * USEC_PER_SEC);
                return 0;
        }
        time_t t = curl_getdate(p, NULL);
        if (t < 0)
                return -EINVAL;
        usec_t at = (usec_t) t * USEC_PER_SEC;
        *ret = at > now_realtime ? at - now_realtime : 0;
        return 0;
}

void api_error_done(struct api_error *e) {
        free(e->exception_class);
        free(e->message);
        free(e->request_id);
        free(e->summary);
        *e = (struct api_error) {};
}
