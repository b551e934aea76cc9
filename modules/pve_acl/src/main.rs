//! The `pve_acl` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run("pve_acl", pve_acl::spec(), pve_acl::run)
}
