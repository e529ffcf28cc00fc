/* The "cluster" section: the etcd cluster that several inferwatchd share, so that one of them
 * (the leader) polls and emits while the others stand by (docs/ha.md). Absent: no cluster. */
#include <unistd.h>

#include "config-internal.h"

static bool check_endpoint(struct loader *l, const config_setting_t *s, const char *path, const char *v) {
        struct url_info info;
        const char *problem = url_problem(v, false, &info);

        if (problem) {
                report_error(l, s, "%s: %s", path, problem);
                return false;
        }
        return true;
}

static int parse_name(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct cluster *c = obj;
        char host[256] = "";
        int r = get_name(&ctx->sc, k->key, &c->name);

        if (r != 0)
                return r;
        /* The default: the hostname, as far as it is a valid name. */
        if (gethostname(host, sizeof(host) - 1) < 0 || !name_valid(host, NAME_LEN_MAX))
                snprintf(host, sizeof(host), "member-%ld", (long) gethostid());
        c->name = xstrdup(host);
        return 0;
}

static int parse_prefix(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct cluster *c = obj;
        int r = get_name(&ctx->sc, k->key, &c->prefix);

        if (r == 0)
                c->prefix = xstrdup("inferwatch");
        return r;
}

#define K(f) offsetof(struct cluster, f)
static const struct strings_rule endpoints_rule = { check_endpoint, K(n_endpoints) };

/* The section exists only to name them. */
static int parse_endpoints(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        int r = config_parse_strings(ctx, k, obj);

        if (r == 0)
                report_error(ctx->sc.l, ctx->sc.group, "%s: \"endpoints\" is required (the client URLs of etcd)",
                             ctx->sc.path);
        return r == 0 ? -EINVAL : r;
}

/* A credential is a file under $CREDENTIALS_DIRECTORY, which libcurl reads. */
static int parse_credential(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        return get_name(&ctx->sc, k->key, FIELD(obj, k->offset, char *));
}

/* Read last: a client certificate comes with its key, each from one place. */
static int parse_client_identity(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct cluster *c = obj;
        int r = parse_credential(ctx, k, obj);

        if (c->cert_file && c->cert_credential)
                report_error(ctx->sc.l, ctx->sc.group, "%s: set \"cert_file\" or \"cert_credential\", not both",
                             ctx->sc.path);
        else if (c->key_file && c->key_credential)
                report_error(ctx->sc.l, ctx->sc.group, "%s: set \"key_file\" or \"key_credential\", not both",
                             ctx->sc.path);
        else if (!(c->cert_file || c->cert_credential) != !(c->key_file || c->key_credential))
                report_error(ctx->sc.l, ctx->sc.group,
                             "%s: a client certificate needs its key and a key its certificate", ctx->sc.path);
        else
                return r;
        return -EINVAL;
}

static const struct config_key cluster_keys[] = {
        { "endpoints",       parse_endpoints,       K(endpoints),       .data = &endpoints_rule },
        { "name",            parse_name },
        { "prefix",          parse_prefix },
        { "lease_ttl",       config_parse_duration, K(lease_ttl),       2 * SEC,    5 * MINUTE },
        { "timeout",         config_parse_duration, K(timeout),         100 * MSEC, MINUTE },
        { "ca_file",         config_parse_path,     K(ca_file) },
        { "cert_file",       config_parse_path,     K(cert_file) },
        { "key_file",        config_parse_path,     K(key_file) },
        { "cert_credential", parse_credential,      K(cert_credential) },
        { "key_credential",  parse_client_identity, K(key_credential) },
        {}
};
#undef K

static const struct cluster cluster_defaults = {
        .lease_ttl = 10 * USEC_PER_SEC,
        .timeout = 5 * USEC_PER_SEC,
};

static void cluster_done(void *elem) {
        struct cluster *c = elem;

        strv_free(c->endpoints, c->n_endpoints);
        free(c->name);
        free(c->prefix);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->cert_credential);
        free(c->key_credential);
}

bool cluster_config_differs(const struct cluster *a, const struct cluster *b) {
        if (a->n_endpoints != b->n_endpoints || a->lease_ttl != b->lease_ttl || a->timeout != b->timeout ||
            !streq_ptr(a->name, b->name) || !streq_ptr(a->prefix, b->prefix) || !streq_ptr(a->ca_file, b->ca_file) ||
            !streq_ptr(a->cert_file, b->cert_file) || !streq_ptr(a->key_file, b->key_file) ||
            !streq_ptr(a->cert_credential, b->cert_credential) || !streq_ptr(a->key_credential, b->key_credential))
                return true;
        for (size_t i = 0; i < a->n_endpoints; i++)
                if (!streq(a->endpoints[i], b->endpoints[i]))
                        return true;
        return false;
}

const struct config_section cluster_section = {
        .keys = cluster_keys,
        .size = sizeof(struct cluster),
        .offset_line = offsetof(struct cluster, line),
        .defaults = &cluster_defaults,
        .done = cluster_done,
};
