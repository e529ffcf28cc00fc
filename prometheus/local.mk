# The Prometheus rules for /metrics, installed for users to load (rule_files in prometheus.yml).
rulesdir = $(datadir)/inferwatch
dist_rules_DATA = prometheus/inferwatch-rules.yml
EXTRA_DIST += prometheus/inferwatch-rules.test.yml
