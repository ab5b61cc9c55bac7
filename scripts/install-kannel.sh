#!/usr/bin/env bash
# Install Debian's Kannel SMS gateway (bearerbox, smsbox) and its test programs (fakesmsc,
# drive_smpp) for the SMS integration tests. Idempotent: does nothing when both are present;
# otherwise runs one `apt-get update` (only if the packages are not known yet) and one install.
# Exits non-zero when Kannel cannot be installed: the Kannel tests then fail, never skip.
set -euo pipefail

BEARERBOX=/usr/sbin/bearerbox
FAKESMSC=/usr/lib/kannel/test/fakesmsc

if [ -x "$BEARERBOX" ] && [ -x "$FAKESMSC" ]; then
  echo "kannel: already installed ($BEARERBOX, $FAKESMSC)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "kannel: NOT installed and apt-get is missing: install Debian's kannel and kannel-extras" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "kannel: NOT installed; run as root (or with sudo): apt-get install kannel kannel-extras" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show kannel-extras >/dev/null 2>&1; then
  echo "kannel: package lists do not know kannel-extras yet: apt-get update"
  $SUDO apt-get update -qq
fi
echo "kannel: apt-get install -y kannel kannel-extras"
$SUDO apt-get install -y -qq --no-install-recommends kannel kannel-extras >/dev/null

if [ -x "$BEARERBOX" ] && [ -x "$FAKESMSC" ]; then
  echo "kannel: installed ($BEARERBOX, $FAKESMSC)"
else
  echo "kannel: installation finished but $BEARERBOX or $FAKESMSC is missing" >&2
  exit 1
fi
