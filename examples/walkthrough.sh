#!/usr/bin/env bash
# Runs every shell example of README.md in order against a hub started for it on a fresh
# embedded DATA_DIR, checking each answer against the README's "# → …" comment (2xx where it
# has none). With HUB=<url> (and DATA_DIR for its admin token) it uses that hub instead.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
exec node dist/examples/walkthrough.js "$@"
