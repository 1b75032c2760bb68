//! Host bindings of the `switchboard:crm@0.1.0` world.

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "crm",
    exports: { default: async },
    additional_derives: [PartialEq, Eq],
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});
