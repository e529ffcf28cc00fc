/* One daemon per state directory: an open file description lock (fcntl F_OFD_SETLK) on
 * inferwatchd.lock in the state directory, held for the daemon's lifetime. The kernel releases
 * it however the process ends, SIGKILL included, so it is never stale. The file holds the
 * owner's PID, for messages only: the lock, not the file, says whether a daemon runs. */
#pragma once

#include <sys/types.h>

#include "util.h"

#define STATE_LOCK_FILE "inferwatchd.lock"

/* Takes the lock of dir; returns the descriptor that holds it (close it to release), -EBUSY when
 * another process holds it (its PID in *ret_holder, 0 if unknown), another negative errno when
 * the file cannot be opened or locked. */
int state_lock_acquire(const char *dir, pid_t *ret_holder);
/* Without taking it: 1 if a process holds the lock of dir (its PID in *ret_holder, 0 if
 * unknown), 0 if none does (no lock file: none ever did), a negative errno if it cannot tell. */
int state_lock_holder(const char *dir, pid_t *ret_holder);
/* Whether fd, from state_lock_acquire(), is the lock of dir already (the same file). */
bool state_lock_is(int fd, const char *dir);
