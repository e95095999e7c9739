#!/usr/bin/env bash
# The real browser for the capture-page tests: Debian's chromium and chromium-driver,
# installed when missing (needs root). Prints `export EKYC_CHROMIUM=... EKYC_CHROMEDRIVER=...`
# for `eval`; tests that need a browser skip with the reason when these are unset.
#
#   eval "$(bash scripts/browser.sh)"
set -euo pipefail
say() { echo "browser.sh: $*" >&2; }
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    say "chromium/chromedriver missing; as root: apt-get install -y chromium chromium-driver"
    exit 0
  fi
  say "installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2
fi
echo "export EKYC_CHROMIUM=$(command -v chromium) EKYC_CHROMEDRIVER=$(command -v chromedriver)"
