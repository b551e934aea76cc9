//! `ansible-module-selftest`: a tiny module for this crate's process-level
//! tests (`tests/process.rs`), which check what only a real process shows:
//! argv handling, the panic hook, exactly one JSON object on stdout. It is
//! not part of the collection.
//!
//! Options: `name`, `password` (no_log), `mode`: `ok` (default), `fail`, `panic`.

use ansible_module::{json, Failure, Map, Module, Opt, Spec, Value};

fn body(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let password = m.params.str("password").unwrap_or_default().to_string();
    match m.params.str("mode") {
        Some("panic") => panic!("boom with {password}"),
        Some("fail") => Err(Failure::new(format!("failed with {password}"))),
        _ => {
            let name = m.params.str("name").unwrap_or_default();
            Ok(Map::from_iter([(
                "msg".to_string(),
                json!(format!("hello {name}")),
            )]))
        }
    }
}

fn main() {
    let spec = Spec::new([
        Opt::str("name"),
        Opt::str("password").no_log(),
        Opt::str("mode")
            .choices(&["ok", "fail", "panic"])
            .default("ok"),
    ]);
    ansible_module::run("selftest", spec, body)
}
