/* The "heartbeat" group: the dead man's switch URLs pinged after good cycles and on outages. */
#include "config-internal.h"

static const char *heartbeat_url_problem(const char *url) {
        struct url_info info;

        return url_problem(url, false, &info);
}

/* Ping URLs (healthchecks.io, Uptime Kuma push monitors, Cronitor) are capabilities: like a
 * webhook's URL they may come from a file or a credential and are never logged. */
#define URL_KEYS(prefix, field, req)                                         \
        {                                                                    \
                .file = prefix "url_file",                                   \
                .credential = prefix "url_credential",                       \
                .value = prefix "url",                                       \
                .offset_file = offsetof(struct heartbeat_config, field##_file), \
                .offset_credential = offsetof(struct heartbeat_config, field##_credential), \
                .offset_value = offsetof(struct heartbeat_config, field),    \
                .required = req,                                             \
                .missing = "\"url\", \"url_file\" or \"url_credential\" is required", \
                .is_url = true,                                              \
                .what = "URL",                                               \
                .problem = heartbeat_url_problem,                            \
        }

static const struct secret_keys ok_url_keys = URL_KEYS("", url, true);
static const struct secret_keys fail_url_keys = URL_KEYS("fail_", fail_url, false);

#define C(f) offsetof(struct heartbeat_config, f)
static const struct config_key heartbeat_keys[] = {
        { "url",                 config_parse_secret,   .data = &ok_url_keys },
        { "url_file" },          /* read with url */
        { "url_credential" },    /* read with url */
        { "fail_url",            config_parse_secret,   .data = &fail_url_keys },
        { "fail_url_file" },     /* read with fail_url */
        { "fail_url_credential" }, /* read with fail_url */
        { "timeout",             config_parse_duration, C(timeout), 100 * MSEC, MINUTE },
        {}
};
#undef C

static const struct heartbeat_config heartbeat_defaults = {
        .timeout = 10 * USEC_PER_SEC,
};

static void heartbeat_done(void *elem) {
        struct heartbeat_config *h = elem;

        erase_and_free(h->url);
        free(h->url_file);
        free(h->url_credential);
        erase_and_free(h->fail_url);
        free(h->fail_url_file);
        free(h->fail_url_credential);
}

const struct config_section heartbeat_section = {
        .keys = heartbeat_keys,
        .size = sizeof(struct heartbeat_config),
        .offset_line = offsetof(struct heartbeat_config, line),
        .defaults = &heartbeat_defaults,
        .done = heartbeat_done,
};
