//! The `pve_user` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run("pve_user", pve_user::spec(), pve_user::run)
}
