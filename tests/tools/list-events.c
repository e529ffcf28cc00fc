/* Prints every event type as "TYPE MESSAGE_ID PRIORITY", one a line, in code order: the
 * documentation and catalog checks compare the man page and the catalog with this list. */
#include <stdio.h>

#include "event.h"

int main(void) {
        for (int t = 0; t < _EVENT_TYPE_MAX; t++)
                printf("%s " SD_ID128_FORMAT_STR " %s\n", event_type_to_string(t),
                       SD_ID128_FORMAT_VAL(event_type_message_id(t)),
                       priority_to_string(event_type_default_priority(t)));
        return 0;
}
