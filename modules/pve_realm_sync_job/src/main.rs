//! The `pve_realm_sync_job` module binary; everything it does is in the library (`lib.rs`).

fn main() {
    ansible_module::run(
        "pve_realm_sync_job",
        pve_realm_sync_job::spec(),
        pve_realm_sync_job::run,
    )
}
