#!/usr/bin/env bash
# Builds the Python webhook plugin into plugins/dist/webhook.wasm (+ .toml).
#
# componentize-py (pinned below) comes from PyPI into a venv under
# ~/.cache/switchboard, once; later builds need no network. It bundles its
# own CPython and standard library into the component, so the python3 that
# runs this script only hosts the tool and the plain-Python unit tests.
set -euo pipefail
plugin_dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$plugin_dir/../.." && pwd)
cd "$root"

COMPONENTIZE_PY_VERSION=0.25.1
cache=${XDG_CACHE_HOME:-$HOME/.cache}/switchboard
venv=$cache/componentize-py-$COMPONENTIZE_PY_VERSION
# Where the tool goes when python3 has no venv module (Debian without
# python3-venv): a plain `pip install --target` folder.
target=$cache/componentize-py-$COMPONENTIZE_PY_VERSION-target
wit=(-d wit/since_v0.1.0 -w crm)

if ! command -v python3 >/dev/null 2>&1; then
  echo "webhook    skipped: python3 is not installed (needed to build the Python plugin)" >&2
  exit 0
fi

installed() { "$@" --version 2>/dev/null | grep -qx "componentize-py $COMPONENTIZE_PY_VERSION"; }
from_target() { PYTHONPATH=$target python3 -c 'import componentize_py, sys; sys.argv[0] = "componentize-py"; componentize_py.script()' "$@"; }

if installed "$venv/bin/componentize-py"; then
  tool=("$venv/bin/componentize-py")
elif installed from_target; then
  tool=(from_target)
else
  echo "webhook    installing componentize-py $COMPONENTIZE_PY_VERSION into $cache"
  mkdir -p "$cache"
  rm -rf "$venv" "$target"
  if python3 -m venv "$venv" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"
    tool=("$venv/bin/componentize-py")
  else
    rm -rf "$venv"
    python3 -m pip install --quiet --disable-pip-version-check --target "$target" \
      "componentize-py==$COMPONENTIZE_PY_VERSION"
    tool=(from_target)
  fi
fi

# The plain-Python modules first: a failing unit test should not cost the
# 20 s of a component build.
if ! out=$(python3 -m unittest discover -s "$plugin_dir/tests" -t "$plugin_dir" 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi

# Typed stubs of the world for editors and type checkers (never bundled: the
# real bindings are generated inside `componentize`).
rm -rf "$plugin_dir/build/bindings"
"${tool[@]}" --quiet "${wit[@]}" bindings "$plugin_dir/build/bindings"

# The plugin has no third-party dependencies. An empty site-packages as the
# "virtualenv" keeps componentize-py from bundling whatever the build
# machine's python3 has installed.
export VIRTUAL_ENV=$plugin_dir/build/no-deps
mkdir -p "$VIRTUAL_ENV/lib/python3/site-packages"

# componentize APP_MODULE SOURCE_DIR OUTPUT: into a temporary file, so a
# failed build never leaves half a component behind.
componentize() {
  "${tool[@]}" --quiet "${wit[@]}" componentize "$1" -p "$2" -o "$3.tmp"
  mv "$3.tmp" "$3"
}

mkdir -p plugins/dist/test
componentize app "$plugin_dir/src" plugins/dist/webhook.wasm
cp "$plugin_dir/manifest.toml" plugins/dist/webhook.toml
printf '%-10s %8d bytes  plugins/dist/webhook.wasm (Python, componentize-py %s)\n' \
  webhook "$(stat -c %s plugins/dist/webhook.wasm)" "$COMPONENTIZE_PY_VERSION"

# A test-only probe of what Python sees inside the sandbox (never shipped).
componentize probe_app "$plugin_dir/probe" plugins/dist/test/webhook-probe.wasm
cp "$plugin_dir/probe/manifest.toml" plugins/dist/test/webhook-probe.toml
printf '%-10s %8d bytes  plugins/dist/test/webhook-probe.wasm (sandbox probe)\n' \
  webhook "$(stat -c %s plugins/dist/test/webhook-probe.wasm)"
