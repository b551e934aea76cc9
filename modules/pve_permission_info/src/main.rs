//! The `pve_permission_info` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run(
        "pve_permission_info",
        pve_permission_info::spec(),
        pve_permission_info::run,
    )
}
