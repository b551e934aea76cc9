//! The pure part of pve_token: the task's options, checked, and the steps
//! that bring the token where the task wants it, given the token as the
//! server has it. No I/O here; `main.rs` reads, calls [`decide`] and
//! [`plan`] and sends the steps.

use ansible_module::Params;
use pve_api::access::{AclEntry, PrincipalKind, Token};
use pve_api::ids::{self, TokenId};
use pve_api::self_lockout::Change;
use pve_api::{seg, time, ApiRequest};
pub use pve_module::State;
use pve_module::{no_view, verb, Refused};
use std::collections::BTreeMap;

pub type Step = pve_module::Step<Settle>;
pub type Plan = pve_module::Plan<Settle>;

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
        Ok(Desired {
            id: token_id(p)?,
            state: State::from_params(p),
            comment: p.str("comment").map(str::to_string),
            expire: p.str("expire").map(time::parse_expire).transpose()?,
            privsep: p.bool("privsep"),
            regenerate: p.bool("regenerate").unwrap_or(false),
            renew: renew(p)?,
        })
    }

    pub fn full(&self) -> String {
        self.id.full()
    }
}

/// `tokenid`, bare with `userid` or full alone.
fn token_id(p: &Params) -> Result<TokenId, String> {
    let token = p.str("tokenid").unwrap_or_default();
    let userid = p.str("userid").filter(|u| !u.is_empty());
    let id = ids::parse_tokenid(token, userid).map_err(|e| {
        format!(
            "tokenid: {}",
            e.replace("give the user too", "give userid too")
        )
    })?;
    match userid {
        Some(u) if u != id.userid => Err(format!(
            "tokenid '{token}' belongs to {} but userid is {u}: give the bare token name with userid, or the full id alone",
            id.userid
        )),
        _ => Ok(id),
    }
}

/// `renew_before` with `expire_in`.
fn renew(p: &Params) -> Result<Option<Renew>, String> {
    let duration = |name: &str| {
        p.str(name)
            .map(|t| time::parse_duration(t).map_err(|e| format!("{name}: {e}")))
            .transpose()
    };
    match (duration("renew_before")?, duration("expire_in")?) {
        (Some(_), Some(expire_in)) if expire_in <= 0 => {
            Err("expire_in must be longer than 0 seconds".into())
        }
        // A token renewed for expire_in would be due again at once.
        (Some(before), Some(expire_in)) if before >= expire_in => {
            let text = |name| p.str(name).unwrap_or_default();
            Err(format!(
                "renew_before ({}) must be shorter than expire_in ({}): a token renewed to expire in {} is already due for renewal, so every run would regenerate it",
                text("renew_before"),
                text("expire_in"),
                text("expire_in"),
            ))
        }
        (Some(before), Some(expire_in)) => Ok(Some(Renew { before, expire_in })),
        (None, None) => Ok(None),
        _ => Err("renew_before and expire_in are used together".into()),
    }
}

/// What the task comes to, before the server's version and ACL matter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// No token, and none wanted.
    Absent,
    Unchanged(Token),
    Create(Token),
    /// The token's attributes change.
    Update(Edit),
    /// A new secret; the attributes may change too.
    Regenerate(Edit),
    Delete(Token),
}

/// The token as it is and as the task wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub current: Token,
    pub target: Token,
    /// The attributes that differ, in the order PVE's update takes them.
    pub fields: Vec<&'static str>,
}

impl Edit {
    pub fn new(current: Token, target: Token) -> Edit {
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
        Edit {
            current,
            target,
            fields,
        }
    }

    fn clears_comment(&self) -> bool {
        self.current.comment.is_some() && self.target.comment.is_none()
    }

    /// `comment set, expire 2027-01-01T00:00:00Z (was never), privsep off`.
    fn describe(&self) -> String {
        let (cur, t) = (&self.current, &self.target);
        self.fields
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
}

impl Action {
    /// Whether the run needs the server's version: to regenerate (the
    /// `regenerate` parameter exists since PVE 9.1) or to clear a comment
    /// (impossible before PVE 9).
    pub fn needs_version(&self) -> bool {
        match self {
            Action::Regenerate(_) => true,
            Action::Update(edit) => edit.clears_comment(),
            _ => false,
        }
    }
}

/// Decides what to do. `now` is the time in epoch seconds (for
/// `renew_before`/`expire_in`).
pub fn decide(d: &Desired, current: Option<&Token>, now: i64) -> Action {
    let renewed = d.renew.map(|r| now.saturating_add(r.expire_in));
    let cur = match (d.state, current) {
        (State::Absent, None) => return Action::Absent,
        (State::Absent, Some(cur)) => return Action::Delete(cur.clone()),
        (State::Present, None) => return Action::Create(new_token(d, renewed)),
        (State::Present, Some(cur)) => cur,
    };
    let due = d
        .renew
        .is_some_and(|r| cur.expire != 0 && cur.expire.saturating_sub(now) <= r.before);
    let edit = Edit::new(cur.clone(), target(d, cur, renewed.filter(|_| due)));
    if d.regenerate || due {
        Action::Regenerate(edit)
    } else if edit.fields.is_empty() {
        Action::Unchanged(edit.current)
    } else {
        Action::Update(edit)
    }
}

/// The token the task creates; `renewed`: the expiry `expire_in` gives it.
fn new_token(d: &Desired, renewed: Option<i64>) -> Token {
    let mut t = Token::new(&d.id.userid, &d.id.name);
    t.comment = d.comment.clone().filter(|c| !c.is_empty());
    t.expire = d.expire.or(renewed).unwrap_or(0);
    t.privsep = d.privsep.unwrap_or(true);
    t
}

/// The existing token `cur` with the attributes the task gives;
/// `renewed`: the new expiry when it is due for renewal.
fn target(d: &Desired, cur: &Token, renewed: Option<i64>) -> Token {
    let mut target = cur.clone();
    if let Some(c) = &d.comment {
        target.comment = Some(c.clone()).filter(|c| !c.is_empty());
    }
    if let Some(e) = d.expire.or(renewed) {
        target.expire = e;
    }
    if let Some(p) = d.privsep {
        target.privsep = p;
    }
    target
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
pub fn lockout_changes(d: &Desired, action: &Action) -> Vec<Change> {
    let full = d.full();
    let (edit, regenerate) = match action {
        Action::Delete(_) => return vec![Change::TokenDeleted(full)],
        Action::Update(edit) => (edit, false),
        Action::Regenerate(edit) => (edit, true),
        _ => return Vec::new(),
    };
    let (cur, target) = (&edit.current, &edit.target);
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
pub fn refuse_recreating_itself(d: &Desired, authid: &str, server: &Server) -> Result<(), Refused> {
    if d.full() != authid || server.has_regenerate() {
        return Ok(());
    }
    Err(Refused(format!(
        "cannot regenerate token '{authid}' with itself on PVE {}.{}: without PVE 9.1's regenerate it is deleted and re-created, and the module would lose its login half way. Nothing was changed; run the task with other credentials",
        server.version.0, server.version.1
    )))
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
    /// that no one has received replaces another (PVE 9.1's regenerate).
    Resend,
    /// These ACL entries of the token exist: one path and propagate flag,
    /// one or more roles.
    Acl(Vec<AclEntry>),
}

impl Settle {
    /// Whether the answer to the step holds the token's new secret: a
    /// creation's or a regeneration's.
    pub fn brings_secret(&self) -> bool {
        matches!(self, Settle::Exists | Settle::Resend)
    }
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
    Step::new(req, Settle::Exists)
}

/// The update of the attributes that `edit` changes.
fn update_request(id: &TokenId, edit: &Edit) -> ApiRequest {
    let t = &edit.target;
    let mut req = ApiRequest::put(token_path(id));
    for f in &edit.fields {
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
            let mut roles: Vec<&str> = group.iter().map(|e| e.roleid.as_str()).collect();
            roles.sort_unstable();
            roles.dedup();
            let request = ApiRequest::put("/access/acl")
                .param("path", path)
                .param("roles", roles.join(","))
                .param("tokens", full)
                .param("propagate", u8::from(propagate));
            Step::new(request, Settle::Acl(group))
        })
        .collect()
}

/// A new secret for the existing token, ending as `edit.target`: PVE's
/// `regenerate` where the server has it, else delete, create and re-add the
/// token's ACL entries (PVE drops them with the token).
pub fn regenerate_steps(id: &TokenId, edit: &Edit, server: &Server) -> Vec<Step> {
    if server.has_regenerate() {
        let request = update_request(id, edit).param("regenerate", 1);
        return vec![Step::new(request, Settle::Resend)];
    }
    let mut steps = vec![
        Step::new(ApiRequest::delete(token_path(id)), Settle::Absent),
        create_step(id, &edit.target),
    ];
    steps.extend(acl_steps(&id.full(), &server.token_acl));
    steps
}

/// Plans `action`. `server` is needed when [`Action::needs_version`] says
/// so. `check_mode` only changes the wording of `msg`.
pub fn plan(
    d: &Desired,
    action: &Action,
    server: Option<&Server>,
    check_mode: bool,
) -> Result<Plan, Refused> {
    let full = d.full();
    Ok(match action {
        Action::Absent => Plan::unchanged(format!("token '{full}' does not exist"), no_view()),
        Action::Unchanged(t) => Plan::unchanged(format!("token '{full}' unchanged"), t.to_json()),
        Action::Create(t) => create_plan(d, t, check_mode),
        Action::Update(edit) => update_plan(d, edit, server, check_mode)?,
        Action::Regenerate(edit) => {
            let server = server.ok_or_else(|| {
                Refused(format!(
                    "internal: regenerating token '{full}' needs the server's version"
                ))
            })?;
            regenerate_plan(d, edit, server, check_mode)?
        }
        Action::Delete(t) => Plan::change(
            vec![Step::new(
                ApiRequest::delete(token_path(&d.id)),
                Settle::Absent,
            )],
            format!("token '{full}' {}", verb(check_mode, "deleted")),
            t.to_json(),
            no_view(),
        ),
    })
}

fn create_plan(d: &Desired, t: &Token, check_mode: bool) -> Plan {
    let mut msg = format!("token '{}' {}", d.full(), verb(check_mode, "created"));
    if check_mode {
        msg.push_str(" (the real run returns its secret, once)");
    }
    Plan::change(vec![create_step(&d.id, t)], msg, no_view(), t.to_json())
}

fn update_plan(
    d: &Desired,
    edit: &Edit,
    server: Option<&Server>,
    check_mode: bool,
) -> Result<Plan, Refused> {
    refuse_clearing_comment(d, edit, server.map_or((0, 0), |s| s.version))?;
    let step = Step::new(
        update_request(&d.id, edit),
        Settle::Matches(edit.target.clone()),
    );
    let msg = format!(
        "token '{}' {}: {}",
        d.full(),
        verb(check_mode, "updated"),
        edit.describe()
    );
    Ok(Plan::change(
        vec![step],
        msg,
        edit.current.to_json(),
        edit.target.to_json(),
    ))
}

fn regenerate_plan(
    d: &Desired,
    edit: &Edit,
    server: &Server,
    check_mode: bool,
) -> Result<Plan, Refused> {
    refuse_clearing_comment(d, edit, server.version)?;
    let full = d.full();
    let mut msg = format!(
        "token '{full}' {} (new secret)",
        verb(check_mode, "regenerated")
    );
    if !server.has_regenerate() {
        let acls = own_entries(&full, &server.token_acl).count();
        msg.push_str(&format!(
            " by deleting and re-creating it (PVE {}.{} has no regenerate), re-adding its {acls} ACL entr{}",
            server.version.0,
            server.version.1,
            if acls == 1 { "y" } else { "ies" }
        ));
    }
    if !edit.fields.is_empty() {
        msg.push_str(&format!("; {}", edit.describe()));
    }
    Ok(Plan::change(
        regenerate_steps(&d.id, edit, server),
        msg,
        edit.current.to_json(),
        edit.target.to_json(),
    ))
}

/// PVE before 9 keeps a token's comment when it is given empty.
fn refuse_clearing_comment(d: &Desired, edit: &Edit, version: (u32, u32)) -> Result<(), Refused> {
    if !edit.clears_comment() || version >= (9, 0) {
        return Ok(());
    }
    Err(Refused(format!(
        "token '{}' not changed: PVE {}.{} cannot clear a token's comment (PVE 9 can); set another comment instead, or leave comment out",
        d.full(),
        version.0,
        version.1
    )))
}

fn expire_text(e: i64) -> String {
    if e == 0 {
        "never".into()
    } else {
        time::format_epoch(e)
    }
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
