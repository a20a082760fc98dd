#!/bin/sh
# install-deps.sh: installs the Debian packages ember needs to build, test and run on the
# pocl CPU device. Idempotent: packages already installed are skipped, and with nothing
# missing it touches neither the network nor apt's lists.
set -eu

PACKAGES="ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libcsv-dev libcmocka-dev cmake gcc \
make pkg-config clinfo"

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-deps: error: need root (or sudo) to install:$missing" >&2
        exit 1
    fi
fi

echo "install-deps: installing:$missing"
$SUDO apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
