# cmocka unit tests, one program per module, TAP output through the automake driver.
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DTEST_SRCDIR='"$(abs_top_srcdir)/tests"'
UNIT_LIBS = $(INFERWATCH_LIBS) $(CMOCKA_LIBS)
