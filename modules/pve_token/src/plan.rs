//! The pure part of pve_token: the task's options, checked, and the requests
//! that bring the token where the task wants it, given the token as the
//! server has it. No I/O here; `main.rs` reads, calls [`decide`] and
//! [`plan`] and sends the requests.

use ansible_module::{Params, Value};
use pve_api::access::{AclEntry, PrincipalKind, Token};
use pve_api::ids::{self, TokenId};
use pve_api::self_lockout::Change;
use pve_api::{seg, time, ApiRequest};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Present,
    Absent,
}

/// `renew_before` with `expire_in`, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Renew {
    pub before: i64,
    pub expire_in: i64,
}

/// The task, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub id: TokenId,
    pub state: State,
    /// `Some("")` clears the comment.
    pub comment: Option<String>,
    /// Epoch seconds, 0 = never.
    pub expire: Option<i64>,
    pub privsep: Option<bool>,
    pub regenerate: bool,
    pub renew: Option<Renew>,
}

impl Desired {
    /// Reads and checks the options: ids, dates and durations, before
    /// anything is sent.
    pub fn from_params(p: &Params) -> Result<Desired, String> {
        let token = p.str("tokenid").unwrap_or_default();
        let userid = p.str("userid").filter(|u| !u.is_empty());
        let id = ids::parse_tokenid(token, userid).map_err(|e| {
            format!(
                "tokenid: {}",
                e.replace("give the user too", "give userid too")
            )
        })?;
        if let Some(u) = userid {
            if u != id.userid {
                return Err(format!(
                    "tokenid '{token}' belongs to {} but userid is {u}: give the bare token name with userid, or the full id alone",
                    id.userid
                ));
            }
        }
        let state = match p.str("state") {
            Some("absent") => State::Absent,
            _ => State::Present,
        };
        let expire = p.str("expire").map(time::parse_expire).transpose()?;
        let duration = |name: &str| {
            p.str(name)
                .map(|t| time::parse_duration(t).map_err(|e| format!("{name}: {e}")))
                .transpose()
        };
        let renew = match (duration("renew_before")?, duration("expire_in")?) {
            (Some(before), Some(expire_in)) => {
                if expire_in <= 0 {
                    return Err("expire_in must be longer than 0 seconds".into());
                }
                // A token renewed for expire_in would be due again at once.
                if before >= expire_in {
                    return Err(format!(
                        "renew_before ({}) must be shorter than expire_in ({}): a token renewed to expire in {} is already due for renewal, so every run would regenerate it",
                        p.str("renew_before").unwrap_or_default(),
                        p.str("expire_in").unwrap_or_default(),
                        p.str("expire_in").unwrap_or_default(),
                    ));
                }
                Some(Renew { before, expire_in })
            }
            (None, None) => None,
            _ => return Err("renew_before and expire_in are used together".into()),
        };
        Ok(Desired {
            id,
            state,
            comment: p.str("comment").map(str::to_string),
            expire,
            privsep: p.bool("privsep"),
            regenerate: p.bool("regenerate").unwrap_or(false),
            renew,
        })
    }

    pub fn full(&self) -> String {
        self.id.full()
    }
}

/// What the task comes to, before the server's version and ACL matter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Nothing,
    Create(Token),
    /// The token's attributes change; the names of those that do.
    Update(Token, Vec<&'static str>),
    /// A new secret; `Token` is the token after (attributes may change too).
    Regenerate(Token, Vec<&'static str>),
    Delete,
}

impl Action {
    /// Whether the run needs the server's version: to regenerate (the
    /// `regenerate` parameter exists since PVE 9.1) or to clear a comment
    /// (impossible before PVE 9).
    pub fn needs_version(&self, current: Option<&Token>) -> bool {
        match self {
            Action::Regenerate(..) => true,
            Action::Update(target, _) => clears_comment(current, target),
            _ => false,
        }
    }
}

fn clears_comment(current: Option<&Token>, target: &Token) -> bool {
    current.is_some_and(|c| c.comment.is_some()) && target.comment.is_none()
}

/// Decides what to do. `now` is the time in epoch seconds (for
/// `renew_before`/`expire_in`).
pub fn decide(d: &Desired, current: Option<&Token>, now: i64) -> Result<Action, String> {
    if d.state == State::Absent {
        return Ok(match current {
            None => Action::Nothing,
            Some(_) => Action::Delete,
        });
    }
    let renew_expire = d.renew.map(|r| now.saturating_add(r.expire_in));
    let Some(cur) = current else {
        let mut t = Token::new(&d.id.userid, &d.id.name);
        t.comment = d.comment.clone().filter(|c| !c.is_empty());
        t.expire = d.expire.or(renew_expire).unwrap_or(0);
        t.privsep = d.privsep.unwrap_or(true);
        return Ok(Action::Create(t));
    };
    let due = d
        .renew
        .is_some_and(|r| cur.expire != 0 && cur.expire.saturating_sub(now) <= r.before);
    let mut target = cur.clone();
    if let Some(c) = &d.comment {
        target.comment = Some(c.clone()).filter(|c| !c.is_empty());
    }
    if let Some(e) = d.expire {
        target.expire = e;
    }
    if due {
        target.expire = renew_expire.unwrap_or(target.expire);
    }
    if let Some(p) = d.privsep {
        target.privsep = p;
    }
    let mut fields = Vec::new();
    if target.comment != cur.comment {
        fields.push("comment");
    }
    if target.expire != cur.expire {
        fields.push("expire");
    }
    if target.privsep != cur.privsep {
        fields.push("privsep");
    }
    if d.regenerate || due {
        return Ok(Action::Regenerate(target, fields));
    }
    if fields.is_empty() {
        Ok(Action::Nothing)
    } else {
        Ok(Action::Update(target, fields))
    }
}

/// What the task takes away from the token, known before any request:
/// deleting or regenerating it. Judged before the read for the token the
/// module authenticates with, since a privilege-separated token may not
/// even read itself. ([`lockout_changes`] says the same after the read,
/// also for `renew_before`.)
pub fn early_lockout(d: &Desired) -> Vec<Change> {
    if d.state == State::Absent {
        vec![Change::TokenDeleted(d.full())]
    } else if d.regenerate {
        vec![Change::TokenRegenerated(d.full())]
    } else {
        Vec::new()
    }
}

/// What `action` takes away from the token, for the self-lockout rule
/// ([`pve_api::self_lockout`]): the token itself, its secret, its
/// privilege separation turned on (leaving it only its own ACL entries),
/// an expiry coming sooner.
pub fn lockout_changes(d: &Desired, current: Option<&Token>, action: &Action) -> Vec<Change> {
    let full = d.full();
    let (target, regenerate) = match (action, current) {
        (Action::Delete, _) => return vec![Change::TokenDeleted(full)],
        (Action::Update(t, _), Some(_)) => (t, false),
        (Action::Regenerate(t, _), Some(_)) => (t, true),
        _ => return Vec::new(),
    };
    let Some(cur) = current else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if regenerate {
        out.push(Change::TokenRegenerated(full.clone()));
    }
    if target.privsep && !cur.privsep {
        out.push(Change::TokenPrivsepOn(full.clone()));
    }
    if target.expire != cur.expire {
        out.push(Change::TokenExpire {
            full,
            from: cur.expire,
            to: target.expire,
        });
    }
    out
}

/// Before PVE 9.1 a token is regenerated by deleting and re-creating it:
/// the token the module authenticates with would lose its own login half
/// way, whatever `allow_self_lockout` says.
pub fn refuse_recreating_itself(d: &Desired, authid: &str, server: &Server) -> Result<(), String> {
    if d.full() != authid || server.has_regenerate() {
        return Ok(());
    }
    Err(format!(
        "cannot regenerate token '{authid}' with itself on PVE {}.{}: without PVE 9.1's regenerate it is deleted and re-created, and the module would lose its login half way. Nothing was changed; run the task with other credentials",
        server.version.0, server.version.1
    ))
}

/// What the server offers, read only when [`Action::needs_version`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// `(major, minor)` of the PVE release.
    pub version: (u32, u32),
    /// The token's own ACL entries (read only to regenerate without PVE's
    /// `regenerate` parameter).
    pub token_acl: Vec<AclEntry>,
}

impl Server {
    /// PVE 9.1 added `regenerate` to the token update.
    pub fn has_regenerate(&self) -> bool {
        self.version >= (9, 1)
    }
}

/// The release `(major, minor)` of a PVE version text such as `9.1.1`.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// How to tell, after a write whose answer was lost, whether it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The token is gone.
    Absent,
    /// The token exists (a creation: its secret is lost with the answer).
    Exists,
    /// The token has exactly these attributes.
    Matches(Token),
    /// Cannot be read back, and sending it again is harmless: a new secret
    /// that no one has received replaces another.
    Resend,
    /// These ACL entries exist.
    Acl(Vec<AclEntry>),
}

/// One request of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub req: ApiRequest,
    pub settle: Settle,
    /// Its answer holds the new secret.
    pub secret: bool,
}

/// What the run does.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub changed: bool,
    /// The token before and after (`{}` when it does not exist); never the
    /// secret.
    pub before: Value,
    pub after: Value,
    pub msg: String,
}

fn view(t: Option<&Token>) -> Value {
    t.map_or_else(|| Value::Object(Default::default()), Token::to_json)
}

pub fn token_path(id: &TokenId) -> String {
    format!("/access/users/{}/token/{}", seg(&id.userid), seg(&id.name))
}

/// The creation of `t`, with every attribute that differs from PVE's
/// defaults.
fn create_step(id: &TokenId, t: &Token) -> Step {
    let mut req = ApiRequest::post(token_path(id)).param("privsep", u8::from(t.privsep));
    if t.expire != 0 {
        req = req.param("expire", t.expire);
    }
    if let Some(c) = &t.comment {
        req = req.param("comment", c);
    }
    Step {
        req,
        settle: Settle::Exists,
        secret: true,
    }
}

/// The update of the fields of `t` named in `fields`.
fn update_request(id: &TokenId, t: &Token, fields: &[&str]) -> ApiRequest {
    let mut req = ApiRequest::put(token_path(id));
    for f in fields {
        req = match *f {
            "comment" => req.param("comment", t.comment.clone().unwrap_or_default()),
            "expire" => req.param("expire", t.expire),
            _ => req.param("privsep", u8::from(t.privsep)),
        };
    }
    req
}

/// The entries of `entries` that name the token `full`.
pub fn own_entries<'a>(
    full: &'a str,
    entries: &'a [AclEntry],
) -> impl Iterator<Item = &'a AclEntry> {
    entries
        .iter()
        .filter(move |e| e.kind == PrincipalKind::Token && e.ugid == full)
}

/// PUTs that give the token `full` back its ACL entries: one per path and
/// propagate flag, with all roles of that pair.
pub fn acl_steps(full: &str, entries: &[AclEntry]) -> Vec<Step> {
    let mut by_path: BTreeMap<(String, bool), Vec<AclEntry>> = BTreeMap::new();
    for e in own_entries(full, entries) {
        by_path
            .entry((e.path.clone(), e.propagate))
            .or_default()
            .push(e.clone());
    }
    by_path
        .into_iter()
        .map(|((path, propagate), group)| {
            let mut roles: Vec<String> = group.iter().map(|e| e.roleid.clone()).collect();
            roles.sort();
            roles.dedup();
            Step {
                req: ApiRequest::put("/access/acl")
                    .param("path", path)
                    .param("roles", roles.join(","))
                    .param("tokens", full)
                    .param("propagate", u8::from(propagate)),
                settle: Settle::Acl(group),
                secret: false,
            }
        })
        .collect()
}

/// A new secret for the existing token, ending as `target`: PVE's
/// `regenerate` where the server has it, else delete, create and re-add the
/// token's ACL entries (PVE drops them with the token).
pub fn regenerate_steps(
    id: &TokenId,
    current: &Token,
    target: &Token,
    server: &Server,
) -> Vec<Step> {
    if server.has_regenerate() {
        let mut fields = Vec::new();
        if target.comment != current.comment {
            fields.push("comment");
        }
        if target.expire != current.expire {
            fields.push("expire");
        }
        if target.privsep != current.privsep {
            fields.push("privsep");
        }
        return vec![Step {
            req: update_request(id, target, &fields).param("regenerate", 1),
            settle: Settle::Resend,
            secret: true,
        }];
    }
    let mut steps = vec![
        Step {
            req: ApiRequest::delete(token_path(id)),
            settle: Settle::Absent,
            secret: false,
        },
        create_step(id, target),
    ];
    steps.extend(acl_steps(&id.full(), &server.token_acl));
    steps
}

/// Plans `action` against the token as the server has it. `server` is
/// needed when [`Action::needs_version`] says so. `check_mode` only changes
/// the wording of `msg`.
pub fn plan(
    d: &Desired,
    current: Option<&Token>,
    action: &Action,
    server: Option<&Server>,
    check_mode: bool,
) -> Result<Plan, String> {
    let full = d.full();
    let verb = |done: &str| {
        if check_mode {
            format!("would be {done}")
        } else {
            done.to_string()
        }
    };
    let before = view(current);
    let mut plan = Plan {
        steps: vec![],
        changed: true,
        before: before.clone(),
        after: before,
        msg: String::new(),
    };
    match (action, current) {
        (Action::Nothing, None) => {
            plan.changed = false;
            plan.msg = format!("token '{full}' does not exist");
        }
        (Action::Nothing, Some(_)) => {
            plan.changed = false;
            plan.msg = format!("token '{full}' unchanged");
        }
        (Action::Create(t), _) => {
            plan.steps = vec![create_step(&d.id, t)];
            plan.after = t.to_json();
            plan.msg = format!("token '{full}' {}", verb("created"));
            if check_mode {
                plan.msg
                    .push_str(" (the real run returns its secret, once)");
            }
        }
        (Action::Update(t, fields), Some(cur)) => {
            if clears_comment(current, t) {
                let version = server.map(|s| s.version).unwrap_or((0, 0));
                if version < (9, 0) {
                    return Err(format!(
                        "token '{full}' not changed: PVE {}.{} cannot clear a token's comment (PVE 9 can); set another comment instead, or leave comment out",
                        version.0, version.1
                    ));
                }
            }
            plan.steps = vec![Step {
                req: update_request(&d.id, t, fields),
                settle: Settle::Matches(t.clone()),
                secret: false,
            }];
            plan.after = t.to_json();
            plan.msg = format!(
                "token '{full}' {}: {}",
                verb("updated"),
                describe(cur, t, fields)
            );
        }
        (Action::Regenerate(t, fields), Some(cur)) => {
            let server = server.ok_or("internal: regenerating needs the server's version")?;
            if clears_comment(current, t) && server.version < (9, 0) {
                return Err(format!(
                    "token '{full}' not changed: PVE {}.{} cannot clear a token's comment (PVE 9 can); set another comment instead, or leave comment out",
                    server.version.0, server.version.1
                ));
            }
            plan.steps = regenerate_steps(&d.id, cur, t, server);
            plan.after = t.to_json();
            let mut msg = format!("token '{full}' {} (new secret)", verb("regenerated"));
            if !server.has_regenerate() {
                let acls = own_entries(&full, &server.token_acl).count();
                msg.push_str(&format!(
                    " by deleting and re-creating it (PVE {}.{} has no regenerate), re-adding its {acls} ACL entr{}",
                    server.version.0,
                    server.version.1,
                    if acls == 1 { "y" } else { "ies" }
                ));
            }
            if !fields.is_empty() {
                msg.push_str(&format!("; {}", describe(cur, t, fields)));
            }
            plan.msg = msg;
        }
        (Action::Delete, Some(_)) => {
            plan.steps = vec![Step {
                req: ApiRequest::delete(token_path(&d.id)),
                settle: Settle::Absent,
                secret: false,
            }];
            plan.after = view(None);
            plan.msg = format!("token '{full}' {}", verb("deleted"));
        }
        (Action::Update(..) | Action::Regenerate(..) | Action::Delete, None) => {
            return Err(format!("internal: token '{full}' is missing"));
        }
    }
    Ok(plan)
}

fn expire_text(e: i64) -> String {
    if e == 0 {
        "never".into()
    } else {
        time::format_epoch(e)
    }
}

/// `comment set, expire 2027-01-01T00:00:00Z (was never), privsep off`.
fn describe(cur: &Token, t: &Token, fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| match *f {
            "comment" if t.comment.is_none() => "comment cleared".to_string(),
            "comment" => "comment set".to_string(),
            "expire" => format!(
                "expire {} (was {})",
                expire_text(t.expire),
                expire_text(cur.expire)
            ),
            _ => format!("privsep {}", if t.privsep { "on" } else { "off" }),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message for a secret lost in transit that could not be issued anew.
pub fn lost_secret_message(full: &str, why: &str) -> String {
    format!(
        "token '{full}' exists, but the answer holding its secret was lost in transit and PVE never shows a secret again ({why}); run this task again with regenerate: true to issue a new secret"
    )
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
