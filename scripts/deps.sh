#!/bin/sh
# Installs what building and testing inferwatch needs on Debian 12, if anything is missing.
# Sourced by demo.sh, test.sh and .ci/run; uses sudo when not run as root. Extra packages may be
# named in IW_EXTRA_PACKAGES.
IW_PACKAGES="build-essential autoconf automake autoconf-archive libtool pkgconf
libcurl4-openssl-dev libjson-c-dev libsystemd-dev libconfig-dev libssl-dev libmicrohttpd-dev
libcmocka-dev python3 systemd scdoc mandoc valgrind prometheus-alertmanager prometheus curl jq
debhelper dpkg-dev systemd-container debootstrap etcd-server nghttp2-server python3-h2"

iw_install_deps() {
        missing=
        for p in $IW_PACKAGES ${IW_EXTRA_PACKAGES:-}; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
        done
        [ -z "$missing" ] && return 0
        echo "Installing:$missing"
        sudo=
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        # shellcheck disable=SC2086
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
