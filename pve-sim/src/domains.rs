//! `domains.cfg`, PVE's realm configuration (AC `Auth/Plugin.pm` and its
//! plugins on pve-common's `SectionConfig`): the realm types with their
//! option sets, the parser and the writer, as plain data and pure functions.
//!
//! A file is sections `<type>: <realm>` followed by tab-indented `key value`
//! lines, each section ended by an empty line. The writer puts `comment`
//! first (text-encoded as in user.cfg), then the type's required options,
//! then the optional ones, each group sorted; booleans as 0/1, empty values
//! left out. The parser keeps sections in file order, drops what PVE's
//! parser drops (unknown types, options the type does not have, sections
//! missing a required option) with a warning, keeps one `default` realm,
//! and adds `pam` and `pve` when the file lacks them, as PVE does. Bind
//! passwords are not in the file: PVE keeps them in `priv/realm/<realm>.pw`
//! ([`Realms::passwords`]).

use std::collections::BTreeMap;

use crate::ids;
use crate::model::PveVersion;
use crate::usercfg::{decode_text, encode_text};

/// One realm: its type and its options as the file has them (booleans and
/// integers as their text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Realm {
    pub kind: String,
    pub opts: BTreeMap<String, String>,
}

/// The parsed `domains.cfg` and the secrets beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Realms {
    /// In file order (PVE keeps each section's position; new ones go last).
    pub realms: Vec<(String, Realm)>,
    /// `priv/realm/<realm>.pw`: realm -> LDAP/AD bind password.
    pub passwords: BTreeMap<String, String>,
}

impl Realms {
    pub fn get(&self, realm: &str) -> Option<&Realm> {
        self.realms.iter().find(|(r, _)| r == realm).map(|(_, d)| d)
    }

    pub fn get_mut(&mut self, realm: &str) -> Option<&mut Realm> {
        self.realms
            .iter_mut()
            .find(|(r, _)| r == realm)
            .map(|(_, d)| d)
    }

    /// The type of `realm`, if it exists.
    pub fn kind(&self, realm: &str) -> Option<&str> {
        self.get(realm).map(|d| d.kind.as_str())
    }

    pub fn remove(&mut self, realm: &str) {
        self.realms.retain(|(r, _)| r != realm);
    }
}

/// How an option is declared by a realm type (`options()` of its plugin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Optional,
    Required,
    /// Optional, and set only on creation (`fixed => 1`).
    Fixed,
}

/// The realm types, as PVE registers them.
pub const TYPES: [&str; 5] = ["ad", "ldap", "openid", "pam", "pve"];

/// Options shared by the LDAP and AD plugins (their `options()` differ only
/// in which of server1/base_dn/user_attr/domain are required).
const DIRECTORY_OPTIONAL: [&str; 22] = [
    "server2",
    "bind_dn",
    "password",
    "port",
    "secure",
    "sslversion",
    "default",
    "comment",
    "tfa",
    "verify",
    "capath",
    "cert",
    "certkey",
    "filter",
    "sync_attributes",
    "user_classes",
    "group_dn",
    "group_name_attr",
    "group_filter",
    "group_classes",
    "sync-defaults-options",
    "mode",
];

/// The options of realm type `kind` on `version` (`None`: no such type).
pub fn options(kind: &str, version: PveVersion) -> Option<Vec<(&'static str, Need)>> {
    use Need::*;
    let mut out: Vec<(&'static str, Need)> = match kind {
        "pam" | "pve" => vec![
            ("default", Optional),
            ("comment", Optional),
            ("tfa", Optional),
        ],
        "ldap" | "ad" => {
            let required: &[&'static str] = if kind == "ldap" {
                &["server1", "base_dn", "user_attr"]
            } else {
                &["server1", "domain"]
            };
            let mut v: Vec<(&'static str, Need)> =
                required.iter().map(|k| (*k, Required)).collect();
            v.extend(DIRECTORY_OPTIONAL.iter().map(|k| (*k, Optional)));
            v.push(("case-sensitive", Optional));
            if kind == "ad" {
                v.extend(["base_dn", "user_attr"].map(|k| (k, Optional)));
            }
            v
        }
        "openid" => {
            let mut v = vec![
                ("issuer-url", Required),
                ("client-id", Required),
                ("username-claim", Fixed),
            ];
            let optional = [
                "client-key",
                "autocreate",
                "groups-claim",
                "groups-autocreate",
                "groups-overwrite",
                "prompt",
                "scopes",
                "acr-values",
                "default",
                "comment",
                "query-userinfo",
            ];
            v.extend(optional.map(|k| (k, Optional)));
            // Added in AC 9.1.1 (crate::versions::schema_json).
            if version >= PveVersion::V9_1 {
                v.push(("audiences", Optional));
            }
            v
        }
        _ => return None,
    };
    out.sort_by_key(|(k, _)| *k);
    Some(out)
}

/// How an option's value is typed in API answers: booleans and integers are
/// numbers there (SectionConfig's `decode_value`).
pub fn is_numeric(key: &str) -> bool {
    matches!(
        key,
        "port"
            | "verify"
            | "secure"
            | "default"
            | "case-sensitive"
            | "autocreate"
            | "groups-autocreate"
            | "groups-overwrite"
            | "query-userinfo"
    )
}

fn is_boolean(key: &str) -> bool {
    is_numeric(key) && key != "port"
}

/// `check_config` of a realm type: `Err` holds PVE's message. `create`
/// also requires the required options; an update refuses fixed ones.
pub fn check_config(
    kind: &str,
    params: &BTreeMap<String, String>,
    create: bool,
    version: PveVersion,
) -> Result<BTreeMap<String, String>, String> {
    let opts = options(kind, version).ok_or_else(|| format!("unknown section type '{kind}'\n"))?;
    let need = |k: &str| opts.iter().find(|(o, _)| *o == k).map(|(_, n)| *n);
    let mut out = BTreeMap::new();
    for (k, v) in params {
        if !create && need(k) == Some(Need::Fixed) {
            return Err(format!("can't change value of fixed parameter '{k}'\n"));
        }
        if k == "type" && v == kind {
            continue;
        }
        if need(k).is_none() {
            return Err(format!("unexpected property '{k}'\n"));
        }
        if v.contains(['\n', '\r']) {
            return Err("property contains a line feed\n".to_string());
        }
        out.insert(k.clone(), v.clone());
    }
    if create {
        for (k, n) in &opts {
            if *n == Need::Required && !params.contains_key(*k) {
                return Err(format!("missing value for required option '{k}'\n"));
            }
        }
    }
    Ok(out)
}

/// The realm types' section header: `<type>: <realm>`.
fn section_header(line: &str) -> Option<(String, String)> {
    let (kind, rest) = line.split_once(':')?;
    let realm = rest.trim();
    let valid = !kind.is_empty()
        && !kind.contains(char::is_whitespace)
        && !realm.is_empty()
        && !realm.contains(char::is_whitespace);
    valid.then(|| (kind.to_lowercase(), realm.to_string()))
}

/// Parses `domains.cfg` as PVE reads it; the warnings are what PVE logs.
pub fn parse(text: &str, version: PveVersion) -> (Vec<(String, Realm)>, Vec<String>) {
    let mut realms: Vec<(String, Realm)> = Vec::new();
    let mut warnings = Vec::new();
    let mut lines = text
        .split('\n')
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#'));
    while let Some((n, line)) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let at = format!("file domains.cfg line {}", n + 1);
        let Some((kind, realm)) = section_header(line) else {
            warnings.push(format!("{at} - ignore config line: {line}"));
            continue;
        };
        let opts = options(&kind, version);
        let mut skip = match (&opts, ids::is_realm(&realm)) {
            (_, false) => Some("value does not look like a valid realm".to_string()),
            (None, _) => Some(format!("unsupported type '{kind}'")),
            _ => None,
        };
        if let Some(why) = &skip {
            warnings.push(format!("{at} (skip section '{realm}'): {why}"));
        }
        let mut data = Realm {
            kind: kind.clone(),
            opts: BTreeMap::new(),
        };
        for (n, line) in lines.by_ref() {
            if line.is_empty() {
                break;
            }
            if skip.is_some() {
                continue;
            }
            let at = format!("file domains.cfg line {}", n + 1);
            let body = line.trim_start();
            if body.len() == line.len() {
                warnings.push(format!(
                    "{at} (section '{realm}') - ignore config line: {line}"
                ));
                continue;
            }
            let (k, v) = match body.split_once(char::is_whitespace) {
                Some((k, v)) => (k, v.trim()),
                None => (body.trim_end(), ""),
            };
            let known = opts
                .as_ref()
                .is_some_and(|o| o.iter().any(|(x, _)| *x == k));
            let problem = if !known {
                Some(format!("unexpected property '{k}'"))
            } else if data.opts.contains_key(k) {
                Some("duplicate attribute".to_string())
            } else {
                None
            };
            if let Some(p) = problem {
                warnings.push(format!(
                    "{at} (section '{realm}') - unable to parse value of '{k}': {p}"
                ));
                continue;
            }
            let v = if is_boolean(k) && v.is_empty() {
                "1"
            } else {
                v
            };
            data.opts.insert(k.to_string(), v.to_string());
        }
        if skip.is_none() {
            if let Err(e) = check_config(&kind, &data.opts, true, version) {
                warnings.push(format!("{at} (skip section '{realm}'): {}", e.trim_end()));
                skip = Some(e);
            }
        }
        if skip.is_none() {
            realms.retain(|(r, _)| *r != realm);
            realms.push((realm, data));
        }
    }
    // One default realm only: the first one read keeps it.
    let mut seen_default = false;
    for (_, d) in realms.iter_mut() {
        if d.opts.get("default").is_some_and(|v| ids::truthy(v)) {
            if seen_default {
                d.opts.remove("default");
            }
            seen_default = true;
        }
        if let Some(c) = d.opts.get_mut("comment") {
            *c = decode_text(c);
        }
    }
    for (realm, comment) in [
        ("pam", "Linux PAM standard authentication"),
        ("pve", "Proxmox VE authentication server"),
    ] {
        if !realms.iter().any(|(r, _)| r == realm) {
            realms.push((realm.to_string(), Realm::default()));
        }
        let Some((_, d)) = realms.iter_mut().find(|(r, _)| r == realm) else {
            continue;
        };
        d.kind = realm.to_string();
        if !d.opts.get("comment").is_some_and(|c| ids::truthy(c)) {
            d.opts.insert("comment".into(), comment.into());
        }
    }
    (realms, warnings)
}

/// `domains.cfg` as PVE writes it.
pub fn write(realms: &[(String, Realm)], version: PveVersion) -> String {
    let mut out = String::new();
    for (realm, d) in realms {
        out.push_str(&format!("{}: {realm}\n", d.kind));
        let opts = options(&d.kind, version).unwrap_or_default();
        let line = |out: &mut String, k: &str| {
            let Some(v) = d.opts.get(k) else { return };
            if is_boolean(k) {
                out.push_str(&format!("\t{k} {}\n", u8::from(ids::truthy(v))));
            } else if !v.is_empty() {
                out.push_str(&format!("\t{k} {v}\n"));
            }
        };
        if let Some(c) = d.opts.get("comment").filter(|c| ids::truthy(c)) {
            out.push_str(&format!("\tcomment {}\n", encode_text(c)));
        }
        for (k, _) in opts
            .iter()
            .filter(|(k, n)| *n == Need::Required && *k != "comment")
        {
            line(&mut out, k);
        }
        for (k, _) in opts
            .iter()
            .filter(|(k, n)| *n != Need::Required && *k != "comment")
        {
            line(&mut out, k);
        }
        out.push('\n');
    }
    out
}

/// What a new node's installer writes.
pub const DEFAULT: &str = "pam: pam\n\tcomment Linux PAM standard authentication\n\npve: pve\n\tcomment Proxmox VE authentication server\n\n";

/// `sha1_hex` of the file as read: the `digest` PVE hands out and checks.
pub fn digest(raw: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, raw);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: PveVersion = PveVersion::V9_1;

    #[test]
    fn round_trip_in_pve_order() {
        let text = "ldap: ld1\n\tuser_attr uid\n\tverify 1\n\tcomment a:b\n\tserver1 ldap.example.com\n\tbase_dn dc=x\n\n";
        let (realms, warnings) = parse(text, V);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            realms.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
            ["ld1", "pam", "pve"]
        );
        assert_eq!(
            write(&realms[..1], V),
            "ldap: ld1\n\tcomment a%3Ab\n\tbase_dn dc=x\n\tserver1 ldap.example.com\n\tuser_attr uid\n\tverify 1\n\n"
        );
    }

    #[test]
    fn bad_sections_are_skipped_as_pve_does() {
        let text = "ldap: ld1\n\tserver1 x\n\nfoo: bar\n\tx 1\n\nopenid: oi\n\tissuer-url u\n\tclient-id c\n\tserver1 x\n\npve: pve\n\tdefault 1\n\npam: pam\n\tdefault 1\n";
        let (realms, warnings) = parse(text, V);
        let names: Vec<&str> = realms.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(names, ["oi", "pve", "pam"]);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert_eq!(realms[1].1.opts["default"], "1");
        assert!(!realms[2].1.opts.contains_key("default"), "one default");
        assert_eq!(
            realms[1].1.opts["comment"],
            "Proxmox VE authentication server"
        );
    }

    #[test]
    fn option_sets() {
        let p = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            check_config("ldap", &p(&[("server1", "x"), ("base_dn", "x")]), true, V).unwrap_err(),
            "missing value for required option 'user_attr'\n"
        );
        assert_eq!(
            check_config("ad", &p(&[("issuer-url", "x")]), false, V).unwrap_err(),
            "unexpected property 'issuer-url'\n"
        );
        assert_eq!(
            check_config("openid", &p(&[("username-claim", "sub")]), false, V).unwrap_err(),
            "can't change value of fixed parameter 'username-claim'\n"
        );
        assert!(check_config("openid", &p(&[("audiences", "a")]), false, V).is_ok());
        assert!(
            check_config("openid", &p(&[("audiences", "a")]), false, PveVersion::V9_0).is_err()
        );
    }

    #[test]
    fn digest_is_sha1() {
        assert_eq!(digest(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }
}
