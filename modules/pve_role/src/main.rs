//! The `pve_role` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run("pve_role", pve_role::spec(), pve_role::run)
}
