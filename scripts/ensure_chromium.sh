#!/bin/sh
# Install Debian's chromium for the browser test of the data card, if it is missing.
# Idempotent: does nothing when chromium is there. Without root (or sudo) it only warns,
# and tests/test_card_browser.py is then skipped with the reason.
set -eu
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: no apt-get here; install chromium to run the card's browser test" >&2
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ensure_chromium: not root and no sudo; the card's browser test will be skipped" >&2
    exit 0
fi
echo "ensure_chromium: installing chromium (Debian package) for the card's browser test" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
