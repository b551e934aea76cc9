//! The `pve_access_info` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run(
        "pve_access_info",
        pve_access_info::spec(),
        pve_access_info::run,
    )
}
