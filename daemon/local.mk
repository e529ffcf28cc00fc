noinst_LIBRARIES += daemon/libinferwatch.a
daemon_libinferwatch_a_SOURCES = \
	daemon/util.c daemon/util.h \
	daemon/deployment.c daemon/deployment.h \
	daemon/health.c daemon/health.h \
	daemon/gcore.c daemon/gcore.h \
	daemon/config.c daemon/config.h \
	daemon/event.c daemon/event.h

INFERWATCH_LIBS = daemon/libinferwatch.a \
	$(CURL_LIBS) $(JSONC_LIBS) $(SYSTEMD_LIBS) $(LIBCONFIG_LIBS) $(CRYPTO_LIBS)

sbin_PROGRAMS += daemon/inferwatchd
daemon_inferwatchd_SOURCES = daemon/main.c
daemon_inferwatchd_LDADD = $(INFERWATCH_LIBS)
