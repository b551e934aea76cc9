//! The server's state read straight from its files, for tests to check
//! what a module did without asking the module (or our API client) again:
//! `user.cfg` in the state directory, which pve-sim and the real PVE code
//! write in the same format (PVE's `write_user_config`).
//!
//! ```no_run
//! use pve_test_support::Sim;
//! let sim = Sim::start("9.1");
//! // ... run a module ...
//! let state = sim.state();
//! assert_eq!(state.user("alice@pve").unwrap()["email"], "alice@example.com");
//! assert!(state.acl().iter().any(|e| e["ugid"] == "alice@pve"));
//! ```
//!
//! Values have the shapes the modules return (`user`, `group`, `role`,
//! `acl` entries, `token`, `pool`), so a test can compare a module's result with
//! the file: a field the module's parser dropped shows up as a difference.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The access configuration of one `user.cfg`.
#[derive(Debug, Clone, Default)]
pub struct UserCfg {
    users: BTreeMap<String, Value>,
    groups: BTreeMap<String, Value>,
    roles: BTreeMap<String, Value>,
    tokens: BTreeMap<String, Value>,
    pools: BTreeMap<String, Value>,
    acl: Vec<Value>,
}

impl UserCfg {
    /// Parses `user.cfg` bytes. User ids are Latin-1 there (PVE writes the
    /// file byte for byte from its Perl strings); text fields are
    /// URI-escaped UTF-8.
    pub fn parse(bytes: &[u8]) -> UserCfg {
        let text: String = bytes.iter().map(|&b| char::from(b)).collect();
        let mut cfg = UserCfg::default();
        for line in text.lines() {
            let f: Vec<&str> = line.split(':').collect();
            match f.as_slice() {
                ["user", id, enable, expire, first, last, email, comment, ..] => {
                    cfg.users.insert(
                        id.to_string(),
                        json!({"userid": id, "enable": *enable != "0",
                               "expire": expire.parse::<i64>().unwrap_or(0),
                               "firstname": text_field(first), "lastname": text_field(last),
                               "email": text_field(email), "comment": text_field(comment),
                               "groups": [], "tokens": []}),
                    );
                }
                ["token", full, expire, privsep, comment, ..] => {
                    let (owner, name) = full.split_once('!').unwrap_or((full, ""));
                    if let Some(Value::Array(t)) =
                        cfg.users.get_mut(owner).map(|u| &mut u["tokens"])
                    {
                        t.push(Value::from(name));
                    }
                    cfg.tokens.insert(
                        full.to_string(),
                        json!({"full_tokenid": full, "userid": owner, "tokenid": name,
                               "expire": expire.parse::<i64>().unwrap_or(0),
                               "privsep": *privsep != "0", "comment": text_field(comment)}),
                    );
                }
                ["group", id, members, comment, ..] => {
                    let members = split(members);
                    for m in &members {
                        if let Some(Value::Array(g)) =
                            cfg.users.get_mut(m).map(|u| &mut u["groups"])
                        {
                            g.push(Value::from(*id));
                        }
                    }
                    cfg.groups.insert(
                        id.to_string(),
                        json!({"groupid": id, "comment": text_field(comment), "members": members}),
                    );
                }
                ["pool", id, comment, vms, storage, ..] => {
                    let mut vms: Vec<u64> =
                        split(vms).iter().filter_map(|v| v.parse().ok()).collect();
                    vms.sort_unstable();
                    cfg.pools.insert(
                        id.to_string(),
                        json!({"poolid": id, "comment": text_field(comment), "vms": vms,
                               "storage": split(storage)}),
                    );
                }
                ["role", id, privs, ..] => {
                    cfg.roles.insert(
                        id.to_string(),
                        json!({"roleid": id, "privs": split(privs), "special": false}),
                    );
                }
                ["acl", propagate, path, ugids, roles, ..] => {
                    for ugid in split(ugids) {
                        let (kind, id) = match ugid.strip_prefix('@') {
                            Some(group) => ("group", group.to_string()),
                            None if ugid.contains('!') => ("token", ugid.clone()),
                            None => ("user", ugid.clone()),
                        };
                        for role in split(roles) {
                            cfg.acl.push(json!({"path": path, "type": kind, "ugid": id,
                                                "roleid": role, "propagate": *propagate != "0"}));
                        }
                    }
                }
                _ => {}
            }
        }
        for user in cfg.users.values_mut() {
            for key in ["groups", "tokens"] {
                if let Value::Array(items) = &mut user[key] {
                    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
            }
        }
        cfg
    }

    /// A user as `pve_user` returns it (`firstname` etc. `null` when unset),
    /// with its groups and token names; `None` when there is no such user.
    pub fn user(&self, userid: &str) -> Option<Value> {
        self.users.get(userid).cloned()
    }

    pub fn users(&self) -> Vec<String> {
        self.users.keys().cloned().collect()
    }

    /// A group as `pve_group` returns it.
    pub fn group(&self, groupid: &str) -> Option<Value> {
        self.groups.get(groupid).cloned()
    }

    /// A custom role as `pve_role` returns it (built-in roles are not in
    /// the file).
    pub fn role(&self, roleid: &str) -> Option<Value> {
        self.roles.get(roleid).cloned()
    }

    /// A pool as `pve_pool` returns it (all its members, also those the
    /// server would hide because they no longer exist).
    pub fn pool(&self, poolid: &str) -> Option<Value> {
        self.pools.get(poolid).cloned()
    }

    /// A token by its full id `user@realm!name`.
    pub fn token(&self, full_tokenid: &str) -> Option<Value> {
        self.tokens.get(full_tokenid).cloned()
    }

    /// Every ACL entry, one per principal and role:
    /// `{path, type, ugid, roleid, propagate}`.
    pub fn acl(&self) -> Vec<Value> {
        self.acl.clone()
    }
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A text field: `null` when empty, else URI-unescaped UTF-8 (PVE's
/// `decode_text`).
fn text_field(field: &str) -> Value {
    if field.is_empty() {
        return Value::Null;
    }
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Value::from(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_pve_writes() {
        // As PVE 9.1 wrote it: a Latin-1 user id, URI-escaped names.
        let mut cfg = b"user:j\xfcrgen@pve:1:0:J%C3%BCrgen::a@b.c:%E6%97%A5%3A::\n".to_vec();
        cfg.extend_from_slice(
            b"token:j\xfcrgen@pve!ci:1893456000:0::\nuser:root@pam:1:0:::root@localhost:::\n\n\
              group:ops:root@pam,j\xfcrgen@pve:Ops team:\n\nrole:Deploy:VM.Audit,VM.Allocate:\n\n\
              acl:1:/:@ops,j\xfcrgen@pve!ci:Deploy,PVEAuditor:\nacl:0:/vms:root@pam:NoAccess:\n",
        );
        let c = UserCfg::parse(&cfg);
        assert_eq!(
            c.user("jürgen@pve").unwrap(),
            json!({"userid": "jürgen@pve", "enable": true, "expire": 0, "firstname": "Jürgen",
                   "lastname": null, "email": "a@b.c", "comment": "日:", "groups": ["ops"],
                   "tokens": ["ci"]})
        );
        assert_eq!(c.token("jürgen@pve!ci").unwrap()["privsep"], false);
        assert_eq!(c.token("jürgen@pve!ci").unwrap()["expire"], 1_893_456_000);
        assert_eq!(
            c.group("ops").unwrap()["members"],
            json!(["root@pam", "jürgen@pve"])
        );
        assert_eq!(
            c.role("Deploy").unwrap(),
            json!({"roleid": "Deploy", "privs": ["VM.Audit", "VM.Allocate"], "special": false})
        );
        assert_eq!(c.acl().len(), 5);
        assert_eq!(
            c.acl()[1],
            json!({"path": "/", "type": "group", "ugid": "ops", "roleid": "PVEAuditor", "propagate": true})
        );
        assert_eq!(c.acl()[2]["type"], "token");
        assert_eq!(c.acl()[4]["propagate"], false);
        assert!(c.user("nobody@pve").is_none());
    }
}
