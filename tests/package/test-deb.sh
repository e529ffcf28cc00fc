#!/bin/sh
# Builds the Debian package from a temporary copy of the tree (git archive of HEAD plus any
# uncommitted changes to tracked files; the source tree is never written), then checks it in two
# steps, printing TAP:
#   1. the .deb checked by lintian (when installed) and extracted into a scratch directory (dpkg-deb -x): the files, their modes, the
#      conffile, the unit's paths, and the extracted inferwatchd run with --version and -t;
#   2. as root only, the package installed for real with dpkg -i (maintainer scripts and
#      triggers run), the installed inferwatchd run, the unit checked to be neither enabled nor
#      started, then purged. Meant for a throwaway CI machine: it is skipped when an inferwatch
#      package is already installed, when not root, or with INFERWATCH_DEB_NO_INSTALL=1.
# dpkg --root=SCRATCH is not used: its maintainer scripts run chrooted into SCRATCH, which would
# need a whole Debian system there.
# Not part of make check: it takes minutes and needs dpkg-buildpackage and the build
# dependencies of debian/control.
# Exits non-zero when a check failed (or the build bailed out).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# The offline checks' TAP helpers: ok, not_ok, skip, skip_all, check, diag; failures in $tap_failed.
. "$top/tests/offline/tap.sh"
bail() { echo "Bail out! $*"; exit 1; }

for tool in git dpkg-buildpackage dpkg-deb dpkg-parsechangelog; do
        command -v $tool >/dev/null 2>&1 || skip_all "$tool is not installed"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
upstream=${version%-*}
src=$tmp/inferwatch-$upstream

# git stash create records uncommitted changes to tracked files without touching the tree.
ref=$(git -C "$top" stash create 2>/dev/null)
mkdir -p "$src"
git -C "$top" archive --format=tar "${ref:-HEAD}" | tar -x -C "$src" || bail "git archive failed"
# INFERWATCH_DEB_CACHE=DIR (default, as root: /var/cache/inferwatch-test/deb): a package built from
# the same tree with the same DEB_BUILD_OPTIONS is reused rather than built again (the booted
# systemd test, tests/system/boot.sh, builds it first in scripts/test.sh; CI checks it here).
cache=${INFERWATCH_DEB_CACHE-}
[ -n "$cache" ] || { [ "$(id -u)" = 0 ] && cache=/var/cache/inferwatch-test/deb; }
key=$(git -C "$top" rev-parse "${ref:-HEAD}^{tree}" 2>/dev/null)-$(printf '%s' "${DEB_BUILD_OPTIONS:-}" | tr -c 'A-Za-z0-9=.\n' _)
if [ -n "$cache" ] && ls "$cache/$key"/inferwatch_"$version"_*.deb >/dev/null 2>&1; then
        echo "# reusing the package built from the same tree in $cache/$key"
        cp "$cache/$key"/* "$tmp"/
else
        echo "# building $version in $src (log: build.log)"
        if ! (cd "$src" && dpkg-buildpackage -us -uc -b) > "$tmp/build.log" 2>&1; then
                tail -n 40 "$tmp/build.log" | diag
                bail "dpkg-buildpackage -us -uc -b failed"
        fi
        if [ -n "$cache" ] && mkdir -p "$cache/$key.tmp.$$" &&
                cp "$tmp"/inferwatch_"$version"_*.deb "$tmp/build.log" "$cache/$key.tmp.$$"/; then
                rm -rf "$cache/$key" && mv "$cache/$key.tmp.$$" "$cache/$key"
                # Keep the three newest.
                ls -dt "$cache"/*-* 2>/dev/null | tail -n +4 | while read -r d; do rm -rf "$d"; done
        fi
fi
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$tmp/build.log" | sed 's/^# /# make check during the build: /'
deb=$(ls "$tmp"/inferwatch_"$version"_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || bail "no inferwatch_${version}_*.deb was built"

# INFERWATCH_DEB_KEEP=DIR keeps a copy of the package there.
[ -n "${INFERWATCH_DEB_KEEP:-}" ] && cp "$deb" "$INFERWATCH_DEB_KEEP"/

plan 23
ok "dpkg-buildpackage -us -uc -b built $(basename "$deb")"
# lintian: errors fail; its warnings are printed (initial-upload-closes-no-bugs is expected of a
# package that is not in Debian's archive).
if command -v lintian >/dev/null 2>&1; then
        if out=$(lintian --fail-on error "$deb" 2>&1); then
                ok "lintian reports no error"
        else
                not_ok "lintian reports no error"
        fi
        [ -n "$out" ] && printf '%s\n' "$out" | diag
else
        skip "lintian is not installed"
fi

# 1. The package's contents, extracted.
root=$tmp/root
dpkg-deb -x "$deb" "$root"
unit=$root/lib/systemd/system/inferwatch.service
[ -f "$unit" ] || unit=$root/usr/lib/systemd/system/inferwatch.service
check "the daemon is /usr/sbin/inferwatchd" test -x "$root/usr/sbin/inferwatchd"
check "the unit is in the system unit directory" test -f "$unit"
check "the unit runs /usr/sbin/inferwatchd -c /etc/inferwatch/inferwatch.conf" \
        grep -qx 'ExecStart=/usr/sbin/inferwatchd -c /etc/inferwatch/inferwatch.conf' "$unit"
check "the unit loads the credential gcore-api-key from /etc/inferwatch/api-key" \
        grep -qx 'LoadCredential=gcore-api-key:/etc/inferwatch/api-key' "$unit"
check "the catalog is in /usr/lib/systemd/catalog" test -f "$root/usr/lib/systemd/catalog/inferwatch.catalog"
check "inferwatchd(8) is installed" test -f "$root/usr/share/man/man8/inferwatchd.8.gz"
check "inferwatch.conf(5) is installed" test -f "$root/usr/share/man/man5/inferwatch.conf.5.gz"
check "the example is in /usr/share/doc/inferwatch/examples" \
        test -f "$root/usr/share/doc/inferwatch/examples/inferwatch.conf"
check "/etc/inferwatch/inferwatch.conf is the example, mode 0644" sh -c '
        cmp "$1/etc/inferwatch/inferwatch.conf" "$2/conf/inferwatch.conf" &&
        test "$(stat -c %a "$1/etc/inferwatch/inferwatch.conf")" = 644' - "$root" "$src"
check "/etc/inferwatch/inferwatch.conf is a conffile" sh -c '
        dpkg-deb --ctrl-tarfile "$1" | tar -xO ./conffiles | grep -qx /etc/inferwatch/inferwatch.conf' - "$deb"
check "the copyright file is installed" test -f "$root/usr/share/doc/inferwatch/copyright"
check "the extracted inferwatchd --version says $upstream" sh -c '
        "$1/usr/sbin/inferwatchd" --version | grep -qx "inferwatchd $2"' - "$root" "$upstream"
# Exit 75: valid, but the credentials it names cannot be checked outside the service.
check "the extracted inferwatchd -t accepts the shipped configuration" sh -c '
        "$1/usr/sbin/inferwatchd" -t -c "$1/etc/inferwatch/inferwatch.conf"; test $? -eq 75' - "$root"

# 2. Installed for real.
reason=
if [ "$(id -u)" != 0 ]; then
        reason="not root"
elif [ -n "${INFERWATCH_DEB_NO_INSTALL:-}" ]; then
        reason="INFERWATCH_DEB_NO_INSTALL is set"
elif dpkg-query -W -f '${Status}' inferwatch 2>/dev/null | grep -q "install ok installed"; then
        reason="an inferwatch package is installed already; not touching it"
fi
if [ -n "$reason" ]; then
        for i in 1 2 3 4 5 6 7 8; do skip "install with dpkg -i: $reason"; done
        [ "$tap_failed" -eq 0 ]
        exit
fi

check "dpkg -i installs it (maintainer scripts and triggers included)" dpkg -i "$deb"
check "installed: inferwatchd --version" sh -c '/usr/sbin/inferwatchd --version | grep -qx "inferwatchd $1"' - "$upstream"
check "installed: inferwatchd -t -c /etc/inferwatch/inferwatch.conf" sh -c '
        /usr/sbin/inferwatchd -t -c /etc/inferwatch/inferwatch.conf; test $? -eq 75'
state=$(systemctl is-enabled inferwatch.service 2>&1)
if [ "$state" = disabled ]; then ok "the unit is not enabled"; else not_ok "the unit is not enabled"; echo "$state" | diag; fi
# Other inferwatchd processes (tests, demos) may run on the machine: only the installed one counts.
if systemctl is-active --quiet inferwatch.service 2>/dev/null || pgrep -f '^/usr/sbin/inferwatchd( |$)' >/dev/null; then
        not_ok "the service was not started"
else
        ok "the service was not started"
fi
if command -v journalctl >/dev/null 2>&1; then
        check "the systemd trigger indexed the catalog (alert.firing listed)" sh -c '
                journalctl --list-catalog 203da104fd8e46678b22c4e1b4790db7 | grep -q "^203da104fd8e46678b22c4e1b4790db7 "'
else
        skip "journalctl is not installed"
fi
if ! command -v man >/dev/null 2>&1; then
        skip "man -w finds inferwatchd(8): man-db is not installed"
elif grep -Eqs '^[[:space:]]*path-exclude[[:space:]=]+/usr/share/man' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/*; then
        skip "man -w finds inferwatchd(8): dpkg is configured not to install man pages"
else
        check "man -w finds inferwatchd(8) where the package put it" sh -c '
                found=$(env -u MANPATH man -w 8 inferwatchd) &&
                test "$found" = /usr/share/man/man8/inferwatchd.8.gz || { echo "man -w: ${found:-nothing}"; false; }'
fi
check "dpkg --purge removes it, conffile included" sh -c '
        dpkg --purge inferwatch >/dev/null && ! test -e /etc/inferwatch/inferwatch.conf &&
        ! test -e /usr/sbin/inferwatchd'
[ "$tap_failed" -eq 0 ]
