#include <stdio.h>

int main(int argc, char *argv[]) {
        puts(PACKAGE_STRING);
        return 0;
}
