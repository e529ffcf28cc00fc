/* inferwatch-sim: the Gcore Everywhere Inference API, simulated for tests, the demo and
 * benchmarks. The format of scenario files and the control endpoint are in docs/simulator.md. */
#pragma once

#include <stdatomic.h>

#include "peer.h"

enum sim_endpoint {
        ENDPOINT_GET,             /* GET .../deployments/{name} */
        ENDPOINT_LIST,            /* GET .../deployments?limit=&offset= */
        ENDPOINT_OTHER,           /* any other path outside /_sim/ */
        ENDPOINT_REGIONS,         /* GET /cloud/v1/regions[/{id}] */
        ENDPOINT_LOGS,            /* GET .../deployments/{name}/logs */
        ENDPOINT_CAPACITY,        /* GET /cloud/v3/inference/capacity */
        _ENDPOINT_MAX,
};

enum change_action {
        CHANGE_SET,
        CHANGE_CREATE,
        CHANGE_DELETE,
};

/* ---- sim-deployment.c: one deployment as the JSON Gcore serves ---- */

/* Builds a complete InferenceInstanceOutSerializerV3 object: realistic defaults for everything,
 * then fields (may be NULL) merged in. On bad fields returns -EINVAL and a reason. */
int deployment_json_new(int64_t project_id, const char *name, struct json_object *fields,
                        struct json_object **ret, const char **ret_why);
/* Merges partial fields into a complete object; on -EINVAL d may be half-changed (callers
 * work on a copy). */
int deployment_json_merge(struct json_object *d, struct json_object *fields, const char **ret_why);
bool deployment_name_valid(const char *name);

/* ---- sim-model.c: every deployment, its served JSON, and the log of changes ---- */

struct sim_deployment {
        char *name;
        char *json;               /* the cached serialization, rebuilt on every change */
        size_t json_len;
        char *status;             /* for the changes log; NULL when not a string */
};

struct model;

struct model *model_new(void);
struct model *model_free(struct model *m);
/* Populating the initial state is not a change; recording is on by default. */
void model_set_recording(struct model *m, bool on);
/* A project exists once declared or once it held a deployment; listing another is a 404. */
void model_add_project(struct model *m, int64_t project_id);
bool model_has_project(const struct model *m, int64_t project_id);
/* Creates the deployment (defaults + fields) when missing or when replace is set, otherwise
 * merges fields into it. Returns 1 when created, 0 when merged, -EINVAL (with a reason) when
 * fields are unusable, in which case nothing changed. t is the scenario time, for the log. */
int model_put(struct model *m, int64_t project_id, const char *name, struct json_object *fields, bool replace,
              double t, const char **ret_why);
int model_delete(struct model *m, int64_t project_id, const char *name, double t);
const struct sim_deployment *model_get(const struct model *m, int64_t project_id, const char *name);
/* {"count": N, "results": [...]} of one project, ordered by name. -ENOENT for an unknown project. */
int model_page(const struct model *m, int64_t project_id, uint64_t limit, uint64_t offset, char **ret,
               size_t *ret_len);
/* A JSON array of every deployment, ordered by (project_id, name). */
char *model_dump(const struct model *m, size_t *ret_len);
/* The deployments of a project whose name starts with prefix are contiguous, names being
 * sorted: returns how many, and the index of the first. */
size_t model_prefix_range(const struct model *m, int64_t project_id, const char *prefix, size_t *ret_first);
const struct sim_deployment *model_at(const struct model *m, int64_t project_id, size_t i);
/* Changes with a sequence number >= since, as a JSON array. */
struct json_object *model_changes_json(const struct model *m, uint64_t since);

/* ---- sim-clock.c: the scenario clock, which tests can pause and advance ---- */

struct sim_clock {
        usec_t base;              /* CLOCK_MONOTONIC when last resumed */
        double offset;            /* scenario seconds at base */
        bool paused;
};

void sim_clock_init(struct sim_clock *c, bool paused);
double sim_clock_now(const struct sim_clock *c);
void sim_clock_pause(struct sim_clock *c);
void sim_clock_resume(struct sim_clock *c);
void sim_clock_advance(struct sim_clock *c, double seconds);

/* ---- sim-scenario.c: scenario files: initial state, timeline, random changes ---- */

struct timeline_event {
        double at;
        int64_t project_id;
        char *name;
        enum change_action action;
        struct json_object *fields;
};

struct random_changes {
        int64_t project_id;
        char *prefix;
        double rate;              /* changes per scenario second */
        double start, stop;
        char **statuses;
        size_t n_statuses;
        uint64_t done;
};

struct scenario {
        char **tokens;
        size_t n_tokens;
        bool start_paused;
        struct timeline_event *timeline;  /* sorted by at */
        size_t n_timeline, next_event;
        struct random_changes *random;
        size_t n_random;
        uint64_t rng;             /* splitmix64 state, from --seed */
        struct json_object *regions;  /* "regions" and "capacity", handed to struct sim_context */
        struct json_object *capacity;
};

/* Reads path (NULL: an empty scenario) and populates m with its initial state. */
int scenario_load(const char *path, uint64_t seed, struct model *m, struct scenario **ret, char **ret_error);
struct scenario *scenario_free(struct scenario *s);
/* Applies every timeline event with at <= t, and the random changes due by t. */
void scenario_tick(struct scenario *s, struct model *m, double t);

/* ---- sim-context.c: regions, logs and capacity ---- */

struct sim_context {
        struct json_object *regions;  /* [{id, display_name, state, ...}]; NULL: none */
        struct json_object *capacity; /* [{region_id, capacity: [{flavor_name, capacity}]}] */
        struct json_object *logs;     /* "project/name/region" → lines tests added */
};

void sim_context_done(struct sim_context *x);
int sim_context_set_regions(struct sim_context *x, struct json_object *a, const char **why);
int sim_context_set_capacity(struct sim_context *x, struct json_object *a, const char **why);
int sim_context_add_logs(struct sim_context *x, int64_t project_id, const char *name, int64_t region_id,
                         struct json_object *lines, const char **why);
/* id < 0: the page of every region; otherwise that region, or NULL when unknown. */
char *sim_context_regions(const struct sim_context *x, int64_t id, size_t *ret_len);
char *sim_context_capacity(const struct sim_context *x, size_t *ret_len);
char *sim_context_logs(const struct sim_context *x, const char *deployment_json, size_t deployment_len,
                       int64_t project_id, const char *name, int64_t region_id, uint64_t limit, uint64_t offset,
                       bool ascending, size_t *ret_len);

/* ---- sim-faults.c: injected failures of the API endpoints ---- */

enum fault_kind {
        FAULT_STATUS,
        FAULT_429,
        FAULT_HANG,
        FAULT_RESET,
        FAULT_MALFORMED,
        FAULT_TRUNCATED,
        FAULT_WRONGTYPE,
        FAULT_OVERSIZE,
        FAULT_SLOW,
        _FAULT_KIND_MAX,
};

struct fault {
        uint64_t id;
        enum fault_kind kind;
        unsigned endpoints;       /* bit mask of 1 << enum sim_endpoint */
        bool has_project;
        int64_t project_id;
        char *name;               /* NULL: any deployment */
        int64_t remaining;        /* requests still to affect, -1: no count */
        usec_t expires;           /* CLOCK_MONOTONIC, USEC_INFINITY: no duration */
        uint64_t hits;
        unsigned status;
        char *retry_after;
        char *body;
        char *variant;
        uint64_t size;
        uint64_t bytes_per_second;
};

struct faults {
        struct fault *items;
        size_t n_items;
        uint64_t next_id;
};

/* A copy to use outside sim->lock, strings included. */
void fault_copy(struct fault *dst, const struct fault *src);
void fault_done(struct fault *f);
void faults_done(struct faults *f);
int faults_add(struct faults *f, struct json_object *spec, usec_t now, uint64_t *ret_id, const char **ret_why);
/* Consumes one use of the first live fault matching a request and copies it to *ret. */
bool faults_take(struct faults *f, enum sim_endpoint e, int64_t project_id, const char *name, usec_t now,
                 struct fault *ret);
/* Whether fault id is still in force (hung requests wait for that to end). */
bool faults_live(const struct faults *f, uint64_t id, usec_t now);
void faults_expire(struct faults *f, usec_t now);
int faults_remove(struct faults *f, uint64_t id);
void faults_clear(struct faults *f);
struct json_object *faults_to_json(const struct faults *f, usec_t now);

/* ---- sim-counters.c: what the API was asked ---- */

struct counters {
        uint64_t total;
        uint64_t by_endpoint[_ENDPOINT_MAX];
        struct json_object *by_deployment;
        struct json_object *by_status;
        struct json_object *by_project_list;
        struct json_object *by_logs;      /* "project/name/region" → log requests */
};

void counters_init(struct counters *c);
void counters_done(struct counters *c);
void counters_request(struct counters *c, enum sim_endpoint e, int64_t project_id, const char *name);
void counters_logs(struct counters *c, int64_t project_id, const char *name, int64_t region_id);
/* status 0: the request got no HTTP answer (a reset). */
void counters_status(struct counters *c, unsigned status);
struct json_object *counters_to_json(const struct counters *c);

/* ---- sim-server.c: the daemon, its requests, and the state they share ---- */

struct sim {
        pthread_mutex_t lock;     /* guards model, clock, scenario, faults, counters, tokens */
        struct model *model;
        struct sim_clock clock;
        struct scenario *scenario;
        struct faults faults;
        struct counters counters;
        struct sim_context context;
        char **tokens;
        size_t n_tokens;

        struct park_lot park;     /* takes sim->lock inside: never park with sim->lock held */
        struct MHD_Daemon *mhd;
        bool verbose;
        atomic_bool stopping;
};

struct sim_request {
        const char *method;
        const char *url;
        struct peer_body body;
        bool hung;                /* parked by a hang fault; answered normally once resumed */
};

int sim_start(struct sim *sim, const struct sockaddr_in *addr, unsigned *ret_port);
/* Moves the scenario clock's consequences forward and wakes parked connections. */
void sim_tick(struct sim *sim);
void sim_stop(struct sim *sim);
/* Queue an answer (taken over), count its status when it answers the API, log it with -v. */
enum MHD_Result sim_queue(struct sim *sim, struct sim_request *req, struct MHD_Connection *c, unsigned status,
                          struct MHD_Response *resp);
enum MHD_Result sim_reply(struct sim *sim, struct sim_request *req, struct MHD_Connection *c, unsigned status,
                          char *body, size_t len);

/* ---- sim-api.c: the Gcore endpoints ---- */

enum MHD_Result api_handle(struct sim *sim, struct sim_request *req, struct MHD_Connection *c);

/* ---- sim-fault-reply.c: what a fault does to an answer ---- */

/* Answers (or refuses to answer) a request hit by fault f. status/body is the answer the
 * request would have got (taken over). Called without sim->lock. */
enum MHD_Result fault_reply(struct sim *sim, struct sim_request *req, struct MHD_Connection *c,
                            const struct fault *f, enum sim_endpoint e, unsigned status, char *body, size_t len);

/* ---- sim-control.c: /_sim/ ---- */

enum MHD_Result control_handle(struct sim *sim, struct sim_request *req, struct MHD_Connection *c);
