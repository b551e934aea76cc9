//! Identifiers of PVE access control, checked with PVE's own rules before any
//! request is made: user ids (`name@realm`), API token ids (`user@realm!name`
//! or a bare name with its owner), group and role ids, ACL paths (normalised
//! and checked as PVE's `normalize_path`/`check_path` do) and the list strings
//! `pveum` accepts (`a,b;c d`).
//!
//! Error texts start with PVE's own message, so a user sees what the server
//! would say, followed by a hint at the expected form.
//!
//! Written by hand instead of with `regex`: every rule is a simple character
//! class, and the module binaries must stay small.

use std::fmt;

/// The 17 built-in ("special") roles PVE creates itself; identical in PVE 8
/// and 9. They cannot be changed or deleted through the API.
pub const BUILTIN_ROLES: [&str; 17] = [
    "Administrator",
    "NoAccess",
    "PVEAdmin",
    "PVEAuditor",
    "PVEDatastoreAdmin",
    "PVEDatastoreUser",
    "PVEMappingAdmin",
    "PVEMappingUser",
    "PVEPoolAdmin",
    "PVEPoolUser",
    "PVESDNAdmin",
    "PVESDNUser",
    "PVESysAdmin",
    "PVETemplateUser",
    "PVEUserAdmin",
    "PVEVMAdmin",
    "PVEVMUser",
];

const USERID_HINT: &str = "expected the form name@realm, such as joe@pve";
const TOKEN_NAME_RULE: &str =
    "a token name is a letter followed by at least one letter, digit, '.', '-' or '_'";

/// `[A-Za-z0-9.\-_]`: the characters of realms (after the first), token
/// names, group and role ids.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// PVE's `realm_regex` `[A-Za-z][A-Za-z0-9.\-_]+`: at least two characters,
/// starting with a letter. Token names follow the same rule.
pub fn valid_realm(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    let rest = chars.as_str();
    !rest.is_empty() && rest.chars().all(is_id_char)
}

/// PVE's `user_regex` `[^\s:/]+` (Perl's `\s` on decoded text is Unicode
/// White_Space, as is `char::is_whitespace`).
fn valid_user_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_whitespace() && c != ':' && c != '/')
}

/// Splits and checks a user id `name@realm` as PVE's `verify_username` does:
/// 3 to 64 characters, the realm after the last `@` (`a@b@pve` is the user
/// `a@b` of realm `pve`). Returns `(name, realm)`.
///
/// Characters beyond U+00FF are refused, although PVE accepts them: it
/// writes `user.cfg` as Latin-1 and reads it back so, and a character
/// beyond makes Perl write the whole file as UTF-8 instead. Such a user
/// then cannot be found by its id, and every other non-ASCII user id in the
/// file comes back garbled too (measured on PVE 8.4 and 9.1).
pub fn parse_userid(userid: &str) -> Result<(String, String), String> {
    if let Some(c) = userid.chars().find(|c| u32::from(*c) > 0xFF) {
        return Err(format!(
            "user name '{userid}' has the character '{c}' (U+{:04X}), which PVE cannot keep: it stores user ids in Latin-1, where characters beyond U+00FF come back garbled, and with them every other non-ASCII user id; use only characters up to U+00FF ('ÿ')",
            u32::from(c)
        ));
    }
    let len = userid.chars().count();
    if len < 3 {
        return Err(format!("user name '{userid}' is too short - {USERID_HINT}"));
    }
    if len > 64 {
        return Err(format!(
            "user name '{userid}' is too long ({len} > 64) - {USERID_HINT}"
        ));
    }
    let invalid = || {
        let hint = if !userid.contains('@') && valid_user_name(userid) {
            format!("the realm is missing: {USERID_HINT} (e.g. '{userid}@pve')")
        } else {
            USERID_HINT.to_string()
        };
        format!("value '{userid}' does not look like a valid user name - {hint}")
    };
    let (name, realm) = userid.rsplit_once('@').ok_or_else(invalid)?;
    if valid_user_name(name) && valid_realm(realm) {
        Ok((name.to_string(), realm.to_string()))
    } else {
        Err(invalid())
    }
}

/// Whether `name` is a valid token name (PVE's `token-subid`, the same rule
/// as a realm).
pub fn valid_token_name(name: &str) -> bool {
    valid_realm(name)
}

/// An API token id: the owner's user id and the token's own name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId {
    pub userid: String,
    pub name: String,
}

impl TokenId {
    /// The full id `user@realm!name`, as PVE names the token in ACLs and
    /// authentication.
    pub fn full(&self) -> String {
        format!("{}!{}", self.userid, self.name)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}!{}", self.userid, self.name)
    }
}

/// Parses a token id: either the full `user@realm!name` (then `owner` is not
/// used; callers that also have an owner compare it with `userid`), or a bare
/// token name whose owner is `owner`.
pub fn parse_tokenid(token: &str, owner: Option<&str>) -> Result<TokenId, String> {
    if let Some((userid, name)) = token.rsplit_once('!') {
        let bad = || {
            format!(
                "value '{token}' does not look like a valid token ID - expected user@realm!name, such as joe@pve!ci"
            )
        };
        if !valid_token_name(name) {
            return Err(format!("{} ({TOKEN_NAME_RULE})", bad()));
        }
        parse_userid(userid).map_err(|e| format!("{}: {e}", bad()))?;
        return Ok(TokenId {
            userid: userid.to_string(),
            name: name.to_string(),
        });
    }
    if !valid_token_name(token) {
        return Err(format!(
            "invalid token name '{token}': value does not match the regex pattern ({TOKEN_NAME_RULE}; or give the full id user@realm!name)"
        ));
    }
    let owner = owner.ok_or_else(|| {
        format!(
            "token '{token}' has no owner: give the user too, or the full id user@realm!{token}"
        )
    })?;
    parse_userid(owner).map_err(|e| format!("invalid owner of token '{token}': {e}"))?;
    Ok(TokenId {
        userid: owner.to_string(),
        name: token.to_string(),
    })
}

/// PVE's `pve-groupid` rule `^[A-Za-z0-9.\-_]+$`.
pub fn valid_groupid(groupid: &str) -> bool {
    !groupid.is_empty() && groupid.chars().all(is_id_char)
}

/// [`valid_groupid`] with PVE's error text.
pub fn verify_groupid(groupid: &str) -> Result<(), String> {
    if valid_groupid(groupid) {
        Ok(())
    } else {
        Err(format!(
            "group name '{groupid}' contains invalid characters (allowed: letters, digits, '.', '-', '_')"
        ))
    }
}

/// PVE's `pve-poolid` rule: one to three `/`-separated levels of
/// `[A-Za-z0-9.\-_]+` (nested pools since PVE 8.1).
pub fn verify_poolid(poolid: &str) -> Result<(), String> {
    let levels: Vec<&str> = poolid.split('/').collect();
    if levels.len() > 3 {
        return Err(format!(
            "pool name '{poolid}' is nested too deeply (PVE allows at most 3 levels, such as a/b/c)"
        ));
    }
    if levels
        .iter()
        .all(|l| !l.is_empty() && l.chars().all(is_id_char))
    {
        Ok(())
    } else {
        Err(format!(
            "pool name '{poolid}' contains invalid characters (allowed: letters, digits, '.', '-', '_', and '/' between levels)"
        ))
    }
}

/// PVE's `pve-storage-id` rule `^[a-z][a-z0-9\-_.]*[a-z0-9]$` (any case).
pub fn verify_storage_id(storeid: &str) -> Result<(), String> {
    let b = storeid.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphabetic()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && storeid.chars().all(is_id_char);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "storage ID '{storeid}' is not valid (a letter, then letters, digits, '-', '_' or '.', ending in a letter or digit)"
        ))
    }
}

/// PVE's `pve-vmid` range: 100 to 999999999.
pub fn verify_vmid(vmid: i64) -> Result<(), String> {
    if (100..=999_999_999).contains(&vmid) {
        Ok(())
    } else {
        Err(format!(
            "{vmid} is not a valid VM ID (PVE's guest ids go from 100 to 999999999)"
        ))
    }
}

/// PVE's `pve-roleid` rule `^[A-Za-z0-9.\-_]+$`.
pub fn valid_roleid(roleid: &str) -> bool {
    !roleid.is_empty() && roleid.chars().all(is_id_char)
}

/// [`valid_roleid`] with PVE's error text.
pub fn verify_roleid(roleid: &str) -> Result<(), String> {
    if valid_roleid(roleid) {
        Ok(())
    } else {
        Err(format!(
            "role name '{roleid}' contains invalid characters (allowed: letters, digits, '.', '-', '_')"
        ))
    }
}

/// Whether PVE refuses to create a role of this name: ids starting with `PVE`
/// (any case) are reserved for built-in roles. Existing custom roles with such
/// a name can still be updated and deleted.
pub fn reserved_roleid(roleid: &str) -> bool {
    roleid
        .as_bytes()
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"PVE"))
}

/// Whether `roleid` is one of PVE's built-in roles.
pub fn builtin_role(roleid: &str) -> bool {
    BUILTIN_ROLES.contains(&roleid)
}

/// Perl's `[[:alnum:]]` on decoded text (Unicode letters and digits).
fn is_alnum(c: char) -> bool {
    c.is_alphanumeric()
}

/// `[[:alnum:].\-_]`: the characters of most ACL path segments.
fn is_path_char(c: char) -> bool {
    is_alnum(c) || matches!(c, '.' | '-' | '_')
}

/// Normalises an ACL path as PVE's `normalize_path` does: runs of `/` become
/// one, one trailing `/` is dropped, a leading `/` is added, and the result
/// may only hold letters, digits, `.`, `-`, `_` and `/`. `None` when PVE would
/// call the path invalid.
///
/// PVE tests the input for Perl truth first, so `"0"` is invalid as well; and
/// it turns `"0/"` into `/` for the same reason, which would silently put an
/// entry on the root: that input is refused here instead.
pub fn normalize_acl_path(path: &str) -> Option<String> {
    if path.is_empty() || path == "0" {
        return None;
    }
    let mut out = String::with_capacity(path.len() + 1);
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    if out.ends_with('/') {
        out.pop();
    }
    if out == "0" {
        return None;
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    if out.chars().all(|c| c == '/' || is_path_char(c)) {
        Some(out)
    } else {
        None
    }
}

fn all_nonempty(s: &str, f: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(f)
}

/// `[1-9][0-9]{min,max}` (ASCII digits only, as in PVE's pattern).
fn number_without_leading_zero(s: &str, min_len: usize, max_len: usize) -> bool {
    let b = s.as_bytes();
    b.len() >= min_len
        && b.len() <= max_len
        && b.first().is_some_and(|c| (b'1'..=b'9').contains(c))
        && b.iter().all(u8::is_ascii_digit)
}

/// Whether PVE accepts an ACL entry on this (normalised) path: the allowed
/// paths of PVE 9.1's `check_path`, a superset of every earlier version's.
/// Paths only newer servers accept are named by [`acl_path_min_version`].
/// Deleting an entry works on any path that normalises.
pub fn check_acl_path(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let segs: Vec<&str> = rest.split('/').collect();
    let any = |s: &str| all_nonempty(s, is_path_char);
    let pool = |s: &str| all_nonempty(s, is_id_char);
    let alnum = |s: &str| all_nonempty(s, is_alnum);
    match segs.as_slice() {
        ["access"] | ["access", "groups"] | ["access", "realm"] => true,
        ["access", "groups" | "realm", id] => any(id),
        ["nodes"] | ["storage"] | ["vms"] | ["mapping"] | ["pool"] | ["sdn"] => true,
        ["nodes" | "storage", id] => any(id),
        ["vms", vmid] => number_without_leading_zero(vmid, 3, usize::MAX),
        ["mapping", id] => any(id),
        ["mapping", kind, id] => any(kind) && any(id),
        ["pool", pools @ ..] => pools.len() <= 3 && pools.iter().all(|p| pool(p)),
        ["sdn", "controllers"] => true,
        ["sdn", "controllers", id] => all_nonempty(id, |c| is_alnum(c) || c == '_' || c == '-'),
        ["sdn", "dns" | "fabrics" | "ipams" | "prefix-lists" | "route-maps"] => true,
        ["sdn", "dns" | "fabrics" | "ipams" | "prefix-lists" | "route-maps", id] => alnum(id),
        ["sdn", "zones"] => true,
        ["sdn", "zones", zone] => any(zone),
        ["sdn", "zones", zone, vnet] => any(zone) && any(vnet),
        ["sdn", "zones", zone, vnet, tag] => {
            any(zone) && any(vnet) && number_without_leading_zero(tag, 1, 4)
        }
        _ => false,
    }
}

/// The first PVE version whose `check_path` accepts this path, for the ACL
/// paths that only PVE 9 knows (`/sdn/fabrics` since 9.0, `/sdn/prefix-lists`
/// and `/sdn/route-maps` since 9.1); `None` for paths every supported version
/// accepts (or none does).
pub fn acl_path_min_version(path: &str) -> Option<&'static str> {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    };
    if !check_acl_path(path) {
        None
    } else if under("/sdn/fabrics") {
        Some("9.0")
    } else if under("/sdn/prefix-lists") || under("/sdn/route-maps") {
        Some("9.1")
    } else {
        None
    }
}

/// Splits a list string as PVE's `split_list` (and so `pveum ... --privs`)
/// does: on commas, semicolons and whitespace, or only on NUL when the text
/// holds one. Empty items are dropped.
pub fn split_list(text: &str) -> Vec<String> {
    if text.contains('\0') {
        return text
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
#[path = "tests/ids.rs"]
mod tests;
