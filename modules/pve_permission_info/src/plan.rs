//! The pure part of pve_permission_info: whose permissions to ask for, on
//! which paths (the fewest `GET /access/permissions` that give a correct
//! answer), and what is missing of the required privileges.

use std::collections::{BTreeMap, BTreeSet};

use ansible_module::{Params, Value};
use pve_api::access::Permissions;
use pve_api::ids;
use pve_api::privs::{self, Unknown};

/// Paths PVE always includes in the answer without `path` (when the
/// identity holds anything there). `/pool` is left out on purpose: PVE
/// before 8.0.6 reported `/pools` instead, so its absence proves nothing.
const ALWAYS_REPORTED: [&str; 7] = [
    "/",
    "/access",
    "/access/groups",
    "/nodes",
    "/sdn",
    "/storage",
    "/vms",
];

/// Whose permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The identity the module authenticates as.
    Caller,
    User(String),
    /// A full token id `user@realm!name`.
    Token(String),
}

impl Subject {
    /// The `userid` parameter of `GET /access/permissions`.
    pub fn authid(&self) -> Option<&str> {
        match self {
            Subject::Caller => None,
            Subject::User(id) | Subject::Token(id) => Some(id),
        }
    }
}

/// The task, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub subject: Subject,
    /// Normalised.
    pub path: Option<String>,
    /// Normalised path → required privileges (sorted, without duplicates).
    pub require: BTreeMap<String, Vec<String>>,
}

impl Query {
    pub fn from_params(p: &Params) -> Result<Query, String> {
        let subject = match (p.str("userid"), p.str("tokenid")) {
            (Some(_), Some(_)) => {
                return Err("parameters are mutually exclusive: userid|tokenid".into())
            }
            // PVE's `userid` parameter takes token ids too.
            (Some(id), None) if id.contains('!') => Subject::Token(token_id(id, "userid")?),
            (Some(id), None) => {
                ids::parse_userid(id).map_err(|e| format!("userid: {e}"))?;
                Subject::User(id.to_string())
            }
            (None, Some(id)) => Subject::Token(token_id(id, "tokenid")?),
            (None, None) => Subject::Caller,
        };
        let path = p
            .str("path")
            .map(|raw| normalize(raw, "path"))
            .transpose()?;
        let require = match p.get("require") {
            None => BTreeMap::new(),
            Some(v) => parse_require(v)?,
        };
        Ok(Query {
            subject,
            path,
            require,
        })
    }

    /// The paths the task is about (`path` and the required ones).
    fn paths(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.require.keys().cloned().collect();
        out.extend(self.path.clone());
        out
    }

    /// The `path` parameter of each `GET /access/permissions` to make
    /// (`None` = without `path`: the default path set).
    ///
    /// One path: one query on it. Several: one query without `path` when
    /// all of them are paths PVE always reports (absent there means no
    /// privileges), else one query per path — PVE's default set only holds
    /// fixed paths and those with ACL entries, so an absent `/vms/100` could
    /// still inherit privileges from `/vms`.
    pub fn queries(&self) -> Vec<Option<String>> {
        let paths = self.paths();
        if paths.is_empty() {
            return vec![None];
        }
        if paths.len() > 1 && paths.iter().all(|p| ALWAYS_REPORTED.contains(&p.as_str())) {
            return vec![None];
        }
        paths.into_iter().map(Some).collect()
    }

    /// The `permissions` to return from the answers: everything PVE said
    /// when the task names no path, else exactly the task's paths (a path
    /// without privileges as `{}`).
    pub fn view(&self, answers: &Permissions) -> Permissions {
        let paths = self.paths();
        if paths.is_empty() {
            return answers.clone();
        }
        paths
            .into_iter()
            .map(|p| {
                let privs = answers.get(&p).cloned().unwrap_or_default();
                (p, privs)
            })
            .collect()
    }
}

fn token_id(id: &str, option: &str) -> Result<String, String> {
    if !id.contains('!') {
        return Err(format!(
            "{option}: '{id}' is not a full token id: expected user@realm!name, such as joe@pve!ci"
        ));
    }
    ids::parse_tokenid(id, None)
        .map(|t| t.full())
        .map_err(|e| format!("{option}: {e}"))
}

fn normalize(raw: &str, option: &str) -> Result<String, String> {
    ids::normalize_acl_path(raw).ok_or_else(|| {
        format!(
            "{option}: invalid ACL path '{raw}' - expected a path such as /, /vms/100 or /storage/local"
        )
    })
}

/// `require`: `{path: [privs]}`, the privileges as a list or a string in
/// pveum's list syntax (`"VM.Audit,Sys.Audit"`).
pub fn parse_require(v: &Value) -> Result<BTreeMap<String, Vec<String>>, String> {
    let Value::Object(m) = v else {
        return Err(
            "require: expected a dict of ACL path to privileges, such as {\"/vms/100\": [\"VM.Audit\"]}"
                .into(),
        );
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (raw, privs) in m {
        let path = normalize(raw, "require")?;
        let items: Vec<String> = match privs {
            Value::String(s) => ids::split_list(s),
            Value::Array(a) => a
                .iter()
                .map(|x| match x {
                    Value::String(s) => Ok(ids::split_list(s)),
                    other => Err(format!(
                        "require: '{raw}': expected privilege names, got {other}"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect(),
            Value::Null => Vec::new(),
            other => {
                return Err(format!(
                    "require: '{raw}': expected a list of privilege names or a comma-separated string, got {other}"
                ))
            }
        };
        let entry = out.entry(path).or_default();
        entry.extend(items);
        entry.sort();
        entry.dedup();
    }
    Ok(out)
}

/// Required privileges not held (whatever their propagate flag), by path;
/// paths with nothing missing are left out.
pub fn missing(
    require: &BTreeMap<String, Vec<String>>,
    perms: &Permissions,
) -> BTreeMap<String, Vec<String>> {
    require
        .iter()
        .filter_map(|(path, privs)| {
            let held = perms.get(path);
            let lacking: Vec<String> = privs
                .iter()
                .filter(|p| !held.is_some_and(|h| h.contains_key(*p)))
                .cloned()
                .collect();
            (!lacking.is_empty()).then(|| (path.clone(), lacking))
        })
        .collect()
}

/// The missing names the server does not know at all (typos, other PVE
/// versions), once each.
pub fn unknown_names(missing: &BTreeMap<String, Vec<String>>, valid: &[String]) -> Vec<Unknown> {
    let all: Vec<String> = missing.values().flatten().cloned().collect();
    privs::partition(&all, valid).1
}

/// `/vms/100: VM.Allocate, VM.Audit; /: Sys.Audit`
fn missing_text(missing: &BTreeMap<String, Vec<String>>) -> String {
    missing
        .iter()
        .map(|(path, privs)| format!("{path}: {}", privs.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The failure message when something is missing: each missing privilege
/// and path, and help for names the server does not know.
pub fn missing_message(
    who: &str,
    missing: &BTreeMap<String, Vec<String>>,
    unknown: &[Unknown],
    version: Option<&str>,
    valid_count: usize,
) -> String {
    let count: usize = missing.values().map(Vec::len).sum();
    let what = if count == 1 {
        "a required privilege"
    } else {
        "required privileges"
    };
    let mut msg = format!("{who} lacks {what}: {}", missing_text(missing));
    if !unknown.is_empty() {
        msg.push_str(&format!(
            ". Some names cannot be held because they are not privileges: {}",
            privs::unknown_message(unknown, version, valid_count)
        ));
    }
    msg
}

/// The message of a successful run.
pub fn success_message(who: &str, q: &Query, perms: &Permissions) -> String {
    if q.require.is_empty() {
        let n = perms.len();
        let paths = if n == 1 { "path" } else { "paths" };
        return format!("permissions of {who} on {n} {paths}");
    }
    let count: usize = q.require.values().map(Vec::len).sum();
    let paths = q.require.len();
    format!(
        "{who} holds every required privilege ({count} on {paths} {})",
        if paths == 1 { "path" } else { "paths" }
    )
}

/// A warning when PVE reported nothing at all for an explicit id: PVE
/// answers the same for an id that does not exist.
pub fn empty_warning(q: &Query, perms: &Permissions) -> Option<String> {
    let id = q.subject.authid()?;
    if perms.values().any(|p| !p.is_empty()) {
        return None;
    }
    Some(format!(
        "PVE reports no privileges at all for '{id}'; it answers the same for a user or token that does not exist, so check the id if you expected some"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ansible_module::{json, Map};

    fn s(items: &[&str]) -> Vec<String> {
        items.iter().map(|x| x.to_string()).collect()
    }

    fn params(v: Value) -> Params {
        Params::from_map(v.as_object().cloned().unwrap_or_else(Map::new))
    }

    fn query(v: Value) -> Query {
        Query::from_params(&params(v)).unwrap()
    }

    fn perms(v: Value) -> Permissions {
        pve_api::access::permissions_from_json(&v).unwrap()
    }

    #[test]
    fn subjects() {
        assert_eq!(query(json!({})).subject, Subject::Caller);
        assert_eq!(query(json!({})).subject.authid(), None);
        let q = query(json!({"userid": "joe@pve"}));
        assert_eq!(q.subject, Subject::User("joe@pve".into()));
        assert_eq!(q.subject.authid(), Some("joe@pve"));
        let q = query(json!({"tokenid": "joe@pve!ci"}));
        assert_eq!(q.subject, Subject::Token("joe@pve!ci".into()));
        let q = query(json!({"userid": "joe@pve!ci"}));
        assert_eq!(q.subject, Subject::Token("joe@pve!ci".into()));
        for (args, want) in [
            (
                json!({"userid": "joe"}),
                "userid: value 'joe' does not look like a valid user name",
            ),
            (
                json!({"tokenid": "ci"}),
                "tokenid: 'ci' is not a full token id",
            ),
            (
                json!({"tokenid": "joe@pve!c i"}),
                "tokenid: value 'joe@pve!c i' does not look like a valid token ID",
            ),
            (
                json!({"userid": "a@pve", "tokenid": "a@pve!x"}),
                "parameters are mutually exclusive",
            ),
        ] {
            let e = Query::from_params(&params(args.clone())).unwrap_err();
            assert!(e.starts_with(want), "{args}: {e}");
        }
    }

    #[test]
    fn paths_are_normalised_like_pve() {
        let q = query(
            json!({"path": "vms//100/", "require": {"/storage/local/": "Datastore.Audit", "storage/local": ["Datastore.AllocateSpace"]}}),
        );
        assert_eq!(q.path.as_deref(), Some("/vms/100"));
        assert_eq!(
            q.require,
            BTreeMap::from([(
                "/storage/local".to_string(),
                s(&["Datastore.AllocateSpace", "Datastore.Audit"])
            )])
        );
        let e = Query::from_params(&params(json!({"path": "/vms/1 00"}))).unwrap_err();
        assert!(e.starts_with("path: invalid ACL path '/vms/1 00'"), "{e}");
        let e =
            Query::from_params(&params(json!({"require": {"/a b": ["VM.Audit"]}}))).unwrap_err();
        assert!(e.starts_with("require: invalid ACL path '/a b'"), "{e}");
    }

    #[test]
    fn require_lists_and_strings() {
        let r = parse_require(&json!({
            "/": "Sys.Audit, VM.Audit;Sys.Audit",
            "/vms/100": ["VM.Console", "VM.PowerMgmt VM.Audit"],
            "/nodes": null,
        }))
        .unwrap();
        assert_eq!(r["/"], s(&["Sys.Audit", "VM.Audit"]));
        assert_eq!(
            r["/vms/100"],
            s(&["VM.Audit", "VM.Console", "VM.PowerMgmt"])
        );
        assert!(r["/nodes"].is_empty());
        assert!(parse_require(&json!(["VM.Audit"])).is_err());
        assert!(parse_require(&json!({"/": 5})).is_err());
        assert!(parse_require(&json!({"/": [5]})).is_err());
    }

    #[test]
    fn fewest_queries() {
        // Nothing named: one query for PVE's default path set.
        assert_eq!(query(json!({})).queries(), vec![None]);
        // One path: ask for it.
        assert_eq!(
            query(json!({"path": "/vms/100"})).queries(),
            vec![Some("/vms/100".to_string())]
        );
        assert_eq!(
            query(json!({"require": {"/": ["Sys.Audit"]}})).queries(),
            vec![Some("/".to_string())]
        );
        assert_eq!(
            query(json!({"path": "/", "require": {"/": ["Sys.Audit"]}})).queries(),
            vec![Some("/".to_string())]
        );
        // Several paths PVE always reports: one query without path.
        assert_eq!(
            query(json!({"require": {"/": ["Sys.Audit"], "/vms": ["VM.Audit"], "/storage": ["Datastore.Audit"]}})).queries(),
            vec![None]
        );
        // Any other path among several: one query per path.
        assert_eq!(
            query(json!({"path": "/", "require": {"/vms/100": ["VM.Audit"], "/pool/dev": ["Pool.Audit"]}})).queries(),
            vec![
                Some("/".to_string()),
                Some("/pool/dev".to_string()),
                Some("/vms/100".to_string())
            ]
        );
        // /pool is not trusted in the default set (PVE < 8.0.6 said /pools).
        assert_eq!(
            query(json!({"require": {"/": ["Sys.Audit"], "/pool": ["Pool.Audit"]}}))
                .queries()
                .len(),
            2
        );
    }

    #[test]
    fn views() {
        let answers = perms(json!({"/": {"Sys.Audit": 1}, "/vms": {"VM.Audit": 0}}));
        assert_eq!(query(json!({})).view(&answers), answers);
        let q = query(json!({"require": {"/": ["Sys.Audit"], "/storage": ["Datastore.Audit"]}}));
        assert_eq!(
            q.view(&answers),
            perms(json!({"/": {"Sys.Audit": 1}, "/storage": {}}))
        );
    }

    #[test]
    fn missing_privileges() {
        let q = query(json!({"require": {
            "/": ["Sys.Audit"],
            "/vms/100": ["VM.Audit", "VM.Console", "VM.Config.cpu"],
            "/storage/local": ["Datastore.Audit"],
        }}));
        let answers = perms(json!({
            "/": {"Sys.Audit": 0},
            "/vms/100": {"VM.Audit": 1},
            "/storage/local": {},
        }));
        let m = missing(&q.require, &answers);
        assert_eq!(
            m,
            BTreeMap::from([
                ("/storage/local".to_string(), s(&["Datastore.Audit"])),
                ("/vms/100".to_string(), s(&["VM.Config.cpu", "VM.Console"])),
            ])
        );
        // A path PVE did not report at all holds nothing.
        let m2 = missing(&q.require, &perms(json!({"/": {"Sys.Audit": 1}})));
        assert_eq!(m2["/vms/100"].len(), 3);
        assert!(!m2.contains_key("/"));
        assert!(missing(&BTreeMap::new(), &answers).is_empty());

        let valid = s(&[
            "Datastore.Audit",
            "Sys.Audit",
            "VM.Audit",
            "VM.Config.CPU",
            "VM.Console",
        ]);
        let unknown = unknown_names(&m, &valid);
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].suggestions, s(&["VM.Config.CPU"]));
        assert_eq!(
            missing_message("token 'joe@pve!ci'", &m, &[], None, 5),
            "token 'joe@pve!ci' lacks required privileges: /storage/local: Datastore.Audit; /vms/100: VM.Config.cpu, VM.Console"
        );
        assert_eq!(
            missing_message("token 'joe@pve!ci'", &m, &unknown, Some("9.1.1"), 47),
            "token 'joe@pve!ci' lacks required privileges: /storage/local: Datastore.Audit; /vms/100: VM.Config.cpu, VM.Console. Some names cannot be held because they are not privileges: unknown privilege 'VM.Config.cpu' (did you mean VM.Config.CPU?): PVE 9.1.1 has 47 privileges (those of the built-in Administrator role)"
        );
        let one = BTreeMap::from([("/".to_string(), s(&["Sys.Audit"]))]);
        assert_eq!(
            missing_message("user 'joe@pve'", &one, &[], None, 5),
            "user 'joe@pve' lacks a required privilege: /: Sys.Audit"
        );
    }

    #[test]
    fn messages_and_warnings() {
        let q = query(json!({"userid": "joe@pve", "require": {"/": ["Sys.Audit", "VM.Audit"]}}));
        let p = perms(json!({"/": {"Sys.Audit": 1, "VM.Audit": 1}}));
        assert_eq!(
            success_message("user 'joe@pve'", &q, &p),
            "user 'joe@pve' holds every required privilege (2 on 1 path)"
        );
        assert_eq!(empty_warning(&q, &p), None);
        let q0 = query(json!({"userid": "joe@pve"}));
        assert_eq!(
            success_message("user 'joe@pve'", &q0, &p),
            "permissions of user 'joe@pve' on 1 path"
        );
        let empty = perms(json!({"/": {}}));
        assert!(empty_warning(&q, &empty).unwrap().contains("'joe@pve'"));
        assert!(empty_warning(&q, &Permissions::new()).is_some());
        // The caller itself exists: no such warning.
        assert_eq!(empty_warning(&query(json!({})), &Permissions::new()), None);
    }
}
