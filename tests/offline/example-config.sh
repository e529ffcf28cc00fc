#!/bin/sh
# inferwatchd -t on the shipped example configuration: valid and without warnings; outside the
# service (no $CREDENTIALS_DIRECTORY) it names the credentials it could not check; with the
# credentials present it checks them, and a missing one is an error at its line.
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

daemon=$top_builddir/daemon/inferwatchd
example=$top_srcdir/conf/inferwatch.conf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plan 6

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
expect "outside the service: valid, no warning" test "$rc" -eq 0 -a -z "$err"
expect "outside the service: the summary and the unchecked credentials" test "$out" = "$example: OK (1 account, 2 projects, 3 webhooks)
not checked (\$CREDENTIALS_DIRECTORY is not set): gcore-api-key, slack-url, webhook-secret"

mkdir "$tmp/creds"
for c in gcore-api-key slack-url webhook-secret; do
        echo "value of $c" > "$tmp/creds/$c"
done
run CREDENTIALS_DIRECTORY="$tmp/creds"
expect "with the credentials: valid, nothing left unchecked" \
        test "$rc" -eq 0 -a -z "$err" -a "$out" = "$example: OK (1 account, 2 projects, 3 webhooks)"

rm "$tmp/creds/webhook-secret"
run CREDENTIALS_DIRECTORY="$tmp/creds"
line=$(grep -n '^[[:space:]]*secret_credential' "$example" | head -n 1 | cut -d: -f1)
expect "a missing credential: exit 78" test "$rc" -eq 78
expect "a missing credential: FILE:LINE names it" \
        test "$err" = "$example:$line: webhooks[2].secret_credential: cannot read \"$tmp/creds/webhook-secret\": No such file or directory"
no_value() { test -z "$out" && ! grep -q "value of" "$tmp/out" "$tmp/err"; }
expect "a missing credential: nothing on stdout, no credential's value anywhere" no_value
