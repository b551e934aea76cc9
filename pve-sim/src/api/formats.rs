//! The schema formats of the access API (`format => 'pve-userid'` etc.) and
//! PVE's rule for `-list` and `-opt` variants (pve-common `check_format`):
//! a list is split with `split_list` and every element verified (empty lists
//! pass); an `-opt` value is only verified when it is Perl-true.
//!
//! Errors are the verifier's `die` texts, with their trailing newline.

use super::schema::FormatContext;
use crate::ids;
use crate::inventory;

/// Verifies `value` against `format`; `Err` holds PVE's message.
pub fn check_format(
    format: &str,
    value: &str,
    path: &str,
    ctx: &FormatContext,
) -> Result<(), String> {
    let (name, kind) = if let Some(n) = format.strip_suffix("-list") {
        (n, Kind::List)
    } else if let Some(n) = format.strip_suffix("-opt") {
        (n, Kind::Opt)
    } else {
        (format, Kind::One)
    };
    match kind {
        Kind::List => {
            for item in ids::split_list(value) {
                verify(name, &item, path, ctx)?;
            }
            Ok(())
        }
        Kind::Opt if !ids::truthy(value) => Ok(()),
        _ => verify(name, value, path, ctx),
    }
}

enum Kind {
    One,
    List,
    Opt,
}

fn verify(name: &str, value: &str, path: &str, ctx: &FormatContext) -> Result<(), String> {
    match name {
        "pve-userid" => ids::verify_userid(value).map(|_| ()),
        "pve-realm" => ids::verify_realm(value),
        "pve-groupid" => ids::verify_groupid(value, ctx.version),
        "pve-roleid" => ids::verify_roleid(value),
        "pve-tokenid" => ids::verify_tokenid_full(value).map(|_| ()),
        "pve-poolid" => ids::verify_poolid(value),
        "pve-vmid" if inventory::is_vmid(value) => Ok(()),
        "pve-vmid" => Err("value does not look like a valid VM ID\n".to_string()),
        "pve-storage-id" if inventory::is_storage_id(value) => Ok(()),
        "pve-storage-id" => Err(format!(
            "storage ID '{value}' contains illegal characters\n"
        )),
        "pve-priv" => {
            if ctx.privileges.contains(value) {
                Ok(())
            } else {
                Err(format!("invalid privilege '{value}'\n"))
            }
        }
        "email" => verify_email(value),
        "pve-configid" => verify_configid(value),
        "pve-calendar-event" => crate::calendar::verify(value),
        "pve-node" => verify_node(value),
        "pve-task-status-type" => verify_task_status_type(value),
        "address" => verify_address(value),
        "ldap-simple-attr" => {
            if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric()) {
                Ok(())
            } else {
                Err(format!(
                    "value '{value}' does not look like a simple ldap attribute name\n"
                ))
            }
        }
        "realm-sync-options" => property_string(value, SYNC_OPTIONS, path).map(|_| ()),
        "pve-tfa-config" => {
            let parsed = property_string(value, TFA_OPTIONS, path)?;
            if parsed.iter().any(|(k, _)| k == "type") {
                Ok(())
            } else {
                Err(format!(
                    "format error\n{path}.type: property is missing and it is not optional\n"
                ))
            }
        }
        other => Err(format!("undefined format '{other}'\n")),
    }
}

/// `pve_verify_node_name`.
fn verify_node(value: &str) -> Result<(), String> {
    if ids::is_node_name(value) {
        Ok(())
    } else {
        Err("value does not look like a valid node name\n".to_string())
    }
}

/// `verify_task_status_type`: `ok`, `error`, `warning` or `unknown`, in
/// any case.
fn verify_task_status_type(value: &str) -> Result<(), String> {
    let lower = value.to_ascii_lowercase();
    if matches!(lower.as_str(), "ok" | "error" | "warning" | "unknown") {
        Ok(())
    } else {
        Err(format!("invalid status '{value}'\n"))
    }
}

/// `pve_verify_email` with pve-common's `EMAIL_RE`:
/// `[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*`.
pub fn verify_email(value: &str) -> Result<(), String> {
    let local_ok = |s: &str| {
        s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '+' | '-' | '~'))
        })
    };
    let domain_ok = |s: &str| {
        s.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    };
    // Perl's `$` also accepts a final newline.
    let v = value.strip_suffix('\n').unwrap_or(value);
    match v.rsplit_once('@') {
        Some((local, domain)) if local_ok(local) && domain_ok(domain) => Ok(()),
        _ => Err("value does not look like a valid email address\n".to_string()),
    }
}

/// The keys of a property-string format and the values each takes.
pub type PropertyFormat = [(&'static str, Sub)];

#[derive(Clone, Copy)]
pub enum Sub {
    Text,
    Boolean,
    Enum(&'static [&'static str]),
    /// The realm sync's `remove-vanished`: `none` or `acl;properties;entry` items.
    Vanished,
}

/// `realm-sync-options` (AC `Auth/Plugin.pm`).
pub const SYNC_OPTIONS: &PropertyFormat = &[
    ("enable-new", Sub::Boolean),
    ("full", Sub::Boolean),
    ("purge", Sub::Boolean),
    ("remove-vanished", Sub::Vanished),
    ("scope", Sub::Enum(&["users", "groups", "both"])),
];

/// `pve-tfa-config` (AC `Auth/Plugin.pm`); the numbers are not range-checked.
pub const TFA_OPTIONS: &PropertyFormat = &[
    ("type", Sub::Enum(&["yubico", "oath"])),
    ("id", Sub::Text),
    ("key", Sub::Text),
    ("url", Sub::Text),
    ("digits", Sub::Text),
    ("step", Sub::Text),
];

/// `parse_property_string` of a format without a default key: the pairs,
/// booleans as 1/0 (`parse_boolean`). Errors of single values name them
/// as `<path>.<key>` (`check_object`'s "format error").
pub fn property_string(
    value: &str,
    format: &PropertyFormat,
    path: &str,
) -> Result<Vec<(String, String)>, String> {
    let wrong = |k: &str, msg: String| Err(format!("format error\n{path}.{k}: {msg}\n"));
    let mut out: Vec<(String, String)> = Vec::new();
    for part in value.split(',') {
        if part.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = part
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        else {
            return Err(if part.contains('=') {
                "missing key in comma-separated list property\n".into()
            } else {
                "value without key, but schema does not define a default key\n".into()
            });
        };
        if out.iter().any(|(x, _)| x == k) {
            return Err(format!(
                "duplicate key in comma-separated list property: {k}\n"
            ));
        }
        // PVE's parser autovivifies an unknown key's schema, so it is
        // refused as an additional property.
        let Some((_, sub)) = format.iter().find(|(x, _)| *x == k) else {
            return wrong(
                k,
                "property is not defined in schema and the schema does not allow additional properties".into(),
            );
        };
        let v = match sub {
            Sub::Boolean => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => "1".to_string(),
                "0" | "false" | "no" | "off" => "0".to_string(),
                _ => return wrong(k, format!("type check ('boolean') failed - got '{v}'")),
            },
            Sub::Enum(values) if !values.contains(&v) => {
                return wrong(
                    k,
                    format!(
                        "value '{v}' does not have a value in the enumeration '{}'",
                        values.join(", ")
                    ),
                )
            }
            Sub::Vanished
                if v != "none"
                    && !v
                        .split(';')
                        .all(|x| matches!(x, "acl" | "properties" | "entry")) =>
            {
                return wrong(k, "value does not match the regex pattern".into())
            }
            _ => v.to_string(),
        };
        out.push((k.to_string(), v));
    }
    Ok(out)
}

/// `pve_verify_address`: an IP address or a DNS name.
fn verify_address(value: &str) -> Result<(), String> {
    let label = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let dns = value.split('.').all(label);
    let ip = value.parse::<std::net::IpAddr>().is_ok();
    if dns || ip {
        Ok(())
    } else {
        Err(format!(
            "value does not look like a valid address: {value}\n"
        ))
    }
}

/// `pve_verify_configid`: `^[a-z][a-z0-9_-]+$`i.
fn verify_configid(value: &str) -> Result<(), String> {
    let v = value.strip_suffix('\n').unwrap_or(value);
    let mut chars = v.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && v.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("invalid configuration ID '{value}'\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn check(f: &str, v: &str) -> Result<(), String> {
        let privs: BTreeSet<String> = ["VM.Audit".to_string()].into();
        check_format(
            f,
            v,
            "x",
            &FormatContext {
                privileges: &privs,
                version: crate::model::PveVersion::V9_1,
            },
        )
    }

    #[test]
    fn lists_and_opt() {
        assert!(check("pve-priv-list", "VM.Audit, VM.Audit;VM.Audit").is_ok());
        assert!(check("pve-priv-list", "").is_ok());
        assert_eq!(
            check("pve-priv-list", "VM.Audit,Foo").unwrap_err(),
            "invalid privilege 'Foo'\n"
        );
        assert!(check("email-opt", "").is_ok());
        assert!(check("email-opt", "a.b+c@example.com").is_ok());
        assert!(check("email-opt", "a@b@c").is_err());
        assert!(check("email-opt", "@b").is_err());
        assert_eq!(
            check("pve-configid-list", "comment,1x").unwrap_err(),
            "invalid configuration ID '1x'\n"
        );
        assert!(check("pve-configid-list", "comment").is_ok());
        assert!(check("pve-vmid-list", "100,999999999").is_ok());
        assert_eq!(
            check("pve-vmid-list", "100,99").unwrap_err(),
            "value does not look like a valid VM ID\n"
        );
        assert_eq!(
            check("pve-storage-id-list", "local,local_").unwrap_err(),
            "storage ID 'local_' contains illegal characters\n"
        );
    }
}
