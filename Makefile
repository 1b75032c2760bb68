# The two commands the README gives: `make demo` and `make test`.
.PHONY: plugins test lint check-plugins demo bench bench-dialogue

plugins:
	./plugins/build.sh

test: plugins
	cargo test --workspace

lint:
	cargo fmt --all --check
	cargo check -p switchboard --no-default-features
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --target wasm32-wasip2 -p switchboard-plugin-sdk -p switchboard-keycrm -p switchboard-amocrm -p switchboard-bitrix24 -p switchboard-hostile -p switchboard-contract-next -- -D warnings

check-plugins: plugins
	for p in keycrm amocrm bitrix24 webhook; do cargo run -q -p switchboard -- plugin check plugins/dist/$$p.wasm --against $$p-sim || exit 1; done

demo: plugins
	cargo run -p switchboard -- demo

bench: plugins
	cargo bench -p switchboard --bench plugin_runtime

bench-dialogue: plugins
	cargo bench -p switchboard --bench dialogue
