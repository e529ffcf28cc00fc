/* Replays a fuzzer's corpus without libFuzzer, as an ordinary test: every file of
 * tests/fuzz/corpus/<FUZZ_CORPUS>/ (or the files given as arguments) is one TAP test. */
#include <dirent.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int main(int argc, char *argv[]) {
        const char *top = getenv("top_srcdir");
        _cleanup_free_ char *dir = xasprintf("%s/tests/fuzz/corpus/%s", top ? top : "..", FUZZ_CORPUS);
        char **files = NULL;
        size_t n = 0;

        if (argc > 1) {
                for (int i = 1; i < argc; i++)
                        *(char **) array_append(&files, &n, sizeof(char *)) = xstrdup(argv[i]);
        } else {
                DIR *d = opendir(dir);
                struct dirent *de;
                if (!d) {
                        printf("1..0 # SKIP no corpus at %s\n", dir);
                        return 0;
                }
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.')
                                *(char **) array_append(&files, &n, sizeof(char *)) =
                                        xasprintf("%s/%s", dir, de->d_name);
                closedir(d);
        }
        qsort(files, n, sizeof(char *), compare);
        printf("1..%zu\n", n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *data = NULL;
                size_t size = 0;
                int r = read_full_file(files[i], 16 * 1024 * 1024, &data, &size);
                if (r < 0) {
                        printf("not ok %zu - %s: %s\n", i + 1, files[i], strerror(-r));
                        continue;
                }
                /* A crash or a sanitizer report ends the run: the driver counts it as a failure. */
                LLVMFuzzerTestOneInput((const uint8_t *) data, size);
                printf("ok %zu - %s\n", i + 1, strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i]);
                free(files[i]);
        }
        free(files);
        return 0;
}
