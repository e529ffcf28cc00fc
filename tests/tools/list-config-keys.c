/* Prints every configuration key the parser accepts as "GROUP KEY", one a line, GROUP being
 * "global" or a section's key ("accounts", "projects", "webhooks", ...): the documentation checks
 * compare inferwatch.conf(5) and the example configuration with this list. */
#include <stdio.h>

#include "config.h"

int main(void) {
        const char *group, *key;

        for (size_t i = 0; (group = config_group_name(i)); i++)
                for (size_t j = 0; (key = config_known_key(group, j)); j++)
                        printf("%s %s\n", *group ? group : "global", key);
        return 0;
}
