#!/bin/sh
# The shipped Prometheus rules: valid for promtool, every rule covered by a unit test in
# prometheus/inferwatch-rules.test.yml, and those tests passing.
: "${top_srcdir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

rules=$top_srcdir/prometheus/inferwatch-rules.yml
tests=$top_srcdir/prometheus/inferwatch-rules.test.yml
command -v promtool >/dev/null 2>&1 || skip_all "promtool is not installed (Debian package prometheus)"
plan 3

check "promtool check rules" promtool check rules "$rules"

missing=
for name in $(sed -n 's/^ *- alert: *//p; s/^ *- record: *//p' "$rules"); do
        grep -Eq "(alertname|expr): *$name\$" "$tests" || missing="$missing $name"
done
if [ -z "$missing" ]; then
        ok "every alerting and recording rule has a test"
else
        not_ok "every alerting and recording rule has a test"
        echo "untested:$missing" | diag
fi

# promtool resolves rule_files relative to the test file.
check "promtool test rules" promtool test rules "$tests"
