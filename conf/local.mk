# The annotated example config: shipped, installed as documentation, and loaded by test-config.
examplesdir = $(docdir)/examples
dist_examples_DATA = conf/inferwatch.conf
