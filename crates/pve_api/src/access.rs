//! The access-control resources as typed values, and the reads that fetch
//! them: users, groups, roles, ACL entries, API tokens and effective
//! permissions.
//!
//! PVE answers the same thing in different shapes depending on the endpoint
//! (0/1 integers, `"1"`/`"0"` strings echoed from requests, JSON booleans;
//! `groups` as an array or a comma string; `tokens` as an object, an array or
//! `null`; `email: ""`; role privileges as a comma string or an object). The
//! `*_from_json` parsers here are the one place that knows those shapes; the
//! modules only see the types below, whose `to_json` is what they return.
//!
//! Every read is one GET. Reads of one object answer `None` when PVE says it
//! does not exist.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::ids;
use crate::{seg, ApiError, ApiRequest, Client};

/// Effective permissions: ACL path → privilege → propagate flag.
pub type Permissions = BTreeMap<String, BTreeMap<String, bool>>;

/// A user as PVE stores it (`user:` line of `user.cfg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub userid: String,
    pub enable: bool,
    /// Epoch seconds; 0 = never.
    pub expire: i64,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub email: Option<String>,
    pub comment: Option<String>,
    /// Sorted, without duplicates.
    pub groups: Vec<String>,
    /// Token names (not full ids), sorted.
    pub tokens: Vec<String>,
}

/// A group and its members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub groupid: String,
    pub comment: Option<String>,
    /// User ids, sorted, without duplicates.
    pub members: Vec<String>,
}

/// A role and its privileges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub roleid: String,
    /// Sorted, without duplicates.
    pub privs: Vec<String>,
    /// Built in: PVE refuses to change or delete it.
    pub special: bool,
}

/// Who an ACL entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalKind {
    User,
    Group,
    Token,
}

impl PrincipalKind {
    /// The `type` PVE reports in `GET /access/acl`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Group => "group",
            PrincipalKind::Token => "token",
        }
    }

    /// The parameter of `PUT /access/acl` that names principals of this kind.
    pub fn param(self) -> &'static str {
        match self {
            PrincipalKind::User => "users",
            PrincipalKind::Group => "groups",
            PrincipalKind::Token => "tokens",
        }
    }

    /// Reads the `type` of an ACL entry.
    pub fn parse(kind: &str) -> Option<PrincipalKind> {
        match kind {
            "user" => Some(PrincipalKind::User),
            "group" => Some(PrincipalKind::Group),
            "token" => Some(PrincipalKind::Token),
            _ => None,
        }
    }
}

/// One ACL entry: one role of one principal on one path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclEntry {
    pub path: String,
    pub kind: PrincipalKind,
    /// User id, bare group name, or full token id.
    pub ugid: String,
    pub roleid: String,
    pub propagate: bool,
}

/// An API token (without its secret, which PVE never shows again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub userid: String,
    pub tokenid: String,
    pub comment: Option<String>,
    /// Epoch seconds; 0 = no expiry of its own.
    pub expire: i64,
    pub privsep: bool,
}

impl User {
    /// A user as PVE creates it when nothing else is given: enabled, no
    /// expiry, no other attributes.
    pub fn new(userid: &str) -> User {
        User {
            userid: userid.to_string(),
            enable: true,
            expire: 0,
            firstname: None,
            lastname: None,
            email: None,
            comment: None,
            groups: Vec::new(),
            tokens: Vec::new(),
        }
    }

    /// The `user` the modules return.
    pub fn to_json(&self) -> Value {
        json!({
            "userid": self.userid,
            "enable": self.enable,
            "expire": self.expire,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "email": self.email,
            "comment": self.comment,
            "groups": self.groups,
            "tokens": self.tokens,
        })
    }
}

impl Group {
    /// An empty group without comment.
    pub fn new(groupid: &str) -> Group {
        Group {
            groupid: groupid.to_string(),
            comment: None,
            members: Vec::new(),
        }
    }

    /// The `group` the modules return.
    pub fn to_json(&self) -> Value {
        json!({
            "groupid": self.groupid,
            "comment": self.comment,
            "members": self.members,
        })
    }
}

impl Role {
    /// A custom role without privileges.
    pub fn new(roleid: &str) -> Role {
        Role {
            roleid: roleid.to_string(),
            privs: Vec::new(),
            special: false,
        }
    }

    /// The `role` the modules return.
    pub fn to_json(&self) -> Value {
        json!({
            "roleid": self.roleid,
            "privs": self.privs,
            "special": self.special,
        })
    }
}

impl AclEntry {
    /// One item of the `acl` list the modules return.
    pub fn to_json(&self) -> Value {
        json!({
            "path": self.path,
            "type": self.kind.as_str(),
            "ugid": self.ugid,
            "roleid": self.roleid,
            "propagate": self.propagate,
        })
    }
}

impl Token {
    /// A token as PVE creates it when nothing else is given: privilege
    /// separation on, no expiry, no comment.
    pub fn new(userid: &str, tokenid: &str) -> Token {
        Token {
            userid: userid.to_string(),
            tokenid: tokenid.to_string(),
            comment: None,
            expire: 0,
            privsep: true,
        }
    }

    /// `user@realm!name`.
    pub fn full_tokenid(&self) -> String {
        format!("{}!{}", self.userid, self.tokenid)
    }

    /// The `token` the modules return.
    pub fn to_json(&self) -> Value {
        json!({
            "full_tokenid": self.full_tokenid(),
            "userid": self.userid,
            "tokenid": self.tokenid,
            "comment": self.comment,
            "expire": self.expire,
            "privsep": self.privsep,
        })
    }
}

/// Effective permissions as the modules return them (`{path: {priv: propagate}}`).
pub fn permissions_to_json(perms: &Permissions) -> Value {
    let mut out = Map::new();
    for (path, privs) in perms {
        let inner: Map<String, Value> = privs
            .iter()
            .map(|(p, f)| (p.clone(), Value::Bool(*f)))
            .collect();
        out.insert(path.clone(), Value::Object(inner));
    }
    Value::Object(out)
}

// ---- shapes ----------------------------------------------------------------

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what}: expected an object, got {}", kind_of(v)))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A boolean PVE may send as 0/1 (config), `"0"`/`"1"` (echoed request
/// values) or a JSON boolean. Absent or `null` gives `default`.
fn flag(obj: &Map<String, Value>, key: &str, default: bool) -> Result<bool, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => as_flag(v).ok_or_else(|| format!("'{key}': expected 0 or 1, got {v}")),
    }
}

fn as_flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.as_str() {
            "" | "0" => Some(false),
            "1" => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// An integer PVE may send as a number or (echoed) a string; absent or
/// `null` is 0.
fn int(obj: &Map<String, Value>, key: &str) -> Result<i64, String> {
    let bad = |v: &Value| format!("'{key}': expected an integer, got {v}");
    match obj.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(v @ Value::Number(n)) => n.as_i64().ok_or_else(|| bad(v)),
        Some(v @ Value::String(s)) => s.parse().map_err(|_| bad(v)),
        Some(v) => Err(bad(v)),
    }
}

/// A text attribute: absent, `null` and `""` all mean "not set".
fn text(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(v) => Err(format!("'{key}': expected a string, got {}", kind_of(v))),
    }
}

fn required_str(obj: &Map<String, Value>, key: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(v) => Err(format!("'{key}': expected a non-empty string, got {v}")),
        None => Err(format!("'{key}' is missing")),
    }
}

/// A list of ids PVE sends as an array or as one comma-joined string
/// (`""` = none); absent or `null` is empty. Sorted, without duplicates.
fn id_list(obj: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    let items = match obj.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("'{key}': expected strings, got {v}"))
            })
            .collect::<Result<_, _>>()?,
        Some(v) => {
            return Err(format!(
                "'{key}': expected an array or a string, got {}",
                kind_of(v)
            ))
        }
    };
    Ok(sorted_unique(items))
}

/// Token names of a user: `GET /access/users/{id}` sends an object keyed by
/// name, the index (`full=1`) an array of `{tokenid, ...}`; both send `null`
/// when the user has none.
fn token_names(obj: &Map<String, Value>) -> Result<Vec<String>, String> {
    let names = match obj.get("tokens") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| match t {
                Value::String(s) => Ok(s.clone()),
                Value::Object(o) => {
                    required_str(o, "tokenid").map_err(|e| format!("'tokens': {e}"))
                }
                v => Err(format!("'tokens': unexpected item {v}")),
            })
            .collect::<Result<_, _>>()?,
        Some(v) => {
            return Err(format!(
                "'tokens': expected an object, an array or null, got {}",
                kind_of(v)
            ))
        }
    };
    Ok(sorted_unique(names))
}

// ---- parsers -------------------------------------------------------------

/// A user from `GET /access/users/{userid}` (which does not repeat the id) or
/// from one item of `GET /access/users?full=1`.
pub fn user_from_json(userid: &str, v: &Value) -> Result<User, String> {
    let o = object(v, &format!("user '{userid}'"))?;
    let ctx = |e: String| format!("user '{userid}': {e}");
    Ok(User {
        userid: userid.to_string(),
        enable: flag(o, "enable", true).map_err(ctx)?,
        expire: int(o, "expire").map_err(ctx)?,
        firstname: text(o, "firstname").map_err(ctx)?,
        lastname: text(o, "lastname").map_err(ctx)?,
        email: text(o, "email").map_err(ctx)?,
        comment: text(o, "comment").map_err(ctx)?,
        groups: id_list(o, "groups").map_err(ctx)?,
        tokens: token_names(o).map_err(ctx)?,
    })
}

/// A group from `GET /access/groups/{groupid}` (`members` array) or from one
/// item of `GET /access/groups` (`users` comma string).
pub fn group_from_json(groupid: &str, v: &Value) -> Result<Group, String> {
    let o = object(v, &format!("group '{groupid}'"))?;
    let ctx = |e: String| format!("group '{groupid}': {e}");
    let members = if o.contains_key("members") {
        id_list(o, "members")
    } else {
        id_list(o, "users")
    };
    Ok(Group {
        groupid: groupid.to_string(),
        comment: text(o, "comment").map_err(ctx)?,
        members: members.map_err(ctx)?,
    })
}

/// A role from one item of `GET /access/roles` (`{roleid, privs: "a,b",
/// special}`) or from `GET /access/roles/{roleid}` (`{"VM.Audit": 1, ...}`,
/// which does not say whether the role is built in: PVE's fixed list of
/// built-in names does).
pub fn role_from_json(roleid: &str, v: &Value) -> Result<Role, String> {
    let o = object(v, &format!("role '{roleid}'"))?;
    let ctx = |e: String| format!("role '{roleid}': {e}");
    // Privilege names always hold a dot, so these keys only occur in the index.
    let index_shape = ["roleid", "privs", "special"]
        .iter()
        .any(|k| o.contains_key(*k));
    if index_shape {
        return Ok(Role {
            roleid: roleid.to_string(),
            privs: id_list(o, "privs").map_err(ctx)?,
            special: flag(o, "special", false).map_err(ctx)?,
        });
    }
    let mut privs = Vec::with_capacity(o.len());
    for (name, set) in o {
        let held =
            as_flag(set).ok_or_else(|| ctx(format!("'{name}': expected 0 or 1, got {set}")))?;
        if held {
            privs.push(name.clone());
        }
    }
    Ok(Role {
        roleid: roleid.to_string(),
        privs: sorted_unique(privs),
        special: ids::builtin_role(roleid),
    })
}

/// One item of `GET /access/acl`.
pub fn acl_from_json(v: &Value) -> Result<AclEntry, String> {
    let o = object(v, "ACL entry")?;
    let ctx = |e: String| format!("ACL entry {v}: {e}");
    let kind_text = required_str(o, "type").map_err(ctx)?;
    let kind = PrincipalKind::parse(&kind_text)
        .ok_or_else(|| ctx(format!("unknown type '{kind_text}'")))?;
    Ok(AclEntry {
        path: required_str(o, "path").map_err(ctx)?,
        kind,
        ugid: required_str(o, "ugid").map_err(ctx)?,
        roleid: required_str(o, "roleid").map_err(ctx)?,
        propagate: flag(o, "propagate", true).map_err(ctx)?,
    })
}

/// A token from `GET /access/users/{userid}/token/{tokenid}`, from one item
/// of `GET /access/users/{userid}/token`, or from the `info` a token create
/// or update answers (whose values are strings, and which lacks `expire`
/// when it was not given: 0).
pub fn token_from_json(userid: &str, tokenid: &str, v: &Value) -> Result<Token, String> {
    let o = object(v, &format!("token '{userid}!{tokenid}'"))?;
    let ctx = |e: String| format!("token '{userid}!{tokenid}': {e}");
    Ok(Token {
        userid: userid.to_string(),
        tokenid: tokenid.to_string(),
        comment: text(o, "comment").map_err(ctx)?,
        expire: int(o, "expire").map_err(ctx)?,
        privsep: flag(o, "privsep", true).map_err(ctx)?,
    })
}

/// The tokens of one item of `GET /access/users?full=1`, which come as an
/// array of `{tokenid, privsep, expire, comment}` (or `null`), sorted.
pub fn tokens_from_json(userid: &str, v: &Value) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    if let Some(Value::Array(list)) = v.get("tokens") {
        for t in list {
            let name = t
                .get("tokenid")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("user '{userid}': a token without tokenid: {t}"))?;
            tokens.push(token_from_json(userid, name, t)?);
        }
    }
    tokens.sort_by(|a, b| a.tokenid.cmp(&b.tokenid));
    Ok(tokens)
}

/// The answer of `GET /access/permissions`: `{path: {priv: 0|1}}`.
pub fn permissions_from_json(v: &Value) -> Result<Permissions, String> {
    let o = object(v, "permissions")?;
    let mut out = Permissions::new();
    for (path, privs) in o {
        let po = object(privs, &format!("permissions of '{path}'"))?;
        let mut inner = BTreeMap::new();
        for (name, set) in po {
            let f = as_flag(set).ok_or_else(|| {
                format!("permissions of '{path}': '{name}': expected 0 or 1, got {set}")
            })?;
            inner.insert(name.clone(), f);
        }
        out.insert(path.clone(), inner);
    }
    Ok(out)
}

// ---- comparison helpers -----------------------------------------------

/// Sorted, without duplicates: the form lists are compared in.
pub fn sorted_unique(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

/// The list a task asks for: `desired` alone (replace), or `current` plus
/// `desired` (append). Order and duplicates do not matter; the result is
/// sorted, so it can be compared with a sorted current list.
pub fn merge_list(current: &[String], desired: &[String], append: bool) -> Vec<String> {
    let mut out = desired.to_vec();
    if append {
        out.extend_from_slice(current);
    }
    sorted_unique(out)
}

// ---- reads ---------------------------------------------------------------

/// A response of an unexpected shape, reported like any failed request.
fn bad_shape(path: &str, why: String) -> ApiError {
    ApiError::unexpected("GET", path, format!("unexpected answer: {why}"))
}

fn array<'a>(path: &str, v: &'a Value) -> Result<&'a Vec<Value>, ApiError> {
    v.as_array()
        .ok_or_else(|| bad_shape(path, format!("expected an array, got {}", kind_of(v))))
}

/// `Ok(None)` for PVE's "no such user" / "does not exist" / "no such token".
fn get_optional(client: &Client, path: &str) -> Result<Option<Value>, ApiError> {
    match client.get(path) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads one resource and parses it; `None` if the server says it does not
/// exist.
fn get_one<T>(
    client: &Client,
    path: &str,
    parse: impl FnOnce(&Value) -> Result<T, String>,
) -> Result<Option<T>, ApiError> {
    match get_optional(client, path)? {
        None => Ok(None),
        Some(v) => parse(&v).map(Some).map_err(|e| bad_shape(path, e)),
    }
}

/// Parses a list answer whose items carry their id under `key`.
fn parse_list<T>(
    path: &str,
    data: &Value,
    key: &str,
    parse: impl Fn(&str, &Value) -> Result<T, String>,
) -> Result<Vec<T>, ApiError> {
    array(path, data)?
        .iter()
        .map(|item| {
            let id = item
                .as_object()
                .ok_or_else(|| format!("expected objects, got {item}"))
                .and_then(|o| required_str(o, key))?;
            parse(&id, item)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_shape(path, e))
}

/// One user with its groups and token names; `None` if it does not exist.
pub fn get_user(client: &Client, userid: &str) -> Result<Option<User>, ApiError> {
    let path = format!("/access/users/{}", seg(userid));
    get_one(client, &path, |v| user_from_json(userid, v))
}

/// Every user the caller may see, with groups and token names, sorted by id.
pub fn list_users(client: &Client) -> Result<Vec<User>, ApiError> {
    let path = "/access/users";
    let data = client.send(&ApiRequest::get(path).param("full", 1))?;
    let mut users = parse_list(path, &data, "userid", user_from_json)?;
    users.sort_by(|a, b| a.userid.cmp(&b.userid));
    Ok(users)
}

/// Every user the caller may see with its tokens, sorted by id, from the
/// same one request as [`list_users`].
pub fn list_users_with_tokens(client: &Client) -> Result<Vec<(User, Vec<Token>)>, ApiError> {
    let path = "/access/users";
    let data = client.send(&ApiRequest::get(path).param("full", 1))?;
    let mut users = parse_list(path, &data, "userid", |id, v| {
        Ok((user_from_json(id, v)?, tokens_from_json(id, v)?))
    })?;
    users.sort_by(|a, b| a.0.userid.cmp(&b.0.userid));
    Ok(users)
}

/// The ids of the server's authentication realms, sorted.
pub fn realms(client: &Client) -> Result<Vec<String>, ApiError> {
    let path = "/access/domains";
    let data = client.get(path)?;
    let ids = array(path, &data)?
        .iter()
        .map(|item| {
            item.as_object()
                .ok_or_else(|| format!("expected objects, got {item}"))
                .and_then(|o| required_str(o, "realm"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_shape(path, e))?;
    Ok(sorted_unique(ids))
}

/// One realm's configuration as `GET /access/domains/{realm}` answers it
/// (`type`, its options and the `digest` of domains.cfg); `None` if it does
/// not exist.
pub fn get_realm(client: &Client, realm: &str) -> Result<Option<Map<String, Value>>, ApiError> {
    let path = format!("/access/domains/{}", seg(realm));
    get_one(client, &path, |v| {
        v.as_object()
            .filter(|o| o.get("type").is_some_and(Value::is_string))
            .cloned()
            .ok_or_else(|| format!("expected an object with a type, got {v}"))
    })
}

/// One group with its members; `None` if it does not exist.
pub fn get_group(client: &Client, groupid: &str) -> Result<Option<Group>, ApiError> {
    let path = format!("/access/groups/{}", seg(groupid));
    get_one(client, &path, |v| group_from_json(groupid, v))
}

/// Every group the caller may see, sorted by id.
pub fn list_groups(client: &Client) -> Result<Vec<Group>, ApiError> {
    let path = "/access/groups";
    let data = client.get(path)?;
    let mut groups = parse_list(path, &data, "groupid", group_from_json)?;
    groups.sort_by(|a, b| a.groupid.cmp(&b.groupid));
    Ok(groups)
}

/// One role; `None` if it does not exist.
pub fn get_role(client: &Client, roleid: &str) -> Result<Option<Role>, ApiError> {
    let path = format!("/access/roles/{}", seg(roleid));
    get_one(client, &path, |v| role_from_json(roleid, v))
}

/// Every role, sorted by id. The `Administrator` entry holds every privilege
/// of the server, so this one read can also stand in for [`privileges`].
pub fn list_roles(client: &Client) -> Result<Vec<Role>, ApiError> {
    let path = "/access/roles";
    let data = client.get(path)?;
    let mut roles = parse_list(path, &data, "roleid", role_from_json)?;
    roles.sort_by(|a, b| a.roleid.cmp(&b.roleid));
    Ok(roles)
}

/// Every ACL entry the caller may see, in the server's order (paths depth
/// first).
pub fn list_acl(client: &Client) -> Result<Vec<AclEntry>, ApiError> {
    let path = "/access/acl";
    let data = client.get(path)?;
    array(path, &data)?
        .iter()
        .map(acl_from_json)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_shape(path, e))
}

/// One token; `None` if it (or, for root, its user) does not exist.
pub fn get_token(client: &Client, userid: &str, tokenid: &str) -> Result<Option<Token>, ApiError> {
    let path = format!("/access/users/{}/token/{}", seg(userid), seg(tokenid));
    get_one(client, &path, |v| token_from_json(userid, tokenid, v))
}

/// Effective permissions of `authid` (a user id or a full token id; the
/// caller itself when `None`), on `path` only or on every path PVE reports.
pub fn permissions(
    client: &Client,
    authid: Option<&str>,
    path: Option<&str>,
) -> Result<Permissions, ApiError> {
    let endpoint = "/access/permissions";
    let mut req = ApiRequest::get(endpoint);
    if let Some(id) = authid {
        req = req.param("userid", id);
    }
    if let Some(p) = path {
        req = req.param("path", p);
    }
    let data = client.send(&req)?;
    permissions_from_json(&data).map_err(|e| bad_shape(endpoint, e))
}

/// The server's privilege names, sorted: those of the built-in
/// `Administrator` role, which holds every privilege.
pub fn privileges(client: &Client) -> Result<Vec<String>, ApiError> {
    let path = "/access/roles/Administrator";
    let data = client.get(path)?;
    role_from_json("Administrator", &data)
        .map(|r| r.privs)
        .map_err(|e| bad_shape(path, e))
}

/// The server's PVE version (`version` of `GET /version`, such as `9.1.1`).
pub fn version(client: &Client) -> Result<String, ApiError> {
    let path = "/version";
    let data = client.get(path)?;
    object(&data, "version")
        .and_then(|o| required_str(o, "version"))
        .map_err(|e| bad_shape(path, e))
}

/// The release `(major, minor)` of a PVE version text such as `9.1.1`
/// (a missing minor is 0); `None` when it does not start with a number.
pub fn release(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(['.', '-', '~']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

#[cfg(test)]
#[path = "tests/access.rs"]
mod tests;
