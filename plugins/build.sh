#!/usr/bin/env bash
# Builds every bundled plugin for wasm32-wasip2 and puts each component with
# its manifest into plugins/dist/<id>.wasm and plugins/dist/<id>.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

# crate directory -> plugin id
declare -A PLUGINS=(
  [keycrm]=keycrm
  [amocrm]=amocrm
  [bitrix24]=bitrix24
  [hostile]=hostile
  [contract-next]=contract-next
)

packages=()
for dir in "${!PLUGINS[@]}"; do
  packages+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "plugins/$dir/Cargo.toml" | head -n1)")
done

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

cargo build --profile plugin --target wasm32-wasip2 "${packages[@]}"

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
mkdir -p plugins/dist
for dir in "${!PLUGINS[@]}"; do
  id=${PLUGINS[$dir]}
  crate=$(sed -n 's/^name = "\(.*\)"/\1/p' "plugins/$dir/Cargo.toml" | head -n1)
  cp "$target_dir/wasm32-wasip2/plugin/${crate//-/_}.wasm" "plugins/dist/$id.wasm"
  cp "plugins/$dir/manifest.toml" "plugins/dist/$id.toml"
  printf '%-10s %8d bytes  plugins/dist/%s.wasm\n' "$id" "$(stat -c %s "plugins/dist/$id.wasm")" "$id"
done

# A test build of the KeyCRM plugin with fault injection, for the host's
# fault suite only (never shipped): it traps on leads marked `[trap]`.
cargo build --profile plugin --target wasm32-wasip2 -p switchboard-keycrm --features fault-injection
mkdir -p plugins/dist/test
cp "$target_dir/wasm32-wasip2/plugin/switchboard_keycrm.wasm" plugins/dist/test/keycrm.wasm
cp plugins/keycrm/manifest.toml plugins/dist/test/keycrm.toml
printf '%-10s %8d bytes  plugins/dist/test/keycrm.wasm (fault injection)\n' keycrm "$(stat -c %s plugins/dist/test/keycrm.wasm)"

# The webhook plugin is Python, built by componentize-py (fetched from PyPI
# once into ~/.cache/switchboard); it skips itself when python3 is missing.
plugins/webhook-py/build.sh
