//! The `pve_realm_sync` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run(
        "pve_realm_sync",
        pve_realm_sync::spec(),
        pve_realm_sync::run,
    )
}
