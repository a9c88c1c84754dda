#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: system tools the pipeline drives, pnpm, packages.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
APT_PACKAGES=(ffmpeg tesseract-ocr tesseract-ocr-eng poppler-utils chromium fonts-dejavu-core python3-pil redis-server)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "10.34.9" ]; then
  echo "installing pnpm 10.34.9"
  $SUDO npm install -g pnpm@10.34.9 >/dev/null
fi
pnpm install --frozen-lockfile
echo "set-up done: try 'pnpm pipeline run all' and 'pnpm test'"
