# The API client against an in-process HTTP server on 127.0.0.1.
check_PROGRAMS += tests/http/test-client
tests_http_test_client_SOURCES = tests/http/test-client.c
tests_http_test_client_CFLAGS = $(UNIT_CFLAGS) $(MHD_CFLAGS)
tests_http_test_client_LDADD = $(UNIT_LIBS) $(MHD_LIBS) -lpthread
TESTS += tests/http/test-client
