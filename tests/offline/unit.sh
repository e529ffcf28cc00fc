#!/bin/sh
# The generated systemd unit, checked offline: systemd-analyze verify (with ExecStart pointed at
# the daemon just built, since verify wants the binary to exist) and the exposure score.
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

unit=$top_builddir/systemd/inferwatch.service
command -v systemd-analyze >/dev/null 2>&1 || skip_all "systemd-analyze is not installed"
[ -f "$unit" ] || fail_all "$unit was generated"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plan 6

if grep -q '@[a-z_]*@' "$unit"; then
        not_ok "every @variable@ of the unit is substituted"
        grep -n '@[a-z_]*@' "$unit" | diag
else
        ok "every @variable@ of the unit is substituted"
fi

if grep -q '^ExecStart=/[^ ]*/inferwatchd ' "$unit"; then
        ok "ExecStart names inferwatchd by an absolute path"
else
        not_ok "ExecStart names inferwatchd by an absolute path"
        grep -n '^ExecStart=' "$unit" | diag
fi

# Minimal systems (containers, debootstrap --variant=minbase) have no procps: no /bin/kill.
if grep -Eq '^Exec[A-Za-z]*=[-@:+!]*/(usr/)?bin/(kill|pkill)( |$)' "$unit"; then
        not_ok "no Exec*= line needs /bin/kill (procps)"
        grep -nE '^Exec[A-Za-z]*=' "$unit" | diag
else
        ok "no Exec*= line needs /bin/kill (procps)"
fi

# ExecReload validates before it signals: a reload of an invalid file fails visibly.
if grep -q '^ExecReload=.*/inferwatchd -t ' "$unit"; then
        ok "ExecReload checks the configuration with inferwatchd -t"
else
        not_ok "ExecReload checks the configuration with inferwatchd -t"
        grep -n '^ExecReload=' "$unit" | diag
fi

# Every inferwatchd of an Exec line (ExecReload's is inside sh -c '...') is the one just built.
sed "s|[^ =']*/sbin/inferwatchd |$top_builddir/daemon/inferwatchd |" "$unit" > "$tmp/inferwatch.service"
# verify prints problems but exits 0 for some of them: any output is a failure.
out=$(systemd-analyze verify --man=no "$tmp/inferwatch.service" 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then
        ok "systemd-analyze verify --man=no"
else
        not_ok "systemd-analyze verify --man=no"
        printf '%s\n' "$out" | diag
fi

out=$(systemd-analyze security --offline=yes --threshold=15 --no-pager "$tmp/inferwatch.service" 2>&1)
rc=$?
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ $rc -eq 0 ]; then
        ok "systemd-analyze security --offline=yes --threshold=15 (exposure ${score:-?})"
else
        not_ok "systemd-analyze security --offline=yes --threshold=15 (exposure ${score:-?})"
        printf '%s\n' "$out" | grep -v '^✓' | diag
fi
