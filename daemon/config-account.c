/* The "accounts" section: where the API is and the key to call it with. */
#include "config-internal.h"

#define DEFAULT_API_URL "https://api.gcore.com"

static const struct secret_keys account_secret_keys = {
        .file = "key_file",
        .credential = "key_credential",
        .value = "key",
        .offset_file = offsetof(struct account, key_file),
        .offset_credential = offsetof(struct account, key_credential),
        .offset_value = offsetof(struct account, key),
        .offset_inline = offsetof(struct account, key_inline),
        .required = true,
        .missing = "no API key; set one of \"key_file\", \"key_credential\" or \"key\"",
        .is_account = true,
        .what = "API key",
};

/* Required when several accounts are defined, since projects then name theirs. */
static int parse_account_name(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct account *a = obj;
        int r = get_name(&ctx->sc, k->key, &a->name);

        if (r == 0) {
                if (ctx->count == 1)
                        a->name = xstrdup("default");
                else
                        report_error(ctx->sc.l, ctx->sc.group,
                                     "%s: \"name\" is required when several accounts are defined",
                                     ctx->sc.path);
        }
        check_name_unique(ctx, offsetof(struct account, name), "account", a->name);
        return r;
}

static int parse_api_url(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct account *a = obj;
        int r = get_url(&ctx->sc, k->key, true, &a->url);

        if (r == 0)
                a->url = xstrdup(DEFAULT_API_URL);
        return r;
}

/* Read after connect_timeout, which it bounds. */
static int parse_timeout(struct section_ctx *ctx, const struct config_key *k, void *obj) {
        struct account *a = obj;
        int r1 = section_result(ctx, "connect_timeout");
        int r2 = config_parse_duration(ctx, k, obj);

        /* A short timeout alone is a request, not an error: the default connect timeout yields. */
        if (r1 == 0 && r2 > 0)
                a->connect_timeout = MIN(a->connect_timeout, a->timeout);
        if (r1 >= 0 && r2 >= 0)
                check_order(&ctx->sc, "connect_timeout", a->connect_timeout, "timeout", a->timeout,
                            "timeout");
        return r2;
}

#define A(field) offsetof(struct account, field)
static const struct config_key account_keys[] = {
        { "name",              parse_account_name },
        { "url",               parse_api_url },
        { "key_file",          config_parse_secret,   .data = &account_secret_keys },
        { "key_credential" },  /* read with key_file */
        { "key" },             /* read with key_file */
        { "ca_file",           config_parse_path,     A(ca_file) },
        { "connect_timeout",   config_parse_duration, A(connect_timeout),   100 * MSEC, 5 * MINUTE },
        { "timeout",           parse_timeout,         A(timeout),           100 * MSEC, 10 * MINUTE },
        { "max_response_size", config_parse_size,     A(max_response_size), KIB,        GIB },
        { "page_size",         config_parse_unsigned, A(page_size),         1,          1000 },
        { "max_requests_per_second", config_parse_unsigned, A(max_requests_per_second), 0, 10000 },
        { "list_named_deployments", config_parse_bool, A(list_named_deployments) },
        {}
};
#undef A

static const struct account account_defaults = {
        .connect_timeout = 5 * USEC_PER_SEC,
        .timeout = 30 * USEC_PER_SEC,
        .max_response_size = 8 * MIB,
        .page_size = 100,
        .max_requests_per_second = 10,
        .list_named_deployments = true,
};

static void account_done(void *elem) {
        struct account *a = elem;

        free(a->name);
        free(a->url);
        free(a->key_file);
        free(a->key_credential);
        erase_and_free(a->key);
        free(a->ca_file);
}

const struct config_section account_section = {
        .one = "account",
        .required = true,
        .keys = account_keys,
        .size = sizeof(struct account),
        .offset_n = offsetof(struct config, n_accounts),
        .offset_line = offsetof(struct account, line),
        .defaults = &account_defaults,
        .done = account_done,
};
