//! PVE's config files: `user.cfg`, `priv/token.cfg` and `priv/shadow.cfg`,
//! read and written the way libpve-access-control does
//! (`write_user_config`/`parse_user_config`), quirks
//! included: Perl's `split` dropping trailing empty fields (hence `email: ""`),
//! falsy values dropped, references to missing roles/tokens dropped, ACL lines
//! grouped by (propagate, role list).
//!
//! `parse_user_cfg(write_user_cfg(cfg))` is how the store normalises state
//! after every change, exactly as PVE re-parses the file it just wrote.

use crate::ids::{self, truthy};
use crate::inventory::is_storage_id;
use crate::model::{
    AclNode, Group, PveVersion, Role, RoleMap, Shadow, Token, TokenSecrets, User, UserCfg,
};
use crate::versions;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Perl's `split(':', $line)`: trailing empty fields removed; each trimmed.
fn fields(line: &str) -> Vec<&str> {
    let mut f: Vec<&str> = line.split(':').map(str::trim).collect();
    while f.last().is_some_and(|s| s.is_empty()) {
        f.pop();
    }
    f
}

/// `encode_text`: %-escape everything but printable ASCII other than `%`
/// and `:`.
pub fn encode_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if matches!(b, 0x20..=0x24 | 0x26..=0x39 | 0x3B..=0x7E) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `decode_text`: undo `%XX`, then UTF-8 (lossy for broken input).
pub fn decode_text(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn field<'a>(f: &[&'a str], i: usize) -> &'a str {
    f.get(i).copied().unwrap_or("")
}

fn text_opt(s: &str) -> Option<String> {
    truthy(s).then(|| decode_text(s))
}

fn parse_expire(s: &str) -> Option<i64> {
    if !truthy(s) {
        return Some(0);
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Built-in roles and `root@pam`, which PVE forces into every parsed config.
pub fn force_defaults(cfg: &mut UserCfg, version: PveVersion) {
    for (name, privs) in versions::builtin_roles(version) {
        cfg.roles.insert(
            name,
            Role {
                privs,
                special: true,
            },
        );
    }
    cfg.users.entry("root@pam".into()).or_insert_with(|| User {
        enable: true,
        forced: true,
        ..User::default()
    });
}

/// Parses `user.cfg`; returns the config and the warnings PVE would log.
pub fn parse_user_cfg(text: &str, version: PveVersion) -> (UserCfg, Vec<String>) {
    let mut cfg = UserCfg::default();
    let mut warn = Vec::new();
    // PVE injects the defaults before parsing too: ACL lines may use built-in roles.
    for (name, privs) in versions::builtin_roles(version) {
        cfg.roles.insert(
            name,
            Role {
                privs,
                special: true,
            },
        );
    }
    let valid_privs = versions::privileges(version);
    let mut vm_pool: BTreeMap<u32, String> = BTreeMap::new();

    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let f = fields(line);
        let lineno = n + 1;
        match f[0] {
            "user" => {
                let userid = field(&f, 1);
                if ids::verify_cfg_userid(userid).is_err() {
                    warn.push(format!(
                        "user.cfg line {lineno}: invalid user ID '{userid}'"
                    ));
                    continue;
                }
                let Some(expire) = parse_expire(field(&f, 3)) else {
                    warn.push(format!(
                        "user.cfg line {lineno}: user '{userid}' has an invalid 'expire' format"
                    ));
                    continue;
                };
                cfg.users.insert(
                    userid.to_string(),
                    User {
                        enable: truthy(field(&f, 2)),
                        expire,
                        firstname: text_opt(field(&f, 4)),
                        lastname: text_opt(field(&f, 5)),
                        email: f.get(6).map(|s| s.to_string()),
                        comment: text_opt(field(&f, 7)),
                        keys: truthy(field(&f, 8)).then(|| field(&f, 8).to_string()),
                        forced: false,
                        groups: BTreeSet::new(),
                        tokens: BTreeMap::new(),
                    },
                );
            }
            "token" => {
                let full = field(&f, 1);
                let Ok((userid, name)) = ids::verify_cfg_tokenid(full) else {
                    warn.push(format!("user.cfg line {lineno}: invalid token ID '{full}'"));
                    continue;
                };
                let Some(expire) = parse_expire(field(&f, 2)) else {
                    warn.push(format!(
                        "user.cfg line {lineno}: token '{full}' has an invalid 'expire' format"
                    ));
                    continue;
                };
                let Some(user) = cfg.users.get_mut(&userid) else {
                    warn.push(format!(
                        "user.cfg line {lineno}: token '{full}' of unknown user"
                    ));
                    continue;
                };
                user.tokens.insert(
                    name,
                    Token {
                        privsep: truthy(field(&f, 3)),
                        expire,
                        comment: text_opt(field(&f, 4)),
                    },
                );
            }
            "group" => {
                let groupid = field(&f, 1);
                if ids::verify_groupid(groupid, version).is_err() {
                    warn.push(format!(
                        "user.cfg line {lineno}: invalid group ID '{groupid}'"
                    ));
                    continue;
                }
                let mut group = Group {
                    members: BTreeSet::new(),
                    comment: text_opt(field(&f, 3)),
                };
                for m in ids::split_list(field(&f, 2)).iter() {
                    if ids::verify_cfg_userid(m).is_err() {
                        warn.push(format!(
                            "user.cfg line {lineno}: invalid user ID '{m}' in group '{groupid}'"
                        ));
                        continue;
                    }
                    match cfg.users.get_mut(m) {
                        Some(u) => {
                            u.groups.insert(groupid.to_string());
                        }
                        None => warn.push(format!("user.cfg line {lineno}: user '{m}' in group '{groupid}' does not exist")),
                    }
                    group.members.insert(m.to_string());
                }
                cfg.groups.insert(groupid.to_string(), group);
            }
            "role" => {
                let roleid = field(&f, 1);
                if ids::verify_roleid(roleid).is_err() {
                    warn.push(format!(
                        "user.cfg line {lineno}: invalid role ID '{roleid}'"
                    ));
                    continue;
                }
                let mut privs = BTreeSet::new();
                for p in ids::split_list(field(&f, 2)).iter() {
                    if valid_privs.contains(p) {
                        privs.insert(p.to_string());
                    } else {
                        warn.push(format!(
                            "user.cfg line {lineno}: invalid privilege '{p}' in role '{roleid}'"
                        ));
                    }
                }
                cfg.roles.insert(
                    roleid.to_string(),
                    Role {
                        privs,
                        special: false,
                    },
                );
            }
            "pool" => {
                let poolid = field(&f, 1);
                if ids::verify_poolid(poolid).is_err() {
                    warn.push(format!(
                        "user.cfg line {lineno}: invalid pool ID '{poolid}'"
                    ));
                    continue;
                }
                // As PVE: a nested pool's missing parents come into being,
                // and a second line for a pool adds to the first.
                let mut parent = poolid;
                while let Some((up, _)) = parent.rsplit_once('/') {
                    cfg.pools.entry(up.to_string()).or_default();
                    parent = up;
                }
                let pool = cfg.pools.entry(poolid.to_string()).or_default();
                if let Some(c) = text_opt(field(&f, 2)) {
                    pool.comment = Some(c);
                }
                for vm in ids::split_list(field(&f, 3)).iter() {
                    match vm.parse::<u32>() {
                        Ok(id) if vm.chars().all(|c| c.is_ascii_digit()) && !vm_pool.contains_key(&id) => {
                            vm_pool.insert(id, poolid.to_string());
                            pool.vms.insert(id);
                        }
                        _ => warn.push(format!("user.cfg line {lineno}: invalid or duplicate VM ID '{vm}' in pool '{poolid}'")),
                    }
                }
                for st in ids::split_list(field(&f, 4)).iter() {
                    if is_storage_id(st) {
                        pool.storage.insert(st.to_string());
                    } else {
                        warn.push(format!(
                            "user.cfg line {lineno}: invalid storage ID '{st}' in pool '{poolid}'"
                        ));
                    }
                }
            }
            "acl" => parse_acl_line(&mut cfg, &f, lineno, version, &mut warn),
            other => warn.push(format!(
                "user.cfg line {lineno}: ignoring unknown line type '{other}'"
            )),
        }
    }
    force_defaults(&mut cfg, version);
    (cfg, warn)
}

fn parse_acl_line(
    cfg: &mut UserCfg,
    f: &[&str],
    lineno: usize,
    version: PveVersion,
    warn: &mut Vec<String>,
) {
    let propagate = truthy(field(f, 1));
    let Some(path) = ids::normalize_path(field(f, 2)) else {
        warn.push(format!(
            "user.cfg line {lineno}: invalid ACL path '{}'",
            field(f, 2)
        ));
        return;
    };
    let mut roles = Vec::new();
    for r in ids::split_list(field(f, 4)).iter() {
        if ids::verify_roleid(r).is_ok() && cfg.roles.contains_key(r) {
            roles.push(r.to_string());
        } else {
            warn.push(format!("user.cfg line {lineno}: role '{r}' does not exist"));
        }
    }
    let members = ids::split_list(field(f, 3));
    for m in members.iter().map(String::as_str) {
        let (kind, id): (fn(&mut AclNode) -> &mut RoleMap, String) =
            if let Some(g) = m.strip_prefix('@') {
                if ids::verify_groupid(g, version).is_err() {
                    warn.push(format!(
                        "user.cfg line {lineno}: invalid group '{m}' in ACL"
                    ));
                    continue;
                }
                (|n| &mut n.groups, g.to_string())
            } else if let Ok((user, token)) = ids::verify_cfg_tokenid(m) {
                if !cfg
                    .users
                    .get(&user)
                    .is_some_and(|u| u.tokens.contains_key(&token))
                {
                    warn.push(format!(
                        "user.cfg line {lineno}: token '{m}' in ACL does not exist"
                    ));
                    continue;
                }
                (|n| &mut n.tokens, m.to_string())
            } else if ids::verify_cfg_userid(m).is_ok() {
                (|n| &mut n.users, m.to_string())
            } else {
                warn.push(format!(
                    "user.cfg line {lineno}: invalid principal '{m}' in ACL"
                ));
                continue;
            };
        if roles.is_empty() {
            continue;
        }
        let node = cfg.acl.entry(path.clone()).or_default();
        let map = kind(node).entry(id).or_default();
        for r in &roles {
            map.insert(r.clone(), propagate);
        }
    }
}

/// Depth-first order with sorted children: compare the paths' components.
pub fn path_order(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |p: &str| {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect::<Vec<_>>()
    };
    split(a).cmp(&split(b))
}

/// The ACL paths of a config in PVE's order.
pub fn sorted_acl_paths(cfg: &UserCfg) -> Vec<&String> {
    let mut paths: Vec<&String> = cfg.acl.keys().collect();
    paths.sort_by(|a, b| path_order(a, b));
    paths
}

fn falsy_empty(s: &Option<String>, encode: bool) -> String {
    match s {
        Some(v) if truthy(v) => {
            if encode {
                encode_text(v)
            } else {
                v.clone()
            }
        }
        _ => String::new(),
    }
}

/// Writes `user.cfg` exactly as PVE lays it out.
pub fn write_user_cfg(cfg: &UserCfg) -> String {
    let mut out = String::new();
    for (userid, u) in &cfg.users {
        let _ = writeln!(
            out,
            "user:{userid}:{}:{}:{}:{}:{}:{}:{}:",
            u8::from(u.enable),
            u.expire,
            falsy_empty(&u.firstname, true),
            falsy_empty(&u.lastname, true),
            falsy_empty(&u.email, false),
            falsy_empty(&u.comment, true),
            falsy_empty(&u.keys, false),
        );
        for (name, t) in &u.tokens {
            let _ = writeln!(
                out,
                "token:{userid}!{name}:{}:{}:{}:",
                t.expire,
                u8::from(t.privsep),
                falsy_empty(&t.comment, true)
            );
        }
    }
    out.push('\n');
    for (groupid, g) in &cfg.groups {
        let members: Vec<&str> = g.members.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "group:{groupid}:{}:{}:",
            members.join(","),
            falsy_empty(&g.comment, true)
        );
    }
    out.push('\n');
    for (poolid, p) in &cfg.pools {
        let mut vms: Vec<String> = p.vms.iter().map(u32::to_string).collect();
        vms.sort();
        let storage: Vec<&str> = p.storage.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "pool:{poolid}:{}:{}:{}:",
            falsy_empty(&p.comment, true),
            vms.join(","),
            storage.join(",")
        );
    }
    out.push('\n');
    for (roleid, r) in cfg.roles.iter().filter(|(_, r)| !r.special) {
        let privs: Vec<&str> = r.privs.iter().map(String::as_str).collect();
        let _ = writeln!(out, "role:{roleid}:{}:", privs.join(","));
    }
    out.push('\n');
    for path in sorted_acl_paths(cfg) {
        let node = &cfg.acl[path];
        // (propagate, role list) -> members
        let mut lines: BTreeMap<(bool, String), BTreeSet<String>> = BTreeMap::new();
        let mut add = |member: String, roles: &BTreeMap<String, bool>| {
            for flag in [false, true] {
                let list: Vec<&str> = roles
                    .iter()
                    .filter(|(_, p)| **p == flag)
                    .map(|(r, _)| r.as_str())
                    .collect();
                if !list.is_empty() {
                    lines
                        .entry((flag, list.join(",")))
                        .or_default()
                        .insert(member.clone());
                }
            }
        };
        for (g, roles) in &node.groups {
            add(format!("@{g}"), roles);
        }
        for (u, roles) in node.users.iter().filter(|(u, _)| u.as_str() != "root@pam") {
            add(u.clone(), roles);
        }
        for (t, roles) in &node.tokens {
            add(t.clone(), roles);
        }
        for ((flag, roles), members) in lines {
            let members: Vec<&str> = members.iter().map(String::as_str).collect();
            let _ = writeln!(
                out,
                "acl:{}:{path}:{}:{roles}:",
                u8::from(flag),
                members.join(",")
            );
        }
    }
    out
}

/// `priv/token.cfg`: `<full-tokenid> <secret>` lines; invalid lines skipped.
pub fn parse_token_cfg(text: &str) -> TokenSecrets {
    text.lines()
        .filter_map(|l| {
            let (id, secret) = l.split_once(' ')?;
            (!id.is_empty()
                && !secret.is_empty()
                && !id.contains(char::is_whitespace)
                && !secret.contains(char::is_whitespace)
                && ids::verify_cfg_tokenid(id).is_ok())
            .then(|| (id.to_string(), secret.to_string()))
        })
        .collect()
}

pub fn write_token_cfg(secrets: &TokenSecrets) -> String {
    secrets
        .iter()
        .map(|(id, s)| format!("{id} {s}\n"))
        .collect()
}

/// `priv/shadow.cfg`: `<name>:<crypt hash>:` lines.
pub fn parse_shadow(text: &str) -> Shadow {
    text.lines()
        .filter_map(|l| {
            let f = fields(l.trim());
            (f.len() >= 2 && !f[0].is_empty() && !f[1].is_empty())
                .then(|| (f[0].to_string(), f[1].to_string()))
        })
        .collect()
}

pub fn write_shadow(shadow: &Shadow) -> String {
    shadow.iter().map(|(n, h)| format!("{n}:{h}:\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: PveVersion = PveVersion::V9_1;

    #[test]
    fn root_alone_is_written_with_five_newlines() {
        let (cfg, _) = parse_user_cfg("", V);
        assert_eq!(write_user_cfg(&cfg), "user:root@pam:1:0::::::\n\n\n\n\n");
        let (cfg, _) = parse_user_cfg("user:root@pam", V);
        assert!(
            !cfg.users["root@pam"].enable,
            "explicit line without enable wins"
        );
    }

    #[test]
    fn email_quirk_follows_perl_split() {
        let (cfg, _) = parse_user_cfg("user:a@pve:1:0::::::\nuser:b@pve:1:0::::x:\n", V);
        assert_eq!(cfg.users["a@pve"].email, None);
        assert_eq!(cfg.users["b@pve"].email.as_deref(), Some(""));
        assert_eq!(cfg.users["b@pve"].comment.as_deref(), Some("x"));
    }

    #[test]
    fn text_is_escaped_and_round_trips() {
        let mut cfg = UserCfg::default();
        force_defaults(&mut cfg, V);
        cfg.users.insert(
            "joe@pve".into(),
            User {
                enable: true,
                comment: Some("a:b%c ü".into()),
                firstname: Some("0".into()),
                ..User::default()
            },
        );
        let text = write_user_cfg(&cfg);
        assert!(
            text.contains("user:joe@pve:1:0::::a%3Ab%25c %C3%BC::\n"),
            "{text}"
        );
        let (back, _) = parse_user_cfg(&text, V);
        assert_eq!(back.users["joe@pve"].comment.as_deref(), Some("a:b%c ü"));
        assert_eq!(
            back.users["joe@pve"].firstname, None,
            "falsy '0' is dropped"
        );
    }

    #[test]
    fn references_are_kept_or_dropped_as_pve_does() {
        let text = "user:joe@pve:1:0:\ntoken:joe@pve!ci:0:1:\ntoken:ghost@pve!x:0:1:\n\
            group:g1:joe@pve,nobody@pve,bad user:\n\
            role:r1:VM.Audit,Bogus.Priv:\n\
            acl:1:/vms/100/:joe@pve,@g1,@nogroup,joe@pve!ci,joe@pve!gone,nouser@pve:r1,Missing:\n\
            acl:0:/vms/100:joe@pve:PVEAuditor:\n";
        let (cfg, warnings) = parse_user_cfg(text, V);
        assert!(cfg.users["joe@pve"].tokens.contains_key("ci"));
        assert!(!cfg.users.contains_key("ghost@pve"));
        assert_eq!(
            cfg.groups["g1"].members,
            BTreeSet::from(["joe@pve".to_string(), "nobody@pve".to_string()])
        );
        assert!(cfg.users["joe@pve"].groups.contains("g1"));
        assert_eq!(
            cfg.roles["r1"].privs,
            BTreeSet::from(["VM.Audit".to_string()])
        );
        let node = &cfg.acl["/vms/100"];
        assert_eq!(
            node.users["joe@pve"],
            BTreeMap::from([("r1".into(), true), ("PVEAuditor".into(), false)])
        );
        assert!(node.users.contains_key("nouser@pve"));
        assert!(node.groups.contains_key("nogroup"));
        assert!(node.tokens.contains_key("joe@pve!ci"));
        assert!(!node.tokens.contains_key("joe@pve!gone"));
        assert!(warnings.len() >= 5, "{warnings:?}");
    }

    #[test]
    fn acl_lines_group_by_flag_and_roles() {
        let text = "user:test@pam:1:0:\nuser:b@pve:1:0:\ngroup:testgroup:test@pam:\nrole:A:VM.Audit:\nrole:B:VM.Console:\n\
            acl:1:/:@testgroup,test@pam:PVEVMAdmin:\nacl:1:/vms:b@pve:A:\nacl:0:/vms:b@pve:B:\nacl:1:/:root@pam:Administrator:\n\
            acl:1:/access:b@pve:A:\n";
        let (cfg, _) = parse_user_cfg(text, V);
        let out = write_user_cfg(&cfg);
        let acl: Vec<&str> = out.lines().filter(|l| l.starts_with("acl:")).collect();
        assert_eq!(
            acl,
            vec![
                "acl:1:/:@testgroup,test@pam:PVEVMAdmin:",
                "acl:1:/access:b@pve:A:",
                "acl:0:/vms:b@pve:B:",
                "acl:1:/vms:b@pve:A:",
            ]
        );
        let (again, _) = parse_user_cfg(&out, V);
        assert_eq!(again, cfg.as_written());
        assert_eq!(write_user_cfg(&again), out);
    }

    #[test]
    fn secrets_files() {
        let s = parse_token_cfg("joe@pve!ci 1234-abcd\nbad line here\nnot-a-token x\n\n");
        assert_eq!(s.len(), 1);
        assert_eq!(write_token_cfg(&s), "joe@pve!ci 1234-abcd\n");
        let sh = parse_shadow("joe:$5$abc$def:\n\n");
        assert_eq!(write_shadow(&sh), "joe:$5$abc$def:\n");
    }

    impl UserCfg {
        /// What parsing the written text gives: no root@pam ACLs, and a
        /// forced root@pam that is now a real line.
        fn as_written(&self) -> UserCfg {
            let mut c = self.clone();
            if let Some(root) = c.users.get_mut("root@pam") {
                root.forced = false;
            }
            for n in c.acl.values_mut() {
                n.users.remove("root@pam");
            }
            c.acl
                .retain(|_, n| !(n.users.is_empty() && n.groups.is_empty() && n.tokens.is_empty()));
            c
        }
    }
}
