//! The `pve_token` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run("pve_token", pve_token::spec(), pve_token::run)
}
