#!/usr/bin/env bash
# Installs every Debian 12 package sealpkg needs to build, test and run its demo.
# Runs apt-get only when something is missing; needs root (or sudo) in that case.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config git
  zlib1g-dev libzip-dev libcli11-dev libssl-dev
  pybind11-dev python3-dev python3-pytest python3-pytest-xdist
  python3-torch python3-torchvision
  googletest libgtest-dev libgmock-dev
  clang-14 libclang-rt-14-dev llvm-14 clang-format clang-tidy-14
  libseccomp-dev libboost-dev libboost-filesystem-dev
  python3-distributed
  python3-pip python3-venv python3-setuptools python3-wheel
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
