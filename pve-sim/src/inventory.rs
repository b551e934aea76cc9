//! The guests and storages of the simulated cluster: what pools hold and
//! `GET /cluster/resources` lists. PVE knows them from the cluster's VM list
//! and `storage.cfg`, which pve-sim does not model; they are given at start
//! (`--guests 100,101,200:lxc --storages local,local-lvm`) and never change.
//!
//! ```
//! use pve_sim::inventory::Inventory;
//! let inv = Inventory::parse("100,200:lxc", "local").unwrap();
//! assert_eq!(inv.guests[&200], "lxc");
//! assert!(inv.storages.contains("local"));
//! ```

use std::collections::{BTreeMap, BTreeSet};

/// The one node every guest and storage is on.
pub const NODE: &str = "pve";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// VMID -> `qemu` or `lxc`.
    pub guests: BTreeMap<u32, &'static str>,
    pub storages: BTreeSet<String>,
}

impl Inventory {
    /// From the two flag values: comma-separated VMIDs (each optionally
    /// `:qemu` or `:lxc`, default `qemu`) and storage ids, both as PVE
    /// accepts them.
    pub fn parse(guests: &str, storages: &str) -> Result<Inventory, String> {
        let mut inv = Inventory::default();
        for item in guests.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (id, kind) = item.split_once(':').unwrap_or((item, "qemu"));
            let kind = match kind {
                "qemu" => "qemu",
                "lxc" => "lxc",
                other => {
                    return Err(format!(
                        "--guests: '{other}' is not a guest type (qemu or lxc)"
                    ))
                }
            };
            let vmid = id
                .parse::<u32>()
                .ok()
                .filter(|_| is_vmid(id))
                .ok_or_else(|| format!("--guests: '{id}' is not a VMID (100 to 999999999)"))?;
            inv.guests.insert(vmid, kind);
        }
        for id in storages.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !is_storage_id(id) {
                return Err(format!("--storages: '{id}' is not a storage id"));
            }
            inv.storages.insert(id.to_string());
        }
        Ok(inv)
    }
}

/// pve-common's `pve-vmid`: `^[1-9][0-9]{2,8}$`.
pub fn is_vmid(s: &str) -> bool {
    (3..=9).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0')
}

/// pve-common's `pve-storage-id`: `^[a-z][a-z0-9\-_.]*[a-z0-9]$`, case-insensitive.
pub fn is_storage_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphabetic()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let inv = Inventory::parse("100, 101:qemu,300:lxc", "local,local-lvm").unwrap();
        assert_eq!(inv.guests.len(), 3);
        assert_eq!(inv.guests[&300], "lxc");
        assert_eq!(inv.storages.len(), 2);
        assert!(Inventory::parse("99", "").is_err());
        assert!(Inventory::parse("0100", "").is_err());
        assert!(Inventory::parse("100:kvm", "").is_err());
        assert!(Inventory::parse("", "1local").is_err());
        assert_eq!(Inventory::parse("", "").unwrap(), Inventory::default());
    }
}
