//! The `pve_group` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run("pve_group", pve_group::spec(), pve_group::run)
}
