#!/bin/sh
# The generated systemd unit, checked offline: systemd-analyze verify (with ExecStart pointed at
# the daemon just built, since verify wants the binary to exist) and the exposure score; and the
# shipped inferwatch-metrics.socket, verified next to it.
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

unit=$top_builddir/systemd/inferwatch.service
command -v systemd-analyze >/dev/null 2>&1 || skip_all "systemd-analyze is not installed"
[ -f "$unit" ] || fail_all "$unit was generated"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plan 7

# unit_has DESCRIPTION REGEX SHOWN / unit_lacks ...: ok when the unit has a line matching the
# extended REGEX (lacks any); else the unit's lines matching SHOWN are the diagnostics.
unit_has() {
        if grep -Eq "$2" "$unit"; then ok "$1"; else not_ok "$1"; grep -nE "$3" "$unit" | diag; fi
}
unit_lacks() {
        if grep -Eq "$2" "$unit"; then not_ok "$1"; grep -nE "$3" "$unit" | diag; else ok "$1"; fi
}

unit_lacks "every @variable@ of the unit is substituted" '@[a-z_]*@' '@[a-z_]*@'
unit_has "ExecStart names inferwatchd by an absolute path" '^ExecStart=/[^ ]*/inferwatchd ' '^ExecStart='
# Minimal systems (containers, debootstrap --variant=minbase) have no procps: no /bin/kill.
unit_lacks "no Exec*= line needs /bin/kill (procps)" \
        '^Exec[A-Za-z]*=[-@:+!]*/(usr/)?bin/(kill|pkill)( |$)' '^Exec[A-Za-z]*='
# ExecReload validates before it signals: a reload of an invalid file fails visibly.
unit_has "ExecReload checks the configuration with inferwatchd -t" '^ExecReload=.*/inferwatchd -t ' '^ExecReload='

# Every inferwatchd of an Exec line (ExecReload's is inside sh -c '...') is the one just built.
sed "s|[^ =']*/sbin/inferwatchd |$top_builddir/daemon/inferwatchd |" "$unit" > "$tmp/inferwatch.service"
# verify_unit DESCRIPTION FILE: systemd-analyze verify prints problems but exits 0 for some of
# them: any output is a failure.
verify_unit() {
        out=$(systemd-analyze verify --man=no "$2" 2>&1)
        if [ $? -eq 0 ] && [ -z "$out" ]; then
                ok "$1"
        else
                not_ok "$1"
                printf '%s\n' "$out" | diag
        fi
}
verify_unit "systemd-analyze verify --man=no" "$tmp/inferwatch.service"

# The shipped socket of /metrics, verified next to the service it activates: a bad key, no
# Listen*= or a Service= that names another unit fails.
cp "$top_srcdir/systemd/inferwatch-metrics.socket" "$tmp/"
verify_unit "systemd-analyze verify --man=no inferwatch-metrics.socket" "$tmp/inferwatch-metrics.socket"

out=$(systemd-analyze security --offline=yes --threshold=15 --no-pager "$tmp/inferwatch.service" 2>&1)
rc=$?
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ $rc -eq 0 ]; then
        ok "systemd-analyze security --offline=yes --threshold=15 (exposure ${score:-?})"
else
        not_ok "systemd-analyze security --offline=yes --threshold=15 (exposure ${score:-?})"
        printf '%s\n' "$out" | grep -v '^✓' | diag
fi
