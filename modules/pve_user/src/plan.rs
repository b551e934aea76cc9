//! The pure part of pve_user: the task's options, checked, and what to do
//! about them given the user as the server has it. No I/O here; `main.rs`
//! reads what [`Desired`] says it needs, calls [`plan`] and sends the
//! requests.

use std::fmt;

use ansible_module::Params;
use pve_api::access::{merge_list, sorted_unique, User};
use pve_api::assume::{self, Kind, Missing};
use pve_api::self_lockout::Change;
use pve_api::{ids, seg, time, ApiRequest};
pub use pve_module::State;
use pve_module::{no_view, verb, ListChange, Refused};

pub type Step = pve_module::Step<Settle>;
pub type Plan = pve_module::Plan<Settle>;

/// When `password` is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdatePassword {
    /// Only when the user is created.
    OnCreate,
    /// Whenever the user cannot log in with it.
    Always,
}

/// A password: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(********)")
    }
}

/// PVE's length limits of the user's text fields (User.pm, AC >= 8.1.0).
const LIMITS: [(&str, usize); 4] = [
    ("firstname", 1024),
    ("lastname", 1024),
    ("email", 254),
    ("comment", 2048),
];

/// The task, validated. `None` = not given: left as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub userid: String,
    pub realm: String,
    pub state: State,
    pub enable: Option<bool>,
    /// Epoch seconds, 0 = never.
    pub expire: Option<i64>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub email: Option<String>,
    pub comment: Option<String>,
    /// Sorted, without duplicates.
    pub groups: Option<Vec<String>>,
    pub append: bool,
    pub password: Option<Password>,
    pub update_password: UpdatePassword,
}

/// pve-common's `EMAIL_RE`: `[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*`.
pub fn valid_email(email: &str) -> bool {
    let local_ok = |s: &str| {
        s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '+' | '-' | '~'))
        })
    };
    let domain_ok = |s: &str| {
        s.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    };
    match email.rsplit_once('@') {
        Some((local, domain)) => local_ok(local) && domain_ok(domain),
        None => false,
    }
}

impl Desired {
    /// Reads and checks the options: everything that can be refused without
    /// asking the server is refused here, before any request.
    pub fn from_params(p: &Params) -> Result<Desired, String> {
        let userid = p.str("userid").unwrap_or_default().to_string();
        let (_, realm) = ids::parse_userid(&userid).map_err(|e| format!("userid: {e}"))?;
        let state = State::from_params(p);
        let expire = match p.str("expire") {
            Some(text) => Some(time::parse_expire(text)?),
            None => None,
        };
        let text = |key: &str| p.str(key).map(str::to_string);
        for (key, max) in LIMITS {
            if let Some(v) = p.str(key) {
                let len = v.chars().count();
                if len > max {
                    return Err(format!(
                        "{key} is too long ({len} characters, PVE allows at most {max})"
                    ));
                }
            }
        }
        let email = text("email");
        if let Some(e) = email.as_deref().filter(|e| !e.is_empty()) {
            if !valid_email(e) {
                return Err(format!(
                    "email '{e}' does not look like a valid email address (PVE expects name@domain; an empty string clears it)"
                ));
            }
        }
        let groups = match p.list("groups") {
            Some(items) => {
                let groups: Vec<String> = items
                    .iter()
                    .flat_map(|item| ids::split_list(item))
                    .collect();
                for g in &groups {
                    ids::verify_groupid(g).map_err(|e| format!("groups: {e}"))?;
                }
                Some(sorted_unique(groups))
            }
            None => None,
        };
        let password = p.str("password").map(|s| Password(s.to_string()));
        if let Some(Password(pw)) = &password {
            let len = pw.chars().count();
            if !(8..=64).contains(&len) {
                return Err(format!(
                    "password: PVE accepts 8 to 64 characters, this one has {len}"
                ));
            }
            if realm != "pve" {
                return Err(format!(
                    "password: only users of the 'pve' realm have a password PVE stores; '{userid}' authenticates against the realm '{realm}' (set its password there, or leave password out)"
                ));
            }
        }
        let update_password = match p.str("update_password") {
            Some("always") => UpdatePassword::Always,
            _ => UpdatePassword::OnCreate,
        };
        Ok(Desired {
            userid,
            realm,
            state,
            enable: p.bool("enable"),
            expire,
            firstname: text("firstname"),
            lastname: text("lastname"),
            email,
            comment: text("comment"),
            groups,
            append: p.bool("append").unwrap_or(false),
            password,
            update_password,
        })
    }

    /// Whether the realm list is needed: only to create the user.
    pub fn needs_realms(&self, current: Option<&User>) -> bool {
        self.state == State::Present && current.is_none()
    }

    /// Groups to check for existence: those the user is not in yet (the
    /// ones it is in exist).
    pub fn groups_to_check(&self, current: Option<&User>) -> Vec<String> {
        if self.state == State::Absent {
            return Vec::new();
        }
        let have = current.map(|u| u.groups.as_slice()).unwrap_or_default();
        self.groups
            .iter()
            .flatten()
            .filter(|g| !have.contains(g))
            .cloned()
            .collect()
    }

    /// Whether to try logging in with the password (`update_password:
    /// always` of an existing user): it is only changed when that fails.
    pub fn needs_login_check(&self, current: Option<&User>) -> bool {
        self.state == State::Present
            && current.is_some()
            && self.password.is_some()
            && self.update_password == UpdatePassword::Always
    }
}

/// Who the module authenticates as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user (a token's owner).
    pub userid: String,
    /// Authenticated with an API token (PVE refuses password changes then).
    pub token: bool,
    /// The caller's own password, which PVE wants as `confirmation-password`
    /// when someone other than root@pam changes a password.
    pub password: Option<Password>,
}

impl Caller {
    fn is_root(&self) -> bool {
        self.userid == "root@pam"
    }
}

/// What was read from the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Current {
    pub user: Option<User>,
    /// Realm ids, when read ([`Desired::needs_realms`]).
    pub realms: Option<Vec<String>>,
    /// Group ids that exist, when read ([`Desired::groups_to_check`]).
    pub groups: Option<Vec<String>>,
    /// Whether the user could log in with the password, when tried.
    pub login_ok: Option<bool>,
    /// Epoch seconds now.
    pub now: i64,
}

/// How to tell, after a write whose answer was lost, whether it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The user does not exist.
    Absent,
    /// The user has these attributes; `groups` exactly, or at least these
    /// with `append`.
    Matches { user: User, append: bool },
    /// The user can log in with the new password.
    Login,
}

impl Settle {
    /// Whether `current` is the state the write leads to (not for `Login`).
    pub fn met_by(&self, current: Option<&User>) -> bool {
        match (self, current) {
            (Settle::Absent, None) => true,
            (Settle::Matches { user, append }, Some(c)) => {
                let groups_ok = if *append {
                    user.groups.iter().all(|g| c.groups.contains(g))
                } else {
                    user.groups == c.groups
                };
                groups_ok
                    && user.enable == c.enable
                    && user.expire == c.expire
                    && user.firstname == c.firstname
                    && user.lastname == c.lastname
                    && user.email == c.email
                    && user.comment == c.comment
            }
            _ => false,
        }
    }
}

/// `""` clears a text attribute: PVE then reports it as not set.
fn target_text(given: &str) -> Option<String> {
    (!given.is_empty()).then(|| given.to_string())
}

/// What the task takes away from users, for the self-lockout rule
/// ([`pve_api::self_lockout`]): deleting, disabling, an expiry coming
/// sooner, groups left.
pub fn lockout_changes(d: &Desired, cur: &Current) -> Vec<Change> {
    let Some(user) = &cur.user else {
        return Vec::new();
    };
    let id = &d.userid;
    if d.state == State::Absent {
        return vec![Change::UserDeleted(id.clone())];
    }
    let mut out = Vec::new();
    if d.enable == Some(false) && user.enable {
        out.push(Change::UserDisabled(id.clone()));
    }
    if let Some(to) = d.expire.filter(|e| *e != user.expire) {
        out.push(Change::UserExpire {
            userid: id.clone(),
            from: user.expire,
            to,
        });
    }
    if let Some(wanted) = &d.groups {
        let target = merge_list(&user.groups, wanted, d.append);
        out.extend(user.groups.iter().filter(|g| !target.contains(g)).map(|g| {
            Change::Membership {
                userid: id.clone(),
                group: g.clone(),
            }
        }));
    }
    out
}

/// Plans the task. Fails, before any write, for what cannot be done: the
/// realm or a group does not exist (check mode assumes an earlier task
/// creates them, with a warning each), or a password change with a token.
/// (What would lock the caller out is [`lockout_changes`]' business.)
pub fn plan(
    d: &Desired,
    cur: &Current,
    caller: &Caller,
    check_mode: bool,
) -> Result<Plan, Refused> {
    let id = &d.userid;
    let Some(user) = &cur.user else {
        if d.state == State::Absent {
            return Ok(Plan::unchanged(
                format!("user '{id}' does not exist"),
                no_view(),
            ));
        }
        let mut assumed = assume_groups(d, cur, check_mode)?;
        let mut plan = create(d, cur, check_mode)?;
        assumed.append(&mut plan.warnings);
        return Ok(plan.with_warnings(assumed));
    };
    if d.state == State::Absent {
        return Ok(delete(id, user, check_mode));
    }
    let mut warnings = assume_groups(d, cur, check_mode)?;
    let mut after = user.clone();
    let mut changes: Vec<String> = Vec::new();
    let mut steps: Vec<Step> = update(d, user, &mut after, &mut changes)
        .into_iter()
        .collect();
    if let (Some(pw), Some(false)) = (&d.password, cur.login_ok) {
        steps.push(password_step(d, pw, caller)?);
        changes.push("password".to_string());
        if !after.enable || (after.expire != 0 && after.expire <= cur.now) {
            warnings.push(format!(
                "update_password: always cannot tell whether the password of '{id}' is already set, since PVE refuses logins of a disabled or expired user: it is set again on every run"
            ));
        }
    }
    if steps.is_empty() {
        return Ok(
            Plan::unchanged(format!("user '{id}' unchanged"), user.to_json())
                .with_warnings(warnings),
        );
    }
    let msg = format!(
        "user '{id}' {}: {}",
        verb(check_mode, "updated"),
        changes.join(", ")
    );
    Ok(Plan::change(steps, msg, user.to_json(), after.to_json()).with_warnings(warnings))
}

fn user_path(userid: &str) -> String {
    format!("/access/users/{}", seg(userid))
}

fn delete(id: &str, user: &User, check_mode: bool) -> Plan {
    let mut msg = format!("user '{id}' {}", verb(check_mode, "deleted"));
    if !user.tokens.is_empty() {
        msg.push_str(&format!(
            " (with its API tokens {})",
            user.tokens.join(", ")
        ));
    }
    Plan::change(
        vec![Step::new(ApiRequest::delete(user_path(id)), Settle::Absent)],
        msg,
        user.to_json(),
        no_view(),
    )
}

/// Groups must exist before anything is written; in check mode an earlier
/// task may create them (a warning each).
fn assume_groups(d: &Desired, cur: &Current, check_mode: bool) -> Result<Vec<String>, Refused> {
    let Some(existing) = &cur.groups else {
        return Ok(Vec::new());
    };
    let missing: Vec<Missing> = d
        .groups_to_check(cur.user.as_ref())
        .into_iter()
        .filter(|g| !existing.contains(g))
        .map(|g| Missing::new(Kind::Group, g))
        .collect();
    assume::assume_created(check_mode, &missing, |missing| {
        let names: Vec<String> = missing.iter().map(|g| format!("'{}'", g.id)).collect();
        let (noun, verb) = if names.len() == 1 {
            ("group", "does")
        } else {
            ("groups", "do")
        };
        format!(
            "user '{}' not changed: {noun} {} {verb} not exist (create it first, e.g. with pve.access.pve_group)",
            d.userid,
            names.join(", ")
        )
    })
    .map_err(Refused)
}

/// The one `PUT /access/users/{userid}` for every attribute that differs;
/// `after` and `changes` get what it changes.
fn update(d: &Desired, user: &User, after: &mut User, changes: &mut Vec<String>) -> Option<Step> {
    let mut req = ApiRequest::put(user_path(&d.userid));
    if let Some(e) = d.enable.filter(|e| *e != user.enable) {
        req = req.param("enable", u8::from(e));
        after.enable = e;
        changes.push(if e { "enabled" } else { "disabled" }.to_string());
    }
    if let Some(e) = d.expire.filter(|e| *e != user.expire) {
        req = req.param("expire", e);
        after.expire = e;
        changes.push(if e == 0 {
            "expire never".to_string()
        } else {
            format!("expire {}", time::format_epoch(e))
        });
    }
    for (key, given, field) in text_fields(d, after) {
        if let Some(given) = given {
            let target = target_text(given);
            if target != *field {
                req = req.param(key, given);
                *field = target;
                changes.push(key.to_string());
            }
        }
    }
    if let Some(wanted) = &d.groups {
        let target = merge_list(&user.groups, wanted, d.append);
        let change = ListChange::between(&user.groups, &target);
        if !change.is_empty() {
            // PVE's own append adds to whatever the user has by then, so
            // tasks adding groups at the same time do not undo each other.
            req = if d.append {
                req.param("groups", wanted.join(",")).param("append", 1)
            } else {
                req.param("groups", target.join(","))
            };
            changes.push(format!("groups ({})", change.summary()));
            after.groups = target.clone();
        }
    }
    (!req.params.is_empty()).then(|| {
        Step::new(
            req,
            Settle::Matches {
                user: after.clone(),
                append: d.append,
            },
        )
    })
}

/// The text attributes: option name, the task's value, the user's field.
fn text_fields<'a>(
    d: &'a Desired,
    user: &'a mut User,
) -> [(&'static str, &'a Option<String>, &'a mut Option<String>); 4] {
    [
        ("firstname", &d.firstname, &mut user.firstname),
        ("lastname", &d.lastname, &mut user.lastname),
        ("email", &d.email, &mut user.email),
        ("comment", &d.comment, &mut user.comment),
    ]
}

/// Sets the password the user cannot log in with (`update_password:
/// always`). PVE refuses it to a token, and wants the caller's own password
/// unless the caller is root@pam.
fn password_step(d: &Desired, pw: &Password, caller: &Caller) -> Result<Step, Refused> {
    let id = &d.userid;
    if caller.token {
        return Err(Refused(format!(
            "user '{id}' not changed: its password differs and must be set, but PVE refuses password changes (PUT /access/password) to API tokens: connect with api_user and api_password, or use update_password: on_create"
        )));
    }
    let mut req = ApiRequest::put("/access/password")
        .param("userid", id)
        .param("password", &pw.0);
    if !caller.is_root() {
        let Some(confirm) = &caller.password else {
            return Err(Refused(format!(
                "user '{id}' not changed: PVE needs the password of {} (confirmation-password) to change another user's password: log in with api_user and api_password",
                caller.userid
            )));
        };
        req = req.param("confirmation-password", &confirm.0);
    }
    Ok(Step::new(req, Settle::Login))
}

fn create(d: &Desired, cur: &Current, check_mode: bool) -> Result<Plan, Refused> {
    let id = &d.userid;
    let missing: Vec<Missing> = cur
        .realms
        .as_ref()
        .filter(|r| !r.contains(&d.realm))
        .map(|_| Missing::new(Kind::Realm, &d.realm))
        .into_iter()
        .collect();
    let warnings = assume::assume_created(check_mode, &missing, |_| {
        format!(
            "cannot create user '{id}': the realm '{}' does not exist on this server (it has {}); add the realm first (Datacenter > Permissions > Realms) or fix the userid",
            d.realm,
            cur.realms.as_deref().unwrap_or_default().join(", ")
        )
    })
    .map_err(Refused)?;
    let mut user = User::new(id);
    let mut req = ApiRequest::post("/access/users").param("userid", id);
    if d.enable == Some(false) {
        req = req.param("enable", 0);
        user.enable = false;
    }
    if let Some(e) = d.expire.filter(|e| *e != 0) {
        req = req.param("expire", e);
        user.expire = e;
    }
    for (key, given, field) in text_fields(d, &mut user) {
        if let Some(v) = given.as_deref().and_then(target_text) {
            req = req.param(key, &v);
            *field = Some(v);
        }
    }
    if let Some(groups) = d.groups.as_ref().filter(|g| !g.is_empty()) {
        req = req.param("groups", groups.join(","));
        user.groups = groups.clone();
    }
    if let Some(pw) = &d.password {
        req = req.param("password", &pw.0);
    }
    let with = if d.password.is_some() {
        " with a password"
    } else {
        ""
    };
    let settle = Settle::Matches {
        user: user.clone(),
        append: false,
    };
    Ok(Plan::change(
        vec![Step::new(req, settle)],
        format!("user '{id}' {}{with}", verb(check_mode, "created")),
        no_view(),
        user.to_json(),
    )
    .with_warnings(warnings))
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
