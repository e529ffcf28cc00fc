/* inferwatchd --status: what the running daemon last saw, read from its state; no API calls. */
#pragma once

#include <stdbool.h>

int run_status(const char *config_path, bool json);
