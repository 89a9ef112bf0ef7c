#!/usr/bin/env bash
# Installs what scripts/build-deb.sh and scripts/package-check.sh need on a fresh Debian machine:
# dpkg-dev (dpkg-shlibdeps), binutils (strip), lintian, systemd (systemd-analyze, systemd-sysusers),
# init-system-helpers (deb-systemd-helper) and passwd (userdel). Idempotent.
set -euo pipefail

missing=()
for pair in dpkg-shlibdeps:dpkg-dev strip:binutils lintian:lintian systemd-analyze:systemd systemd-sysusers:systemd \
    deb-systemd-helper:init-system-helpers userdel:passwd; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "install-package-deps: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
