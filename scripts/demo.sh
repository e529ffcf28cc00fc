#!/bin/sh
# The demo, from a clean clone: installs what is missing, builds, and runs inferwatchd against
# the bundled Gcore API simulator playing a rollout (about 30 s). No Gcore account needed.
# --ci: stop once the story is complete (at most 2 min) and check it was told (used by .ci/run).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/deps.sh"
iw_install_deps
cd "$top"
# configure is generated only from a clean clone: rerunning autoreconf would rewrite it under the
# build trees already configured (test.sh's); those regenerate it themselves when needed.
[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
mkdir -p build-demo
cd build-demo
[ -f Makefile ] || ../configure -q
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
echo "Built. Starting the demo."
echo
top_builddir="$top/build-demo" top_srcdir="$top" exec python3 "$top/demo/demo.py" "$@"
