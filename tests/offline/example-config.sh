#!/bin/sh
# inferwatchd -t on the shipped example configuration: valid and without warnings; outside the
# service (no $CREDENTIALS_DIRECTORY) its verdict names the credentials it could not check and it
# exits 75, not 0; with the credentials present it checks them (exit 0), and a missing one is an
# error at its line (78).
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

daemon=$top_builddir/daemon/inferwatchd
example=$top_srcdir/conf/inferwatch.conf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plan 7

run() { # [VAR=VALUE...]: -t on the example; sets rc, out, err
        env -u CREDENTIALS_DIRECTORY "$@" "$daemon" -t -c "$example" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        out=$(cat "$tmp/out")
        err=$(cat "$tmp/err")
}
expect() { # DESCRIPTION CONDITION...
        desc=$1
        shift
        if "$@"; then ok "$desc"; else not_ok "$desc"; printf 'rc=%s\nstdout: %s\nstderr: %s\n' "$rc" "$out" "$err" | diag; fi
}

run
expect "outside the service: valid but not all checked (exit 75), no warning" test "$rc" -eq 75 -a -z "$err"
expect "outside the service: the verdict names the unchecked credentials" test "$out" = "$example: OK (1 account, 2 projects, 3 webhooks), but 3 credentials not checked (\$CREDENTIALS_DIRECTORY is not set): gcore-api-key, slack-url, webhook-secret"

mkdir "$tmp/creds"
echo "value-of-gcore-api-key" > "$tmp/creds/gcore-api-key"
echo "value-of-webhook-secret" > "$tmp/creds/webhook-secret"
echo "https://hooks.slack.com/services/value-of-slack-url" > "$tmp/creds/slack-url"
run CREDENTIALS_DIRECTORY="$tmp/creds"
expect "with the credentials: valid, nothing left unchecked" \
        test "$rc" -eq 0 -a -z "$err" -a "$out" = "$example: OK (1 account, 2 projects, 3 webhooks)"

echo "value-of-slack-url" > "$tmp/creds/slack-url"
run CREDENTIALS_DIRECTORY="$tmp/creds"
line=$(grep -n '^[[:space:]]*url_credential' "$example" | head -n 1 | cut -d: -f1)
expect "a credential that is not a URL: exit 78 at its line, the value not echoed" \
        test "$rc" -eq 78 -a -n "$line" -a -z "$out" -a "${err#"$example:$line: "}" != "$err" \
        -a "${err#*value-of}" = "$err"
echo "https://hooks.slack.com/services/value-of-slack-url" > "$tmp/creds/slack-url"

rm "$tmp/creds/webhook-secret"
run CREDENTIALS_DIRECTORY="$tmp/creds"
line=$(grep -n '^[[:space:]]*secret_credential' "$example" | head -n 1 | cut -d: -f1)
expect "a missing credential: exit 78" test "$rc" -eq 78
expect "a missing credential: FILE:LINE names it" \
        test "$err" = "$example:$line: webhooks[2].secret_credential: cannot read \"$tmp/creds/webhook-secret\": No such file or directory"
no_value() { test -z "$out" && ! grep -q "value-of" "$tmp/out" "$tmp/err"; }
expect "a missing credential: nothing on stdout, no credential's value anywhere" no_value
