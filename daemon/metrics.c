#include <math.h>
#include <sys/resource.h>
#include <dirent.h>
#include <time.h>

#include "metrics.h"

/* API requests take from milliseconds to the 30 s default timeout. */
const double metrics_histogram_bounds[METRICS_HISTOGRAM_BUCKETS] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

static void write_escaped(FILE *f, const char *s, bool quote) {
        for (; *s; s++)
                switch (*s) {
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '"':
                        fputs(quote ? "\\\"" : "\"", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

/* A label value may be text from the API (a discovered deployment's name): shown as every text
 * sink shows it (cescape_cell: control characters and bytes that are not UTF-8 as \xHH, the text
 * of the journal's DEPLOYMENT=), then escaped as the format asks, so that no escape sequence
 * reaches the terminal of whoever reads the exposition. */
void metrics_write_label_value(FILE *f, const char *v) {
        _cleanup_free_ char *shown = cescape_cell(strempty(v));

        write_escaped(f, shown, true);
}

void metrics_write_value(FILE *f, double v) {
        char buf[32];

        if (isnan(v))
                fputs("NaN", f);
        else if (isinf(v))
                fputs(v > 0 ? "+Inf" : "-Inf", f);
        else if (v == trunc(v) && fabs(v) < 9007199254740992.0)
                fprintf(f, "%lld", (long long) v);
        else {
                snprintf(buf, sizeof(buf), "%.15g", v);
                if (strtod(buf, NULL) != v)
                        snprintf(buf, sizeof(buf), "%.17g", v);
                fputs(buf, f);
        }
}

void metrics_family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s ", name);
        write_escaped(f, help, false);
        fprintf(f, "\n# TYPE %s %s\n", name, type);
}

static void write_pair(FILE *f, const char **sep, const char *key, const char *value) {
        fprintf(f, "%s%s=\"", *sep, key);
        metrics_write_label_value(f, value);
        fputc('"', f);
        *sep = ",";
}

void metrics_samplev(FILE *f, const char *name, const char *suffix, const char *const *pairs,
                     size_t n_pairs, const char *extra_key, const char *extra_value, double value) {
        const char *sep = "{";

        fputs(name, f);
        if (suffix)
                fputs(suffix, f);
        for (size_t i = 0; i < n_pairs; i++)
                write_pair(f, &sep, pairs[2 * i], pairs[2 * i + 1]);
        if (extra_key)
                write_pair(f, &sep, extra_key, extra_value);
        if (sep[0] == ',')
                fputc('}', f);
        fputc(' ', f);
        metrics_write_value(f, value);
        fputc('\n', f);
}

char *metrics_format_labels(const char *const *pairs, size_t n_pairs) {
        char *buf = NULL;
        size_t size = 0;
        const char *sep = "";
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                abort();
        for (size_t i = 0; i < n_pairs; i++)
                write_pair(f, &sep, pairs[2 * i], pairs[2 * i + 1]);
        if (fclose(f) != 0)
                abort();
        return buf;
}

void metrics_sample_labels(FILE *f, const char *name, const char *labels, const char *extra_key,
                           const char *extra_value, double value) {
        const char *sep = labels && *labels ? "," : "";

        fputs(name, f);
        if (*sep || extra_key) {
                fputc('{', f);
                if (*sep)
                        fputs(labels, f);
                if (extra_key)
                        write_pair(f, &sep, extra_key, extra_value);
                fputc('}', f);
        }
        fputc(' ', f);
        metrics_write_value(f, value);
        fputc('\n', f);
}

void metrics_sample(FILE *f, const char *name, double value, ...) {
        const char *pairs[16];
        size_t n = 0;
        va_list ap;

        va_start(ap, value);
        for (const char *k; (k = va_arg(ap, const char *));) {
                if (n >= ELEMENTSOF(pairs) / 2)
                        abort(); /* a bug: no metric has that many labels */
                pairs[2 * n] = k;
                pairs[2 * n + 1] = va_arg(ap, const char *);
                n++;
        }
        va_end(ap);
        metrics_samplev(f, name, NULL, pairs, n, NULL, NULL, value);
}

void metrics_histogram_observe(struct metrics_histogram *h, double v) {
        for (size_t i = 0; i < METRICS_HISTOGRAM_BUCKETS; i++)
                if (v <= metrics_histogram_bounds[i])
                        h->buckets[i]++;
        h->count++;
        h->sum += v;
}

void metrics_histogram_write(FILE *f, const char *name, const struct metrics_histogram *h,
                             const char *const *pairs, size_t n_pairs) {
        char le[32];

        for (size_t i = 0; i < METRICS_HISTOGRAM_BUCKETS; i++) {
                snprintf(le, sizeof(le), "%g", metrics_histogram_bounds[i]);
                metrics_samplev(f, name, "_bucket", pairs, n_pairs, "le", le, (double) h->buckets[i]);
        }
        metrics_samplev(f, name, "_bucket", pairs, n_pairs, "le", "+Inf", (double) h->count);
        metrics_samplev(f, name, "_sum", pairs, n_pairs, NULL, NULL, h->sum);
        metrics_samplev(f, name, "_count", pairs, n_pairs, NULL, NULL, (double) h->count);
}

/* utime, stime, starttime (clock ticks), vsize (bytes), rss (pages) from /proc/self/stat. */
struct proc_stat {
        unsigned long long utime, stime, starttime, vsize;
        long long rss;
};

static int read_proc_stat(struct proc_stat *ret) {
        _cleanup_free_ char *text = NULL;
        const char *p;
        size_t size;
        int r;

        r = read_full_file("/proc/self/stat", 4096, &text, &size);
        if (r < 0)
                return r;
        /* The command name may hold anything, ')' included: the fields start after the last. */
        p = strrchr(text, ')');
        if (!p || sscanf(p + 1,
                         " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
                         "%llu %llu %lld",
                         &ret->utime, &ret->stime, &ret->starttime, &ret->vsize, &ret->rss) != 5)
                return -EBADMSG;
        return 0;
}

/* The boot time in seconds since the epoch: btime of /proc/stat, which a unit with ProcSubset=pid
 * (the shipped one) cannot read, is the kernel's real-time clock less CLOCK_BOOTTIME, the clock
 * starttime of /proc/self/stat counts. Read once: a process's start time must not jitter from
 * one scrape to the next (changes(process_start_time_seconds) counts restarts). */
static double boot_time(void) {
        static double btime;
        struct timespec real, boot;

        if (btime == 0 && clock_gettime(CLOCK_REALTIME, &real) == 0 && clock_gettime(CLOCK_BOOTTIME, &boot) == 0)
                btime = (double) (real.tv_sec - boot.tv_sec) + (double) (real.tv_nsec - boot.tv_nsec) / 1e9;
        return btime;
}

static int count_open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        if (!d)
                return -errno;
        for (struct dirent *e; (e = readdir(d));)
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory's own */
}

int metrics_write_process(FILE *f) {
        long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
        struct proc_stat st;
        struct rlimit rl;
        int r, fds;

        r = read_proc_stat(&st);
        if (r < 0)
                return r;
        fds = count_open_fds();
        if (fds < 0)
                return fds;
        if (ticks <= 0 || page <= 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -EINVAL;

        metrics_family(f, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        metrics_sample(f, "process_cpu_seconds_total", (double) (st.utime + st.stime) / (double) ticks, NULL);
        metrics_family(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        metrics_sample(f, "process_resident_memory_bytes", (double) st.rss * (double) page, NULL);
        metrics_family(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        metrics_sample(f, "process_virtual_memory_bytes", (double) st.vsize, NULL);
        metrics_family(f, "process_open_fds", "gauge", "Number of open file descriptors.");
        metrics_sample(f, "process_open_fds", fds, NULL);
        metrics_family(f, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        metrics_sample(f, "process_max_fds", rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double) rl.rlim_cur, NULL);
        metrics_family(f, "process_start_time_seconds", "gauge",
                       "Start time of the process since unix epoch in seconds.");
        metrics_sample(f, "process_start_time_seconds", boot_time() + (double) st.starttime / (double) ticks, NULL);
        return 0;
}
