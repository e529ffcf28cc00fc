/* config.c: every malformed config gets its exact "FILE:LINE: message"; valid ones get their
 * values and defaults; secrets are read from files and credentials and never echoed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

/* Not "config.h": -I. finds autoconf's header of the same name first. */
#include "config.h"
/* For the tests of the table engine with a table of their own. */
#include "config-internal.h"

/* A valid account and project for cases about something else; they come after the case's own
 * lines so that the line numbers in expectations are those of the case text. */
#define BASE "accounts = ( { key = \"k\"; } );\nprojects = ( { id = 1; deployments = \"*\"; } );\n"
#define ACCOUNTS "accounts = ( { key = \"k\"; } );\n"
#define PROJECTS "projects = ( { id = 1; deployments = \"*\"; } );\n"

#define STRV(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define NONE ((const char *const[]) { NULL })

static size_t strv_len(const char *const *v) {
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

static void check_messages(const char *what, char **got, size_t n_got, const char *const *want) {
        size_t n_want = strv_len(want);
        bool ok = n_got == n_want;

        for (size_t i = 0; ok && i < n_got; i++)
                ok = streq(got[i], want[i]);
        if (ok)
                return;
        print_error("%s differ:\n", what);
        for (size_t i = 0; i < n_want; i++)
                print_error("  want: %s\n", want[i]);
        for (size_t i = 0; i < n_got; i++)
                print_error("  got:  %s\n", got[i]);
        fail();
}

/* Loads text as "t.conf" and checks the exact diagnostics. Returns the config when there were no
 * errors (the caller frees it). */
static struct config *load_expect(const char *text, unsigned flags, const char *const *errors,
                                  const char *const *warnings) {
        struct config_diag d = {};
        struct config *c = NULL;
        int r;

        r = config_load_string(text, "t.conf", flags, &d, &c);
        check_messages("errors", d.errors, d.n_errors, errors);
        check_messages("warnings", d.warnings, d.n_warnings, warnings);
        if (strv_len(errors) > 0) {
                assert_int_equal(r, -EINVAL);
                assert_null(c);
        } else {
                assert_int_equal(r, 0);
                assert_non_null(c);
        }
        config_diag_done(&d);
        return c;
}

static void load_ok(const char *text, const char *const *warnings) {
        config_free(load_expect(text, 0, NONE, warnings));
}

/* A temporary directory for the tests that need real files (cmocka setup and teardown). */
struct tmp {
        char dir[64];
};

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int tmp_setup(void **state) {
        struct tmp *t = xcalloc(1, sizeof(*t));

        strcpy(t->dir, "/tmp/test-config-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        *state = t;
        return 0;
}

static int tmp_teardown(void **state) {
        struct tmp *t = *state;

        (void) nftw(t->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(t);
        (void) unsetenv("CREDENTIALS_DIRECTORY");
        return 0;
}

/* Writes dir/name with the given mode and returns its path. */
/* A file of n bytes of content (which may hold a NUL). */
static char *tmp_file_n(const struct tmp *t, const char *name, const char *content, size_t n, mode_t mode) {
        char *path = xasprintf("%s/%s", t->dir, name);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, n), (ssize_t) n);
        assert_int_equal(fchmod(fd, mode), 0);
        return path;
}

static char *tmp_file(const struct tmp *t, const char *name, const char *content, mode_t mode) {
        return tmp_file_n(t, name, content, strlen(content), mode);
}

/* ------------------------------------------------------------------------------------------ */
/* Malformed configs: one cmocka test each. */

struct bad_case {
        const char *name;
        const char *text;
        const char *errors[8];
};

static const struct bad_case bad_cases[] = {
        /* Syntax, as libconfig words it. */
        { "syntax_missing_value", "interval = ;\n" BASE, { "t.conf:1: syntax error" } },
        { "syntax_unterminated_string",
          BASE "state_directory = \"/x;\nfor = 1;\n",
          { "t.conf:5: syntax error" } },
        { "syntax_duplicate_key", "for = 1;\nfor = 2;\n" BASE, { "t.conf:2: duplicate setting name" } },
        { "syntax_mixed_array",
          BASE "webhooks = ( { url = \"https://h\"; projects = [ 1, \"x\" ]; } );\n",
          { "t.conf:3: mismatched element type in array" } },
        { "syntax_missing_include",
          "@include \"/nonexistent/inferwatch/x.conf\"\n" BASE,
          { "t.conf:1: cannot include \"/nonexistent/inferwatch/x.conf\": No such file or directory" } },

        /* Missing or empty top-level lists. */
        { "empty_file", "", { "t.conf: \"accounts\" is required", "t.conf: \"projects\" is required" } },
        { "no_accounts", PROJECTS, { "t.conf: \"accounts\" is required" } },
        { "no_projects", ACCOUNTS, { "t.conf: \"projects\" is required" } },
        { "accounts_empty",
          "accounts = ();\n" PROJECTS,
          { "t.conf:1: accounts: at least one account is required" } },
        { "projects_empty_array",
          ACCOUNTS "projects = [];\n",
          { "t.conf:2: projects: at least one project is required" } },

        /* Wrong types. */
        { "interval_float",
          "interval = 1.5;\n" BASE,
          { "t.conf:1: interval: expected a duration such as \"60s\" or a number of seconds, got a float" } },
        { "interval_bool",
          "interval = true;\n" BASE,
          { "t.conf:1: interval: expected a duration such as \"60s\" or a number of seconds, got a boolean" } },
        { "for_float", "for = 2.0;\n" BASE, { "t.conf:1: for: expected an integer, got a float" } },
        { "for_string", "for = \"2\";\n" BASE, { "t.conf:1: for: expected an integer, got a string" } },
        { "spool_max_size_array",
          "spool_max_size = [ 1 ];\n" BASE,
          { "t.conf:1: spool_max_size: expected a size such as \"8MiB\" or a number of bytes, got an array" } },
        { "state_directory_int",
          "state_directory = 5;\n" BASE,
          { "t.conf:1: state_directory: expected a string, got an integer" } },
        { "accounts_group",
          "accounts = { key = \"k\"; };\n" PROJECTS,
          { "t.conf:1: accounts: expected a list of groups such as ( { ... } ), got a group" } },
        { "projects_array",
          ACCOUNTS "projects = [ 1 ];\n",
          { "t.conf:2: projects: expected a list of groups such as ( { ... } ), got an array" } },
        { "account_not_group",
          "accounts = ( \"prod\" );\n" PROJECTS,
          { "t.conf:1: accounts[0]: expected a group { ... }, got a string" } },
        { "webhook_array_elem",
          BASE "webhooks = ( [ \"x\" ] );\n",
          { "t.conf:3: webhooks[0]: expected a group { ... }, got an array" } },
        { "url_list",
          "accounts = ( { key = \"k\"; url = ( \"https://h\" ); } );\n" PROJECTS,
          { "t.conf:1: accounts[0].url: expected a string, got a list" } },
        { "webhooks_string",
          BASE "webhooks = \"https://h\";\n",
          { "t.conf:3: webhooks: expected a list of groups such as ( { ... } ), got a string" } },
        { "deployments_bool",
          ACCOUNTS "projects = ( { id = 1; deployments = true; } );\n",
          { "t.conf:2: projects[0].deployments: expected \"*\" or an array of deployment names, got a boolean" } },
        { "project_id_float",
          ACCOUNTS "projects = ( { id = 1.0; deployments = \"*\"; } );\n",
          { "t.conf:2: projects[0].id: expected an integer, got a float" } },
        { "project_id_string",
          ACCOUNTS "projects = ( { id = \"42\"; deployments = \"*\"; } );\n",
          { "t.conf:2: projects[0].id: expected an integer, got a string" } },
        { "deployments_group",
          ACCOUNTS "projects = ( { id = 1; deployments = { a = 1; }; } );\n",
          { "t.conf:2: projects[0].deployments: expected \"*\" or an array of deployment names, got a group" } },
        { "deployments_elem_int",
          ACCOUNTS "projects = ( { id = 1; deployments = ( \"a\", 7 ); } );\n",
          { "t.conf:2: projects[0].deployments[1]: expected a string, got an integer" } },
        { "account_key_int",
          "accounts = ( { key = 12345; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].key: expected a string, got an integer" } },
        { "webhook_headers_string",
          BASE "webhooks = ( { url = \"https://h\"; headers = \"X-A: b\"; } );\n",
          { "t.conf:3: webhooks[0].headers: expected an array of strings such as [ \"a\", \"b\" ], got a string" } },
        { "webhook_projects_strings",
          BASE "webhooks = ( { url = \"https://h\"; projects = [ \"x\" ]; } );\n",
          { "t.conf:3: webhooks[0].projects[0]: expected an integer, got a string" } },
        { "webhook_projects_int",
          BASE "webhooks = ( { url = \"https://h\"; projects = 5; } );\n",
          { "t.conf:3: webhooks[0].projects: expected an array of integers such as [ 1, 2 ], got an integer" } },
        { "min_priority_float",
          BASE "webhooks = ( { url = \"https://h\"; min_priority = 1.5; } );\n",
          { "t.conf:3: webhooks[0].min_priority: expected a priority name (emerg, alert, crit, err, warning, "
            "notice, info, debug) or 0..7, got a float" } },

        /* Ranges, below and above. */
        { "interval_below",
          "interval = \"500ms\";\n" BASE,
          { "t.conf:1: interval: must be between 1s and 1d, got 500ms" } },
        { "interval_above",
          "interval = \"1d1s\";\n" BASE,
          { "t.conf:1: interval: must be between 1s and 1d, got 1d1s" } },
        { "interval_int_above",
          "interval = 86401;\n" BASE,
          { "t.conf:1: interval: must be between 1s and 1d, got 86401s" } },
        { "interval_negative",
          "interval = -5;\n" BASE,
          { "t.conf:1: interval: must be between 1s and 1d, got -5s" } },
        { "interval_bad_units",
          "interval = \"5 minutes\";\n" BASE,
          { "t.conf:1: interval: invalid duration \"5 minutes\"; use a number of seconds or units such as "
            "\"500ms\", \"90s\", \"15m\", \"1h30m\", \"2d\"" } },
        { "fast_interval_below",
          "fast_interval = \"99ms\";\n" BASE,
          { "t.conf:1: fast_interval: must be between 100ms and 1h, got 99ms" } },
        { "fast_interval_above",
          "interval = \"1d\";\nfast_interval = \"61m\";\n" BASE,
          { "t.conf:2: fast_interval: must be between 100ms and 1h, got 61m" } },
        { "fast_interval_over_interval",
          "interval = \"10s\";\nfast_interval = \"20s\";\n" BASE,
          { "t.conf:2: fast_interval: must not be longer than interval (10s), got 20s" } },
        { "interval_under_default_fast",
          "interval = 1;\n" BASE,
          { "t.conf:1: interval: must not be shorter than fast_interval (2s), got 1s" } },
        { "stuck_after_below",
          "stuck_after = 0;\n" BASE,
          { "t.conf:1: stuck_after: must be between 1s and 7d, got 0s" } },
        { "stuck_after_above",
          "stuck_after = \"7d1ms\";\n" BASE,
          { "t.conf:1: stuck_after: must be between 1s and 7d, got 7d1ms" } },
        { "for_below", "for = 0;\n" BASE, { "t.conf:1: for: must be between 1 and 32, got 0" } },
        { "for_above", "for = 101;\n" BASE, { "t.conf:1: for: must be between 1 and 32, got 101" } },
        /* The diff engine remembers 32 polls: a longer run could never be seen. */
        { "for_above_history", "for = 33;\n" BASE, { "t.conf:1: for: must be between 1 and 32, got 33" } },
        { "resolve_for_above_history",
          "resolve_for = 33;\n" BASE,
          { "t.conf:1: resolve_for: must be between 1 and 32, got 33" } },
        { "resolve_for_below",
          "resolve_for = 0;\n" BASE,
          { "t.conf:1: resolve_for: must be between 1 and 32, got 0" } },
        { "resolve_for_above",
          "resolve_for = 1000;\n" BASE,
          { "t.conf:1: resolve_for: must be between 1 and 32, got 1000" } },
        { "repeat_interval_below",
          "repeat_interval = \"500ms\";\n" BASE,
          { "t.conf:1: repeat_interval: must be 0 (never) or between 1s and 30d, got 500ms" } },
        { "repeat_interval_above",
          "repeat_interval = \"31d\";\n" BASE,
          { "t.conf:1: repeat_interval: must be 0 (never) or between 1s and 30d, got 31d" } },
        { "unreachable_after_below",
          "unreachable_after = 0;\n" BASE,
          { "t.conf:1: unreachable_after: must be between 1 and 1000, got 0" } },
        { "unreachable_after_above",
          "unreachable_after = 1001;\n" BASE,
          { "t.conf:1: unreachable_after: must be between 1 and 1000, got 1001" } },
        { "flap_returns_below",
          "flap_returns = 0;\n" BASE,
          { "t.conf:1: flap_returns: must be between 1 and 30, got 0" } },
        { "flap_window_below",
          "flap_window = 2;\n" BASE,
          { "t.conf:1: flap_window: must be between 3 and 32, got 2" } },
        { "flap_stable_above",
          "flap_stable = \"2d\";\n" BASE,
          { "t.conf:1: flap_stable: must be between 1s and 1d, got 2d" } },
        { "max_in_flight_below",
          "max_in_flight = -1;\n" BASE,
          { "t.conf:1: max_in_flight: must be between 1 and 1024, got -1" } },
        { "max_in_flight_above",
          "max_in_flight = 1025;\n" BASE,
          { "t.conf:1: max_in_flight: must be between 1 and 1024, got 1025" } },
        { "spool_max_size_below",
          "spool_max_size = \"63KiB\";\n" BASE,
          { "t.conf:1: spool_max_size: must be between 64KiB and 16GiB, got 63KiB" } },
        { "spool_max_size_above",
          "spool_max_size = \"17GiB\";\n" BASE,
          { "t.conf:1: spool_max_size: must be between 64KiB and 16GiB, got 17GiB" } },
        { "spool_max_size_int_below",
          "spool_max_size = 1024;\n" BASE,
          { "t.conf:1: spool_max_size: must be between 64KiB and 16GiB, got 1024B" } },
        { "spool_max_size_bad_units",
          "spool_max_size = \"lots\";\n" BASE,
          { "t.conf:1: spool_max_size: invalid size \"lots\"; use a number of bytes or units such as \"512KiB\", "
            "\"8MiB\", \"1GiB\"" } },
        { "spool_max_age_below",
          "spool_max_age = \"999ms\";\n" BASE,
          { "t.conf:1: spool_max_age: must be between 1s and 365d, got 999ms" } },
        { "spool_max_age_above",
          "spool_max_age = \"366d\";\n" BASE,
          { "t.conf:1: spool_max_age: must be between 1s and 365d, got 366d" } },
        { "connect_timeout_below",
          "accounts = ( { key = \"k\"; connect_timeout = \"50ms\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].connect_timeout: must be between 100ms and 5m, got 50ms" } },
        { "connect_timeout_above",
          "accounts = ( { key = \"k\"; connect_timeout = 301; timeout = \"10m\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].connect_timeout: must be between 100ms and 5m, got 301s" } },
        { "timeout_above",
          "accounts = ( { key = \"k\"; timeout = \"10m1s\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].timeout: must be between 100ms and 10m, got 10m1s" } },
        { "timeout_under_connect_timeout",
          "accounts = ( { key = \"k\";\n  connect_timeout = \"10s\";\n  timeout = \"5s\"; } );\n" PROJECTS,
          { "t.conf:3: accounts[0].timeout: must not be shorter than connect_timeout (10s), got 5s" } },
        { "connect_timeout_over_default_timeout",
          "accounts = ( { key = \"k\"; connect_timeout = \"1m\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].connect_timeout: must not be longer than timeout (30s), got 1m" } },
        { "max_response_size_below",
          "accounts = ( { key = \"k\"; max_response_size = \"1023B\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].max_response_size: must be between 1KiB and 1GiB, got 1023B" } },
        { "max_response_size_above",
          "accounts = ( { key = \"k\"; max_response_size = \"2GiB\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].max_response_size: must be between 1KiB and 1GiB, got 2GiB" } },
        { "page_size_below",
          "accounts = ( { key = \"k\"; page_size = 0; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].page_size: must be between 1 and 1000, got 0" } },
        { "page_size_above",
          "accounts = ( { key = \"k\"; page_size = 1001; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].page_size: must be between 1 and 1000, got 1001" } },
        { "max_requests_per_second_above",
          "accounts = ( { key = \"k\";\n  max_requests_per_second = 10001; } );\n" PROJECTS,
          { "t.conf:2: accounts[0].max_requests_per_second: must be between 0 and 10000, got 10001" } },
        { "max_requests_per_second_negative",
          "accounts = ( { key = \"k\"; max_requests_per_second = -1; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].max_requests_per_second: must be between 0 and 10000, got -1" } },
        { "max_requests_per_second_text",
          "accounts = ( { key = \"k\"; max_requests_per_second = \"fast\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].max_requests_per_second: expected an integer, got a string" } },
        { "list_named_deployments_text",
          "accounts = ( { key = \"k\"; list_named_deployments = \"yes\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].list_named_deployments: expected true or false, got a string" } },
        { "project_id_below",
          ACCOUNTS "projects = ( { id = 0; deployments = \"*\"; } );\n",
          { "t.conf:2: projects[0].id: must be between 1 and 9007199254740992, got 0" } },
        { "project_id_above",
          ACCOUNTS "projects = ( { id = 9007199254740993L; deployments = \"*\"; } );\n",
          { "t.conf:2: projects[0].id: must be between 1 and 9007199254740992, got 9007199254740993" } },
        { "webhook_timeout_above",
          BASE "webhooks = ( { url = \"https://h\"; timeout = \"5m1s\"; } );\n",
          { "t.conf:3: webhooks[0].timeout: must be between 100ms and 5m, got 5m1s" } },
        { "webhook_retry_below",
          BASE "webhooks = ( { url = \"https://h\"; retry_max_interval = \"900ms\"; } );\n",
          { "t.conf:3: webhooks[0].retry_max_interval: must be between 1s and 1d, got 900ms" } },
        { "min_priority_above",
          BASE "webhooks = ( { url = \"https://h\"; min_priority = 8; } );\n",
          { "t.conf:3: webhooks[0].min_priority: must be between 0 and 7, got 8" } },
        { "webhook_project_below",
          BASE "webhooks = ( { url = \"https://h\"; projects = [ 1, 0 ]; } );\n",
          { "t.conf:3: webhooks[0].projects[1]: must be between 1 and 9007199254740992, got 0" } },

        /* libconfig 1.5 truncates integer literals to 32 bits without telling; we tell. */
        { "truncated_out_of_range",
          "for = 5000000000;\n" BASE,
          { "t.conf:1: for: must be between 1 and 32, got 5000000000" } },
        { "truncated_into_range",
          "max_in_flight = 4294967297;\n" BASE,
          { "t.conf:1: max_in_flight: must be between 1 and 1024, got 4294967297" } },
        { "truncated_hex_into_range",
          "for = 0x100000002;\n" BASE,
          { "t.conf:1: for: must be between 1 and 32, got 4294967298" } },
        { "truncated_negative",
          "resolve_for = -4294967295;\n" BASE,
          { "t.conf:1: resolve_for: must be between 1 and 32, got -4294967295" } },
        { "truncated_value_next_line",
          "unreachable_after =\n  4294967298;\n" BASE,
          { "t.conf:1: unreachable_after: must be between 1 and 1000, got 4294967298" } },
        { "truncated_duration",
          "interval = 4294967356;\n" BASE,
          { "t.conf:1: interval: must be between 1s and 1d, got 4294967356s" } },
        { "truncated_in_array",
          BASE "webhooks = ( { url = \"https://h\";\n  projects = [ 7,\n    9007199254740993 ]; } );\n",
          { "t.conf:5: webhooks[0].projects[1]: must be between 1 and 9007199254740992, got 9007199254740993" } },
        { "beyond_64_bits",
          "for = 99999999999999999999;\n" BASE,
          { "t.conf:1: for: must be between 1 and 32, got a number too large for 64 bits" } },

        /* Required keys and references. */
        { "project_no_id",
          ACCOUNTS "projects = (\n  { deployments = \"*\"; }\n);\n",
          { "t.conf:3: projects[0]: \"id\" is required" } },
        { "project_no_deployments",
          ACCOUNTS "projects = ( { id = 1; } );\n",
          { "t.conf:2: projects[0]: \"deployments\" is required (\"*\" or an array of names)" } },
        { "project_unknown_account",
          ACCOUNTS "projects = ( { id = 1; deployments = \"*\"; },\n"
                   "  { id = 2; account = \"staging\"; deployments = \"*\"; } );\n",
          { "t.conf:3: projects[1].account: no account named \"staging\"" } },
        { "project_account_required",
          "accounts = ( { name = \"a\"; key = \"k\"; }, { name = \"b\"; key = \"k\"; } );\n" PROJECTS,
          { "t.conf:2: projects[0]: \"account\" is required when several accounts are defined" } },
        { "account_name_required",
          "accounts = ( { name = \"a\"; key = \"k\"; },\n  { key = \"k\"; } );\n"
          "projects = ( { id = 1; account = \"a\"; deployments = \"*\"; } );\n",
          { "t.conf:2: accounts[1]: \"name\" is required when several accounts are defined" } },
        { "webhook_url_required",
          BASE "webhooks = ( { format = \"json\"; } );\n",
          { "t.conf:3: webhooks[0]: \"url\" is required" } },

        /* Names and duplicates. */
        { "account_name_invalid",
          "accounts = ( { name = \"prod eu\"; key = \"k\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].name: invalid name \"prod eu\"; use 1 to 64 characters from A-Z a-z 0-9 _ . -" } },
        { "account_name_too_long",
          "accounts = ( { name = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; key = \"k\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].name: invalid name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; "
            "use 1 to 64 characters from A-Z a-z 0-9 _ . -" } },
        { "account_name_duplicate",
          "accounts = (\n  { name = \"a\"; key = \"k\"; },\n  { name = \"a\"; key = \"k\"; }\n);\n"
          "projects = ( { id = 1; account = \"a\"; deployments = \"*\"; } );\n",
          { "t.conf:3: accounts[1].name: duplicate account name \"a\" (first at line 2)" } },
        { "project_duplicate",
          ACCOUNTS "projects = (\n  { id = 42; deployments = \"*\"; },\n"
                   "  { id = 42; deployments = [ \"x\" ]; }\n);\n",
          { "t.conf:4: projects[1]: duplicate project 42 of account \"default\" (first at line 3)" } },
        { "deployment_duplicate",
          ACCOUNTS "projects = ( { id = 1; deployments = [\n  \"a\",\n  \"b\",\n  \"a\" ]; } );\n",
          { "t.conf:5: projects[0].deployments[2]: duplicate deployment \"a\" (first at line 3)" } },
        { "deployment_slash",
          ACCOUNTS "projects = ( { id = 1; deployments = [ \"a/b\" ]; } );\n",
          { "t.conf:2: projects[0].deployments[0]: invalid deployment name \"a/b\"; use 1 to 128 characters "
            "without \"/\" or control characters" } },
        { "deployment_control",
          ACCOUNTS "projects = ( { id = 1; deployments = [ \"a\\tb\" ]; } );\n",
          { "t.conf:2: projects[0].deployments[0]: invalid deployment name \"a\\tb\"; use 1 to 128 characters "
            "without \"/\" or control characters" } },
        { "deployment_empty_name",
          ACCOUNTS "projects = ( { id = 1; deployments = [ \"\" ]; } );\n",
          { "t.conf:2: projects[0].deployments[0]: invalid deployment name \"\"; use 1 to 128 characters "
            "without \"/\" or control characters" } },
        { "deployments_not_star",
          ACCOUNTS "projects = ( { id = 1; deployments = \"all\"; } );\n",
          { "t.conf:2: projects[0].deployments: expected \"*\" or an array of deployment names, got \"all\" "
            "(write [ \"all\" ] for one)" } },
        { "deployments_empty",
          ACCOUNTS "projects = ( { id = 1; deployments = []; } );\n",
          { "t.conf:2: projects[0].deployments: must not be empty; list deployment names or use \"*\"" } },
        { "webhook_name_duplicate",
          BASE
          "webhooks = ( { url = \"https://h\"; },\n  { name = \"webhook-1\"; url = \"https://h\"; } );\n",
          { "t.conf:4: webhooks[1].name: duplicate webhook name \"webhook-1\" (first at line 3)" } },

        /* URLs: never echoed. */
        { "url_scheme",
          "accounts = ( { url = \"ftp://api.gcore.com\"; key = \"k\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].url: must start with \"http://\" or \"https://\"" } },
        { "url_no_host",
          "accounts = ( { url = \"https:///cloud\"; key = \"k\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].url: has no host" } },
        { "url_userinfo",
          "accounts = ( { url = \"https://me:pw@api.gcore.com\"; key = \"k\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].url: must not contain user info (\"user@\"); put the API key in key_file or "
            "key_credential" } },
        { "url_query",
          "accounts = ( { url = \"https://api.gcore.com/?x=1\"; key = \"k\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].url: must not contain a query (\"?...\")" } },
        { "url_fragment",
          BASE "webhooks = ( { url = \"https://h/x#frag\"; } );\n",
          { "t.conf:3: webhooks[0].url: must not contain a fragment (\"#...\")" } },
        { "url_space",
          BASE "webhooks = ( { url = \"https://h/a b\"; } );\n",
          { "t.conf:3: webhooks[0].url: must not contain spaces or control characters" } },
        { "url_port",
          "accounts = ( { url = \"http://127.0.0.1:99999\"; key = \"k\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].url: has an invalid port" } },

        /* Keys and secrets. */
        { "no_key",
          "accounts = ( { name = \"a\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0]: no API key; set one of \"key_file\", \"key_credential\" or \"key\"" } },
        { "two_keys",
          "accounts = ( {\n  key_credential = \"api\";\n  key = \"k\"; } );\n" PROJECTS,
          { "t.conf:3: accounts[0].key: conflicts with \"key_credential\" on line 2; set only one of \"key_file\", "
            "\"key_credential\" or \"key\"" } },
        { "key_file_relative",
          "accounts = ( { key_file = \"api-key\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].key_file: must be an absolute path" } },
        { "key_credential_invalid",
          "accounts = ( { key_credential = \"../key\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].key_credential: invalid credential name; use A-Z a-z 0-9 _ . -" } },
        { "key_empty",
          "accounts = ( { key = \"\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].key: must not be empty" } },
        { "key_control",
          "accounts = ( { key = \"ab\\ncd\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].key: must not contain control characters" } },
        { "ca_file_relative",
          "accounts = ( { key = \"k\"; ca_file = \"certs/ca.pem\"; } );\n" PROJECTS,
          { "t.conf:1: accounts[0].ca_file: must be an absolute path, got \"certs/ca.pem\"" } },
        { "state_directory_relative",
          "state_directory = \"var/lib/inferwatch\";\n" BASE,
          { "t.conf:1: state_directory: must be an absolute path, got \"var/lib/inferwatch\"" } },
        { "two_secrets",
          BASE "webhooks = ( { url = \"https://h\";\n  secret = \"s\";\n  secret_file = \"/s\"; } );\n",
          { "t.conf:5: webhooks[0].secret_file: conflicts with \"secret\" on line 4; set only one of "
            "\"secret_file\", \"secret_credential\" or \"secret\"" } },
        { "webhook_name_dotdot",
          BASE "webhooks = ( { name = \"..\"; url = \"https://h\"; } );\n",
          { "t.conf:3: webhooks[0].name: invalid name \"..\"; it names a directory" } },
        { "secret_whsec_not_base64",
          BASE "webhooks = ( { url = \"https://h\"; secret = \"whsec_not/base64!\"; } );\n",
          { "t.conf:3: webhooks[0].secret: the signing secret starts with \"whsec_\" but the rest is not base64" } },
        { "secret_credential_invalid",
          BASE "webhooks = ( { url = \"https://h\"; secret_credential = \"\"; } );\n",
          { "t.conf:3: webhooks[0].secret_credential: invalid credential name; use A-Z a-z 0-9 _ . -" } },

        /* Webhook details. */
        { "format_unknown",
          BASE "webhooks = ( { url = \"https://h\"; format = \"teams\"; } );\n",
          { "t.conf:3: webhooks[0].format: unknown format \"teams\"; use \"json\", \"slack\" or \"alertmanager\"" } },
        { "header_crlf",
          BASE "webhooks = ( { url = \"https://h\"; headers = [ \"X-A: b\\r\\nX-B: c\" ]; } );\n",
          { "t.conf:3: webhooks[0].headers[0]: header must not contain CR or LF" } },
        { "header_no_colon",
          BASE "webhooks = ( { url = \"https://h\"; headers = [ \"X-A: b\", \"Bearer xyz\" ]; } );\n",
          { "t.conf:3: webhooks[0].headers[1]: missing \":\" after the header name" } },
        { "header_bad_name",
          BASE "webhooks = ( { url = \"https://h\"; headers = [ \"X A: b\" ]; } );\n",
          { "t.conf:3: webhooks[0].headers[0]: invalid header name; it must be an HTTP token "
            "(A-Z a-z 0-9 !#$%&'*+-.^_`|~) followed by \":\"" } },
        { "header_empty_value",
          BASE "webhooks = ( { url = \"https://h\"; headers = [ \"X-A:  \" ]; } );\n",
          { "t.conf:3: webhooks[0].headers[0]: header \"X-A\" has an empty value" } },
        { "header_reserved",
          BASE "webhooks = ( { url = \"https://h\";\n  headers = [ \"content-type: text/plain\",\n"
               "    \"Host: x\", \"Webhook-Signature: v1,x\", \"Content-Length: 1\" ]; } );\n",
          { "t.conf:4: webhooks[0].headers[0]: header \"content-type\" is set by inferwatchd and cannot be overridden",
            "t.conf:5: webhooks[0].headers[1]: header \"Host\" is set by inferwatchd and cannot be overridden",
            "t.conf:5: webhooks[0].headers[2]: header \"Webhook-Signature\" is set by inferwatchd and cannot be "
            "overridden",
            "t.conf:5: webhooks[0].headers[3]: header \"Content-Length\" is set by inferwatchd and cannot be "
            "overridden" } },
        { "event_unknown",
          BASE "webhooks = ( { url = \"https://h\";\n  events = [ \"alert.*\", \"alert.fired\" ]; } );\n",
          { "t.conf:4: webhooks[0].events[1]: unknown event type \"alert.fired\"" } },
        { "event_unknown_suggestion",
          BASE "webhooks = ( { url = \"https://h\"; events = [ \"deployment.stuk\" ]; } );\n",
          { "t.conf:3: webhooks[0].events[0]: unknown event type \"deployment.stuk\" (did you mean "
            "\"deployment.stuck\"?)" } },
        { "event_glob_matches_nothing",
          BASE "webhooks = ( { url = \"https://h\"; events = [ \"deploy.*\" ]; } );\n",
          { "t.conf:3: webhooks[0].events[0]: unknown event type \"deploy.*\"" } },
        { "events_empty",
          BASE "webhooks = ( { url = \"https://h\"; events = []; } );\n",
          { "t.conf:3: webhooks[0].events: must not be empty; leave it out to match every event type" } },
        { "priority_unknown",
          BASE "webhooks = ( { url = \"https://h\"; min_priority = \"critical\"; } );\n",
          { "t.conf:3: webhooks[0].min_priority: unknown priority \"critical\"; use emerg, alert, crit, err, "
            "warning, notice, info, debug or 0..7" } },
        { "priority_negative",
          BASE "webhooks = ( { url = \"https://h\"; min_priority = -1; } );\n",
          { "t.conf:3: webhooks[0].min_priority: must be between 0 and 7, got -1" } },
        { "webhook_deployment_glob_empty",
          BASE "webhooks = ( { url = \"https://h\"; deployments = [ \"\" ]; } );\n",
          { "t.conf:3: webhooks[0].deployments[0]: invalid pattern \"\"; it must be non-empty without control "
            "characters" } },
        { "webhook_projects_empty",
          BASE "webhooks = ( { url = \"https://h\"; projects = []; } );\n",
          { "t.conf:3: webhooks[0].projects: must not be empty; leave it out to match every project" } },

        { "metrics_listen_hostname",
          BASE "metrics = { listen = \"localhost:10043\"; };\n",
          { "t.conf:3: metrics.listen: expected a numeric address and a port such as \"127.0.0.1:10043\" or "
            "\"[::1]:10043\", got \"localhost:10043\"" } },
        { "metrics_listen_no_port",
          BASE "metrics = {\n  listen = \"::1\"; };\n",
          { "t.conf:4: metrics.listen: expected a numeric address and a port such as \"127.0.0.1:10043\" or "
            "\"[::1]:10043\", got \"::1\"" } },
        { "watchdog_not_alertmanager",
          BASE "webhooks = ( { url = \"https://h\"; watchdog = true; } );\n",
          { "t.conf:3: webhooks[0].watchdog: only a webhook with format = \"alertmanager\" can post the watchdog "
            "alert" } },
        { "watchdog_not_bool",
          BASE "webhooks = ( { url = \"https://h\"; format = \"alertmanager\"; watchdog = 1; } );\n",
          { "t.conf:3: webhooks[0].watchdog: expected true or false, got an integer" } },
        { "heartbeat_without_url",
          BASE "heartbeat = {\n  fail_url = \"https://hc-ping.com/x/fail\"; };\n",
          { "t.conf:3: heartbeat: \"url\", \"url_file\" or \"url_credential\" is required" } },
        { "heartbeat_bad_fail_url",
          BASE "heartbeat = { url = \"https://hc-ping.com/x\"; fail_url = \"hc-ping.com/x/fail\"; };\n",
          { "t.conf:3: heartbeat.fail_url: must start with \"http://\" or \"https://\"" } },
        { "metrics_not_a_group",
          BASE "metrics = \"127.0.0.1:10043\";\n",
          { "t.conf:3: metrics: expected a group { ... }, got a string" } },

        /* Everything at once: all reported, in line order, though found in another order. */
        { "several_errors_in_line_order",
          "webhooks = ( { url = \"gopher://h\"; } );\n"
          "projects = ( { id = 0; deployments = \"*\"; } );\n"
          "accounts = ( { key = \"k\"; page_size = 0; } );\n"
          "for = 0;\n"
          "interval = \"1x\";\n",
          { "t.conf:1: webhooks[0].url: must start with \"http://\" or \"https://\"",
            "t.conf:2: projects[0].id: must be between 1 and 9007199254740992, got 0",
            "t.conf:3: accounts[0].page_size: must be between 1 and 1000, got 0",
            "t.conf:4: for: must be between 1 and 32, got 0",
            "t.conf:5: interval: invalid duration \"1x\"; use a number of seconds or units such as \"500ms\", "
            "\"90s\", \"15m\", \"1h30m\", \"2d\"" } },
};

static void test_bad(void **state) {
        const struct bad_case *bc = *state;

        assert_null(load_expect(bc->text, 0, bc->errors, NONE));
}

/* ------------------------------------------------------------------------------------------ */
/* Valid configs */

static void test_defaults(void **state) {
        struct config *c = load_expect(BASE, 0, NONE, NONE);

        assert_string_equal(c->path, "t.conf");
        assert_int_equal(c->interval, 60 * USEC_PER_SEC);
        assert_int_equal(c->fast_interval, 2 * USEC_PER_SEC);
        assert_int_equal(c->stuck_after, 15 * USEC_PER_MINUTE);
        assert_int_equal(c->alert_for, 2);
        assert_int_equal(c->resolve_for, 1);
        assert_int_equal(c->repeat_interval, 4 * USEC_PER_HOUR);
        assert_int_equal(c->unreachable_after, 3);
        assert_int_equal(c->flap_returns, 1);
        assert_int_equal(c->flap_window, 10);
        assert_int_equal(c->flap_stable, 5 * USEC_PER_MINUTE);
        assert_int_equal(c->max_in_flight, 16);
        assert_string_equal(c->state_directory, STATEDIR);
        assert_int_equal(c->spool_max_size, 64 * 1024 * 1024);
        assert_int_equal(c->spool_max_age, 7 * USEC_PER_DAY);
        assert_int_equal(c->n_accounts, 1);
        assert_string_equal(c->accounts[0].name, "default");
        assert_string_equal(c->accounts[0].url, "https://api.gcore.com");
        assert_string_equal(c->accounts[0].key, "k");
        assert_true(c->accounts[0].key_inline);
        assert_null(c->accounts[0].key_file);
        assert_null(c->accounts[0].key_credential);
        assert_null(c->accounts[0].ca_file);
        assert_int_equal(c->accounts[0].connect_timeout, 5 * USEC_PER_SEC);
        assert_int_equal(c->accounts[0].timeout, 30 * USEC_PER_SEC);
        assert_int_equal(c->accounts[0].max_response_size, 8 * 1024 * 1024);
        assert_int_equal(c->accounts[0].page_size, 100);
        assert_int_equal(c->accounts[0].max_requests_per_second, 10);
        assert_true(c->accounts[0].list_named_deployments);
        assert_int_equal(c->accounts[0].line, 1);
        assert_int_equal(c->n_projects, 1);
        assert_int_equal(c->projects[0].id, 1);
        assert_ptr_equal(c->projects[0].account, &c->accounts[0]);
        assert_true(c->projects[0].all);
        assert_int_equal(c->projects[0].n_deployments, 0);
        assert_int_equal(c->projects[0].line, 2);
        assert_int_equal(c->n_webhooks, 0);
        config_free(c);

        /* A timeout shorter than the default connect timeout shortens that too. */
        c = load_expect("accounts = ( { key = \"k\"; timeout = \"2s\"; } );\n" PROJECTS, 0, NONE, NONE);
        assert_int_equal(c->accounts[0].timeout, 2 * USEC_PER_SEC);
        assert_int_equal(c->accounts[0].connect_timeout, 2 * USEC_PER_SEC);
        config_free(c);

        /* A webhook takes info and more urgent: debug is for the changes of a flap. */
        c = load_expect(BASE "webhooks = ( { url = \"https://h\"; } );\n", 0, NONE, NONE);
        assert_int_equal(c->webhooks[0].min_priority, 6);
        config_free(c);
}

static void test_every_key_with_units(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *key = tmp_file(t, "key", "k\n", 0600);
        _cleanup_free_ char *text = xasprintf(
                "interval = \"1h30m\";\n"
                "fast_interval = \"500ms\";\n"
                "stuck_after = \"2d\";\n"
                "for = 3;\n"
                "resolve_for = 32;\n"
                "repeat_interval = 0;\n"
                "unreachable_after = 1000;\n"
                "flap_returns = 27;\n"
                "flap_window = 32;\n"
                "flap_stable = \"1s\";\n"
                "max_in_flight = 1024;\n"
                "state_directory = \"/srv/inferwatch\";\n"
                "spool_max_size = \"16GiB\";\n"
                "spool_max_age = \"365d\";\n"
                "accounts = ( { name = \"eu.prod-1\"; url = \"https://api.example.com/gcore///\";\n"
                "  key_file = \"%s\"; ca_file = \"/etc/ssl/ca.pem\";\n"
                "  connect_timeout = \"100ms\"; timeout = \"10m\"; max_response_size = \"1KiB\"; page_size = 1000;"
                " max_requests_per_second = 0; } );\n"
                "projects = ( { id = 9007199254740992L; deployments = [ \"a\", \"b.c-d_e\" ]; } );\n"
                "webhooks = ( { name = \"am\"; url = \"http://am:9093/api/v2/alerts?x=1\"; format = \"alertmanager\";\n"
                "  headers = [ \"X-Scope-OrgID: team-a\" ]; events = [ \"alert.*\", \"api.auth_failed\" ];\n"
                "  min_priority = \"warning\"; deployments = [ \"llama-*\" ]; projects = [ 1, 2 ];\n"
                "  secret_credential = \"hook\"; ca_file = \"/ca.pem\"; timeout = \"1m\"; retry_max_interval = \"1d\"; },\n"
                "  { url = \"https://hooks.slack.com/services/T/B/X\"; format = \"slack\"; min_priority = 3; } );\n",
                key);
        struct config *c = load_expect(text, 0, NONE, NONE);
        const struct account *a = &c->accounts[0];
        const struct webhook *w = &c->webhooks[0];

        assert_int_equal(c->interval, 90 * USEC_PER_MINUTE);
        assert_int_equal(c->fast_interval, 500 * USEC_PER_MSEC);
        assert_int_equal(c->stuck_after, 2 * USEC_PER_DAY);
        assert_int_equal(c->alert_for, 3);
        assert_int_equal(c->resolve_for, 32);
        assert_int_equal(c->repeat_interval, 0);
        assert_int_equal(c->unreachable_after, 1000);
        assert_int_equal(c->flap_returns, 27);
        assert_int_equal(c->flap_window, 32);
        assert_int_equal(c->flap_stable, USEC_PER_SEC);
        assert_int_equal(c->max_in_flight, 1024);
        assert_string_equal(c->state_directory, "/srv/inferwatch");
        assert_int_equal(c->spool_max_size, 16ULL * 1024 * 1024 * 1024);
        assert_int_equal(c->spool_max_age, 365 * USEC_PER_DAY);

        assert_string_equal(a->name, "eu.prod-1");
        assert_string_equal(a->url, "https://api.example.com/gcore");
        assert_string_equal(a->key_file, key);
        assert_null(a->key); /* read and checked, but not kept without CONFIG_LOAD_SECRETS */
        assert_false(a->key_inline);
        assert_string_equal(a->ca_file, "/etc/ssl/ca.pem");
        assert_int_equal(a->connect_timeout, 100 * USEC_PER_MSEC);
        assert_int_equal(a->timeout, 10 * USEC_PER_MINUTE);
        assert_int_equal(a->max_response_size, 1024);
        assert_int_equal(a->page_size, 1000);
        assert_int_equal(a->max_requests_per_second, 0);

        assert_int_equal(c->projects[0].id, INT64_C(9007199254740992));
        assert_false(c->projects[0].all);
        assert_int_equal(c->projects[0].n_deployments, 2);
        assert_string_equal(c->projects[0].deployments[0], "a");
        assert_string_equal(c->projects[0].deployments[1], "b.c-d_e");

        assert_int_equal(c->n_webhooks, 2);
        assert_string_equal(w->name, "am");
        assert_string_equal(w->url, "http://am:9093/api/v2/alerts?x=1");
        assert_int_equal(w->format, WEBHOOK_FORMAT_ALERTMANAGER);
        assert_int_equal(w->n_headers, 1);
        assert_string_equal(w->headers[0], "X-Scope-OrgID: team-a");
        assert_int_equal(w->n_events, 2);
        assert_string_equal(w->events[1], "api.auth_failed");
        assert_int_equal(w->min_priority, 4);
        assert_int_equal(w->n_deployments, 1);
        assert_string_equal(w->deployments[0], "llama-*");
        assert_int_equal(w->n_projects, 2);
        assert_int_equal(w->projects[1], 2);
        assert_string_equal(w->secret_credential, "hook");
        assert_null(w->secret);
        assert_string_equal(w->ca_file, "/ca.pem");
        assert_int_equal(w->timeout, USEC_PER_MINUTE);
        assert_int_equal(w->retry_max_interval, USEC_PER_DAY);
        assert_int_equal(w->line, 19);

        w = &c->webhooks[1];
        assert_string_equal(w->name, "webhook-2");
        assert_int_equal(w->format, WEBHOOK_FORMAT_SLACK);
        assert_int_equal(w->min_priority, 3);
        assert_int_equal(w->n_events, 0);
        assert_null(w->secret_file);
        assert_int_equal(w->timeout, 10 * USEC_PER_SEC);
        assert_int_equal(w->retry_max_interval, 5 * USEC_PER_MINUTE);
        assert_string_equal(webhook_format_to_string(w->format), "slack");
        config_free(c);
}

static void test_integers_as_durations_and_sizes(void **state) {
        struct config *c =
                load_expect("interval = 30;\nfast_interval = 1;\nstuck_after = 604800;\n"
                            "repeat_interval = 3600;\nspool_max_size = 65536;\nspool_max_age = 1;\n" BASE,
                            0, NONE, NONE);

        assert_int_equal(c->interval, 30 * USEC_PER_SEC);
        assert_int_equal(c->fast_interval, USEC_PER_SEC);
        assert_int_equal(c->stuck_after, 7 * USEC_PER_DAY);
        assert_int_equal(c->repeat_interval, USEC_PER_HOUR);
        assert_int_equal(c->spool_max_size, 65536);
        assert_int_equal(c->spool_max_age, USEC_PER_SEC);
        config_free(c);
}

/* Beyond 32 bits without the L suffix: the value the file says, not libconfig's truncation. */
static void test_64bit_without_suffix(void **state) {
        struct config *c = load_expect(
                ACCOUNTS "projects = ( { id = 5000000000; deployments = \"*\"; },\n"
                         "  { id = 0x1FFFFFFFF; deployments = \"*\"; } );\n"
                         "webhooks = ( { url = \"https://h\"; projects = [ 5000000001, 3 ]; } );\n",
                0, NONE, NONE);

        assert_int_equal(c->projects[0].id, INT64_C(5000000000));
        assert_int_equal(c->projects[1].id, INT64_C(0x1FFFFFFFF));
        assert_int_equal(c->webhooks[0].projects[0], INT64_C(5000000001));
        assert_int_equal(c->webhooks[0].projects[1], 3);
        config_free(c);
}

static void test_several_accounts(void **state) {
        static const char text[] = "accounts = ( { name = \"prod\"; key = \"k1\"; },\n"
                                   "  { name = \"sim\"; url = \"http://127.0.0.1:8080/\"; key = \"k2\"; },\n"
                                   "  { name = \"sim6\"; url = \"http://[::1]:8080\"; key = \"k3\"; } );\n"
                                   "projects = ( { id = 1; account = \"prod\"; deployments = [ \"x\" ]; },\n"
                                   "  { id = 1; account = \"sim\"; deployments = \"*\"; },\n"
                                   "  { id = 2; account = \"sim6\"; deployments = \"*\"; } );\n";
        struct config *c = load_expect(text, 0, NONE, NONE);

        assert_int_equal(c->n_accounts, 3);
        assert_string_equal(c->accounts[1].url, "http://127.0.0.1:8080");
        assert_ptr_equal(c->projects[0].account, config_find_account(c, "prod"));
        assert_ptr_equal(c->projects[1].account, &c->accounts[1]);
        assert_ptr_equal(c->projects[2].account, &c->accounts[2]);
        assert_true(c->projects[1].all);
        assert_null(config_find_account(c, "nope"));
        assert_null(config_find_account(c, NULL));
        config_free(c);
}

/* More returns than the window can hold: a flap detector that never triggers, warned about at
 * the key the file sets (the window, or flap_returns under the default window); loaded. */
static void test_flap_never(void **state) {
        load_ok("flap_returns = 8;\nflap_window = 10;\n" BASE,
                STRV("t.conf:2: warning: flap_window: flap_returns = 8 needs flap_window of at least 11 polls (it can "
                     "come back at most flap_window - 2 times), got 10: flap detection is off"));
        load_ok("flap_returns = 8;\n" BASE,
                STRV("t.conf:1: warning: flap_returns: flap_returns = 8 needs flap_window of at least 11 polls (it can "
                     "come back at most flap_window - 2 times), got 10: flap detection is off"));
        load_ok("flap_returns = 30;\nflap_window = 3;\n" BASE,
                STRV("t.conf:2: warning: flap_window: flap_returns = 30 needs flap_window of at least 33 polls (it "
                     "can come back at most flap_window - 2 times), got 3: flap detection is off"));
        load_ok("flap_returns = 7;\nflap_window = 10;\n" BASE, NONE);
        load_ok("flap_window = 4;\n" BASE, NONE);
}

static void test_clear_text_warning(void **state) {
        load_ok("accounts = ( { url = \"http://api.example.com\"; key = \"k\"; } );\n" PROJECTS,
                STRV("t.conf:1: warning: accounts[0].url: the API key would travel in clear text to "
                     "\"api.example.com\"; use https://"));
        load_ok("accounts = ( { url = \"http://LOCALHOST:1/\"; key = \"k\"; } );\n" PROJECTS, NONE);
}

static void test_unknown_keys(void **state) {
        static const char text[] =
                "intervall = \"5s\";\n"
                "accounts = ( { key = \"k\";\n"
                "  timeout_connect = 3;\n"
                "  urll = \"https://x\"; } );\n"
                "projects = ( { id = 1; deployments = \"*\"; acount = \"x\"; } );\n"
                "webhooks = ( { url = \"https://h\"; secrte = \"s\"; color = \"red\"; } );\n"
                "zzz = 1;\n";

        load_ok(text,
                STRV("t.conf:1: warning: unknown key \"intervall\" (did you mean \"interval\"?)",
                     "t.conf:3: warning: accounts[0]: unknown key \"timeout_connect\"",
                     "t.conf:4: warning: accounts[0]: unknown key \"urll\" (did you mean \"url\"?)",
                     "t.conf:5: warning: projects[0]: unknown key \"acount\" (did you mean \"account\"?)",
                     "t.conf:6: warning: webhooks[0]: unknown key \"secrte\" (did you mean \"secret\"?)",
                     "t.conf:6: warning: webhooks[0]: unknown key \"color\"",
                     "t.conf:7: warning: unknown key \"zzz\""));
}

/* -t warns about a filter that lets nothing through for the webhook's format. */
static void test_filter_never_matches(void **state) {
        struct config *c = load_expect(BASE "webhooks = ( { url = \"https://h\"; format = \"alertmanager\";\n"
                                            "  events = [ \"deployment.*\", \"container.error\" ]; },\n"
                                            "  { url = \"https://i\"; format = \"alertmanager\"; events = [ \"api.*\" ]; },\n"
                                            "  { url = \"https://j\"; events = [ \"deployment.*\" ]; } );\n",
                                       0, NONE,
                                       STRV("t.conf:4: warning: webhooks[0].events: a webhook of format "
                                            "\"alertmanager\" is sent none of these event types; it will receive "
                                            "nothing"));

        config_free(c);
}

static void test_metrics_group(void **state) {
        struct config *c = load_expect(BASE "metrics = {\n  listen = \"[::1]:10043\";\n  port = 1; };\n", 0, NONE,
                                       STRV("t.conf:5: warning: metrics: unknown key \"port\""));

        assert_string_equal(c->metrics.listen, "[::1]:10043");
        config_free(c);
        c = load_expect(BASE, 0, NONE, NONE);
        assert_null(c->metrics.listen); /* off by default */
        config_free(c);
}

static void test_priorities(void **state) {
        static const struct {
                const char *value;
                int priority;
        } cases[] = {
                { "\"emerg\"", 0 },   { "\"alert\"", 1 },  { "\"crit\"", 2 }, { "\"err\"", 3 },
                { "\"warning\"", 4 }, { "\"notice\"", 5 }, { "\"info\"", 6 }, { "\"debug\"", 7 },
                { "0", 0 },           { "7", 7 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text =
                        xasprintf(BASE "webhooks = ( { url = \"https://h\"; min_priority = %s; } );\n",
                                  cases[i].value);
                struct config *c = load_expect(text, 0, NONE, NONE);
                assert_int_equal(c->webhooks[0].min_priority, cases[i].priority);
                config_free(c);
        }
}

static void test_state_directory_env(void **state) {
        struct config *c;

        assert_int_equal(setenv("STATE_DIRECTORY", "/var/lib/inferwatch:/var/lib/other", 1), 0);
        c = load_expect(BASE, 0, NONE, NONE);
        assert_string_equal(c->state_directory, "/var/lib/inferwatch");
        config_free(c);

        /* The config file wins over the environment. */
        c = load_expect("state_directory = \"/srv/iw\";\n" BASE, 0, NONE, NONE);
        assert_string_equal(c->state_directory, "/srv/iw");
        config_free(c);

        assert_int_equal(setenv("STATE_DIRECTORY", "relative/dir", 1), 0);
        assert_null(load_expect(
                BASE, 0, STRV("t.conf: $STATE_DIRECTORY: must be an absolute path, got \"relative/dir\""),
                NONE));
        assert_int_equal(unsetenv("STATE_DIRECTORY"), 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Real files: secrets, includes, modes */

static struct config *load_file_expect(const char *path, unsigned flags, const char *const *errors,
                                       const char *const *warnings) {
        struct config_diag d = {};
        struct config *c = NULL;
        int r = config_load(path, flags, &d, &c);

        check_messages("errors", d.errors, d.n_errors, errors);
        check_messages("warnings", d.warnings, d.n_warnings, warnings);
        assert_int_equal(r<0, strv_len(errors)> 0);
        assert_int_equal(c == NULL, strv_len(errors) > 0);
        config_diag_done(&d);
        return c;
}

static void test_unreadable_file(void **state) {
        struct config_diag d = {};
        struct config *c = NULL;

        assert_int_equal(config_load("/nonexistent/inferwatch.conf", 0, &d, &c), -ENOENT);
        assert_null(c);
        check_messages("errors", d.errors, d.n_errors,
                       STRV("/nonexistent/inferwatch.conf: cannot read: No such file or directory"));
        config_diag_done(&d);
}

static void test_include_reports_its_own_name(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *inc = tmp_file(t, "projects.conf",
                                            "projects = (\n  { id = 1; deployments = \"*\"; },\n"
                                            "  { id = 1; deployments = \"*\"; } );\nfor = 0;\n",
                                            0600);
        _cleanup_free_ char *main_conf =
                tmp_file(t, "main.conf", ACCOUNTS "@include \"projects.conf\"\ninterval = 0;\n", 0600);
        _cleanup_free_ char *e1 = xasprintf(
                "%s:3: projects[1]: duplicate project 1 of account \"default\" (first at line 2)", inc);
        _cleanup_free_ char *e2 = xasprintf("%s:4: for: must be between 1 and 32, got 0", inc);
        _cleanup_free_ char *e3 = xasprintf("%s:3: interval: must be between 1s and 1d, got 0s", main_conf);
        _cleanup_free_ char *syntax = NULL, *bad = NULL;

        assert_null(load_file_expect(main_conf, 0, STRV(e3, e1, e2), NONE));

        /* A syntax error inside the included file names that file. */
        free(tmp_file(t, "projects.conf", "projects = ( { id = 1; deployments = \"*\"; } );\nfor = ;\n",
                      0600));
        syntax = xasprintf("%s:2: syntax error", inc);
        assert_null(load_file_expect(main_conf, 0, STRV(syntax), NONE));

        /* A string or comment the included file leaves open is its error, at the line that
         * opened it, not a syntax error in the including file (which came out as main.conf:3). */
        free(syntax);
        free(tmp_file(t, "projects.conf", "projects = ( { id = 1; deployments = \"*\"; } );\nfor = \"3;\n", 0600));
        syntax = xasprintf("%s:2: a string opened here is not closed at the end of the file", inc);
        assert_null(load_file_expect(main_conf, 0, STRV(syntax), NONE));
        free(syntax);
        free(tmp_file(t, "projects.conf", "projects = ( { id = 1; deployments = \"*\"; } );\n/* for = 3;\n", 0600));
        syntax = xasprintf("%s:2: a comment opened here is not closed at the end of the file", inc);
        assert_null(load_file_expect(main_conf, 0, STRV(syntax), NONE));

        /* A NUL byte ended the text there: the rest of the file was silently dropped. */
        free(syntax);
        {
                static const char with_nul[] = "projects = ( { id = 1; deployments = \"*\"; } );\n\0for = 0;\n";
                free(tmp_file_n(t, "projects.conf", with_nul, sizeof(with_nul) - 1, 0600));
        }
        syntax = xasprintf("%s:2: contains a NUL byte: not a text file, or damaged", inc);
        assert_null(load_file_expect(main_conf, 0, STRV(syntax), NONE));
        free(syntax);
        syntax = xasprintf("%s:2: contains a NUL byte: not a text file, or damaged", inc);
        assert_null(load_file_expect(inc, 0, STRV(syntax), NONE));

        /* config_load_string resolves includes against the directory of the name it is given. */
        free(tmp_file(t, "projects.conf",
                      "projects = ( { id = 5000000000; deployments = \"*\"; } );\nfor = 4294967297;\n",
                      0600));
        bad = xasprintf("%s:2: for: must be between 1 and 32, got 4294967297", inc);
        {
                struct config_diag d = {};
                struct config *c = NULL;
                assert_int_equal(
                        config_load_string(ACCOUNTS "@include \"projects.conf\"\n", main_conf, 0, &d, &c),
                        -EINVAL);
                check_messages("errors", d.errors, d.n_errors, STRV(bad));
                config_diag_done(&d);
        }
}

/* A duplicate in another file than the first definition says which file: "first at FILE:N". */
static void test_duplicates_across_include(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *acc = tmp_file(t, "more-accounts.conf", "  { name = \"a\"; key = \"k\"; }\n", 0600);
        _cleanup_free_ char *proj =
                tmp_file(t, "more-projects.conf", "  { id = 1; account = \"a\"; deployments = \"*\"; }\n", 0600);
        _cleanup_free_ char *hook =
                tmp_file(t, "first-webhooks.conf", "  { name = \"w\"; url = \"https://h\"; },\n", 0600);
        _cleanup_free_ char *main_conf = tmp_file(t, "main.conf",
                                                  "accounts = ( { name = \"a\"; key = \"k\"; },\n"
                                                  "@include \"more-accounts.conf\"\n"
                                                  ");\n"
                                                  "projects = ( { id = 1; account = \"a\"; deployments = \"*\"; },\n"
                                                  "@include \"more-projects.conf\"\n"
                                                  ");\n"
                                                  "webhooks = (\n"
                                                  "@include \"first-webhooks.conf\"\n"
                                                  "  { name = \"w\"; url = \"https://i\"; } );\n",
                                                  0600);
        _cleanup_free_ char *e_hook = xasprintf(
                "%s:9: webhooks[1].name: duplicate webhook name \"w\" (first at %s:1)", main_conf, hook);
        _cleanup_free_ char *e_acc = xasprintf(
                "%s:1: accounts[1].name: duplicate account name \"a\" (first at %s:1)", acc, main_conf);
        _cleanup_free_ char *e_proj = xasprintf(
                "%s:1: projects[1]: duplicate project 1 of account \"a\" (first at %s:4)", proj, main_conf);

        assert_null(load_file_expect(main_conf, 0, STRV(e_hook, e_acc, e_proj), NONE));
}

/* Issue 10 item 6: libconfig's scanner called exit(2) on an @include naming a directory, taking
 * the daemon down on reload; now it is an error at the directive's line, and nothing is lost. */
/* read_full_file drops a file's last newline: a file (or an included one) whose last line is a
 * comment was a syntax error, libconfig's scanner wanting the newline that ends a comment. */
static void test_last_line_comment(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *main_conf = NULL, *inc = NULL, *with_inc = NULL, *text = NULL;
        struct config *c;

        main_conf = tmp_file(t, "main.conf", BASE "# the last line is a comment\n", 0600);
        c = load_file_expect(main_conf, 0, NONE, NONE);
        assert_non_null(c);
        config_free(c);
        inc = tmp_file(t, "inc.conf", "interval = \"3s\"; // no newline after this comment", 0600);
        text = xasprintf(BASE "@include \"%s\"\n// and one here too", inc);
        with_inc = tmp_file(t, "with-inc.conf", text, 0600);
        c = load_file_expect(with_inc, 0, NONE, NONE);
        assert_non_null(c);
        config_free(c);
}

static void test_include_directory(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *sub = xasprintf("%s/conf.d", t->dir), *main_conf = NULL, *e = NULL;

        assert_int_equal(mkdir(sub, 0700), 0);
        main_conf = tmp_file(t, "main.conf", BASE "@include \"conf.d\"\n", 0600);
        e = xasprintf("%s:3: cannot include \"%s\": Is a directory", main_conf, sub);
        assert_null(load_file_expect(main_conf, 0, STRV(e), NONE));
        assert_null(load_file_expect(main_conf, CONFIG_LOAD_SECRETS, STRV(e), NONE));
}

/* Issue 10 item 7: a FIFO (or a device) as the configuration, an @include, a key, secret or URL
 * file, or a credential blocked -t and froze a reload until a writer came. The alarm turns a
 * hang into a failure. */
static void test_fifo_refused(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *fifo = xasprintf("%s/fifo", t->dir), *creds = xasprintf("%s/creds", t->dir);
        _cleanup_free_ char *cred_fifo = xasprintf("%s/gcore-api-key", creds);
        _cleanup_free_ char *e_main = xasprintf("%s: cannot read: Not a regular file", fifo);
        _cleanup_free_ char *t_inc = xasprintf(BASE "@include \"%s\"\n", fifo);
        _cleanup_free_ char *e_inc = xasprintf("t.conf:3: cannot include \"%s\": Not a regular file", fifo);
        _cleanup_free_ char *t_key = xasprintf("accounts = ( { key_file = \"%s\"; } );\n" PROJECTS, fifo);
        _cleanup_free_ char *e_key =
                xasprintf("t.conf:1: accounts[0].key_file: cannot read \"%s\": Not a regular file", fifo);
        _cleanup_free_ char *t_secret =
                xasprintf(BASE "webhooks = ( { url = \"https://h\"; secret_file = \"%s\"; } );\n", fifo);
        _cleanup_free_ char *e_secret =
                xasprintf("t.conf:3: webhooks[0].secret_file: cannot read \"%s\": Not a regular file", fifo);
        _cleanup_free_ char *t_url = xasprintf(BASE "webhooks = ( { url_file = \"%s\"; } );\n", fifo);
        _cleanup_free_ char *e_url =
                xasprintf("t.conf:3: webhooks[0].url_file: cannot read \"%s\": Not a regular file", fifo);
        _cleanup_free_ char *e_cred = xasprintf(
                "t.conf:1: accounts[0].key_credential: cannot read \"%s\": Not a regular file", cred_fifo);
        _cleanup_free_ char *e_dev =
                xasprintf("t.conf:1: accounts[0].key_file: cannot read \"/dev/zero\": Not a regular file");

        (void) alarm(30);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_null(load_file_expect(fifo, 0, STRV(e_main), NONE));
        assert_null(load_expect(t_inc, 0, STRV(e_inc), NONE));
        assert_null(load_expect(t_key, 0, STRV(e_key), NONE));
        assert_null(load_expect(t_key, CONFIG_LOAD_SECRETS, STRV(e_key), NONE));
        assert_null(load_expect(t_secret, CONFIG_LOAD_SECRETS, STRV(e_secret), NONE));
        assert_null(load_expect(t_url, CONFIG_LOAD_SECRETS, STRV(e_url), NONE));
        assert_null(load_expect("accounts = ( { key_file = \"/dev/zero\"; } );\n" PROJECTS, 0, STRV(e_dev),
                                NONE));
        assert_int_equal(mkdir(creds, 0700), 0);
        assert_int_equal(mkfifo(cred_fifo, 0600), 0);
        assert_int_equal(setenv("CREDENTIALS_DIRECTORY", creds, 1), 0);
        assert_null(load_expect("accounts = ( { key_credential = \"gcore-api-key\"; } );\n" PROJECTS,
                                CONFIG_LOAD_SECRETS, STRV(e_cred), NONE));
        (void) alarm(0);
}

/* Issue 10 item 9: with an absolute main file (as in the unit), libconfig made an absolute
 * @include "/dir//dir/extra.conf". Absolute names are used as they are; relative ones are taken
 * from the directory of the file that holds the @include. */
static void test_include_paths(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *sub = xasprintf("%s/conf.d", t->dir), *accounts = NULL, *text = NULL;
        _cleanup_free_ char *main_conf = NULL, *e1 = NULL, *e2 = NULL, *loop = NULL, *e_loop = NULL;
        struct config *c;

        assert_int_equal(mkdir(sub, 0700), 0);
        free(tmp_file(t, "conf.d/projects.conf", "projects = ( { id = 7; deployments = \"*\"; } );\n", 0600));
        /* "projects.conf": the one in conf.d, next to this file, not in the main file's directory. */
        accounts = tmp_file(t, "conf.d/accounts.conf", "accounts = ( { key = \"k\"; } );\n@include \"projects.conf\"\n",
                            0600);
        text = xasprintf("@include \"%s\"\n", accounts);
        main_conf = tmp_file(t, "main.conf", text, 0600);
        c = load_file_expect(main_conf, 0, NONE, NONE);
        assert_int_equal(c->n_projects, 1);
        assert_int_equal(c->projects[0].id, 7);
        config_free(c);

        /* Each line keeps its own file and number, before and after an @include, at any depth. */
        free(tmp_file(t, "conf.d/accounts.conf",
                      "accounts = ( { key = \"k\"; } );\n@include \"projects.conf\"\nfor = 0;\n", 0600));
        free(tmp_file(t, "main.conf", "resolve_for = 0;\n@include \"conf.d/accounts.conf\"\ninterval = 0;\n", 0600));
        e1 = xasprintf("%s:1: resolve_for: must be between 1 and 32, got 0", main_conf);
        e2 = xasprintf("%s:3: interval: must be between 1s and 1d, got 0s", main_conf);
        free(text);
        text = xasprintf("%s:3: for: must be between 1 and 32, got 0", accounts);
        assert_null(load_file_expect(main_conf, 0, STRV(e1, e2, text), NONE));

        /* A file that includes itself: refused at libconfig's depth, once. */
        loop = tmp_file(t, "loop.conf", BASE "@include \"loop.conf\"\n", 0600);
        e_loop = xasprintf("%s:3: cannot include \"%s\": more than 10 levels of @include", loop, loop);
        assert_null(load_file_expect(loop, 0, STRV(e_loop), NONE));
}

/* The directive is what libconfig's scanner takes for one: at the start of a line, outside
 * comments and strings. The rest of its line is read after the file, and another @include there
 * is no directive. */
static void test_include_directive(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *name = xasprintf("%s/main.conf", t->dir);
        _cleanup_free_ char *e_range = xasprintf("%s:3: resolve_for: must be between 1 and 32, got 0", name);
        _cleanup_free_ char *e_syntax = xasprintf("%s:3: syntax error", name);
        struct config_diag d = {};
        struct config *c = NULL;

        free(tmp_file(t, "inc.conf", "for = 3;", 0600));
        c = load_expect(BASE "/* @include \"nope.conf\"\n@include \"nope.conf\" */\n"
                             "state_directory = \"/x\n@include \\\"nope.conf\\\"\"; # @include \"nope.conf\"\n",
                        0, NONE, NONE);
        assert_string_equal(c->state_directory, "/x\n@include \"nope.conf\"");
        config_free(c);

        assert_int_equal(config_load_string(BASE "  @include \"inc.conf\" resolve_for = 4;\n", name, 0, &d, &c), 0);
        assert_int_equal(c->alert_for, 3);
        assert_int_equal(c->resolve_for, 4);
        c = config_free(c);
        config_diag_done(&d);

        assert_int_equal(config_load_string(BASE "@include \"inc.conf\" resolve_for = 0;\n", name, 0, &d, &c),
                         -EINVAL);
        check_messages("errors", d.errors, d.n_errors, STRV(e_range));
        config_diag_done(&d);
        assert_int_equal(config_load_string(BASE "@include \"inc.conf\" @include \"inc.conf\"\n", name, 0, &d, &c),
                         -EINVAL);
        check_messages("errors", d.errors, d.n_errors, STRV(e_syntax));
        config_diag_done(&d);
}

static void test_inline_secret_mode(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *open_conf = tmp_file(t, "open.conf", BASE, 0644);
        _cleanup_free_ char *tight = tmp_file(t, "tight.conf", BASE, 0600);
        _cleanup_free_ char *key = tmp_file(t, "key", "k\n", 0600);
        _cleanup_free_ char *hook_text = xasprintf("accounts = ( { key_file = \"%s\"; } );\n" PROJECTS
                                                   "webhooks = ( { url = \"https://h\"; secret = \"s\"; } );\n",
                                                   key);
        _cleanup_free_ char *hook = tmp_file(t, "hook.conf", hook_text, 0640);
        _cleanup_free_ char *w1 =
                xasprintf("%s: warning: contains an inline secret but is readable by group/others "
                          "(mode 0644); chmod 600 it or use key_file/key_credential",
                          open_conf);
        _cleanup_free_ char *w2 =
                xasprintf("%s: warning: contains an inline secret but is readable by group/others "
                          "(mode 0640); chmod 600 it or use secret_file/secret_credential",
                          hook);

        config_free(load_file_expect(open_conf, 0, NONE, STRV(w1)));
        config_free(load_file_expect(tight, 0, NONE, NONE));
        config_free(load_file_expect(hook, 0, NONE, STRV(w2)));
}

static void test_key_file(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *key = tmp_file(t, "key", "api-key-123 \n\n", 0600);
        _cleanup_free_ char *empty = tmp_file(t, "empty", " \n", 0600);
        _cleanup_free_ char *text = xasprintf("accounts = ( { key_file = \"%s\"; } );\n" PROJECTS, key);
        _cleanup_free_ char *text_empty =
                xasprintf("accounts = ( { key_file = \"%s\"; } );\n" PROJECTS, empty);
        _cleanup_free_ char *text_missing =
                xasprintf("accounts = ( { key_file = \"%s/nope\"; } );\n" PROJECTS, t->dir);
        _cleanup_free_ char *e_empty = xasprintf("t.conf:1: accounts[0].key_file: \"%s\" is empty", empty);
        _cleanup_free_ char *ctl = tmp_file(t, "ctl", "api\x1b[0m-key\n", 0600);
        _cleanup_free_ char *text_ctl =
                xasprintf(PROJECTS "accounts = ( { name = \"a\";\n  key_file = \"%s\"; } );\n", ctl);
        _cleanup_free_ char *e_ctl =
                xasprintf("t.conf:3: accounts[0].key_file: \"%s\" contains control characters", ctl);
        _cleanup_free_ char *e_missing =
                xasprintf("t.conf:1: accounts[0].key_file: cannot read \"%s/nope\": No such "
                          "file or directory",
                          t->dir);
        _cleanup_free_ char *big = NULL, *text_big = NULL, *e_big = NULL, *content = xmalloc(5000);
        struct config *c;

        c = load_expect(text, CONFIG_LOAD_SECRETS, NONE, NONE);
        assert_string_equal(c->accounts[0].key, "api-key-123");
        assert_string_equal(c->accounts[0].key_file, key);
        assert_false(c->accounts[0].key_inline);
        config_free(c);

        /* Without CONFIG_LOAD_SECRETS (inferwatchd -t) the file is read and checked, not kept. */
        c = load_expect(text, 0, NONE, NONE);
        assert_null(c->accounts[0].key);
        config_free(c);

        /* -t refuses what the daemon refuses, with the same FILE:LINE: message. */
        assert_null(load_expect(text_empty, CONFIG_LOAD_SECRETS, STRV(e_empty), NONE));
        assert_null(load_expect(text_empty, 0, STRV(e_empty), NONE));
        assert_null(load_expect(text_ctl, CONFIG_LOAD_SECRETS, STRV(e_ctl), NONE));
        assert_null(load_expect(text_ctl, 0, STRV(e_ctl), NONE));
        assert_null(load_expect(text_missing, CONFIG_LOAD_SECRETS, STRV(e_missing), NONE));
        assert_null(load_expect(text_missing, 0, STRV(e_missing), NONE));
        /* --status reads no secret: only the setting itself is checked. */
        c = load_expect(text_missing, CONFIG_LOAD_SKIP_SECRETS, NONE, NONE);
        assert_null(c->accounts[0].key);
        config_free(c);
        assert_null(load_expect("accounts = ( { key_file = \"relative\"; } );\n" PROJECTS, CONFIG_LOAD_SKIP_SECRETS,
                                STRV("t.conf:1: accounts[0].key_file: must be an absolute path"), NONE));

        memset(content, 'x', 4999);
        content[4999] = '\0';
        big = tmp_file(t, "big", content, 0600);
        text_big = xasprintf("accounts = ( { key_file = \"%s\"; } );\n" PROJECTS, big);
        e_big = xasprintf("t.conf:1: accounts[0].key_file: \"%s\" is larger than 4096 bytes", big);
        assert_null(load_expect(text_big, CONFIG_LOAD_SECRETS, STRV(e_big), NONE));
        assert_null(load_expect(text_big, 0, STRV(e_big), NONE));
}

static void test_credentials(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *e_missing =
                xasprintf("t.conf:3: webhooks[0].secret_credential: cannot read \"%s/nope\": "
                          "No such file or directory",
                          t->dir);
        static const char text[] =
                "accounts = ( { key_credential = \"gcore-api-key\"; } );\n" PROJECTS
                "webhooks = ( { url = \"https://h\"; secret_credential = \"hook-secret\"; } );\n";
        static const char text_missing[] =
                "accounts = ( { key_credential = \"gcore-api-key\"; } );\n" PROJECTS
                "webhooks = ( { url = \"https://h\"; secret_credential = \"nope\"; } );\n";
        static const char text_bad[] = BASE "webhooks = ( { url = \"https://h\"; secret_credential = \"bad-secret\"; } );\n";
        _cleanup_free_ char *e_bad = xasprintf("t.conf:3: webhooks[0].secret_credential: the signing secret in "
                                               "\"%s/bad-secret\" starts with \"whsec_\" but the rest is not base64",
                                               t->dir);
        struct config *c;

        free(tmp_file(t, "gcore-api-key", "from-credential\n", 0600));
        free(tmp_file(t, "hook-secret", "whsec_YWJj", 0600));

        /* Outside systemd: -t has nothing to check against, and says which it skipped, each once;
         * loading for real is an error. */
        assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
        c = load_expect(text, 0, NONE, NONE);
        assert_int_equal(c->n_unchecked_credentials, 2);
        assert_string_equal(c->unchecked_credentials[0], "gcore-api-key");
        assert_string_equal(c->unchecked_credentials[1], "hook-secret");
        config_free(c);
        c = load_expect("accounts = ( { name = \"a\"; key_credential = \"k\"; },\n"
                        "  { name = \"b\"; key_credential = \"k\"; } );\n"
                        "projects = ( { id = 1; account = \"a\"; deployments = \"*\"; } );\n",
                        0, NONE, NONE);
        assert_int_equal(c->n_unchecked_credentials, 1);
        config_free(c);
        assert_null(load_expect(
                text, CONFIG_LOAD_SECRETS,
                STRV("t.conf:1: accounts[0].key_credential: $CREDENTIALS_DIRECTORY is not set; run "
                     "inferwatchd from its systemd unit (LoadCredential=gcore-api-key) or use key_file",
                     "t.conf:3: webhooks[0].secret_credential: $CREDENTIALS_DIRECTORY is not set; run "
                     "inferwatchd from its systemd unit (LoadCredential=hook-secret) or use secret_file"),
                NONE));

        assert_int_equal(setenv("CREDENTIALS_DIRECTORY", t->dir, 1), 0);
        c = load_expect(text, CONFIG_LOAD_SECRETS, NONE, NONE);
        assert_int_equal(c->n_unchecked_credentials, 0);
        assert_string_equal(c->accounts[0].key, "from-credential");
        assert_string_equal(c->accounts[0].key_credential, "gcore-api-key");
        assert_string_equal(c->webhooks[0].secret, "whsec_YWJj");
        assert_false(c->webhooks[0].secret_inline);
        config_free(c);

        assert_null(load_expect(text_missing, 0, STRV(e_missing), NONE));
        assert_null(load_expect(text_missing, CONFIG_LOAD_SECRETS, STRV(e_missing), NONE));

        /* With $CREDENTIALS_DIRECTORY, -t checks a credential's contents as the daemon does. */
        free(tmp_file(t, "bad-secret", "whsec_x", 0600));
        assert_null(load_expect(text_bad, 0, STRV(e_bad), NONE));
        assert_null(load_expect(text_bad, CONFIG_LOAD_SECRETS, STRV(e_bad), NONE));
        assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
        config_free(load_expect(text_bad, 0, NONE, NONE));
}

static void test_secret_file(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *secret = tmp_file(t, "secret", "s3cr3t\r\n", 0600);
        _cleanup_free_ char *bad = tmp_file(t, "bad-secret", "whsec_SUPERSECRET/not!base64\n", 0600);
        _cleanup_free_ char *text =
                xasprintf(BASE "webhooks = ( { url = \"https://h\"; secret_file = \"%s\"; } );\n", secret);
        _cleanup_free_ char *text_bad =
                xasprintf(BASE "webhooks = ( { url = \"https://h\";\n  secret_file = \"%s\"; } );\n", bad);
        _cleanup_free_ char *e_bad = xasprintf("t.conf:4: webhooks[0].secret_file: the signing secret in \"%s\" "
                                               "starts with \"whsec_\" but the rest is not base64",
                                               bad);
        struct config *c = load_expect(text, CONFIG_LOAD_SECRETS, NONE, NONE);

        assert_string_equal(c->webhooks[0].secret, "s3cr3t");
        assert_string_equal(c->webhooks[0].secret_file, secret);
        config_free(c);
        c = load_expect(text, 0, NONE, NONE);
        assert_null(c->webhooks[0].secret);
        config_free(c);

        /* On the secret_file line, for the daemon and for -t alike; the secret is not echoed. */
        assert_null(load_expect(text_bad, CONFIG_LOAD_SECRETS, STRV(e_bad), NONE));
        assert_null(load_expect(text_bad, 0, STRV(e_bad), NONE));
}

/* A Slack URL is a capability: it may come from a file or a credential, never echoed. */
static void test_url_file(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *good = tmp_file(t, "slack-url", "https://hooks.slack.com/services/T0/B0/SECRETXYZ\n", 0600);
        _cleanup_free_ char *bad = tmp_file(t, "not-url", "SECRETXYZ-not-a-url", 0600);
        _cleanup_free_ char *frag = tmp_file(t, "frag-url", "https://hooks.slack.com/services/SECRETXYZ#x\n", 0600);
        _cleanup_free_ char *upper = tmp_file(t, "upper-url", "HTTPS://hooks.slack.com/services/T0/B0/X\n", 0600);
        _cleanup_free_ char *text =
                xasprintf(BASE "webhooks = ( { format = \"slack\"; url_file = \"%s\"; } );\n", good);
        _cleanup_free_ char *text_bad = xasprintf(BASE "webhooks = ( { url_file = \"%s\"; } );\n", bad);
        /* The url_file on its own line: the message is about that setting's line. */
        _cleanup_free_ char *text_frag =
                xasprintf(BASE "webhooks = ( { format = \"slack\";\n  url_file = \"%s\"; } );\n", frag);
        _cleanup_free_ char *text_upper = xasprintf(BASE "webhooks = ( { url_file = \"%s\"; } );\n", upper);
        _cleanup_free_ char *e_bad = xasprintf(
                "t.conf:3: webhooks[0].url_file: the URL in \"%s\" must start with \"http://\" or \"https://\"", bad);
        _cleanup_free_ char *e_frag = xasprintf(
                "t.conf:4: webhooks[0].url_file: the URL in \"%s\" must not contain a fragment (\"#...\")", frag);
        _cleanup_free_ char *text_both =
                xasprintf(BASE "webhooks = ( { url = \"https://h\";\n url_file = \"%s\"; } );\n", good);
        struct config *c;

        c = load_expect(text, CONFIG_LOAD_SECRETS, NONE, NONE);
        assert_string_equal(c->webhooks[0].url, "https://hooks.slack.com/services/T0/B0/SECRETXYZ");
        assert_string_equal(c->webhooks[0].url_file, good);
        config_free(c);
        /* -t reads and checks the file but does not keep the URL. */
        c = load_expect(text, 0, NONE, NONE);
        assert_null(c->webhooks[0].url);
        config_free(c);
        /* Checked as an inline url is (url_problem()), and never echoed: it is the secret. */
        assert_null(load_expect(text_bad, CONFIG_LOAD_SECRETS, STRV(e_bad), NONE));
        assert_null(load_expect(text_frag, CONFIG_LOAD_SECRETS, STRV(e_frag), NONE));
        assert_null(load_expect(text_frag, 0, STRV(e_frag), NONE));
        assert_null(strstr(e_bad, "SECRETXYZ"));
        assert_null(strstr(e_frag, "SECRETXYZ"));
        c = load_expect(text_upper, CONFIG_LOAD_SECRETS, NONE, NONE);
        assert_string_equal(c->webhooks[0].url, "HTTPS://hooks.slack.com/services/T0/B0/X");
        config_free(c);
        assert_null(load_expect(text_both, 0,
                                STRV("t.conf:4: webhooks[0].url_file: conflicts with \"url\" on line 3; set only "
                                     "one of \"url_file\", \"url_credential\" or \"url\""),
                                NONE));

        assert_int_equal(setenv("CREDENTIALS_DIRECTORY", t->dir, 1), 0);
        free(text);
        text = xstrdup(BASE "webhooks = ( { url_credential = \"slack-url\"; } );\n");
        c = load_expect(text, CONFIG_LOAD_SECRETS, NONE, NONE);
        assert_string_equal(c->webhooks[0].url, "https://hooks.slack.com/services/T0/B0/SECRETXYZ");
        assert_string_equal(c->webhooks[0].url_credential, "slack-url");
        config_free(c);
        assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}

/* The heartbeat's URLs are capabilities, read from credentials (or files) as a webhook's are; a
 * credential that holds no URL is refused without echoing it. */
static void test_heartbeat_credentials(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *ok = tmp_file(t, "hb-url", "https://hc-ping.com/SECRET-UUID\n", 0600);
        _cleanup_free_ char *fail = tmp_file(t, "hb-fail", "https://hc-ping.com/SECRET-UUID/fail\n", 0600);
        _cleanup_free_ char *bad = tmp_file(t, "hb-bad", "SECRET-UUID", 0600);
        struct config_diag d = {};
        struct config *c;

        assert_int_equal(setenv("CREDENTIALS_DIRECTORY", t->dir, 1), 0);
        c = load_expect(BASE "heartbeat = { url_credential = \"hb-url\"; fail_url_credential = \"hb-fail\"; };\n",
                        CONFIG_LOAD_SECRETS, NONE, NONE);
        assert_string_equal(c->heartbeat.url, "https://hc-ping.com/SECRET-UUID");
        assert_string_equal(c->heartbeat.fail_url, "https://hc-ping.com/SECRET-UUID/fail");
        config_free(c);
        c = NULL;
        assert_true(config_load_string(BASE "heartbeat = { url_credential = \"hb-bad\"; };\n", "t.conf",
                                       CONFIG_LOAD_SECRETS, &d, &c) < 0);
        assert_null(c);
        assert_int_equal(d.n_errors, 1);
        assert_non_null(strstr(d.errors[0], "t.conf:3: heartbeat.url_credential: "));
        assert_null(strstr(d.errors[0], "SECRET-UUID"));
        config_diag_done(&d);
        assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}

/* A config wrong in every way that touches a secret: no diagnostic may contain one. */
static void test_secrets_never_echoed(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *ctl = tmp_file(t, "ctl", "SUPERSECRET-8\x01x", 0600);
        _cleanup_free_ char *text = xasprintf(
                "accounts = ( { name = \"a\"; key = \"SUPERSECRET-1\"; key_file = \"SUPERSECRET-2\"; },\n"
                "  { name = \"b\"; key_file = \"SUPERSECRET-3\"; url = \"https://u:SUPERSECRET-4@h\"; },\n"
                "  { name = \"c\"; key_credential = \"SUPERSECRET/5\"; url = \"http://h/SUPERSECRET-6?x\"; },\n"
                "  { name = \"d\"; key = \"SUPERSECRET-7\\n\"; },\n"
                "  { name = \"e\"; key_file = \"%s\"; } );\n"
                "projects = ( { id = 1; account = \"a\"; deployments = \"*\"; } );\n"
                "webhooks = ( { url = \"https://hooks.slack.com/SUPERSECRET-9 x\";\n"
                "  headers = [ \"Authorization: Bearer SUPERSECRET-10\\n\", \"Authorization Bearer SUPERSECRET-11\",\n"
                "    \"X-Token SUPERSECRET-12: x\", \"X-Key: SUPERSECRET-13\\x01\" ];\n"
                "  secret = \"SUPERSECRET-14\"; secret_credential = \"hook-secret\"; },\n"
                "  { url = \"ftp://SUPERSECRET-16\"; secret_file = \"SUPERSECRET-17\"; } );\n",
                ctl);
        struct config_diag d = {};
        struct config *c = NULL;

        assert_int_equal(config_load_string(text, "t.conf", CONFIG_LOAD_SECRETS, &d, &c), -EINVAL);
        assert_null(c);
        assert_true(d.n_errors >= 12);
        for (size_t i = 0; i < d.n_errors; i++)
                if (strstr(d.errors[i], "SUPERSECRET"))
                        fail_msg("secret in error: %s", d.errors[i]);
        for (size_t i = 0; i < d.n_warnings; i++)
                if (strstr(d.warnings[i], "SUPERSECRET"))
                        fail_msg("secret in warning: %s", d.warnings[i]);
        config_diag_done(&d);
}

/* The shipped example: every key, no errors, no warnings, secrets loaded as the service would. */
static void test_example_config(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *text = NULL, *path = NULL;
        struct config *c;

        free(tmp_file(t, "gcore-api-key", "example-key\n", 0600));
        free(tmp_file(t, "webhook-secret", "whsec_ZXhhbXBsZQ==\n", 0600));
        free(tmp_file(t, "slack-url", "https://hooks.slack.com/services/T0/B0/X\n", 0600));
        assert_int_equal(read_full_file(TEST_SRCDIR "/../conf/inferwatch.conf", 1 << 20, &text, NULL), 0);
        path = tmp_file(t, "inferwatch.conf", text, 0644);

        /* As inferwatchd -t outside the service sees it... */
        config_free(load_file_expect(path, 0, NONE, NONE));

        /* ...and as the service loads it. */
        assert_int_equal(setenv("CREDENTIALS_DIRECTORY", t->dir, 1), 0);
        c = load_file_expect(path, CONFIG_LOAD_SECRETS, NONE, NONE);
        assert_int_equal(c->n_accounts, 1);
        assert_string_equal(c->accounts[0].key, "example-key");
        assert_int_equal(c->n_projects, 2);
        assert_false(c->projects[0].all);
        assert_true(c->projects[1].all);
        assert_int_equal(c->n_webhooks, 3);
        assert_int_equal(c->webhooks[0].format, WEBHOOK_FORMAT_SLACK);
        assert_string_equal(c->webhooks[0].url, "https://hooks.slack.com/services/T0/B0/X");
        assert_int_equal(c->webhooks[1].format, WEBHOOK_FORMAT_ALERTMANAGER);
        assert_int_equal(c->webhooks[2].format, WEBHOOK_FORMAT_JSON);
        assert_string_equal(c->webhooks[2].secret, "whsec_ZXhhbXBsZQ==");
        config_free(c);
}

static void test_misc_api(void **state) {
        struct config_diag d = {};
        struct config *c = NULL;

        assert_string_equal(webhook_format_to_string(WEBHOOK_FORMAT_JSON), "json");
        assert_string_equal(webhook_format_to_string(WEBHOOK_FORMAT_ALERTMANAGER), "alertmanager");
        assert_null(webhook_format_to_string(_WEBHOOK_FORMAT_MAX));
        assert_null(config_free(NULL));
        config_diag_done(&d);
        config_diag_done(NULL);
        /* diag may be NULL for callers that only want the verdict. */
        assert_int_equal(config_load_string("for = 0;\n" BASE, "t.conf", 0, NULL, &c), -EINVAL);
        assert_null(c);
        assert_int_equal(config_load_string(NULL, "t.conf", 0, &d, &c), -EINVAL);
}

/* What -t, --once and --status print: warnings first, then errors, one a line. */
static void test_diag_print(void **state) {
        struct config_diag d = {};
        struct config *c = NULL;
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        FILE *f;

        assert_int_equal(config_load_string("bogus = 1;\nfor = 0;\n" BASE, "t.conf", 0, &d, &c), -EINVAL);
        f = open_memstream(&out, &size);
        assert_non_null(f);
        config_diag_print(&d, f);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(out, "t.conf:1: warning: unknown key \"bogus\"\n"
                                 "t.conf:2: for: must be between 1 and 32, got 0\n");
        config_diag_done(&d);
}

/* ------------------------------------------------------------------------------------------ */
/* The table engine, with a table of the tests' own: a group section (as a "metrics { ... }"
 * would be) and a list section of the same struct. */

struct thing {
        char *path;
        usec_t every;
        unsigned line;
};

struct things {
        usec_t interval;
        struct thing group;
        struct thing *list;
        size_t n_list;
};

static void thing_done(void *elem) {
        free(((struct thing *) elem)->path);
}

static const struct config_key thing_keys[] = {
        { "path", config_parse_path, offsetof(struct thing, path) },
        { "every", config_parse_duration, offsetof(struct thing, every), SEC, HOUR },
        {}
};

static const struct thing thing_defaults = { .every = 5 * SEC };

static const struct config_section thing_group = {
        .keys = thing_keys,
        .size = sizeof(struct thing),
        .offset_line = offsetof(struct thing, line),
        .defaults = &thing_defaults,
        .done = thing_done,
};

static const struct config_section thing_list = {
        .one = "thing",
        .keys = thing_keys,
        .size = sizeof(struct thing),
        .offset_n = offsetof(struct things, n_list),
        .offset_line = offsetof(struct thing, line),
        .defaults = &thing_defaults,
        .done = thing_done,
};

static const struct config_key things_keys[] = {
        { "interval", config_parse_duration, offsetof(struct things, interval), SEC, DAY },
        { "thing", config_parse_group, offsetof(struct things, group), .data = &thing_group },
        { "things", config_parse_list, offsetof(struct things, list), .data = &thing_list },
        {}
};

/* Loads text with things_keys, checks the diagnostics, returns what load returned. */
static int load_things(const char *text, struct things *t, const char *const *errors, const char *const *warnings) {
        struct config_diag d = {};
        int r;

        *t = (struct things) {};
        r = config_load_table(text, "t.conf", things_keys, t, &d);
        check_messages("errors", d.errors, d.n_errors, errors);
        check_messages("warnings", d.warnings, d.n_warnings, warnings);
        config_diag_done(&d);
        return r;
}

static void test_table_engine(void **state) {
        struct things t;

        /* An absent group still gets its defaults. */
        assert_int_equal(load_things("interval = 7;\n", &t, NONE, NONE), 0);
        assert_int_equal(t.interval, 7 * USEC_PER_SEC);
        assert_int_equal(t.group.every, 5 * USEC_PER_SEC);
        assert_null(t.group.path);
        assert_int_equal(t.n_list, 0);
        sections_free(things_keys, &t);

        assert_int_equal(load_things("thing = {\n  path = \"/x\";\n  every = \"1m\"; bogus = 1; };\n"
                                     "things = ( { path = \"/a\"; }, { every = 2; } );\n",
                                     &t, NONE, STRV("t.conf:3: warning: thing: unknown key \"bogus\"")),
                         0);
        assert_string_equal(t.group.path, "/x");
        assert_int_equal(t.group.every, 60 * USEC_PER_SEC);
        assert_int_equal(t.group.line, 1);
        assert_int_equal(t.n_list, 2);
        assert_string_equal(t.list[0].path, "/a");
        assert_int_equal(t.list[0].every, 5 * USEC_PER_SEC);
        assert_int_equal(t.list[1].every, 2 * USEC_PER_SEC);
        sections_free(things_keys, &t);

        /* Messages name the group, or the element, and a wrong type is one. */
        assert_int_equal(load_things("thing = { every = \"2h\"; };\nthings = ( { path = \"x\"; } );\n", &t,
                                     STRV("t.conf:1: thing.every: must be between 1s and 1h, got 2h",
                                          "t.conf:2: things[0].path: must be an absolute path, got \"x\""),
                                     NONE),
                         -EINVAL);
        sections_free(things_keys, &t);
        assert_int_equal(load_things("thing = ( { } );\n", &t,
                                     STRV("t.conf:1: thing: expected a group { ... }, got a list"), NONE),
                         -EINVAL);
        sections_free(things_keys, &t);
}

static int group_setup(void **state) {
        /* The tests decide these themselves. */
        (void) unsetenv("STATE_DIRECTORY");
        (void) unsetenv("CREDENTIALS_DIRECTORY");
        return 0;
}

int main(void) {
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test_setup_teardown(test_every_key_with_units, tmp_setup, tmp_teardown),
                cmocka_unit_test(test_integers_as_durations_and_sizes),
                cmocka_unit_test(test_64bit_without_suffix),
                cmocka_unit_test(test_several_accounts),
                cmocka_unit_test(test_flap_never),
                cmocka_unit_test(test_clear_text_warning),
                cmocka_unit_test(test_unknown_keys),
                cmocka_unit_test(test_metrics_group),
                cmocka_unit_test(test_filter_never_matches),
                cmocka_unit_test(test_priorities),
                cmocka_unit_test(test_state_directory_env),
                cmocka_unit_test(test_unreadable_file),
                cmocka_unit_test_setup_teardown(test_include_reports_its_own_name, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_duplicates_across_include, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_last_line_comment, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_include_directory, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_fifo_refused, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_include_paths, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_include_directive, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_inline_secret_mode, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_key_file, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_credentials, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_url_file, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_heartbeat_credentials, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_secret_file, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_secrets_never_echoed, tmp_setup, tmp_teardown),
                cmocka_unit_test_setup_teardown(test_example_config, tmp_setup, tmp_teardown),
                cmocka_unit_test(test_misc_api),
                cmocka_unit_test(test_diag_print),
                cmocka_unit_test(test_table_engine),
        };
        size_t n = ELEMENTSOF(bad_cases) + ELEMENTSOF(fixed);
        _cleanup_free_ struct CMUnitTest *tests = xcalloc(n, sizeof(*tests));

        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++)
                tests[i] = (struct CMUnitTest) {
                        .name = bad_cases[i].name,
                        .test_func = test_bad,
                        .initial_state = (void *) &bad_cases[i],
                };
        memcpy(tests + ELEMENTSOF(bad_cases), fixed, sizeof(fixed));
        return _cmocka_run_group_tests("config", tests, n, group_setup, NULL);
}
