//! Permission checks of API methods (`check_api2_permissions` and its
//! primitives, AC `RPCEnvironment.pm`). The method's
//! `permissions` object comes straight from the API schema
//! (`{"user":"all"}`, `{"check":["perm","/access",["Sys.Modify"]]}`, ...)
//! and is interpreted here, with PVE's error texts.
//!
//! A [`Checker`] answers for one caller against one snapshot of `user.cfg`;
//! effective privileges come from [`crate::perms::permissions`].

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::errors::{ApiError, ApiResult};
use super::request::RawParams;
use super::schema::perl_string;
use crate::ids;
use crate::model::UserCfg;
use crate::perms;

/// Privileges (name -> propagate flag) of the caller on one path.
pub type PrivMap = BTreeMap<String, bool>;

/// Permission checks for one caller (user or full token id).
pub struct Checker<'a> {
    pub cfg: &'a UserCfg,
    pub authid: &'a str,
    cache: RefCell<HashMap<String, PrivMap>>,
}

impl<'a> Checker<'a> {
    pub fn new(cfg: &'a UserCfg, authid: &'a str) -> Checker<'a> {
        Checker {
            cfg,
            authid,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// `$rpcenv->permissions($authid, $path)`.
    pub fn permissions(&self, path: &str) -> PrivMap {
        if let Some(p) = self.cache.borrow().get(path) {
            return p.clone();
        }
        let p = perms::permissions(self.cfg, self.authid, path);
        self.cache.borrow_mut().insert(path.to_string(), p.clone());
        p
    }

    /// Whether every privilege is held on `path`.
    pub fn has_all(&self, path: &str, privs: &[&str]) -> bool {
        let p = self.permissions(path);
        privs.iter().all(|x| p.contains_key(*x))
    }

    /// Whether any of the privileges is held on `path`.
    pub fn has_any(&self, path: &str, privs: &[&str]) -> bool {
        let p = self.permissions(path);
        privs.iter().any(|x| p.contains_key(*x))
    }

    /// `check`: the first missing privilege gives `E403(<path>, <priv>)`.
    pub fn check(&self, path: &str, privs: &[&str]) -> ApiResult<()> {
        let p = self.permissions(path);
        match privs.iter().find(|x| !p.contains_key(**x)) {
            Some(missing) => Err(ApiError::perm_path(path, missing)),
            None => Ok(()),
        }
    }

    /// `check_any`: `E403(<path>, <p1|p2|..>)` when none is held.
    pub fn check_any(&self, path: &str, privs: &[&str]) -> ApiResult<()> {
        if self.has_any(path, privs) {
            Ok(())
        } else {
            Err(ApiError::perm_path(path, &privs.join("|")))
        }
    }

    /// The privileges `check_perm_modify` accepts on a normalised path:
    /// `Permissions.Modify`, or the allocation privilege of a storage, VM or
    /// pool path.
    pub fn perm_modify_privs(path: &str) -> Vec<&'static str> {
        let mut privs = vec!["Permissions.Modify"];
        let below = |prefix: &str| path.strip_prefix(prefix).is_some_and(|r| !r.is_empty());
        if below("/storage/") {
            privs.push("Datastore.Allocate");
        } else if below("/vms/") {
            privs.push("VM.Allocate");
        } else if below("/pool/") {
            privs.push("Pool.Allocate");
        }
        privs
    }

    /// `check_perm_modify(path, noerr)`.
    pub fn check_perm_modify(&self, path: &str, noerr: bool) -> ApiResult<bool> {
        let privs = Self::perm_modify_privs(path);
        self.result(self.check_any(path, &privs), noerr)
    }

    fn result(&self, r: ApiResult<()>, noerr: bool) -> ApiResult<bool> {
        match r {
            Ok(()) => Ok(true),
            Err(e) if noerr && e.status == 403 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Groups on whose `/access/groups/<g>` the caller holds any of `privs`.
    pub fn filter_groups(&self, privs: &[&str]) -> Vec<String> {
        self.cfg
            .groups
            .keys()
            .filter(|g| self.has_any(&format!("/access/groups/{g}"), privs))
            .cloned()
            .collect()
    }

    /// Users that are members of any of `groups`.
    pub fn group_members(&self, groups: &[String]) -> std::collections::BTreeSet<String> {
        groups
            .iter()
            .filter_map(|g| self.cfg.groups.get(g))
            .flat_map(|g| g.members.iter().cloned())
            .collect()
    }

    /// `check_user_exist($userid, $noerr)`: format errors and a missing user
    /// die (500) unless `noerr`.
    fn user_exists(&self, userid: &str, noerr: bool) -> ApiResult<bool> {
        match ids::verify_userid(userid) {
            Ok((uid, _, _)) if self.cfg.users.contains_key(&uid) => Ok(true),
            Ok((uid, _, _)) if !noerr => Err(ApiError::die(format!("no such user ('{uid}')"))),
            Err(msg) if !noerr => Err(ApiError::die(msg)),
            _ => Ok(false),
        }
    }

    /// `exec_api2_perm_check`: one check expression of the schema.
    pub fn exec(&self, check: &Value, params: &RawParams, noerr: bool) -> ApiResult<bool> {
        let items = check.as_array().cloned().unwrap_or_default();
        let test = items.first().and_then(Value::as_str).unwrap_or_default();
        let param = |name: &str| params.get(name).filter(|v| !v.is_null()).map(perl_string);
        match test {
            "and" => {
                for sub in &items[1..] {
                    self.exec(sub, params, false)?;
                }
                Ok(true)
            }
            "or" => {
                for sub in &items[1..] {
                    if self.exec(sub, params, true)? {
                        return Ok(true);
                    }
                }
                if noerr {
                    Ok(false)
                } else {
                    Err(ApiError::perm(None))
                }
            }
            "perm" => {
                let tmpl = items.get(1).and_then(Value::as_str).unwrap_or_default();
                let privs = str_list(items.get(2));
                let privs: Vec<&str> = privs.iter().map(String::as_str).collect();
                let any = option(&items[1..], "any").is_some_and(|v| super::schema::truthy(&v));
                if let Some(req) = option(&items[1..], "require_param") {
                    if param(&perl_string(&req)).is_none() {
                        return if noerr {
                            Ok(false)
                        } else {
                            Err(ApiError::perm(None))
                        };
                    }
                }
                let path = ids::normalize_path(&template_replace(tmpl, params)).unwrap_or_default();
                let r = if any {
                    self.check_any(&path, &privs)
                } else {
                    self.check(&path, &privs)
                };
                self.result(r, noerr)
            }
            "userid-group" => {
                let userid = param("userid").unwrap_or_default();
                let privs = str_list(items.get(1));
                let privs: Vec<&str> = privs.iter().map(String::as_str).collect();
                let groups_param = option(&items[1..], "groups_param").map(|v| perl_string(&v));
                let check_existing = groups_param.as_deref() != Some("create");
                if check_existing && !self.user_exists(&userid, noerr)? {
                    return Ok(false);
                }
                if self.has_any("/access/groups", &privs) {
                    return Ok(true);
                }
                let allowed = self.filter_groups(&privs);
                let joined = privs.join("|");
                if groups_param.is_some() {
                    let wanted = ids::split_list(&param("groups").unwrap_or_default());
                    if wanted.is_empty() {
                        return Err(ApiError::perm_path("/access/groups", &joined));
                    }
                    if let Some(g) = wanted.iter().find(|g| !allowed.contains(g)) {
                        return Err(ApiError::perm_path(&format!("/access/groups/{g}"), &joined));
                    }
                }
                if check_existing && !self.group_members(&allowed).contains(&userid) {
                    return if noerr {
                        Ok(false)
                    } else {
                        Err(ApiError::perm(None))
                    };
                }
                Ok(true)
            }
            "userid-param" => {
                let raw = param("userid").unwrap_or_default();
                let (userid, _, realm) = ids::verify_userid(&raw).map_err(ApiError::die)?;
                match items.get(1).and_then(Value::as_str) {
                    Some("self") => {
                        if !self.user_exists(&userid, noerr)? {
                            return Ok(false);
                        }
                        if self.authid == userid {
                            Ok(true)
                        } else if noerr {
                            Ok(false)
                        } else {
                            Err(ApiError::perm(None))
                        }
                    }
                    Some("Realm.AllocateUser") => {
                        let r =
                            self.check(&format!("/access/realm/{realm}"), &["Realm.AllocateUser"]);
                        self.result(r, noerr)
                    }
                    _ => Err(ApiError::die("unknown userid-param test")),
                }
            }
            "perm-modify" => {
                let tmpl = items.get(1).and_then(Value::as_str).unwrap_or_default();
                match ids::normalize_path(&template_replace(tmpl, params)) {
                    // the method itself answers the invalid path with a 400
                    None => Ok(false),
                    Some(path) => self.check_perm_modify(&path, noerr),
                }
            }
            _ => Err(ApiError::die("unknown permission test")),
        }
    }
}

/// `check_api2_permissions`: `Ok` when the caller may run the method.
pub fn check_api2_permissions(
    cfg: &UserCfg,
    perm: &Value,
    authid: Option<&str>,
    params: &RawParams,
) -> ApiResult<()> {
    let user = perm.get("user").and_then(Value::as_str);
    let Some(authid) = authid else {
        if user == Some("world") {
            return Ok(());
        }
        return Err(ApiError::perm(Some("user != null")));
    };
    if authid == "root@pam" {
        return Ok(());
    }
    if perm.is_null() {
        return Err(ApiError::perm(Some("user != root@pam")));
    }
    // Note: an authenticated call of a 'world' method (possible through
    // e.g. `/access/ticket/`, which is not exempt from authentication)
    // falls through to the plain 403, as in PVE.
    if user == Some("all") {
        return Ok(());
    }
    match perm.get("check") {
        Some(check) => Checker::new(cfg, authid)
            .exec(check, params, false)
            .map(|_| ()),
        None => Err(ApiError::perm(None)),
    }
}

/// The string list at `v` (`["User.Modify","Sys.Audit"]`).
fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(perl_string).collect())
        .unwrap_or_default()
}

/// The value of a trailing `key, value` option of a check expression.
fn option(items: &[Value], key: &str) -> Option<Value> {
    items
        .windows(2)
        .find(|w| w[0].as_str() == Some(key))
        .map(|w| w[1].clone())
}

/// `PVE::Tools::template_replace`: `{name}` becomes the parameter value, or
/// `-` when it is missing or Perl-false.
pub fn template_replace(tmpl: &str, params: &RawParams) -> String {
    let mut out = String::new();
    let mut rest = tmpl;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                let name = &rest[start + 1..start + end];
                match params.get(name) {
                    Some(v) if super::schema::truthy(v) => out.push_str(&perl_string(v)),
                    _ => out.push('-'),
                }
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates() {
        let mut p = RawParams::new();
        assert_eq!(template_replace("{path}", &p), "-");
        p.insert("path".into(), json!("/vms/100"));
        assert_eq!(template_replace("{path}", &p), "/vms/100");
        p.insert("realm".into(), json!("0"));
        assert_eq!(
            template_replace("/access/realm/{realm}", &p),
            "/access/realm/-"
        );
    }

    #[test]
    fn perm_modify_privileges() {
        assert_eq!(
            Checker::perm_modify_privs("/vms/100"),
            ["Permissions.Modify", "VM.Allocate"]
        );
        assert_eq!(Checker::perm_modify_privs("/vms"), ["Permissions.Modify"]);
        assert_eq!(
            Checker::perm_modify_privs("/storage/local"),
            ["Permissions.Modify", "Datastore.Allocate"]
        );
        assert_eq!(
            Checker::perm_modify_privs("/pool/a/b"),
            ["Permissions.Modify", "Pool.Allocate"]
        );
    }
}
