/* Error signatures: the text of a container's error_message with what varies within one incident
 * replaced by placeholders (durations, counters, timestamps, pod and ReplicaSet hash suffixes,
 * addresses and ports, UUIDs, request ids, hex ids and digests). Two messages with the same
 * signature are the same error; a crash-loop whose back-off, attempt count and pod name change on
 * every poll keeps one signature. Exit codes and statuses are kept, and HTTP statuses by their
 * class ("statuscode: 5xx"): they say which error it is. Pure: no I/O, no state. */
#pragma once

#include "util.h"

/* The signature of msg, a new string ("" for NULL). */
char *error_signature(const char *msg);

/* Whether a and b (NULL: no error) are the same error. */
bool error_same_signature(const char *a, const char *b);

/* Test hook: regexec() calls made so far by error_signature(), to bound the work on hostile
 * text (a structural bound instead of a timing). */
extern unsigned long error_signature_searches;
