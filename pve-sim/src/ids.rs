//! PVE's identifier rules (AC `Auth/Plugin.pm`, `AccessControl.pm`) with PVE's own error texts.
//!
//! Verifier errors end with `\n` as PVE's `die` messages do, because the
//! schema layer wraps them verbatim (`invalid format - <text>`).

use crate::model::PveVersion;

/// `[A-Za-z][A-Za-z0-9.\-_]+`: realms and token sub-ids.
pub fn is_realm(r: &str) -> bool {
    let mut chars = r.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && r.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?`: node names (also in UPIDs).
pub fn is_node_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && n.ends_with(|c: char| c.is_ascii_alphanumeric())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `[^\s:/]+`: the name part of a userid. Perl's `\s` is Unicode white
/// space on decoded (request) strings, ASCII white space on the bytes of
/// user.cfg (`\xA0` is then a letter like any other).
fn is_user_name(n: &str, unicode: bool) -> bool {
    let space = |c: char| {
        if unicode {
            c.is_whitespace()
        } else {
            c.is_ascii_whitespace() || c == '\x0b'
        }
    };
    !n.is_empty() && !n.chars().any(|c| space(c) || c == ':' || c == '/')
}

/// `[A-Za-z0-9.\-_]+`: group and role ids.
fn is_simple_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `[[:alnum:].\-_]+` (Unicode-aware, as Perl's on decoded input).
fn is_alnum_ext(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn is_alnum(s: &str) -> bool {
    !s.is_empty() && s.chars().all(char::is_alphanumeric)
}

/// Perl truthiness of a string: `""` and `"0"` are false.
pub fn truthy(s: &str) -> bool {
    !s.is_empty() && s != "0"
}

/// `verify_username`: returns (userid, name, realm).
pub fn verify_userid(u: &str) -> Result<(String, String, String), String> {
    verify_userid_in(u, true)
}

/// `verify_username` on a user id read from user.cfg (bytes, not decoded).
pub fn verify_cfg_userid(u: &str) -> Result<(String, String, String), String> {
    verify_userid_in(u, false)
}

fn verify_userid_in(u: &str, unicode: bool) -> Result<(String, String, String), String> {
    let u = if truthy(u) { u } else { "" };
    let len = u.chars().count();
    if len < 3 {
        return Err(format!("user name '{u}' is too short\n"));
    }
    if len > 64 {
        return Err(format!("user name '{u}' is too long ({len} > 64)\n"));
    }
    if let Some((name, realm)) = u.rsplit_once('@') {
        if is_user_name(name, unicode) && is_realm(realm) {
            return Ok((u.to_string(), name.to_string(), realm.to_string()));
        }
    }
    Err(format!(
        "value '{u}' does not look like a valid user name\n"
    ))
}

pub fn verify_realm(r: &str) -> Result<(), String> {
    if is_realm(r) {
        Ok(())
    } else {
        Err("value does not look like a valid realm\n".into())
    }
}

/// Group ids; before access-control 9.0.5 the character class was built
/// from a stringified `qr//`, so `(?^:)` were accepted too.
pub fn verify_groupid(g: &str, version: PveVersion) -> Result<(), String> {
    let regex_bug = version < PveVersion::V9_1;
    let ok = !g.is_empty()
        && g.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '.' | '-' | '_')
                || (regex_bug && matches!(c, '(' | '?' | '^' | ':' | ')'))
        });
    if ok {
        Ok(())
    } else {
        Err(format!("group name '{g}' contains invalid characters\n"))
    }
}

pub fn verify_roleid(r: &str) -> Result<(), String> {
    if is_simple_id(r) {
        Ok(())
    } else {
        Err(format!("role name '{r}' contains invalid characters\n"))
    }
}

/// Pool ids: up to three `/`-separated levels (`verify_poolname`, which
/// counts the levels with Perl's `split`: trailing empty fields do not count).
pub fn verify_poolid(p: &str) -> Result<(), String> {
    let parts: Vec<&str> = p.split('/').collect();
    let levels = parts.len() - parts.iter().rev().take_while(|s| s.is_empty()).count();
    if levels > 3 {
        return Err(format!(
            "pool name '{p}' nested too deeply (max levels = 3)\n"
        ));
    }
    if parts.len() <= 3 && parts.iter().all(|s| is_simple_id(s)) {
        Ok(())
    } else {
        Err(format!("pool name '{p}' contains invalid characters\n"))
    }
}

fn split_full(t: &str, unicode: bool) -> Option<(String, String)> {
    let (user, token) = t.rsplit_once('!')?;
    let (name, realm) = user.rsplit_once('@')?;
    (is_user_name(name, unicode) && is_realm(realm) && is_realm(token))
        .then(|| (user.to_string(), token.to_string()))
}

/// `pve-tokenid`: returns (userid, token sub-id).
pub fn verify_tokenid_full(t: &str) -> Result<(String, String), String> {
    split_full(t, true).ok_or_else(|| format!("value '{t}' does not look like a valid token ID\n"))
}

/// `pve-tokenid` on a token id read from user.cfg or token.cfg (bytes).
pub fn verify_cfg_tokenid(t: &str) -> Result<(String, String), String> {
    split_full(t, false).ok_or_else(|| format!("value '{t}' does not look like a valid token ID\n"))
}

/// `split_tokenid`: returns (userid, token sub-id).
pub fn split_tokenid(t: &str) -> Result<(String, String), String> {
    split_full(t, true).ok_or_else(|| {
        format!("'{t}' is not a valid token ID - not able to split into user and token parts\n")
    })
}

/// `normalize_path` (AC `AccessControl.pm`), Perl truthiness included (`"0/"` → `/`).
pub fn normalize_path(p: &str) -> Option<String> {
    if !truthy(p) {
        return None;
    }
    let mut s = String::with_capacity(p.len() + 1);
    for c in p.chars() {
        if !(c == '/' && s.ends_with('/')) {
            s.push(c);
        }
    }
    if s.ends_with('/') {
        s.pop();
    }
    if !truthy(&s) {
        s = "/".into();
    }
    if !s.starts_with('/') {
        s.insert(0, '/');
    }
    s.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
        .then_some(s)
}

/// `check_path`: may an ACL be added on this (normalised) path in `version`?
pub fn check_path(path: &str, version: PveVersion) -> bool {
    if path == "/" {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let seg: Vec<&str> = rest.split('/').collect();
    let vmid = |s: &str| {
        s.len() >= 3
            && s.starts_with(|c: char| ('1'..='9').contains(&c))
            && s.chars().all(|c| c.is_ascii_digit())
    };
    let vlan = |s: &str| {
        (1..=4).contains(&s.len())
            && s.starts_with(|c: char| ('1'..='9').contains(&c))
            && s.chars().all(|c| c.is_ascii_digit())
    };
    let at_least_9_0 = version >= PveVersion::V9_0;
    let at_least_9_1 = version >= PveVersion::V9_1;
    match seg.as_slice() {
        ["access"] | ["access", "groups"] | ["access", "realm"] => true,
        ["access", "groups", g] | ["access", "realm", g] => is_alnum_ext(g),
        ["nodes"] | ["pool"] | ["sdn"] | ["storage"] | ["vms"] | ["mapping"] => true,
        ["nodes", n] | ["storage", n] | ["mapping", n] => is_alnum_ext(n),
        ["mapping", a, b] => is_alnum_ext(a) && is_alnum_ext(b),
        ["vms", id] => vmid(id),
        ["pool", p @ ..] => p.len() <= 3 && p.iter().all(|s| is_simple_id(s)),
        ["sdn", "controllers"] | ["sdn", "dns"] | ["sdn", "ipams"] | ["sdn", "zones"] => true,
        ["sdn", "controllers", c] => {
            !c.is_empty()
                && c.chars()
                    .all(|x| x.is_alphanumeric() || matches!(x, '_' | '-'))
        }
        ["sdn", "dns", x] | ["sdn", "ipams", x] => is_alnum(x),
        ["sdn", "fabrics"] => at_least_9_0,
        ["sdn", "fabrics", x] => at_least_9_0 && is_alnum(x),
        ["sdn", "prefix-lists"] | ["sdn", "route-maps"] => at_least_9_1,
        ["sdn", "prefix-lists", x] | ["sdn", "route-maps", x] => at_least_9_1 && is_alnum(x),
        ["sdn", "zones", z] => is_alnum_ext(z),
        ["sdn", "zones", z, v] => is_alnum_ext(z) && is_alnum_ext(v),
        ["sdn", "zones", z, v, t] => is_alnum_ext(z) && is_alnum_ext(v) && vlan(t),
        _ => false,
    }
}

/// `split_list`: a list string split on `,` `;` or whitespace (on NUL if it
/// has one); empty items dropped.
pub fn split_list(s: &str) -> Vec<String> {
    if s.contains('\0') {
        return s
            .split('\0')
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect();
    }
    s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userids() {
        assert_eq!(
            verify_userid("a@b@pve").unwrap(),
            ("a@b@pve".into(), "a@b".into(), "pve".into())
        );
        assert_eq!(
            verify_userid("ab").unwrap_err(),
            "user name 'ab' is too short\n"
        );
        assert_eq!(
            verify_userid("0").unwrap_err(),
            "user name '' is too short\n"
        );
        assert!(verify_userid(&format!("{}@pve", "x".repeat(61)))
            .unwrap_err()
            .contains("too long (65 > 64)"));
        assert!(verify_userid("joe@p")
            .unwrap_err()
            .contains("does not look like"));
        assert!(verify_userid("jo e@pve").is_err());
        assert!(verify_userid("jöe!x@pve").is_ok());
    }

    #[test]
    fn tokens_and_ids() {
        assert_eq!(
            verify_tokenid_full("joe@pve!ci").unwrap(),
            ("joe@pve".into(), "ci".into())
        );
        assert!(verify_tokenid_full("joe@pve!1x").is_err());
        assert!(split_tokenid("joe@pve")
            .unwrap_err()
            .contains("not able to split"));
        assert!(verify_groupid("a-b.c_d", PveVersion::V9_1).is_ok());
        assert!(verify_groupid("a(b)", PveVersion::V9_1).is_err());
        assert!(verify_groupid("a(b)", PveVersion::V8_4).is_ok());
        assert_eq!(
            verify_groupid("a b", PveVersion::V9_1).unwrap_err(),
            "group name 'a b' contains invalid characters\n"
        );
        assert!(verify_poolid("a/b/c").is_ok());
        assert_eq!(
            verify_poolid("a/b/c/d").unwrap_err(),
            "pool name 'a/b/c/d' nested too deeply (max levels = 3)\n"
        );
        assert!(verify_poolid("a/b/")
            .unwrap_err()
            .contains("invalid characters"));
    }

    #[test]
    fn paths() {
        assert_eq!(normalize_path("vms//100/").as_deref(), Some("/vms/100"));
        assert_eq!(normalize_path("storage").as_deref(), Some("/storage"));
        assert_eq!(normalize_path("/").as_deref(), Some("/"));
        assert_eq!(normalize_path("0/").as_deref(), Some("/"));
        assert_eq!(normalize_path(""), None);
        assert_eq!(normalize_path("/vms/1 00"), None);
        let v = PveVersion::V9_1;
        for ok in [
            "/",
            "/vms/100",
            "/access/realm/pve",
            "/pool/a/b/c",
            "/sdn/zones/z/v/4094",
            "/mapping/pci/gpu",
            "/sdn/route-maps/x",
            "/nodes/pve1",
        ] {
            assert!(check_path(ok, v), "{ok}");
        }
        for bad in [
            "/users",
            "/vms/99",
            "/vms/0100",
            "/pool/a/b/c/d",
            "/access/realms/x",
            "/sdn/zones/z/v/0",
        ] {
            assert!(!check_path(bad, v), "{bad}");
        }
        assert!(!check_path("/sdn/fabrics/f", PveVersion::V8_4));
        assert!(check_path("/sdn/fabrics/f", PveVersion::V9_0));
        assert!(!check_path("/sdn/prefix-lists/p", PveVersion::V9_0));
    }

    #[test]
    fn lists() {
        assert_eq!(split_list("a, b;c  d"), vec!["a", "b", "c", "d"]);
        assert_eq!(split_list("a b\0c"), vec!["a b", "c"]);
        assert!(split_list("").is_empty());
    }
}
