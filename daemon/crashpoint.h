/* Test-only fault injection. The daemon calls crashpoint() at the instants where a crash matters
 * for what it promises (after each spool append, before the state file's rename, after each
 * journal write, before the outbox is marked fed). In inferwatchd it does nothing
 * (crashpoint.c); the test build tests/crash/inferwatchd-crashpoints links
 * tests/crash/crashpoint.c instead, which raises SIGKILL at the call that $INFERWATCH_CRASHPOINT
 * names. */
#pragma once

void crashpoint(const char *where);
