//! The simulator's state: what PVE keeps in `user.cfg`, `priv/token.cfg` and
//! `priv/shadow.cfg`, as plain data.
//!
//! Everything here is owned by one lock in the server (`crate::state`); the
//! parser/writer (`crate::usercfg`) and the permission engine (`crate::perms`)
//! are pure functions over these types.

use std::collections::{BTreeMap, BTreeSet};

/// principal id -> role id -> propagate flag.
pub type RoleMap = BTreeMap<String, BTreeMap<String, bool>>;

/// One parsed `user.cfg` (plus the built-in roles and `root@pam`, which PVE
/// forces into every parsed config).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserCfg {
    /// Keyed by userid (`name@realm`).
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
    /// Built-in roles included, with `special: true`.
    pub roles: BTreeMap<String, Role>,
    /// Keyed by normalised ACL path.
    pub acl: BTreeMap<String, AclNode>,
    pub pools: BTreeMap<String, Pool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub enable: bool,
    /// Epoch seconds, 0 = never.
    pub expire: i64,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    /// `Some("")` is a real state (Perl's `split` drops a trailing empty
    /// field, so `email` ends up `""` where other fields vanish).
    pub email: Option<String>,
    pub comment: Option<String>,
    pub keys: Option<String>,
    /// root@pam added because user.cfg lacks it: PVE's stand-in has no
    /// `expire` until it is written.
    pub forced: bool,
    /// Back-references of `group:` lines.
    pub groups: BTreeSet<String>,
    /// Keyed by the token's sub-id (`ci`, not `joe@pve!ci`).
    pub tokens: BTreeMap<String, Token>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Token {
    pub privsep: bool,
    /// Epoch seconds, 0 = no own expiry.
    pub expire: i64,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    /// May hold valid userids of users that do not exist (PVE's `parse_user_config` keeps them).
    pub members: BTreeSet<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Role {
    pub privs: BTreeSet<String>,
    /// One of the built-in roles of the PVE version.
    pub special: bool,
}

/// The ACL entries on one path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclNode {
    /// userid -> role -> propagate
    pub users: RoleMap,
    /// groupid (without `@`) -> role -> propagate
    pub groups: RoleMap,
    /// full token id `user@realm!name` -> role -> propagate
    pub tokens: RoleMap,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pool {
    pub comment: Option<String>,
    pub vms: BTreeSet<u32>,
    pub storage: BTreeSet<String>,
}

/// `priv/token.cfg`: full token id -> secret.
pub type TokenSecrets = BTreeMap<String, String>;

/// `priv/shadow.cfg` of the pve realm: user name (the part before `@`) ->
/// SHA-256 crypt hash (`$5$...`).
pub type Shadow = BTreeMap<String, String>;

/// A PVE release line whose privileges and built-in roles the simulator
/// reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PveVersion {
    V8_4,
    V9_0,
    V9_1,
}
