#!/bin/sh
# The Debian package under a real systemd 252: a minimal Debian 12 root booted with
# systemd-nspawn -b, the package installed with apt-get inside it, and the service driven with
# systemctl and checked with journalctl against the API simulator running in the container. The
# host's PID 1 need not be systemd: commands enter the container's init with nsenter. Prints TAP.
# Run once by scripts/test.sh (not by make check: it takes a minute or two and needs root); by
# hand: sudo INFERWATCH_BUILDDIR=build sh tests/system/boot.sh
# The newer version for the upgrade is the same build repacked with a higher version and a changed
# unit file (dpkg-deb -R/-b), not a second compilation.
# INFERWATCH_BUILDDIR: a build (not a sanitizer build) holding tests/sim/inferwatch-sim.
# The Debian 12 root is made once with debootstrap from the machine's own apt source and cached in
# INFERWATCH_TEST_CACHE (default /var/cache/inferwatch-test); each run boots a throw-away overlay
# of it. Skipped, with the reason, where this cannot work: not root, a tool missing, no apt source
# or mirror, nspawn cannot boot. Exits non-zero when a check failed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/offline/tap.sh"
builddir=${INFERWATCH_BUILDDIR:-$top/build-werror}
cache=${INFERWATCH_TEST_CACHE:-/var/cache/inferwatch-test}
root=$cache/root-bookworm
name=iwtest-$$
token=systest-$$-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

[ "$(id -u)" = 0 ] || skip_all "not root (systemd-nspawn and mounts need it)"
for tool in systemd-nspawn debootstrap nsenter chroot flock git dpkg-deb dpkg-buildpackage; do
        command -v $tool >/dev/null 2>&1 || skip_all "$tool is not installed"
done
sim=$builddir/tests/sim/inferwatch-sim
[ -x "$sim" ] || fail_all "the simulator was built ($sim; set INFERWATCH_BUILDDIR)"
if ldd "$sim" 2>/dev/null | grep -q 'libasan'; then
        skip_all "$builddir is a sanitizer build; the container has no sanitizer runtime"
fi

work=$(mktemp -d /tmp/iw-boot.XXXXXX)
merged=$work/root
nspawn_pid=
cleanup() {
        if [ -n "$nspawn_pid" ]; then
                # SIGTERM to nspawn powers the container off (SIGRTMIN+3 to its init).
                kill "$nspawn_pid" 2>/dev/null
                i=0
                while kill -0 "$nspawn_pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
                kill -9 "$nspawn_pid" 2>/dev/null
        fi
        rm -rf "/run/systemd/nspawn/propagate/$name"
        mountpoint -q "$merged" 2>/dev/null && umount -l "$merged"
        mountpoint -q "$work" 2>/dev/null && umount -l "$work"
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# The mirror of the machine's own apt sources (deb822 first, then sources.list): the URIs of the
# first entry for bookworm.
apt_mirror() {
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                awk 'BEGIN { RS = ""; FS = "\n" }
                     { uri = ""; ok = 0
                       for (i = 1; i <= NF; i++) {
                               if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
                               if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1 }
                       if (ok && uri != "") { print uri; exit } }' "$f"
        done | head -n 1 | grep . && return
        cat /etc/apt/sources.list 2>/dev/null |
                sed -n 's/^deb[ \t]\+\(\[[^]]*\][ \t]\+\)\?\([^ \t]\+\)[ \t]\+bookworm[ \t].*/\2/p' | head -n 1 | grep .
}

# 1. The package: built by tests/package/test-deb.sh (which checks its contents; CI reuses this
# build through its cache), then the same package with a higher version, for the upgrade.
mkdir -p "$work" && mount -t tmpfs -o mode=0755 tmpfs "$work" || skip_all "cannot mount a tmpfs on $work"
mkdir -p "$work/debs" "$merged" "$work/upper" "$work/ovwork"
if ! DEB_BUILD_OPTIONS=nocheck INFERWATCH_DEB_NO_INSTALL=1 INFERWATCH_DEB_KEEP=$work/debs \
        sh "$top/tests/package/test-deb.sh" > "$work/deb.log" 2>&1; then
        fail_all "the package builds and passes tests/package/test-deb.sh" "$work/deb.log"
fi
deb=$(ls "$work"/debs/inferwatch_*.deb | head -n 1)
version=$(dpkg-deb -f "$deb" Version)
newversion=$version+systest1
# The unit changes too (a comment), so that systemd must be reloaded to see the new one.
dpkg-deb -R "$deb" "$work/repack" &&
        sed -i "s/^Version: .*/Version: $newversion/" "$work/repack/DEBIAN/control" &&
        unit=$(find "$work/repack" -name inferwatch.service -path '*/systemd/system/*') &&
        echo "# $newversion" >> "$unit" && touch -d '+1 min' "$unit" &&
        dpkg-deb -b "$work/repack" "$work/debs/new.deb" >/dev/null ||
        fail_all "repacking the package as $newversion"
rm -rf "$work/repack"

# 2. The Debian 12 root, made once (about a minute) and shared by concurrent runs under a lock.
mkdir -p "$cache"
(
        flock 9
        [ -x "$root/usr/bin/systemctl" ] && [ -e "$root/usr/lib/x86_64-linux-gnu/libmicrohttpd.so.12" -o -e "$root/.iw-sim-libs" ] && exit 0
        mirror=$(apt_mirror) || { echo "no bookworm entry in the machine's apt sources" > "$cache/why"; exit 1; }
        if [ ! -x "$root/usr/bin/systemctl" ]; then
                rm -rf "$root.tmp"
                debootstrap --variant=minbase --include=systemd,python3 bookworm "$root.tmp" "$mirror" \
                        > "$cache/debootstrap.log" 2>&1 ||
                        { echo "debootstrap from $mirror failed (see $cache/debootstrap.log)" > "$cache/why"; exit 1; }
                mv "$root.tmp" "$root"
        fi
        # The simulator's libraries, and package lists for the dependencies fetched per run.
        cp /etc/resolv.conf "$root/etc/resolv.conf"
        chroot "$root" sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends libmicrohttpd12 &&
                apt-get clean' > "$cache/prepare.log" 2>&1 ||
                { echo "installing the simulator's libraries in $root failed (see $cache/prepare.log)" > "$cache/why"; exit 1; }
        touch "$root/.iw-sim-libs"
) 9> "$cache/lock" || skip_all "no Debian 12 root: $(cat "$cache/why" 2>/dev/null)"

# 3. A throw-away overlay of it, with the package's dependencies fetched (not installed) while
# there is a network, the packages, the simulator and its scenario.
mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/ovwork" "$merged" ||
        skip_all "cannot mount an overlay of $root"
cp /etc/resolv.conf "$merged/etc/resolv.conf"
cp "$deb" "$merged/root/inferwatch.deb"
cp "$work/debs/new.deb" "$merged/root/inferwatch-new.deb"
if ! chroot "$merged" sh -c 'apt-get install -q -y --download-only --no-install-recommends /root/inferwatch.deb ||
        { apt-get update -q && apt-get install -q -y --download-only --no-install-recommends /root/inferwatch.deb; }' \
        > "$work/download.log" 2>&1; then
        tail -n 20 "$work/download.log" | diag
        skip_all "could not fetch the package's dependencies from the mirror"
fi
install -m 0755 "$sim" "$merged/usr/local/bin/inferwatch-sim"
printf '%s\n' "$token" > "$merged/root/sim-tokens"
chmod 0600 "$merged/root/sim-tokens"
cat > "$merged/root/scenario.json" <<'EOF'
{"deployments": [{"project_id": 1, "name": "chat", "status": "ACTIVE"}]}
EOF
# GET http://ADDRESS/metrics TIMEOUT: the body on stdout; fails on an error or a status but 200.
cat > "$merged/root/scrape.py" <<'EOF'
import sys, urllib.request
url = "http://%s/metrics" % sys.argv[1]
try:
    with urllib.request.urlopen(url, timeout=float(sys.argv[2])) as r:
        sys.stdout.write(r.read().decode())
except OSError as e:
    sys.exit("GET %s: %s" % (url, e))
EOF

# 4. Boot.
systemd-nspawn -q -b -D "$merged" -M "$name" --register=no --keep-unit --private-network \
        > "$work/nspawn.log" 2>&1 < /dev/null &
nspawn_pid=$!
# The container's init: the child of nspawn, once it has executed systemd.
init=
i=0
while [ -z "$init" ] && [ $i -lt 300 ] && kill -0 "$nspawn_pid" 2>/dev/null; do
        child=$(cat "/proc/$nspawn_pid/task/$nspawn_pid/children" 2>/dev/null | awk '{print $1}')
        case $(readlink "/proc/${child:-0}/exe" 2>/dev/null) in
        */systemd) init=$child ;;
        *) sleep 0.1 ;;
        esac
        i=$((i + 1))
done
[ -n "$init" ] || skip_all "systemd-nspawn cannot boot here: $(tail -n 3 "$work/nspawn.log" | tr '\n' ' ')"
# c COMMAND...: runs a command inside the container, as its root, with a clean environment.
c() { nsenter -t "$init" -m -u -i -n -p -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# Until PID 1 answers on its bus, then until boot is done (about 4 s).
i=0
while :; do
        state=$(nsenter -t "$init" -m -u -i -n -p -r -w systemctl is-system-running 2>&1)
        case $state in running|degraded) break ;; esac
        [ $i -lt 600 ] && kill -0 "$nspawn_pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
done
case $state in
running|degraded) ;;
*) skip_all "the container did not boot (systemctl is-system-running: $state)" ;;
esac

# prop PROPERTY: one property of the service.
prop() { c systemctl show -P "$1" inferwatch.service; }
# events EVENT [DEPLOYMENT]: how many journal entries of that event the service logged.
events() { c journalctl -q --no-pager -o cat _SYSTEMD_UNIT=inferwatch.service EVENT="$1" ${2:+DEPLOYMENT=$2} | wc -l; }
# logged TEXT: how many lines of the unit's journal (the service's and systemd's about it) hold it.
logged() { c journalctl -q --no-pager -o cat -u inferwatch.service | grep -c -F -e "$1"; }
# until_ok COMMAND...: polls, 60 s at most, until the command (a function, often) succeeds.
until_ok() {
        i=0
        while ! "$@" >/dev/null 2>&1; do
                i=$((i + 1))
                [ $i -lt 300 ] || { echo "timed out waiting for: $*"; return 1; }
                sleep 0.2
        done
}
# eventually COMMAND...: until_ok, then once more on a timeout, for its diagnostics.
eventually() { until_ok "$@" || "$@"; }
at_least() { [ "$(events "$2" ${3:-})" -ge "$1" ]; } # N EVENT [DEPLOYMENT]
logged_at_least() { [ "$(logged "$2")" -ge "$1" ]; } # N TEXT
# show: the service's state and its last journal lines, for diagnostics.
show() {
        c systemctl show -p ActiveState -p SubState -p MainPID -p NRestarts -p Result -p ExecMainStatus \
                -p StatusText -p NeedDaemonReload inferwatch.service 2>&1
        c journalctl -q --no-pager -n 25 -u inferwatch.service 2>&1
}
# show_socket: the same, with the socket unit's state and journal.
show_socket() {
        c systemctl show -p ActiveState -p SubState -p Result -p NConnections inferwatch-metrics.socket 2>&1
        show
        c journalctl -q --no-pager -n 10 -u inferwatch-metrics.socket 2>&1
}
# expect DESCRIPTION COMMAND...: check, with the service's state as diagnostics on failure.
expect() { tap_on_failure=show; check "$@"; tap_on_failure=; }
expect_socket() { tap_on_failure=show_socket; check "$@"; tap_on_failure=; }
# is VALUE EXPECTED WHAT: fails, saying both, when they differ.
is() { [ "$1" = "$2" ] || { echo "$3: got '$1', expected '$2'"; return 1; }; }
# write FILE: stdin into FILE inside the container.
write() { c sh -c 'cat > "$1"' - "$1"; }
sim_put() { # NAME JSON: merges fields into deployment 1/NAME of the simulator
        c python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=sys.argv[2].encode(), method="PUT",
                    headers={"Content-Type": "application/json"}), timeout=10).read()' \
                "http://127.0.0.1:$port/_sim/deployments/1/$1" "$2"
}
config() { # INTERVAL: the configuration, against the simulator
        cat <<EOF
interval = "$1";
fast_interval = "1s";
accounts = ( { name = "sim"; url = "http://127.0.0.1:$port"; key_credential = "gcore-api-key"; } );
projects = ( { id = 1; deployments = [ "chat" ]; } );
EOF
}
restarted() { # OLD_PID: active again under another main PID
        p=$(prop MainPID)
        [ "$p" != 0 ] && [ "$p" != "$1" ] && [ "$(prop ActiveState)" = active ]
}

echo "# booted $(c systemctl --version | head -n 1) as $name"


# Install, as a user would: apt-get, Depends honoured (fetched above).
check "apt-get install ./inferwatch.deb ($version) in a minimal Debian 12" \
        c apt-get install -q -y --no-install-recommends /root/inferwatch.deb
installed_idle() {
        is "$(c systemctl is-enabled inferwatch.service)" disabled "is-enabled" &&
                is "$(prop ActiveState)" inactive "ActiveState"
}
expect "installed neither enabled nor started" installed_idle
check "the container has no /bin/kill (no procps), like minimal systems" c sh -c '! test -e /bin/kill'
check "bash completion installed in /usr/share/bash-completion/completions" \
        c test -f /usr/share/bash-completion/completions/inferwatchd

# The simulator, as a transient service; the API key in the credential file the unit loads.
c systemd-run -q --unit=iw-sim /usr/local/bin/inferwatch-sim --scenario /root/scenario.json \
        --token-file /root/sim-tokens --port-file /run/iw-sim.port >/dev/null 2>&1
until_ok c test -s /run/iw-sim.port || { not_ok "the simulator started in the container"; plan "$tap_n"; exit 1; }
port=$(c cat /run/iw-sim.port)
config 1s | write /etc/inferwatch/inferwatch.conf
printf '%s\n' "$token" | c sh -c 'umask 077 && cat > /etc/inferwatch/api-key'

# Type=notify: "systemctl enable --now" returns once the daemon said READY=1.
expect "systemctl enable --now inferwatch" c systemctl enable --now inferwatch.service
started() { is "$(prop ActiveState)/$(prop SubState)" active/running "state right after start"; }
expect "active (running) as soon as systemctl returns (Type=notify, READY=1)" started
# That alone a Type=simple unit passes too. Type=notify: systemd logs "Started" only at READY=1,
# which the daemon sends after its monitor.started entry; a Type=simple service is "Started" at
# once, before the daemon logged anything. (Both go through journald's one native socket, in
# order.) The first word of the first two such lines:
start_order() {
        c journalctl -q --no-pager -o cat -u inferwatch.service |
                grep -E -e '^inferwatchd [^ ]+ started: ' -e '^Started inferwatch\.service' |
                head -n 2 | sed 's/ .*//' | tr '\n' ' '
}
both_logged() { [ "$(start_order | wc -w)" = 2 ]; }
ready_order() { until_ok both_logged && is "$(start_order)" "inferwatchd Started " "the first start lines"; }
expect "journal: systemd's \"Started\" after the daemon's monitor.started (it waited for READY=1)" ready_order
pid1=$(prop MainPID)
expect "journal: monitor.started" until_ok at_least 1 monitor.started
expect "journal: deployment.discovered for chat (the API key reached the daemon by LoadCredential)" \
        until_ok at_least 1 deployment.discovered chat
status_text() { is "$(prop StatusText)" "1 deployment: 1 healthy; 0 alerts open" StatusText; }
expect "STATUS=: \"1 deployment: 1 healthy; 0 alerts open\"" until_ok status_text
no_secret() { ! c journalctl -q --no-pager -o export | grep -a -q -F -e "$token"; }
expect "the API key appears nowhere in the journal" no_secret

# Reload: checked first (inferwatchd -t, with the credentials), then SIGHUP.
config 2s | write /etc/inferwatch/inferwatch.conf
expect "systemctl reload with a valid configuration succeeds" c systemctl reload inferwatch.service
reloaded() { until_ok at_least 1 monitor.reloaded && is "$(prop MainPID)" "$pid1" MainPID; }
expect "journal: monitor.reloaded, same main PID" reloaded
checked() { logged_at_least 1 'inferwatch.conf: OK'; }
expect "reload: ExecReload's inferwatchd -t found the file OK" checked
printf 'interval = ;\n' | write /etc/inferwatch/inferwatch.conf
bad_reload() { ! c systemctl reload inferwatch.service; }
expect "systemctl reload with an invalid configuration fails" bad_reload
bad_reload_kept() {
        logged_at_least 1 'inferwatch.conf:1' || { echo "no inferwatch.conf:1 error in the journal"; return 1; }
        is "$(prop ActiveState)" active ActiveState && is "$(prop MainPID)" "$pid1" MainPID &&
                is "$(events monitor.reloaded)" 1 "monitor.reloaded entries"
}
expect "journal: the file's error at its line; still running the old configuration" bad_reload_kept
config 2s | write /etc/inferwatch/inferwatch.conf

# SIGKILL: systemd restarts it (Restart=on-failure) and the state survives.
c systemctl kill -s KILL inferwatch.service
sim_put chat '{"status": "DEPLOYING"}'
killed() { until_ok restarted "$pid1" && is "$(prop NRestarts)" 1 NRestarts; }
expect "SIGKILL: restarted by systemd (new main PID, NRestarts=1)" killed
state_kept() {
        until_ok at_least 1 deployment.status_changed chat &&
                is "$(events deployment.discovered chat)" 1 "deployment.discovered entries"
}
expect "state kept: the change made while it was down is a status_changed, not a second discovery" state_kept

# The watchdog: pinged in time while it runs; a hung daemon (SIGSTOP) is killed and restarted.
c mkdir -p /etc/systemd/system/inferwatch.service.d
printf '[Service]\nWatchdogSec=2s\nTimeoutAbortSec=1s\nLimitCORE=0\n' |
        write /etc/systemd/system/inferwatch.service.d/test-watchdog.conf
c systemctl daemon-reload
c systemctl restart inferwatch.service
pid3=$(prop MainPID)
ping_after() { [ "$(prop WatchdogTimestampMonotonic)" != "$1" ]; }
pinged() {
        t0=$(prop WatchdogTimestampMonotonic)
        until_ok ping_after "$t0" && t1=$(prop WatchdogTimestampMonotonic) && until_ok ping_after "$t1" &&
                is "$(prop MainPID)" "$pid3" MainPID
}
expect "watchdog: WATCHDOG=1 pings keep it running (WatchdogSec=2s)" pinged
c systemctl kill -s STOP inferwatch.service
hung() { until_ok logged_at_least 1 "Watchdog timeout" && until_ok restarted "$pid3"; }
expect "watchdog: a stopped daemon is killed (\"Watchdog timeout\") and restarted" hung
c rm /etc/systemd/system/inferwatch.service.d/test-watchdog.conf
c systemctl daemon-reload

# A missing credential file: the unit fails with 243/CREDENTIALS and is not restarted.
c mv /etc/inferwatch/api-key /root/api-key
c systemctl restart inferwatch.service >/dev/null 2>&1
n=$(prop NRestarts)
no_loop() {
        is "$(prop ExecMainStatus)" 243 ExecMainStatus &&
                is "$(prop ActiveState)/$(prop SubState)" failed/failed "state (auto-restart: a restart loop)" &&
                is "$(prop NRestarts)" "$n" NRestarts
}
expect "no /etc/inferwatch/api-key: failed with 243/CREDENTIALS, not restarted" no_loop
c mv /root/api-key /etc/inferwatch/api-key
# Any other failure is restarted, but not for ever: with the unit's RestartSec=5s, systemd's
# default start limit (5 in 10 s) would never trip; the unit's (5 in 10 min) refuses the sixth
# start, about 25 s in. The failure: an ExecStartPre= that always fails (exit 1).
c systemctl reset-failed inferwatch.service
printf '[Service]\nExecStartPre=/bin/false\n' | write /etc/systemd/system/inferwatch.service.d/test-fail.conf
c systemctl daemon-reload
c systemctl start inferwatch.service >/dev/null 2>&1
# (systemd 252 keeps Result=exit-code then, not start-limit-hit: the journal line tells.)
gave_up() {
        until_ok logged_at_least 1 "Start request repeated too quickly" &&
                is "$(prop ActiveState)/$(prop SubState)" failed/failed "state (auto-restart: still looping)" &&
                is "$(prop NRestarts)" 5 NRestarts
}
expect "a failure restarted every 5 s: stopped by the start limit (\"Start request repeated too quickly\", NRestarts=5)" gave_up
c rm /etc/systemd/system/inferwatch.service.d/test-fail.conf
c systemctl daemon-reload
c systemctl reset-failed inferwatch.service
expect "with the key back: systemctl start" c systemctl start inferwatch.service

# /metrics by socket activation: the shipped inferwatch-metrics.socket, the daemon running with a
# configuration that has no metrics section (so it listens on nothing of its own). The socket's
# fixed address is fine here: nspawn --private-network gives the container its own network
# namespace (its own 127.0.0.1), so it cannot collide with the host's or another run's.
sim_put chat '{"status": "ACTIVE"}'
check "the configuration has no metrics section" c sh -c '! grep -q metrics /etc/inferwatch/inferwatch.conf'
# As documented: stopped first, since systemd refuses to start a socket whose service runs.
c systemctl stop inferwatch.service
check "systemctl enable --now inferwatch-metrics.socket (inferwatch stopped)" c systemctl enable --now inferwatch-metrics.socket
# The address as the installed unit says it ("127.0.0.1:10043 (Stream)"), and as /proc/net/tcp.
maddr=$(c systemctl show -P Listen inferwatch-metrics.socket | sed 's/ .*//')
mport=${maddr##*:}
mhex=$(printf '0100007F:%04X' "$mport")
check "systemctl start inferwatch" c systemctl start inferwatch.service
# scrape [TIMEOUT]: GET /metrics on the socket's address, from inside the container.
scrape() { c python3 /root/scrape.py "$maddr" "${1:-10}"; }
# served LINE...: a scrape holds a line matching each (extended regular expressions, whole lines).
served() {
        body=$(scrape) || return 1
        for want in "$@"; do
                printf '%s\n' "$body" | grep -q -E -x -e "$want" && continue
                echo "no line matching $want in the scrape:"
                printf '%s\n' "$body" | grep -E '^inferwatch_(build_info|deployment_health)'
                return 1
        done
}
# eventually_served LINE...: served within 60 s (a scrape waits 10 s at most), or why not.
eventually_served() {
        end=$(($(date +%s) + 60))
        while ! served "$@" >/dev/null 2>&1; do
                [ "$(date +%s)" -lt "$end" ] || { served "$@"; return 1; }
                sleep 0.2
        done
}
build_info="inferwatch_build_info\{version=\"${version%-*}\"\} 1"
healthy='inferwatch_deployment_health\{.*deployment="chat".*health="healthy".*\} 1'
expect_socket "socket: GET /metrics on $maddr inside the container: inferwatch_build_info, chat's health healthy 1" \
        eventually_served "$build_info" "$healthy"
# listener: the inode of the socket(s) listening on the socket's address in the container.
listener() { c cat /proc/net/tcp | awk -v a="$mhex" '$2 == a && $4 == "0A" { print $10 }'; }
# holds PID INODE: that process has that socket open.
holds() { c sh -c 'for f in /proc/$1/fd/*; do [ "$(readlink "$f")" = "socket:[$2]" ] && exit 0; done; exit 1' - "$1" "$2"; }
# started_logged PID: the daemon's start line (after the "Serving /metrics" one) is in the journal.
started_logged() { c journalctl -q --no-pager -o cat _PID="$1" | grep -q '^inferwatchd [^ ]* started: '; }
serving_logged() { c journalctl -q --no-pager -o cat _PID="$1" | grep -c -F "Serving /metrics on port $mport"; }
# from_systemd: the daemon serves the one socket systemd made and passed it, not one of its own.
from_systemd() {
        p=$(prop MainPID) ino=$(listener)
        is "$(echo $ino | wc -w)" 1 "sockets listening on $maddr" &&
                { holds 1 "$ino" || { echo "PID 1 does not hold socket:[$ino]"; return 1; }; } &&
                { holds "$p" "$ino" || { echo "inferwatchd ($p) does not hold socket:[$ino]"; return 1; }; } &&
                is "$(c sh -c 'tr "\0" "\n" < /proc/$1/environ | grep "^LISTEN_FDNAMES="' - "$p")" \
                        LISTEN_FDNAMES=metrics "the daemon's environment" &&
                { until_ok started_logged "$p"; is "$(serving_logged "$p")" 1 "lines \"Serving /metrics on port $mport\" of PID $p"; }
}
expect_socket "socket: the one listener on $maddr is systemd's (PID 1), passed to inferwatchd (LISTEN_FDNAMES=metrics, \"Serving /metrics on port $mport\")" \
        from_systemd
ino1=$(listener) pid5=$(prop MainPID)
c systemctl restart inferwatch.service
kept() {
        restarted "$pid5" && is "$(listener)" "$ino1" "the listening socket's inode" && from_systemd &&
                eventually_served "$build_info" "$healthy"
}
expect_socket "socket: systemctl restart inferwatch: the new daemon serves the same listening socket" kept
# Stopped, the service is started by the first scrape (its connection waits in the backlog).
c systemctl stop inferwatch.service 2>/dev/null
pid6=$(prop MainPID)
activated() {
        is "$(prop ActiveState)" inactive "ActiveState after stop" &&
                scrape 30 >/dev/null && restarted "$pid6" && from_systemd && eventually_served "$build_info"
}
expect_socket "socket: with inferwatch stopped, a scrape starts it and is answered" activated
# Stopping the socket leaves the daemon running; once it restarts, nothing serves /metrics and it
# runs without (neither a passed socket nor a listen address: nothing to serve, no error).
c systemctl stop inferwatch-metrics.socket
pid7=$(prop MainPID)
c systemctl restart inferwatch.service
unserved() {
        restarted "$pid7" &&
                is "$(c systemctl show -P ActiveState inferwatch-metrics.socket)" inactive "the socket's ActiveState" &&
                is "$(listener)" "" "a listener on $maddr" && ! scrape 5 >/dev/null 2>&1 &&
                p=$(prop MainPID) && until_ok started_logged "$p" && is "$(serving_logged "$p")" 0 "\"Serving /metrics\" lines of PID $p"
}
expect_socket "socket: after systemctl stop inferwatch-metrics.socket and a restart, inferwatch runs and nothing listens on $maddr" \
        unserved
check "systemctl stop inferwatch; systemctl start inferwatch-metrics.socket inferwatch" \
        c sh -c 'systemctl stop inferwatch.service && systemctl start inferwatch-metrics.socket inferwatch.service'
expect_socket "socket: served again" eventually_served "$build_info" "$healthy"

# Upgrade while running: restarted on the new binary, systemd on the new unit.
pid4=$(prop MainPID) ino2=$(listener)
check "apt-get install ./inferwatch-new.deb ($newversion) while it runs" \
        c apt-get install -q -y --no-install-recommends /root/inferwatch-new.deb
upgraded() {
        restarted "$pid4" || { echo "MainPID $pid4 before, $(prop MainPID) after, $(prop ActiveState)"; return 1; }
        is "$(c dpkg-query -W -f '${Version}' inferwatch)" "$newversion" "installed version" &&
                is "$(c readlink "/proc/$p/exe")" /usr/sbin/inferwatchd "the running binary"
}
expect "upgrade: active after, with a new main PID running the new /usr/sbin/inferwatchd" upgraded
expect "upgrade: NeedDaemonReload=no" is "$(prop NeedDaemonReload)" no NeedDaemonReload
upgraded_socket() {
        is "$(c systemctl show -P ActiveState inferwatch-metrics.socket)" active "the socket's ActiveState" &&
                is "$(listener)" "$ino2" "the listening socket's inode" && from_systemd &&
                eventually_served "$build_info" "$healthy"
}
expect_socket "upgrade: the socket kept listening (same socket) and the new daemon serves /metrics through it" upgraded_socket

# Purge: stopped, and no state left.
check "apt-get purge inferwatch" c apt-get purge -q -y inferwatch
running_daemon() { c sh -c 'for p in /proc/[0-9]*; do [ "$(readlink $p/exe)" = /usr/sbin/inferwatchd ] && exit 0; done; exit 1'; }
stopped() { is "$(prop ActiveState)" inactive ActiveState && ! running_daemon; }
expect "purge: the service is stopped, no inferwatchd left running" stopped
purged_socket() {
        is "$(c systemctl show -P ActiveState inferwatch-metrics.socket)" inactive "the socket's ActiveState" &&
                is "$(listener)" "" "a listener on $maddr"
}
check "purge: inferwatch-metrics.socket stopped, nothing listens on $maddr" purged_socket
check "purge: no /var/lib/private/inferwatch, no /var/lib/inferwatch" \
        c sh -c '! test -e /var/lib/private/inferwatch && ! test -L /var/lib/inferwatch && ! test -e /var/lib/inferwatch'

plan "$tap_n"
[ "$tap_failed" -eq 0 ]
