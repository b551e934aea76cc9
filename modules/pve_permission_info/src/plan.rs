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

/// The message of a check-mode run whose subject does not exist yet.
pub fn assumed_message(who: &str) -> String {
    format!("{who} does not exist yet: its permissions are checked in the real run")
}

/// A warning when PVE reported nothing (on `path`, when the query names
/// one) for an explicit id: PVE answers the same for an id that does not
/// exist.
pub fn empty_warning(q: &Query, perms: &Permissions) -> Option<String> {
    let id = q.subject.authid()?;
    if perms.values().any(|p| !p.is_empty()) {
        return None;
    }
    let scope = match &q.path {
        Some(path) => format!("on '{path}'"),
        None => "at all".to_string(),
    };
    Some(format!(
        "PVE reports no privileges {scope} for '{id}'; it answers the same for a user or token that does not exist, so check the id if you expected some"
    ))
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
