//! pve-sim: a simulator of the Proxmox VE access-control HTTP API.
//!
//! The library is split the way PVE is: `usercfg` reads and writes PVE's config
//! files (`domains` the realms' `domains.cfg`), `perms` computes permissions
//! from them, `store` holds the state under one lock, `inventory` names the
//! guests and storages pools can hold, `api` answers `/api2/json` requests,
//! and `server` speaks HTTPS. `tasks` keeps the node's worker tasks (UPIDs
//! and logs); `sync` syncs an LDAP/AD realm from its directory as one.
//! The `pve-sim` binary (src/main.rs) wires them together.

pub mod api;
pub mod calendar;
pub mod domains;
pub mod faults;
pub mod http;
pub mod ids;
pub mod inventory;
pub mod jobscfg;
pub mod model;
pub mod perlstr;
pub mod perms;
pub mod server;
pub mod store;
pub mod sync;
pub mod tasks;
pub mod usercfg;
pub mod versions;
