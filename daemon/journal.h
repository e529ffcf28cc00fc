/* Events as structured journal entries and as lines for a terminal. */
#pragma once

#include <stdio.h>

#include "event.h"

#define SYSLOG_IDENTIFIER "inferwatchd"

/* One entry: MESSAGE, PRIORITY, MESSAGE_ID, SYSLOG_IDENTIFIER, EVENT, EVENT_ID, ACCOUNT,
 * PROJECT_ID, DEPLOYMENT and every field of the event, upper-cased. */
int journal_send_event(const struct event *e);
/* "2026-11-27T14:38:58.123Z err   alert.firing  my-instance (project 1): ..." */
void event_print_text(FILE *f, const struct event *e);
void event_print_json(FILE *f, const struct event *e);
