noinst_LIBRARIES += daemon/libinferwatch.a
daemon_libinferwatch_a_SOURCES = \
	daemon/util.c daemon/util.h \
	daemon/deployment.c daemon/deployment.h \
	daemon/health.c daemon/health.h \
	daemon/gcore.c daemon/gcore.h \
	daemon/config.c daemon/config.h daemon/config-internal.h \
	daemon/config-diag.c daemon/config-value.c daemon/config-secret.c \
	daemon/config-section.c daemon/config-account.c daemon/config-project.c \
	daemon/config-webhook.c daemon/config-include.c daemon/config-cluster.c \
	daemon/crashpoint.c daemon/crashpoint.h \
	daemon/event.c daemon/event.h \
	daemon/http.c daemon/http.h \
	daemon/diff.c daemon/diff.h \
	daemon/signature.c daemon/signature.h \
	daemon/flap.c daemon/flap.h \
	daemon/strtable.c daemon/strtable.h \
	daemon/poll.c daemon/poll.h \
	daemon/log.c daemon/log.h \
	daemon/journal.c daemon/journal.h \
	daemon/monitor.c daemon/monitor.h daemon/monitor-internal.h \
	daemon/schedule.c \
	daemon/plan.c \
	daemon/rate.c \
	daemon/state.c daemon/state.h \
	daemon/lock.c daemon/lock.h \
	daemon/manager.c daemon/manager.h daemon/manager-internal.h \
	daemon/commit.c \
	daemon/once.c daemon/once.h \
	daemon/status.c daemon/status.h \
	daemon/sign.c daemon/sign.h \
	daemon/render.c daemon/render.h \
	daemon/spool.c daemon/spool.h \
	daemon/webhook.c daemon/webhook.h \
	daemon/etcd.c daemon/etcd.h \
	daemon/cluster.c daemon/cluster.h \
	daemon/cluster-store.c daemon/cluster-store.h \
	daemon/config-metrics.c \
	daemon/config-heartbeat.c \
	daemon/metrics.c daemon/metrics.h \
	daemon/metrics-collect.c daemon/metrics-collect.h \
	daemon/metrics-http.c daemon/metrics-http.h \
	daemon/heartbeat.c daemon/heartbeat.h \
	daemon/region.c daemon/region.h \
	daemon/logtail.c daemon/logtail.h \
	daemon/context.c daemon/context.h \
	daemon/open-alerts.c daemon/open-alerts.h

INFERWATCH_LIBS = daemon/libinferwatch.a \
	$(CURL_LIBS) $(JSONC_LIBS) $(SYSTEMD_LIBS) $(LIBCONFIG_LIBS) $(CRYPTO_LIBS) $(MHD_LIBS) -lm

sbin_PROGRAMS += daemon/inferwatchd
daemon_inferwatchd_SOURCES = daemon/main.c
daemon_inferwatchd_LDADD = $(INFERWATCH_LIBS)
