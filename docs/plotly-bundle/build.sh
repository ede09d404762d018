#!/usr/bin/env bash
# Rebuilds src/feedback/web/static/plotly-feedback.min.js (and its .br and .gz copies) from plotly.js on npm.
# Only needed to change plotly.js's version or what the bundle holds: the built files are vendored, so
# installing and running feedback needs neither node nor the network.
#   bash docs/plotly-bundle/build.sh      (needs node, npm, and python with brotli, as the project's venv has)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
static=$here/../../src/feedback/web/static
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/entry.js" "$work/"
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts plotly.js@4.1.1 esbuild@0.25.12 >/dev/null
# maplibre's stylesheet (maps only) is not needed: CSS imports become empty.
npx esbuild entry.js --bundle --minify --format=iife --global-name=Plotly --target=es2016 \
  --define:global=window --define:define.amd=false --loader:.css=empty \
  --banner:js="/*! plotly.js 4.1.1, built for feedback's dashboards by docs/plotly-bundle/build.sh; MIT licence: plotly-feedback.LICENSE.txt */" \
  --outfile="$static/plotly-feedback.min.js"
python - "$static/plotly-feedback.min.js" <<'PY'
import gzip, sys
import brotli
path = sys.argv[1]
data = open(path, "rb").read()
open(path + ".br", "wb").write(brotli.compress(data, quality=11))
open(path + ".gz", "wb").write(gzip.compress(data, compresslevel=9, mtime=0))
PY
ls -l "$static"/plotly-feedback.min.js*
