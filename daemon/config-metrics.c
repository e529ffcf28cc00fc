/* The "metrics" group: where /metrics is served (socket activation needs nothing here). */
#include "config-internal.h"
#include "metrics-http.h"

static int parse_listen(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        _cleanup_free_ char *path = NULL, *q = NULL;
        const config_setting_t *s = lookup(&ctx->sc, k->key, &path);
        struct sockaddr_storage sa;
        const char *v;
        socklen_t len;
        int r;

        if (!s)
                return 0;
        r = value_string(ctx->sc.l, s, path, &v);
        if (r < 0)
                return r;
        if (metrics_parse_listen(v, &sa, &len) < 0) {
                q = cescape(v);
                report_error(ctx->sc.l, s,
                             "%s: expected a numeric address and a port such as \"127.0.0.1:10043\" or "
                             "\"[::1]:10043\", got \"%s\"", path, q);
                return -EINVAL;
        }
        *FIELD(obj, k->offset, char *) = xstrdup(v);
        return 1;
}

static const struct config_key metrics_keys[] = {
        { "listen", parse_listen, offsetof(struct metrics_config, listen) },
        {}
};

static void metrics_done(void *elem) {
        struct metrics_config *m = elem;

        free(m->listen);
}

const struct config_section metrics_section = {
        .keys = metrics_keys,
        .size = sizeof(struct metrics_config),
        .offset_line = offsetof(struct metrics_config, line),
        .done = metrics_done,
};
