#!/usr/bin/env bash
# Install the Debian packages the tests use, idempotently: Kannel and its fake SMSC (SMS tests),
# chromium (browser tests, driven by Playwright: no browser is ever downloaded), the fonts receipt
# PDFs need (DejaVu for Latin and Arabic, WenQuanYi Zen Hei for Chinese), Pango (WeasyPrint's text
# layout), HarfBuzz's subsetter (WeasyPrint embeds only the glyphs a receipt uses) and
# poppler-utils (pdftotext, pdftoppm: tests read PDFs back). Does nothing when every
# file is present; otherwise one `apt-get update` if needed and one install of what is missing.
# Exits non-zero when something cannot be installed: the tests needing it then fail, never skip.
set -euo pipefail

# package:file-it-provides
WANTED=(
  "kannel:/usr/sbin/bearerbox"
  "kannel-extras:/usr/lib/kannel/test/fakesmsc"
  "chromium:/usr/bin/chromium"
  "fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
  "fonts-wqy-zenhei:/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
  "libpangoft2-1.0-0:/usr/lib/x86_64-linux-gnu/libpangoft2-1.0.so.0"
  "libharfbuzz-subset0:/usr/lib/x86_64-linux-gnu/libharfbuzz-subset.so.0"
  "poppler-utils:/usr/bin/pdftotext"
)

missing=()
for entry in "${WANTED[@]}"; do
  package="${entry%%:*}"
  file="${entry#*:}"
  if [ "$package" = "libpangoft2-1.0-0" ] && ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0.so.0"; then
    continue  # any architecture's Pango will do
  fi
  if [ "$package" = "libharfbuzz-subset0" ] && ldconfig -p 2>/dev/null | grep -q "libharfbuzz-subset.so.0"; then
    continue  # WeasyPrint subsets fonts with it (without it, a warning the tests treat as an error)
  fi
  [ -e "$file" ] || missing+=("$package")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages: missing ${missing[*]} and apt-get is not available: install them" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "system packages: missing ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
for package in "${missing[@]}"; do
  if ! apt-cache show "$package" >/dev/null 2>&1; then
    echo "system packages: package lists do not know $package yet: apt-get update"
    $SUDO apt-get update -qq
    break
  fi
done
echo "system packages: apt-get install -y ${missing[*]}"
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

for entry in "${WANTED[@]}"; do
  package="${entry%%:*}"
  file="${entry#*:}"
  if [ "$package" = "libpangoft2-1.0-0" ]; then
    continue
  fi
  if [ ! -e "$file" ]; then
    echo "system packages: $package installed but $file is missing" >&2
    exit 1
  fi
done
echo "system packages: installed ${missing[*]}"
