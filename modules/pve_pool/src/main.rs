//! The `pve_pool` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run("pve_pool", pve_pool::spec(), pve_pool::run)
}
