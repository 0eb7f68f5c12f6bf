#!/usr/bin/env bash
# Installs what the tests and benchmarks need from apt. Idempotent: installs only what is missing.
# Services that packages would start (Dovecot, Postfix, PostgreSQL) are kept from starting:
# tests start their own instances on loopback.
set -euo pipefail

PACKAGES=(openssl sqlite3 python3 ca-certificates procps postgresql util-linux postfix dnsmasq-base swaks libnet-ssleay-perl libio-socket-ssl-perl curl isync mutt dovecot-imapd dovecot-lmtpd publicsuffix python3-aiosmtpd python3-prometheus-client python3-dkim opendkim bc nsd unbound ldnsutils strace iproute2 wrk softhsm2 swtpm swtpm-tools tpm2-tools chromium fonts-noto-cjk lintian dpkg-dev systemd binutils pebble patroni etcd-server etcd-client)
# Node.js for tests/js: Debian's packages, unless a Node.js with npm is already installed (Debian's npm conflicts with others).
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Independent implementations the tests cross-check against (npm; tests/js).
js_packages() {
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ ! -d "$here/tests/js/node_modules/shamir-secret-sharing" ] || [ ! -d "$here/tests/js/node_modules/@hpke/core" ]; then
    echo "deps: npm packages for tests/js"
    (cd "$here/tests/js" && npm ci --no-audit --no-fund --silent)
  fi
}

if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps: all present (${PACKAGES[*]})"
  js_packages
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

# Keep apt from starting daemons it installs.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix is only used for smtp-sink in benchmarks: no configuration, never started by apt.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
js_packages
