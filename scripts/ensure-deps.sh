#!/usr/bin/env bash
# Makes sure the system packages Equilibrium needs are installed (Debian/Ubuntu).
#
# Installs the missing ones with apt-get when it can (as root, or with password-less sudo);
# otherwise stops with the exact command to run. Safe to run again: it does nothing when
# everything is present.
set -euo pipefail

packages=(libopenblas-dev liblapacke-dev gnuplot-nox zlib1g-dev)

if ! command -v swift >/dev/null 2>&1; then
    echo "error: no Swift toolchain on PATH. Install Swift 6 (https://www.swift.org/install/linux/) and try again." >&2
    exit 1
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "warning: not a Debian system; make sure OpenBLAS (cblas.h), LAPACKE (lapacke.h), zlib (zlib.h) and gnuplot are installed." >&2
    exit 0
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
