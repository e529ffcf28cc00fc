/* Secrets: the API key of an account, the signing secret and the URL of a webhook, each from
 * exactly one of a file, a systemd credential or the configuration itself. Values are checked as
 * the daemon will use them and never echoed in messages; -t reads and erases them. */
#include <ctype.h>

#include "config-internal.h"

#define SECRET_MAX 4096U
#define CREDENTIAL_NAME_LEN_MAX 255U

struct secret_fields {
        char **file, **credential, **value;
        bool *is_inline;
};

static void strip_trailing_space(char *s) {
        size_t n = strlen(s);

        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
}

/* Reads the file a secret comes from and checks what it holds, as the daemon does; the value is
 * kept only with CONFIG_LOAD_SECRETS (-t erases it at once). */
static void load_secret_file(struct loader *l, const config_setting_t *s, const char *path,
                             const struct secret_keys *k, const char *file, char **ret) {
        _cleanup_free_ char *buf = NULL;
        const char *problem = NULL;
        int r;

        if (l->flags & CONFIG_LOAD_SKIP_SECRETS)
                return;
        r = read_full_file(file, SECRET_MAX, &buf, NULL);
        if (r == -EFBIG)
                report_error(l, s, "%s: \"%s\" is larger than %u bytes", path, file, SECRET_MAX);
        else if (r < 0)
                report_error(l, s, "%s: cannot read \"%s\": %s", path, file, file_error(r));
        if (r < 0)
                return;
        strip_trailing_space(buf);
        if (!*buf)
                report_error(l, s, "%s: \"%s\" is empty", path, file);
        else if (has_control_chars(buf))
                report_error(l, s, "%s: \"%s\" contains control characters", path, file);
        else if (k->problem && (problem = k->problem(buf)))
                report_error(l, s, "%s: the %s in \"%s\" %s", path, k->what, file, problem);
        else if (l->flags & CONFIG_LOAD_SECRETS)
                *ret = TAKE_PTR(buf);
        buf = erase_and_free(buf);
}

/* -t says which credentials it could not check, each once. */
static void note_unchecked(struct loader *l, const char *name) {
        for (size_t i = 0; i < l->n_unchecked; i++)
                if (streq(l->unchecked[i], name))
                        return;
        *(char **) array_append(&l->unchecked, &l->n_unchecked, sizeof(char *)) = xstrdup(name);
}

static void load_credential(struct loader *l, const config_setting_t *s, const char *path,
                            const struct secret_keys *k, const char *name, char **ret) {
        _cleanup_free_ char *file = NULL;

        if (!l->credentials_dir) {
                /* inferwatchd -t outside the service: nothing to check against (main.c lists
                 * what it skipped). */
                if (!(l->flags & CONFIG_LOAD_SECRETS)) {
                        note_unchecked(l, name);
                        return;
                }
                report_error(l, s,
                             "%s: $CREDENTIALS_DIRECTORY is not set; run inferwatchd from its systemd unit "
                             "(LoadCredential=%s) or use %s",
                             path, name, k->file);
                return;
        }
        file = xasprintf("%s/%s", l->credentials_dir, name);
        load_secret_file(l, s, path, k, file, ret);
}

static bool credential_name_valid(const char *s) {
        return name_valid(s, CREDENTIAL_NAME_LEN_MAX) && !streq(s, ".") && !streq(s, "..");
}

static void parse_inline_secret(const struct scope *sc, const struct secret_keys *k,
                                struct secret_fields f) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, k->value, &path);
        const char *v = NULL, *problem;
        size_t idx;

        if (value_string(sc->l, s, path, &v) < 0)
                return;
        if (!*v || has_control_chars(v)) {
                report_error(sc->l, s, "%s: %s", path,
                             *v ? "must not contain control characters" : "must not be empty");
                return;
        }
        /* Still counted as an inline secret below: the file holds it, valid or not. */
        if (k->problem && (problem = k->problem(v)))
                report_error(sc->l, s, "%s: the %s %s", path, k->what, problem);
        *f.value = xstrdup(v);
        *f.is_inline = true;
        idx = setting_origin(sc->l, s, &(unsigned) { 0 });
        if (k->is_account)
                sc->l->sources[idx].inline_key = true;
        else
                sc->l->sources[idx].inline_secret = true;
}

/* The first of the three keys in file order, reporting every later one as a conflict. */
static const char *pick_secret_source(const struct scope *sc, const struct secret_keys *k) {
        const char *keys[3] = { k->file, k->credential, k->value };
        const config_setting_t *first = NULL;
        const char *first_key = NULL;

        for (size_t i = 0; i < 3; i++) {
                const config_setting_t *s = member(sc, keys[i]);
                /* Members keep their file order in the group, even on one line. */
                if (s && (!first || config_setting_index(s) < config_setting_index(first))) {
                        first = s;
                        first_key = keys[i];
                }
        }
        for (size_t i = 0; i < 3; i++) {
                const config_setting_t *s = member(sc, keys[i]);
                _cleanup_free_ char *path = NULL, *at = NULL;
                if (!s || s == first)
                        continue;
                path = member_path(sc, keys[i]);
                at = where(sc->l, first, s);
                report_error(sc->l, s,
                             "%s: conflicts with \"%s\" on %s; set only one of \"%s\", \"%s\" or \"%s\"",
                             path, first_key, at, keys[0], keys[1], keys[2]);
        }
        return first_key;
}

static void parse_credential(const struct scope *sc, const struct secret_keys *k, struct secret_fields f) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, k->credential, &path);
        const char *name = NULL;

        if (value_string(sc->l, s, path, &name) < 0)
                return;
        /* Not echoed either: it might be the secret itself, pasted into the wrong key. */
        if (!credential_name_valid(name)) {
                report_error(sc->l, s, "%s: invalid credential name; use A-Z a-z 0-9 _ . -", path);
                return;
        }
        *f.credential = xstrdup(name);
        load_credential(sc->l, s, path, k, name, f.value);
}

static void parse_secret_file(const struct scope *sc, const struct secret_keys *k, struct secret_fields f) {
        _cleanup_free_ char *path = NULL;
        const config_setting_t *s = lookup(sc, k->file, &path);

        if (get_path(sc, k->file, false, f.file) > 0)
                load_secret_file(sc->l, s, path, k, *f.file, f.value);
}

/* Reads whichever of k's three keys is set (reporting the others as conflicts) into obj. */
int config_parse_secret(struct section_ctx *ctx, const struct config_key *key, void *obj) {
        const struct secret_keys *k = key->data;
        const struct scope *sc = &ctx->sc;
        struct secret_fields f = {
                .file = FIELD(obj, k->offset_file, char *),
                .credential = FIELD(obj, k->offset_credential, char *),
                .value = FIELD(obj, k->offset_value, char *),
                .is_inline = k->is_url ? NULL : FIELD(obj, k->offset_inline, bool),
        };
        _cleanup_free_ char *prefix = NULL;
        const char *which = pick_secret_source(sc, k);

        if (!which) {
                if (k->required)
                        report_error(sc->l, sc->group, "%s%s", scope_prefix(sc, &prefix), k->missing);
                return 0;
        }
        if (streq(which, k->value) && k->is_url)
                (void) get_url(sc, k->value, false, f.value);
        else if (streq(which, k->value))
                parse_inline_secret(sc, k, f);
        else if (streq(which, k->credential))
                parse_credential(sc, k, f);
        else
                parse_secret_file(sc, k, f);
        return 1;
}
