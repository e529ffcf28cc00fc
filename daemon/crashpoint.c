#include "crashpoint.h"

/* See crashpoint.h: the test build replaces this object with one that can crash. */
void crashpoint(const char *where) {
        (void) where;
}

int faultpoint(const char *where) {
        (void) where;
        return 0;
}

void pausepoint(const char *where) {
        (void) where;
}
