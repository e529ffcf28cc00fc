/* The "projects" section: which deployments of which account to watch. */
#include <inttypes.h>

#include "config-internal.h"

#define DEPLOYMENT_NAME_LEN_MAX 128U

static bool deployment_name_valid(const char *s) {
        size_t n = strlen(s);

        return n >= 1 && n <= DEPLOYMENT_NAME_LEN_MAX && !strchr(s, '/') && !has_control_chars(s);
}

static bool check_deployment_name(struct loader *l, const config_setting_t *s, const char *path,
                                  const char *v) {
        _cleanup_free_ char *q = NULL;

        if (deployment_name_valid(v))
                return true;
        q = cescape(v);
        report_error(l, s,
                     "%s: invalid deployment name \"%s\"; use 1 to %u characters without \"/\" or control "
                     "characters",
                     path, q, DEPLOYMENT_NAME_LEN_MAX);
        return false;
}

struct named_elem {
        const char *name;
        unsigned idx;
};

static int named_elem_compare(const void *a, const void *b) {
        const struct named_elem *x = a, *y = b;
        int r = strcmp(x->name, y->name);

        return r != 0 ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Sorting instead of comparing every pair: a project may list thousands of deployments. */
static void check_deployments_unique(struct loader *l, const config_setting_t *list, const char *path) {
        unsigned n = (unsigned) config_setting_length(list);
        _cleanup_free_ struct named_elem *v = xcalloc(n, sizeof(*v));
        size_t m = 0;

        for (unsigned i = 0; i < n; i++) {
                const config_setting_t *e = config_setting_get_elem(list, i);
                if (config_setting_type(e) == CONFIG_TYPE_STRING &&
                    deployment_name_valid(config_setting_get_string(e)))
                        v[m++] = (struct named_elem) { config_setting_get_string(e), i };
        }
        qsort(v, m, sizeof(*v), named_elem_compare);
        for (size_t i = 1, first = 0; i < m; i++) {
                if (!streq(v[i].name, v[first].name)) {
                        first = i;
                        continue;
                }
                const config_setting_t *dup = config_setting_get_elem(list, v[i].idx);
                _cleanup_free_ char *q = cescape(v[i].name);
                _cleanup_free_ char *at = where(l, config_setting_get_elem(list, v[first].idx), dup);
                report_error(l, dup, "%s[%u]: duplicate deployment \"%s\" (first at %s)", path, v[i].idx, q,
                             at);
        }
}

static int parse_project_id(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct project *p = obj;
        int r = get_int(&ctx->sc, k->key, 1, PROJECT_ID_MAX, &p->id);

        if (r == 0)
                report_error(ctx->sc.l, ctx->sc.group, "%s: \"id\" is required", ctx->sc.path);
        return r;
}

/* The same project of the same account twice would be polled and reported twice. */
static void check_project_unique(struct section_ctx *ctx, const struct project *p) {
        const struct project *before = ctx->elems;

        for (size_t i = 0; p->account && p->id > 0 && i < ctx->n_elems; i++)
                if (before[i].account == p->account && before[i].id == p->id) {
                        _cleanup_free_ char *at = where(ctx->sc.l, ctx->groups[i], ctx->sc.group);
                        report_error(ctx->sc.l, ctx->sc.group,
                                     "%s: duplicate project %" PRIi64 " of account \"%s\" (first at %s)",
                                     ctx->sc.path, p->id, p->account->name, at);
                        return;
                }
}

/* The accounts are read before the projects. */
static int parse_project_account(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        const struct scope *sc = &ctx->sc;
        const struct config *c = ctx->c;
        struct project *p = obj;
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, k->key, &path);
        const char *name = NULL;

        if (c->n_accounts == 0)
                return 0; /* "accounts" is missing or wrong, and reported */
        if (!s) {
                if (c->n_accounts == 1)
                        p->account = &c->accounts[0];
                else
                        report_error(sc->l, sc->group,
                                     "%s: \"account\" is required when several accounts are defined",
                                     sc->path);
        } else if (value_string(sc->l, s, path, &name) > 0) {
                p->account = config_find_account(c, name);
                if (!p->account) {
                        q = cescape(name);
                        report_error(sc->l, s, "%s: no account named \"%s\"", path, q);
                }
        }
        check_project_unique(ctx, p);
        return p->account ? 1 : -EINVAL;
}

static int parse_deployments(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        const struct scope *sc = &ctx->sc;
        struct project *p = obj;
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(sc, k->key, &path);
        const char *what = "\"*\" or an array of deployment names";

        if (!s) {
                report_error(sc->l, sc->group,
                             "%s: \"deployments\" is required (\"*\" or an array of names)", sc->path);
                return -EINVAL;
        }
        if (config_setting_type(s) == CONFIG_TYPE_STRING) {
                p->all = streq(config_setting_get_string(s), "*");
                if (!p->all) {
                        q = cescape(config_setting_get_string(s));
                        report_error(sc->l, s, "%s: expected %s, got \"%s\" (write [ \"%s\" ] for one)",
                                     path, what, q, q);
                }
                return p->all ? 1 : -EINVAL;
        }
        if (!config_setting_is_aggregate(s) || config_setting_is_group(s)) {
                return type_error(sc->l, s, path, what);
        }
        if (config_setting_length(s) == 0) {
                report_error(sc->l, s, "%s: must not be empty; list deployment names or use \"*\"", path);
                return -EINVAL;
        }
        (void) value_strings(sc->l, s, path, check_deployment_name, &p->deployments, &p->n_deployments);
        check_deployments_unique(sc->l, s, path);
        return 1;
}


static const struct config_key project_keys[] = {
        { "id",          parse_project_id },
        { "account",     parse_project_account },
        { "deployments", parse_deployments },
        {}
};

static void project_done(void *elem) {
        struct project *p = elem;

        strv_free(p->deployments, p->n_deployments);
}

const struct config_section project_section = {
        .one = "project",
        .required = true,
        .keys = project_keys,
        .size = sizeof(struct project),
        .offset_n = offsetof(struct config, n_projects),
        .offset_line = offsetof(struct project, line),
        .done = project_done,
};
