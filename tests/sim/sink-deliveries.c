#include "sink.h"

int deliveries_open(struct deliveries *d, const char *record_path) {
        *d = (struct deliveries) { .all = json_object_new_array() };
        if (!record_path)
                return 0;
        d->record = fopen(record_path, "ae");
        if (!d->record)
                return -errno;
        return 0;
}

void deliveries_close(struct deliveries *d) {
        json_object_put(d->all);
        if (d->record)
                (void) fclose(d->record);
        *d = (struct deliveries) {};
}

void deliveries_add(struct deliveries *d, struct json_object *entry) {
        _cleanup_free_ char *line = NULL;
        size_t len;

        json_object_object_add(entry, "index", json_object_new_uint64(json_object_array_length(d->all)));
        json_object_array_add(d->all, entry);
        if (!d->record)
                return;
        /* One line per delivery, flushed, so a test can read the file while the sink runs. */
        line = json_render(entry, &len);
        (void) fwrite(line, 1, len, d->record);
        fputc('\n', d->record);
        (void) fflush(d->record);
}

struct json_object *deliveries_since(const struct deliveries *d, size_t since) {
        struct json_object *a = json_object_new_array();

        for (size_t i = since; i < json_object_array_length(d->all); i++)
                json_object_array_add(a, json_object_get(json_object_array_get_idx(d->all, i)));
        return a;
}

void deliveries_reset(struct deliveries *d) {
        json_object_put(d->all);
        d->all = json_object_new_array();
}
