/* Prints every configuration key the parser accepts as "GROUP KEY", one a line, GROUP being
 * "global", "accounts", "projects" or "webhooks": the documentation checks compare
 * inferwatch.conf(5) and the example configuration with this list. */
#include <stdio.h>

#include "config.h"

int main(void) {
        static const char *const groups[] = { "", "accounts", "projects", "webhooks" };

        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                for (const char *const *k = config_known_keys(groups[i]); k && *k; k++)
                        printf("%s %s\n", *groups[i] ? groups[i] : "global", *k);
        return 0;
}
