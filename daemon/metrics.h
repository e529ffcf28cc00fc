/* The Prometheus text exposition format (version 0.0.4): families, samples with escaped labels,
 * histograms, and the process_* metrics the official clients export, read from /proc/self. */
#pragma once

#include "util.h"

#define _sentinel_ __attribute__((sentinel))

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help" and "# TYPE name type"; type is "gauge", "counter", "histogram", ... */
void metrics_family(FILE *f, const char *name, const char *type, const char *help);
/* One sample: name{k1="v1",k2="v2"} value. The labels are NULL-terminated key, value pairs
 * (values are escaped, keys must be valid names). */
void metrics_sample(FILE *f, const char *name, double value, ...) _sentinel_;
/* The same with the labels as an array of n_pairs key, value pairs, then one more pair
 * (extra_key NULL: none); suffix (or NULL) is appended to the name ("_bucket"). */
void metrics_samplev(FILE *f, const char *name, const char *suffix, const char *const *pairs,
                     size_t n_pairs, const char *extra_key, const char *extra_value, double value);
/* k1="v1",k2="v2" with the values escaped, for metrics_sample_labels (a deployment's labels are
 * formatted once and written in many samples). */
char *metrics_format_labels(const char *const *pairs, size_t n_pairs);
/* name{labels,extra_key="extra_value"} value, labels as metrics_format_labels made them (NULL or
 * "": none), extra_key NULL: none. */
void metrics_sample_labels(FILE *f, const char *name, const char *labels, const char *extra_key,
                           const char *extra_value, double value);
/* A label value as the format wants it: control characters shown as cescape_cell() shows them
 * (a line feed as the text \n), then backslash and double quote escaped. */
void metrics_write_label_value(FILE *f, const char *v);
/* A value: integers exactly, others in the shortest form that reads back the same. */
void metrics_write_value(FILE *f, double v);

/* A cumulative histogram with fixed upper bounds (seconds). */
#define METRICS_HISTOGRAM_BUCKETS 10
struct metrics_histogram {
        uint64_t buckets[METRICS_HISTOGRAM_BUCKETS]; /* observations <= metrics_histogram_bounds[i] */
        uint64_t count;
        double sum;
};

extern const double metrics_histogram_bounds[METRICS_HISTOGRAM_BUCKETS];

void metrics_histogram_observe(struct metrics_histogram *h, double v);
/* name_bucket{labels,le="..."}, name_sum{labels}, name_count{labels}. */
void metrics_histogram_write(FILE *f, const char *name, const struct metrics_histogram *h,
                             const char *const *pairs, size_t n_pairs);

/* process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds. Returns -errno when
 * /proc/self cannot be read (nothing of that family is written then). */
int metrics_write_process(FILE *f);
