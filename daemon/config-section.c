/* The engine of the key tables: a group is read by running the parser of each of its keys in
 * table order, then warning about the members no key names; a section of the top level is a list
 * of groups (accounts, projects, webhooks), read into an array of structs, or a single group read
 * into a struct, each element starting from its defaults.
 *
 * How to add a key: one line in its group's table (top_keys in config.c, account_keys in
 * config-account.c, ...): { "name", parser, offsetof(struct ..., field), min, max, .data = ... }.
 * The shared parsers cover most keys: config_parse_unsigned, config_parse_duration (µs bounds:
 * SEC, 5 * MINUTE), config_parse_interval0 (a duration where 0 means never), config_parse_size
 * (byte bounds: KIB, GIB), config_parse_path, config_parse_strings (.data: a struct
 * strings_rule), config_parse_secret (.data: a struct secret_keys; list its other two keys
 * without a parser). A key with its own rules gets a small parser next to its table, returning
 * 0 (absent: leave the default), 1 (set) or -EINVAL (reported); one that depends on another key
 * comes after it in the table and asks section_result() how that one went (see parse_timeout).
 * Put the default in the section's defaults struct (config_defaults for the top level), the
 * field in config.h, and free it in the section's done function (config_free() for the top
 * level). Then document the key in inferwatch.conf(5)
 * and show it in conf/inferwatch.conf: tests/offline/doc-coverage.sh checks both against the
 * table.
 *
 * How to add a section: a config-foo.c with its key table, its defaults, a done function that
 * frees what an element holds, and a const struct config_section (see config-account.c), declared
 * in config-internal.h; then one line in top_keys (config.c). A list, foo = ( { ... }, ... ):
 * { "foo", config_parse_list, C(foos), .data = &foo_section }, with struct foo *foos and size_t
 * n_foos in struct config. A single group, foo = { ... }: { "foo", config_parse_group, C(foo),
 * .data = &foo_section }, with a struct foo foo in struct config, which holds the defaults when
 * the group is absent. Sections are read in table order, after the settings of the top level,
 * and freed by config_free() through done; list-config-keys (and so doc-coverage) lists each
 * section's keys as a group of its own. tests/unit/test-config.c tests the engine with a table
 * of its own (test_table_engine). */
#include "config-internal.h"

static size_t keys_count(const struct config_key *keys) {
        size_t n = 0;

        while (keys[n].key)
                n++;
        return n;
}

void parse_keys(struct section_ctx *ctx, void *obj, bool (*filter)(const struct config_key *k)) {
        for (size_t i = 0; ctx->keys[i].key; i++)
                if (ctx->keys[i].parse && (!filter || filter(&ctx->keys[i])))
                        ctx->results[i] = ctx->keys[i].parse(ctx, &ctx->keys[i], obj);
}

int section_result(const struct section_ctx *ctx, const char *key) {
        for (size_t i = 0; ctx->keys[i].key; i++)
                if (streq(ctx->keys[i].key, key))
                        return ctx->results[i];
        return 0;
}

void warn_unknown_keys(const struct scope *sc, const struct config_key *keys) {
        size_t n_known = keys_count(keys);
        _cleanup_free_ const char **known = xcalloc(n_known, sizeof(*known));

        for (size_t k = 0; k < n_known; k++)
                known[k] = keys[k].key;
        for (int i = 0; i < config_setting_length(sc->group); i++) {
                const config_setting_t *m = config_setting_get_elem(sc->group, (unsigned) i);
                const char *name = config_setting_name(m);
                _cleanup_free_ char *prefix = NULL, *hint = NULL;
                bool found = false;

                for (size_t k = 0; k < n_known && !found; k++)
                        found = streq(known[k], name);
                if (found)
                        continue;
                hint = did_you_mean(known, n_known, name);
                report_warning(sc->l, m, "%sunknown key \"%s\"%s", scope_prefix(sc, &prefix), name, hint);
        }
}

/* Accounts are referred to by name, webhooks keep their spools under it: each name once per list.
 * The first element with the name is the one reported as "first at". */
void check_name_unique(struct section_ctx *ctx, size_t offset, const char *what, const char *name) {
        const config_setting_t *g = ctx->sc.group;
        const config_setting_t *s = config_setting_get_member(g, "name");

        if (!name)
                return;
        for (size_t i = 0; i < ctx->n_elems; i++) {
                const char *other = *FIELD((char *) ctx->elems + i * ctx->elem_size, offset, char *);
                if (other && streq(other, name)) {
                        _cleanup_free_ char *at = where(ctx->sc.l, ctx->groups[i], s ? s : g);
                        report_error(ctx->sc.l, s ? s : g, "%s%s: duplicate %s name \"%s\" (first at %s)",
                                     ctx->sc.path, s ? ".name" : "", what, name, at);
                        return;
                }
        }
}

/* A list of groups, e.g. accounts = ( { ... }, { ... } ). Returns NULL when absent or wrong; an
 * empty list is returned as is. */
static const config_setting_t *get_group_list(const struct scope *sc, const char *key, bool required,
                                              const char *one) {
        const config_setting_t *s = member(sc, key);

        if (!s) {
                if (required)
                        report_error(sc->l, NULL, "\"%s\" is required", key);
                return NULL;
        }
        if (config_setting_type(s) != CONFIG_TYPE_LIST &&
            !(config_setting_type(s) == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)) {
                type_error(sc->l, s, key, "a list of groups such as ( { ... } )");
                return NULL;
        }
        if (required && config_setting_length(s) == 0) {
                report_error(sc->l, s, "%s: at least one %s is required", key, one);
                return NULL;
        }
        return s;
}

/* The element, if it is a group. */
static const config_setting_t *group_elem(struct loader *l, const config_setting_t *list, unsigned i,
                                          const char *path) {
        const config_setting_t *g = config_setting_get_elem(list, i);

        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
                type_error(l, g, path, "a group { ... }");
                return NULL;
        }
        return g;
}

static void parse_element(struct section_ctx *list_ctx, const struct config_section *section,
                          const config_setting_t *g, const char *path, void *elem) {
        _cleanup_free_ int *results = xcalloc(keys_count(section->keys), sizeof(int));
        struct section_ctx ctx = *list_ctx;

        ctx.sc = (struct scope) { list_ctx->sc.l, g, path };
        ctx.keys = section->keys;
        ctx.results = results;
        if (section->defaults)
                memcpy(elem, section->defaults, section->size);
        *FIELD(elem, section->offset_line, unsigned) = config_setting_source_line(g);
        parse_keys(&ctx, elem, NULL);
        warn_unknown_keys(&ctx.sc, section->keys);
}

int config_parse_group(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        const struct config_section *section = k->data;
        const config_setting_t *g = member(&ctx->sc, k->key);
        void *elem = FIELD(obj, k->offset, char);
        struct section_ctx group_ctx = { .sc.l = ctx->sc.l, .c = ctx->c, .count = 1 };

        if (section->defaults)
                memcpy(elem, section->defaults, section->size);
        if (!g)
                return 0;
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
                return type_error(ctx->sc.l, g, k->key, "a group { ... }");
        parse_element(&group_ctx, section, g, k->key, elem);
        return 1;
}

int config_parse_list(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        const struct config_section *section = k->data;
        const config_setting_t *list = get_group_list(&ctx->sc, k->key, section->required, section->one);
        unsigned n = list ? (unsigned) config_setting_length(list) : 0;
        _cleanup_free_ const config_setting_t **groups = xcalloc(n, sizeof(*groups));
        /* Allocated up front: projects keep pointers into the accounts. */
        char *elems = xcalloc(n, section->size);
        size_t *n_elems = FIELD(obj, section->offset_n, size_t);
        struct section_ctx list_ctx = {
                .c = ctx->c,
                .count = n,
                .elems = elems,
                .elem_size = section->size,
                .groups = groups,
        };

        memcpy(FIELD(obj, k->offset, char), &elems, sizeof(elems)); /* struct account *accounts, ... */
        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *path = xasprintf("%s[%u]", k->key, i);
                const config_setting_t *g = group_elem(ctx->sc.l, list, i, path);
                if (!g)
                        continue;
                list_ctx.sc.l = ctx->sc.l;
                list_ctx.index = i;
                list_ctx.n_elems = *n_elems;
                groups[*n_elems] = g;
                parse_element(&list_ctx, section, g, path, elems + *n_elems * section->size);
                (*n_elems)++;
        }
        return list ? 1 : 0;
}

bool is_section(const struct config_key *k) {
        return k->parse == config_parse_list || k->parse == config_parse_group;
}

static bool is_setting(const struct config_key *k) {
        return !is_section(k);
}

void parse_top_level(struct loader *l, const config_setting_t *root, const struct config_key *keys, void *obj,
                     struct config *c) {
        _cleanup_free_ int *results = xcalloc(keys_count(keys), sizeof(int));
        struct section_ctx ctx = {
                .sc = { l, root, NULL },
                .c = c,
                .keys = keys,
                .results = results,
        };

        parse_keys(&ctx, obj, is_setting);
        warn_unknown_keys(&ctx.sc, keys);
        parse_keys(&ctx, obj, is_section);
}

void sections_free(const struct config_key *keys, void *obj) {
        for (const struct config_key *k = keys; k->key; k++) {
                const struct config_section *section = k->data;
                char *elems;

                if (k->parse == config_parse_group && section->done)
                        section->done(FIELD(obj, k->offset, char));
                if (k->parse != config_parse_list)
                        continue;
                memcpy(&elems, FIELD(obj, k->offset, char), sizeof(elems));
                for (size_t i = 0; elems && section->done && i < *FIELD(obj, section->offset_n, size_t); i++)
                        section->done(elems + i * section->size);
                free(elems);
        }
}
