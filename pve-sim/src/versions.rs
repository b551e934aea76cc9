//! The PVE releases the simulator reproduces: their privileges, built-in roles
//! and API schemas.
//!
//! Data comes from `data/` (copied from PVE's own sources): the privilege and
//! role sets per access-control package version, and the `/access` API schema
//! (`apidata.js`) of PVE 9.1 and 8.4. Versions map onto package versions as
//! PVE shipped them: 8.4 = libpve-access-control 8.2.2, 9.0 = 9.0.2 (the 9.0
//! point releases with `VM.GuestAgent.*`, before `VM.Replicate`), 9.1 = 9.1.1.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

pub use crate::model::PveVersion;

const PRIVS_AND_ROLES: &str = include_str!("../data/privileges-and-roles.json");
const SCHEMA_9_1: &str = include_str!("../data/access-pve9.1.json");
const SCHEMA_8_4: &str = include_str!("../data/access-pve8.4.json");
/// The pool methods (`/pools`, `/pools/{poolid}`) and `GET /cluster/resources`,
/// the same in every simulated release (pve-manager 8.1 brought the nested
/// pools and the `/pools?poolid=` shape, 8.0.6 `allow-move`).
pub const POOLS_SCHEMA: &str = include_str!("../data/pools.json");

const ALL: [PveVersion; 3] = [PveVersion::V8_4, PveVersion::V9_0, PveVersion::V9_1];

impl PveVersion {
    /// `"8.4"`, `"9.0"` or `"9.1"`.
    pub fn parse(text: &str) -> Result<PveVersion, String> {
        ALL.into_iter()
            .find(|v| v.as_str() == text)
            .ok_or_else(|| format!("unsupported PVE version '{text}' (supported: 8.4, 9.0, 9.1)"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PveVersion::V8_4 => "8.4",
            PveVersion::V9_0 => "9.0",
            PveVersion::V9_1 => "9.1",
        }
    }

    /// What `GET /version` reports as `version`.
    pub fn release(self) -> &'static str {
        match self {
            PveVersion::V8_4 => "8.4.14",
            PveVersion::V9_0 => "9.0.11",
            PveVersion::V9_1 => "9.1.13",
        }
    }

    fn data_key(self) -> &'static str {
        match self {
            PveVersion::V8_4 => "8.2.2",
            PveVersion::V9_0 => "9.0.2",
            PveVersion::V9_1 => "9.1.1",
        }
    }

    fn index(self) -> usize {
        match self {
            PveVersion::V8_4 => 0,
            PveVersion::V9_0 => 1,
            PveVersion::V9_1 => 2,
        }
    }
}

impl fmt::Display for PveVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

struct VersionData {
    privileges: BTreeSet<String>,
    roles: BTreeMap<String, BTreeSet<String>>,
}

fn strings(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn data(v: PveVersion) -> &'static VersionData {
    static DATA: OnceLock<Vec<VersionData>> = OnceLock::new();
    let all = DATA.get_or_init(|| {
        // The file is compiled in and checked by the tests below; a broken
        // copy yields empty sets rather than a crash.
        let json: serde_json::Value = serde_json::from_str(PRIVS_AND_ROLES).unwrap_or_default();
        ALL.iter()
            .map(|v| {
                let d = &json[v.data_key()];
                VersionData {
                    privileges: strings(&d["privileges"]),
                    roles: d["builtin_roles"]
                        .as_object()
                        .map(|m| m.iter().map(|(k, p)| (k.clone(), strings(p))).collect())
                        .unwrap_or_default(),
                }
            })
            .collect()
    });
    &all[v.index()]
}

/// Every privilege of the version (= the `Administrator` role).
pub fn privileges(v: PveVersion) -> &'static BTreeSet<String> {
    &data(v).privileges
}

/// The built-in ("special") roles of the version and their privileges.
pub fn builtin_roles(v: PveVersion) -> BTreeMap<String, BTreeSet<String>> {
    data(v).roles.clone()
}

/// The API schema (`{"endpoints": {path: {method: {...}}}}`) of the version.
/// 9.0 is 9.1's schema without the token `regenerate` parameter (added in
/// libpve-access-control 9.1.0); 9.1 adds the OpenID realms' `audiences`
/// (in libpve-access-control 9.1.1, newer than the schema file).
pub fn schema_json(v: PveVersion) -> &'static str {
    static SCHEMA_9_0: OnceLock<String> = OnceLock::new();
    static SCHEMA_9_1_FULL: OnceLock<String> = OnceLock::new();
    match v {
        PveVersion::V8_4 => SCHEMA_8_4,
        PveVersion::V9_1 => SCHEMA_9_1_FULL.get_or_init(|| {
            let mut json: serde_json::Value = serde_json::from_str(SCHEMA_9_1).unwrap_or_default();
            let audiences = serde_json::json!({
                "description": "A list of audiences that the OpenID Issuer may include that are accepted in addition to 'client-id'.",
                "optional": 1,
                "pattern": "^[^\\x00-\\x1F\\x7F <>#\"]*$",
                "type": "string"
            });
            for at in [
                "/endpoints/~1access~1domains/POST/parameters/properties",
                "/endpoints/~1access~1domains~1{realm}/PUT/parameters/properties",
            ] {
                if let Some(props) = json.pointer_mut(at).and_then(|p| p.as_object_mut()) {
                    props.insert("audiences".into(), audiences.clone());
                }
            }
            json.to_string()
        }),
        PveVersion::V9_0 => SCHEMA_9_0.get_or_init(|| {
            let mut json: serde_json::Value = serde_json::from_str(SCHEMA_9_1).unwrap_or_default();
            if let Some(props) = json
                .pointer_mut("/endpoints/~1access~1users~1{userid}~1token~1{tokenid}/PUT/parameters/properties")
                .and_then(|p| p.as_object_mut())
            {
                props.remove("regenerate");
            }
            json.to_string()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privilege_counts_match_the_releases() {
        assert_eq!(privileges(PveVersion::V9_1).len(), 47);
        assert_eq!(privileges(PveVersion::V8_4).len(), 42);
        assert!(privileges(PveVersion::V8_4).contains("VM.Monitor"));
        assert!(!privileges(PveVersion::V9_1).contains("VM.Monitor"));
        assert!(privileges(PveVersion::V9_0).contains("VM.GuestAgent.Audit"));
        for v in ALL {
            let roles = builtin_roles(v);
            assert_eq!(roles.len(), 17, "{v}");
            assert_eq!(&roles["Administrator"], privileges(v));
            assert!(roles["NoAccess"].is_empty());
        }
    }

    #[test]
    fn regenerate_only_in_9_1() {
        let has = |v| schema_json(v).contains("\"regenerate\"");
        let audiences = |v| schema_json(v).contains("\"audiences\"");
        assert!(audiences(PveVersion::V9_1));
        assert!(!audiences(PveVersion::V9_0));
        assert!(!audiences(PveVersion::V8_4));
        assert!(has(PveVersion::V9_1));
        assert!(!has(PveVersion::V9_0));
        assert!(!has(PveVersion::V8_4));
        let parsed: serde_json::Value =
            serde_json::from_str(schema_json(PveVersion::V9_0)).unwrap();
        assert!(parsed["endpoints"]["/access/users"].is_object());
    }

    #[test]
    fn parse_versions() {
        assert_eq!(PveVersion::parse("9.1"), Ok(PveVersion::V9_1));
        assert!(PveVersion::parse("7.4")
            .unwrap_err()
            .contains("8.4, 9.0, 9.1"));
    }
}
