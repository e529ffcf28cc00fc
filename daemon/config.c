/* Placeholder until the config loader lands. */
#include "config.h"

int config_load(const char *path, unsigned flags, struct config_diag *diag, struct config **ret) {
        return -EOPNOTSUPP;
}

int config_load_string(const char *text, const char *name, unsigned flags, struct config_diag *diag,
                       struct config **ret) {
        return -EOPNOTSUPP;
}

struct config *config_free(struct config *c) {
        free(c);
        return NULL;
}

void config_diag_done(struct config_diag *d) {
}

const char *webhook_format_to_string(enum webhook_format f) {
        return "json";
}

struct account *config_find_account(const struct config *c, const char *name) {
        return NULL;
}
