//! Effective permissions, computed the way PVE does (AC `AccessControl.pm`
//! `roles`, `RPCEnvironment.pm` `permissions`/`compile_acl_path`):
//! `roles` walks the ACL tree from `/` to the path (deeper applicable entries
//! replace inherited ones; a user's own entries beat its groups' at a node;
//! NoAccess wins), `permissions` adds pool roles and turns roles into
//! privileges, intersecting privilege-separated tokens with their owner.
//!
//! Flags are the propagate bits PVE reports from `/access/permissions`.

use crate::model::UserCfg;
use std::collections::{BTreeMap, BTreeSet};

type Flags = BTreeMap<String, bool>;

/// Perl's `split("/", $path)`: leading empty field kept, trailing ones dropped;
/// `/` alone is the root node.
fn components(path: &str) -> Vec<&str> {
    if path == "/" {
        return vec![""];
    }
    let mut c: Vec<&str> = path.split('/').collect();
    while c.last().is_some_and(|s| s.is_empty()) {
        c.pop();
    }
    c
}

/// Roles of `authid` (user or full token id) on `path`, with propagate flags.
/// Pools are not considered here (as in PVE).
pub fn roles(cfg: &UserCfg, authid: &str, path: &str) -> Flags {
    if authid == "root@pam" {
        return Flags::from([("Administrator".to_string(), true)]);
    }
    let token = authid.split_once('!');
    if let Some((owner, name)) = token {
        match cfg.users.get(owner).and_then(|u| u.tokens.get(name)) {
            None => return Flags::new(),
            Some(t) if !t.privsep => return roles(cfg, owner, path),
            Some(_) => {}
        }
    }
    let mut result = Flags::new();
    let comps = components(path);
    // PVE walks a tree from the root: an empty component stays on the current
    // node, so a path without a leading `/` never visits the root node.
    let mut current = String::new();
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        if !comp.is_empty() {
            current = format!("{current}/{comp}");
        }
        let key = if current.is_empty() {
            "/"
        } else {
            current.as_str()
        };
        let Some(node) = cfg.acl.get(key) else {
            continue;
        };
        let applicable = |m: Option<&Flags>| -> Flags {
            m.map(|r| {
                r.iter()
                    .filter(|(_, prop)| last || **prop)
                    .map(|(k, v)| (k.clone(), *v))
                    .collect()
            })
            .unwrap_or_default()
        };
        if token.is_some() {
            let own = applicable(node.tokens.get(authid));
            if !own.is_empty() {
                result = own;
            }
            continue;
        }
        let own = applicable(node.users.get(authid));
        if !own.is_empty() {
            result = own;
            continue;
        }
        // Membership as the group lines list it: also for a user whose own
        // line comes later in user.cfg (PVE asks the group, not the user).
        let mut from_groups = Flags::new();
        for (g, roles) in &node.groups {
            if cfg
                .groups
                .get(g)
                .is_some_and(|grp| grp.members.contains(authid))
            {
                from_groups.extend(applicable(Some(roles)));
            }
        }
        if !from_groups.is_empty() {
            result = from_groups;
        }
    }
    match result.get("NoAccess") {
        Some(flag) => Flags::from([("NoAccess".to_string(), *flag)]),
        None => result,
    }
}

/// Roles a pool grants on its members' exact paths (`/vms/<id>`, `/storage/<id>`).
fn pool_roles(cfg: &UserCfg, authid: &str, path: &str) -> Flags {
    let mut out = Flags::new();
    for (poolid, pool) in &cfg.pools {
        let member = pool.vms.iter().any(|vm| path == format!("/vms/{vm}"))
            || pool.storage.iter().any(|s| path == format!("/storage/{s}"));
        if member {
            for role in roles(cfg, authid, &format!("/pool/{poolid}")).into_keys() {
                out.insert(role, true);
            }
        }
    }
    out
}

/// Privileges of `authid` on `path`: privilege → propagate.
pub fn permissions(cfg: &UserCfg, authid: &str, path: &str) -> Flags {
    let version_all = || -> Flags {
        cfg.roles
            .get("Administrator")
            .map(|r| r.privs.iter().map(|p| (p.clone(), true)).collect())
            .unwrap_or_default()
    };
    if authid == "root@pam" {
        return version_all();
    }
    let owner = match authid.split_once('!') {
        Some((owner, name)) => {
            let Some(token) = cfg.users.get(owner).and_then(|u| u.tokens.get(name)) else {
                return Flags::new();
            };
            if !token.privsep {
                return permissions(cfg, owner, path);
            }
            Some(owner)
        }
        None => None,
    };
    let mut role_set = roles(cfg, authid, path);
    let pool = pool_roles(cfg, authid, path);
    if !pool.is_empty() && !role_set.contains_key("NoAccess") {
        if pool.contains_key("NoAccess") {
            role_set = Flags::from([("NoAccess".to_string(), false)]);
        } else {
            for role in pool.into_keys() {
                role_set.entry(role).or_insert(false);
            }
        }
    }
    let mut privs = Flags::new();
    for (role, flag) in &role_set {
        if let Some(r) = cfg.roles.get(role) {
            for p in &r.privs {
                let e = privs.entry(p.clone()).or_insert(false);
                *e = *e || *flag;
            }
        }
    }
    match owner {
        Some(owner) if owner != "root@pam" => {
            let owner_privs = permissions(cfg, owner, path);
            privs
                .into_iter()
                .filter_map(|(p, f)| owner_privs.get(&p).map(|of| (p, f && *of)))
                .collect()
        }
        _ => privs,
    }
}

/// Every node of PVE's ACL tree (`iterate_acl_tree`): each ACL path and
/// every level above it (`/access/realm` for `/access/realm/pve`), and `/`
/// once there is any.
pub fn acl_tree_paths(cfg: &UserCfg) -> BTreeSet<String> {
    let mut tree = BTreeSet::new();
    for path in cfg.acl.keys() {
        let mut cur = String::new();
        tree.insert("/".to_string());
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            cur = format!("{cur}/{comp}");
            tree.insert(cur.clone());
        }
    }
    tree
}

/// `GET /access/permissions` without `path`: the fixed top-level paths, every
/// node of the ACL tree and every pool member path; paths without privileges
/// omitted.
pub fn effective_permissions(cfg: &UserCfg, authid: &str) -> BTreeMap<String, Flags> {
    let mut paths: Vec<String> = [
        "/",
        "/access",
        "/access/groups",
        "/nodes",
        "/pool",
        "/sdn",
        "/storage",
        "/vms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    paths.extend(acl_tree_paths(cfg));
    for pool in cfg.pools.values() {
        paths.extend(pool.vms.iter().map(|vm| format!("/vms/{vm}")));
        paths.extend(pool.storage.iter().map(|s| format!("/storage/{s}")));
    }
    paths
        .into_iter()
        .filter_map(|p| {
            let privs = permissions(cfg, authid, &p);
            (!privs.is_empty()).then_some((p, privs))
        })
        .collect()
}
