#include <time.h>

#include "sim.h"

/* Control bodies are small JSON documents; anything bigger is a mistake. */
#define REQUEST_BODY_MAX (4u * 1024 * 1024)

/* Each connection has a flag: whether it carried an API request yet. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
        if (toe == MHD_CONNECTION_NOTIFY_STARTED)
                *socket_context = xcalloc(1, sizeof(bool));
        else
                free(TAKE_PTR(*socket_context));
}

/* Counts the connections that carried API requests (with TLS, each paid a handshake): what
 * connection reuse saves. The harness's control requests are not counted. */
static void count_connection(struct sim *sim, struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        bool *seen = info ? info->socket_context : NULL;

        if (!seen || *seen)
                return;
        *seen = true;
        (void) pthread_mutex_lock(&sim->lock);
        sim->counters.connections++;
        (void) pthread_mutex_unlock(&sim->lock);
}

static bool is_control(const char *url) {
        return strncmp(url, "/_sim/", 6) == 0 || streq(url, "/_sim");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        struct sim *sim = cls;
        struct sim_request *req = *con_cls;

        if (!req) {
                req = xcalloc(1, sizeof(*req));
                req->url = url;
                req->method = method;
                *con_cls = req;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                peer_body_feed(&req->body, upload_data, upload_data_size, REQUEST_BODY_MAX);
                return MHD_YES;
        }
        /* A connection resumed by park_close() at shutdown is dropped, not answered. */
        if (atomic_load(&sim->stopping))
                return MHD_NO;
        if (is_control(url))
                return control_handle(sim, req, c);
        count_connection(sim, c);
        return api_handle(sim, req, c);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        struct sim_request *req = *con_cls;

        if (!req)
                return;
        peer_body_done(&req->body);
        free(req);
        *con_cls = NULL;
}

int sim_start(struct sim *sim, const struct sockaddr_in *addr, const struct peer_tls *tls, unsigned *ret_port) {
        return peer_start(addr, tls, on_request, sim, on_completed, sim, on_connection, sim, &sim->mhd, ret_port);
}

static bool hang_holds(uint64_t fault_id, void *userdata) {
        struct sim *sim = userdata;
        bool live;

        (void) pthread_mutex_lock(&sim->lock);
        live = faults_live(&sim->faults, fault_id, now_usec(CLOCK_MONOTONIC));
        (void) pthread_mutex_unlock(&sim->lock);
        return live;
}

void sim_tick(struct sim *sim) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        (void) pthread_mutex_lock(&sim->lock);
        scenario_tick(sim->scenario, sim->model, sim_clock_now(&sim->clock));
        faults_expire(&sim->faults, now);
        (void) pthread_mutex_unlock(&sim->lock);
        park_tick(&sim->park, now, hang_holds, sim);
}

void sim_stop(struct sim *sim) {
        if (!sim->mhd)
                return;
        atomic_store(&sim->stopping, true);
        park_close(&sim->park);
        MHD_stop_daemon(sim->mhd);
        sim->mhd = NULL;
}

static bool is_api(const struct sim_request *req) {
        return !is_control(req->url);
}

enum MHD_Result sim_queue(struct sim *sim, struct sim_request *req, struct MHD_Connection *c, unsigned status,
                          struct MHD_Response *resp) {
        enum MHD_Result r;
        char what[16];

        if (is_api(req)) {
                (void) pthread_mutex_lock(&sim->lock);
                counters_status(&sim->counters, status);
                (void) pthread_mutex_unlock(&sim->lock);
        }
        snprintf(what, sizeof(what), "%u", status);
        peer_log(sim->verbose, req->method, req->url, what);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return r;
}

enum MHD_Result sim_reply(struct sim *sim, struct sim_request *req, struct MHD_Connection *c, unsigned status,
                          char *body, size_t len) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

        if (!resp) {
                free(body);
                return MHD_NO;
        }
        return sim_queue(sim, req, c, status, resp);
}
