#!/usr/bin/env bash
# The Debian packages the tests and `make run` use beside the Python ones, installed with apt-get
# when missing: espeak-ng (agent-runtime's built-in offline voice) and sip-tester (SIPp: the judge
# of the LiveKit emulator's SIP edge, and the carrier in numbers-api's trunk doctor tests).
# Chromium is the Studio's
# (services/studio/scripts/test.sh installs it for its end-to-end tests).
set -euo pipefail

missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages missing: ${missing[*]}; install them with your package manager" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" = "0" ] || SUDO="sudo"
echo "installing ${missing[*]} (Debian)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
