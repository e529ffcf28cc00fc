/* inferwatchd --once: poll every configured deployment once, print, exit with a Nagios code. */
#pragma once

#include <stdbool.h>

enum nagios_code {
        NAGIOS_OK = 0,
        NAGIOS_WARNING = 1,
        NAGIOS_CRITICAL = 2,
        NAGIOS_UNKNOWN = 3,
};

int run_once(const char *config_path, bool json);
