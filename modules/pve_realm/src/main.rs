//! The `pve_realm` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run("pve_realm", pve_realm::spec(), pve_realm::run)
}
