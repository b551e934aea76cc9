//! The pure part of pve_user: the task's options, checked, and what to do
//! about them given the user as the server has it. No I/O here; `main.rs`
//! reads what [`Desired`] says it needs, calls [`plan`] and sends the
//! requests.

use std::fmt;

use ansible_module::{Params, Value};
use pve_api::access::{merge_list, sorted_unique, User};
use pve_api::{ids, seg, time, ApiRequest};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Present,
    Absent,
}

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
        let state = match p.str("state") {
            Some("absent") => State::Absent,
            _ => State::Present,
        };
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

/// One write and how to settle it.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub req: ApiRequest,
    pub settle: Settle,
}

/// What the run does.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub changed: bool,
    /// The user before and after (`{}` when it does not exist).
    pub before: Value,
    pub after: Value,
    pub msg: String,
    pub warnings: Vec<String>,
}

fn view(user: Option<&User>) -> Value {
    user.map_or_else(|| Value::Object(Default::default()), User::to_json)
}

/// `""` clears a text attribute: PVE then reports it as not set.
fn target_text(given: &str) -> Option<String> {
    (!given.is_empty()).then(|| given.to_string())
}

fn refuse_self(d: &Desired, caller: &Caller, what: &str) -> Result<(), String> {
    if d.userid == "root@pam" {
        return Err(format!(
            "refusing to {what} root@pam: it is the administrator of last resort on every PVE node"
        ));
    }
    if d.userid == caller.userid {
        return Err(format!(
            "refusing to {what} {}: it is the user this module authenticates as, and the task would lock it out; run the task as another administrator (e.g. root@pam)",
            d.userid
        ));
    }
    Ok(())
}

/// Plans the task. Fails, before any write, for what cannot be done: the
/// realm or a group does not exist, the caller would lock itself out, or a
/// password change with a token.
pub fn plan(d: &Desired, cur: &Current, caller: &Caller, check_mode: bool) -> Result<Plan, String> {
    let id = &d.userid;
    let verb = |done: &str| {
        if check_mode {
            format!("would be {done}")
        } else {
            done.to_string()
        }
    };
    let before = view(cur.user.as_ref());
    let path = format!("/access/users/{}", seg(id));

    if d.state == State::Absent {
        return match &cur.user {
            None => Ok(Plan {
                steps: vec![],
                changed: false,
                before: before.clone(),
                after: before,
                msg: format!("user '{id}' does not exist"),
                warnings: vec![],
            }),
            Some(u) => {
                refuse_self(d, caller, "delete")?;
                let mut msg = format!("user '{id}' {}", verb("deleted"));
                if !u.tokens.is_empty() {
                    msg.push_str(&format!(" (with its API tokens {})", u.tokens.join(", ")));
                }
                Ok(Plan {
                    steps: vec![Step {
                        req: ApiRequest::delete(path),
                        settle: Settle::Absent,
                    }],
                    changed: true,
                    before,
                    after: view(None),
                    msg,
                    warnings: vec![],
                })
            }
        };
    }

    // Groups must exist before anything is written.
    if let Some(existing) = &cur.groups {
        let missing: Vec<String> = d
            .groups_to_check(cur.user.as_ref())
            .into_iter()
            .filter(|g| !existing.contains(g))
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|g| format!("'{g}'")).collect();
            let (noun, verb) = if names.len() == 1 {
                ("group", "does")
            } else {
                ("groups", "do")
            };
            return Err(format!(
                "user '{id}' not changed: {noun} {} {verb} not exist (create it first, e.g. with pve.access.pve_group)",
                names.join(", ")
            ));
        }
    }

    let Some(user) = &cur.user else {
        return create(d, cur, check_mode, before);
    };

    // Self-lockout: only a change is refused.
    if d.enable == Some(false) && user.enable {
        refuse_self(d, caller, "disable")?;
    }
    if let Some(e) = d.expire {
        if e != user.expire && e != 0 && e <= cur.now {
            refuse_self(d, caller, "set a past expiry date on")?;
        }
    }

    let mut after = user.clone();
    let mut req = ApiRequest::put(&path);
    let mut changes: Vec<String> = Vec::new();
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
    let fields: [(&str, &Option<String>, &mut Option<String>); 4] = [
        ("firstname", &d.firstname, &mut after.firstname),
        ("lastname", &d.lastname, &mut after.lastname),
        ("email", &d.email, &mut after.email),
        ("comment", &d.comment, &mut after.comment),
    ];
    for (key, given, field) in fields {
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
        if target != user.groups {
            let added: Vec<String> = target
                .iter()
                .filter(|g| !user.groups.contains(g))
                .cloned()
                .collect();
            let removed: Vec<String> = user
                .groups
                .iter()
                .filter(|g| !target.contains(g))
                .cloned()
                .collect();
            // PVE's own append adds to whatever the user has by then, so
            // tasks adding groups at the same time do not undo each other.
            req = if d.append {
                req.param("groups", wanted.join(",")).param("append", 1)
            } else {
                req.param("groups", target.join(","))
            };
            let mut what = Vec::new();
            if !added.is_empty() {
                what.push(format!("added {}", added.join(", ")));
            }
            if !removed.is_empty() {
                what.push(format!("removed {}", removed.join(", ")));
            }
            changes.push(format!("groups ({})", what.join("; ")));
            after.groups = target;
        }
    }
    let mut steps = Vec::new();
    if !req.params.is_empty() {
        steps.push(Step {
            req,
            settle: Settle::Matches {
                user: after.clone(),
                append: d.append,
            },
        });
    }

    let mut warnings = Vec::new();
    if let (Some(pw), Some(false)) = (&d.password, cur.login_ok) {
        if caller.token {
            return Err(format!(
                "user '{id}' not changed: its password differs and must be set, but PVE refuses password changes (PUT /access/password) to API tokens: connect with api_user and api_password, or use update_password: on_create"
            ));
        }
        let mut req = ApiRequest::put("/access/password")
            .param("userid", id)
            .param("password", &pw.0);
        if !caller.is_root() {
            let Some(confirm) = &caller.password else {
                return Err(format!(
                    "user '{id}' not changed: PVE needs the password of {} (confirmation-password) to change another user's password: log in with api_user and api_password",
                    caller.userid
                ));
            };
            req = req.param("confirmation-password", &confirm.0);
        }
        if !after.enable || (after.expire != 0 && after.expire <= cur.now) {
            warnings.push(format!(
                "update_password: always cannot tell whether the password of '{id}' is already set, since PVE refuses logins of a disabled or expired user: it is set again on every run"
            ));
        }
        steps.push(Step {
            req,
            settle: Settle::Login,
        });
        changes.push("password".to_string());
    }

    if steps.is_empty() {
        return Ok(Plan {
            steps,
            changed: false,
            before: before.clone(),
            after: before,
            msg: format!("user '{id}' unchanged"),
            warnings,
        });
    }
    Ok(Plan {
        steps,
        changed: true,
        before,
        after: after.to_json(),
        msg: format!("user '{id}' {}: {}", verb("updated"), changes.join(", ")),
        warnings,
    })
}

fn create(d: &Desired, cur: &Current, check_mode: bool, before: Value) -> Result<Plan, String> {
    let id = &d.userid;
    if let Some(realms) = &cur.realms {
        if !realms.contains(&d.realm) {
            return Err(format!(
                "cannot create user '{id}': the realm '{}' does not exist on this server (it has {}); add the realm first (Datacenter > Permissions > Realms) or fix the userid",
                d.realm,
                realms.join(", ")
            ));
        }
    }
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
    let fields: [(&str, &Option<String>, &mut Option<String>); 4] = [
        ("firstname", &d.firstname, &mut user.firstname),
        ("lastname", &d.lastname, &mut user.lastname),
        ("email", &d.email, &mut user.email),
        ("comment", &d.comment, &mut user.comment),
    ];
    for (key, given, field) in fields {
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
    let done = if check_mode {
        "would be created"
    } else {
        "created"
    };
    Ok(Plan {
        steps: vec![Step {
            req,
            settle: Settle::Matches {
                user: user.clone(),
                append: false,
            },
        }],
        changed: true,
        before,
        after: user.to_json(),
        msg: format!(
            "user '{id}' {done}{}",
            if d.password.is_some() {
                " with a password"
            } else {
                ""
            }
        ),
        warnings: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ansible_module::{json, Map};

    const NOW: i64 = 1_800_000_000;

    fn s(items: &[&str]) -> Vec<String> {
        items.iter().map(|x| x.to_string()).collect()
    }

    fn params(v: Value) -> Params {
        let Value::Object(m) = v else {
            panic!("params must be an object")
        };
        Params::from_map(m.into_iter().collect::<Map<String, Value>>())
    }

    fn desired(v: Value) -> Desired {
        Desired::from_params(&params(v)).unwrap()
    }

    fn root() -> Caller {
        Caller {
            userid: "root@pam".into(),
            token: false,
            password: None,
        }
    }

    fn joe() -> User {
        let mut u = User::new("joe@pve");
        u.email = Some("joe@example.com".into());
        u.groups = s(&["ops"]);
        u.tokens = s(&["ci"]);
        u
    }

    fn with_user(u: Option<User>) -> Current {
        Current {
            user: u,
            now: NOW,
            ..Current::default()
        }
    }

    fn ok(d: &Desired, cur: &Current) -> Plan {
        plan(d, cur, &root(), false).unwrap()
    }

    fn put_params(p: &Plan) -> Vec<(String, String)> {
        assert_eq!(p.steps.len(), 1, "{:?}", p.steps);
        p.steps[0].req.params.clone()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_are_read_and_checked() {
        let d = desired(
            json!({"userid": "joe@pve", "groups": ["b", "a,c", "a"], "expire": "2027-01-31"}),
        );
        assert_eq!(d.groups, Some(s(&["a", "b", "c"])));
        assert_eq!(d.expire, Some(1_801_353_600));
        assert_eq!(d.realm, "pve");
        assert_eq!(d.state, State::Present);
        assert_eq!(d.update_password, UpdatePassword::OnCreate);
        assert_eq!(d.enable, None);
        assert_eq!(
            desired(json!({"userid": "joe@pve", "expire": "never"})).expire,
            Some(0)
        );

        for (args, want) in [
            (json!({"userid": "joe"}), "the realm is missing"),
            (
                json!({"userid": "jo e@pve"}),
                "does not look like a valid user name",
            ),
            (
                json!({"userid": "joe@pve", "expire": "2027-13-01"}),
                "invalid expire '2027-13-01'",
            ),
            (
                json!({"userid": "joe@pve", "email": "joe@"}),
                "email 'joe@' does not look like a valid email address",
            ),
            (
                json!({"userid": "joe@pve", "groups": ["bad:group"]}),
                "groups: group name 'bad:group' contains invalid characters",
            ),
            (
                json!({"userid": "joe@pve", "password": "short"}),
                "PVE accepts 8 to 64 characters, this one has 5",
            ),
            (
                json!({"userid": "joe@pam", "password": "long enough"}),
                "only users of the 'pve' realm",
            ),
            (
                json!({"userid": "joe@pve", "comment": "x".repeat(2049)}),
                "comment is too long (2049 characters",
            ),
        ] {
            let e = Desired::from_params(&params(args.clone())).unwrap_err();
            assert!(e.contains(want), "{args}: {e}");
            assert!(
                !e.contains("long enough"),
                "the password is never shown: {e}"
            );
        }
        // An empty email clears it and is fine.
        assert_eq!(
            desired(json!({"userid": "joe@pve", "email": ""})).email,
            Some(String::new())
        );
    }

    #[test]
    fn password_is_never_in_debug_output() {
        let d = desired(json!({"userid": "joe@pve", "password": "s3cret-pass"}));
        assert!(!format!("{d:?}").contains("s3cret-pass"));
        let p = ok(&d, &with_user(None));
        assert!(!format!("{p:?}").contains("s3cret-pass"));
    }

    #[test]
    fn create() {
        let d = desired(json!({
            "userid": "joe@pve", "email": "joe@example.com", "firstname": "Joe", "lastname": "",
            "groups": ["ops"], "expire": "1900000000", "enable": false, "password": "s3cret-pass",
        }));
        let cur = Current {
            realms: Some(s(&["pam", "pve"])),
            groups: Some(s(&["ops"])),
            ..with_user(None)
        };
        assert!(d.needs_realms(None));
        assert_eq!(d.groups_to_check(None), s(&["ops"]));
        let p = ok(&d, &cur);
        assert!(p.changed);
        assert_eq!(p.steps[0].req.method, pve_api::Method::Post);
        assert_eq!(p.steps[0].req.path, "/access/users");
        assert_eq!(
            p.steps[0].req.params,
            pairs(&[
                ("userid", "joe@pve"),
                ("enable", "0"),
                ("expire", "1900000000"),
                ("firstname", "Joe"),
                ("email", "joe@example.com"),
                ("groups", "ops"),
                ("password", "s3cret-pass"),
            ])
        );
        assert_eq!(p.before, json!({}));
        assert_eq!(
            p.after,
            json!({"userid": "joe@pve", "enable": false, "expire": 1_900_000_000i64, "firstname": "Joe",
                   "lastname": null, "email": "joe@example.com", "comment": null, "groups": ["ops"], "tokens": []})
        );
        assert_eq!(p.msg, "user 'joe@pve' created with a password");
        assert_eq!(
            plan(&d, &cur, &root(), true).unwrap().msg,
            "user 'joe@pve' would be created with a password"
        );

        // The minimal user: only the id.
        let p = ok(
            &desired(json!({"userid": "amy@pam"})),
            &Current {
                realms: Some(s(&["pam", "pve"])),
                ..with_user(None)
            },
        );
        assert_eq!(p.steps[0].req.params, pairs(&[("userid", "amy@pam")]));
        assert_eq!(p.msg, "user 'amy@pam' created");
    }

    #[test]
    fn validation_against_the_server() {
        let d = desired(json!({"userid": "joe@ldap"}));
        let cur = Current {
            realms: Some(s(&["pam", "pve"])),
            ..with_user(None)
        };
        let e = plan(&d, &cur, &root(), false).unwrap_err();
        assert_eq!(e, "cannot create user 'joe@ldap': the realm 'ldap' does not exist on this server (it has pam, pve); add the realm first (Datacenter > Permissions > Realms) or fix the userid");

        let d = desired(
            json!({"userid": "joe@pve", "groups": ["ops", "nope", "gone"], "append": true}),
        );
        assert_eq!(d.groups_to_check(Some(&joe())), s(&["gone", "nope"]));
        let cur = Current {
            groups: Some(s(&["ops"])),
            ..with_user(Some(joe()))
        };
        let e = plan(&d, &cur, &root(), false).unwrap_err();
        assert_eq!(e, "user 'joe@pve' not changed: groups 'gone', 'nope' do not exist (create it first, e.g. with pve.access.pve_group)");
    }

    #[test]
    fn no_op() {
        let cur = with_user(Some(joe()));
        for args in [
            json!({"userid": "joe@pve"}),
            json!({"userid": "joe@pve", "email": "joe@example.com", "enable": true, "expire": "0", "comment": ""}),
            json!({"userid": "joe@pve", "groups": ["ops"]}),
            json!({"userid": "joe@pve", "groups": [], "append": true}),
            json!({"userid": "joe@pve", "password": "s3cret-pass"}),
        ] {
            let d = desired(args.clone());
            assert!(d.groups_to_check(Some(&joe())).is_empty());
            assert!(!d.needs_realms(Some(&joe())));
            assert!(!d.needs_login_check(Some(&joe())));
            let p = ok(&d, &cur);
            assert!(!p.changed, "{args}");
            assert!(p.steps.is_empty());
            assert_eq!(p.before, p.after);
            assert_eq!(p.after, joe().to_json());
            assert_eq!(p.msg, "user 'joe@pve' unchanged");
        }
    }

    #[test]
    fn each_option_alone() {
        let cur = Current {
            groups: Some(s(&["ops", "dev"])),
            ..with_user(Some(joe()))
        };
        for (args, sent, key, value, msg) in [
            (
                json!({"enable": false}),
                vec![("enable", "0")],
                "enable",
                json!(false),
                "disabled",
            ),
            (
                json!({"expire": "2027-01-31"}),
                vec![("expire", "1801353600")],
                "expire",
                json!(1_801_353_600),
                "expire 2027-01-31T00:00:00Z",
            ),
            (
                json!({"firstname": "Joe"}),
                vec![("firstname", "Joe")],
                "firstname",
                json!("Joe"),
                "firstname",
            ),
            (
                json!({"lastname": "Doe"}),
                vec![("lastname", "Doe")],
                "lastname",
                json!("Doe"),
                "lastname",
            ),
            (
                json!({"email": ""}),
                vec![("email", "")],
                "email",
                json!(null),
                "email",
            ),
            (
                json!({"comment": "ops"}),
                vec![("comment", "ops")],
                "comment",
                json!("ops"),
                "comment",
            ),
            (
                json!({"groups": ["dev"]}),
                vec![("groups", "dev")],
                "groups",
                json!(["dev"]),
                "groups (added dev; removed ops)",
            ),
            (
                json!({"groups": []}),
                vec![("groups", "")],
                "groups",
                json!([]),
                "groups (removed ops)",
            ),
            (
                json!({"groups": ["dev", "ops"], "append": true}),
                vec![("groups", "dev,ops"), ("append", "1")],
                "groups",
                json!(["dev", "ops"]),
                "groups (added dev)",
            ),
        ] {
            let mut a = args.clone();
            a["userid"] = json!("joe@pve");
            let p = ok(&desired(a), &cur);
            assert!(p.changed, "{args}");
            assert_eq!(p.steps[0].req.path, "/access/users/joe@pve");
            assert_eq!(put_params(&p), pairs(&sent), "{args}");
            assert_eq!(p.after[key], value, "{args}");
            assert_eq!(p.msg, format!("user 'joe@pve' updated: {msg}"));
            // Everything else as it was, tokens included.
            let mut expect = joe().to_json();
            expect[key] = value;
            assert_eq!(p.after, expect, "{args}");
            assert_eq!(p.before, joe().to_json());
        }
        let d = desired(json!({"userid": "joe@pve", "email": "new@example.com", "comment": "x"}));
        assert_eq!(
            plan(&d, &with_user(Some(joe())), &root(), true)
                .unwrap()
                .msg,
            "user 'joe@pve' would be updated: email, comment"
        );
    }

    #[test]
    fn absent() {
        let d = desired(json!({"userid": "joe@pve", "state": "absent", "groups": ["nope"]}));
        assert!(d.groups_to_check(None).is_empty());
        let p = ok(&d, &with_user(None));
        assert!(!p.changed && p.steps.is_empty());
        assert_eq!(p.msg, "user 'joe@pve' does not exist");
        assert_eq!((p.before, p.after), (json!({}), json!({})));
        let p = ok(&d, &with_user(Some(joe())));
        assert!(p.changed);
        assert_eq!(p.steps[0].req, ApiRequest::delete("/access/users/joe@pve"));
        assert_eq!(p.steps[0].settle, Settle::Absent);
        assert_eq!(p.after, json!({}));
        assert_eq!(p.msg, "user 'joe@pve' deleted (with its API tokens ci)");
    }

    #[test]
    fn self_lockout_is_refused() {
        let me = Caller {
            userid: "joe@pve".into(),
            token: true,
            password: None,
        };
        let cur = with_user(Some(joe()));
        for (args, want) in [
            (
                json!({"state": "absent"}),
                "refusing to delete joe@pve: it is the user this module authenticates as",
            ),
            (json!({"enable": false}), "refusing to disable joe@pve"),
            (
                json!({"expire": "2020-01-01"}),
                "refusing to set a past expiry date on joe@pve",
            ),
        ] {
            let mut a = args.clone();
            a["userid"] = json!("joe@pve");
            let e = plan(&desired(a), &cur, &me, false).unwrap_err();
            assert!(e.starts_with(want), "{args}: {e}");
        }
        // Other changes to oneself are fine, and so is a future expiry.
        let p = plan(
            &desired(json!({"userid": "joe@pve", "expire": "2027-01-31", "comment": "me"})),
            &cur,
            &me,
            false,
        )
        .unwrap();
        assert!(p.changed);
        // root@pam is protected whoever asks.
        let mut r = User::new("root@pam");
        r.email = Some("root@localhost".into());
        let e = plan(
            &desired(json!({"userid": "root@pam", "state": "absent"})),
            &with_user(Some(r.clone())),
            &me,
            false,
        )
        .unwrap_err();
        assert!(e.starts_with("refusing to delete root@pam"), "{e}");
        let e = plan(
            &desired(json!({"userid": "root@pam", "enabled": false, "enable": false})),
            &with_user(Some(r)),
            &root(),
            false,
        )
        .unwrap_err();
        assert!(e.starts_with("refusing to disable root@pam"), "{e}");
    }

    #[test]
    fn password_always() {
        let d = desired(
            json!({"userid": "joe@pve", "password": "s3cret-pass", "update_password": "always"}),
        );
        assert!(d.needs_login_check(Some(&joe())));
        assert!(!d.needs_login_check(None));
        // Logs in with it: nothing to do.
        let cur = Current {
            login_ok: Some(true),
            ..with_user(Some(joe()))
        };
        assert!(!ok(&d, &cur).changed);
        // Cannot: set it, as root without confirmation.
        let cur = Current {
            login_ok: Some(false),
            ..with_user(Some(joe()))
        };
        let p = ok(&d, &cur);
        assert!(p.changed);
        assert_eq!(p.steps[0].req.path, "/access/password");
        assert_eq!(
            p.steps[0].req.params,
            pairs(&[("userid", "joe@pve"), ("password", "s3cret-pass")])
        );
        assert_eq!(p.steps[0].settle, Settle::Login);
        assert_eq!(p.msg, "user 'joe@pve' updated: password");
        assert_eq!(p.before, p.after, "the password is not part of the view");
        // Another admin confirms with its own password.
        let admin = Caller {
            userid: "admin@pve".into(),
            token: false,
            password: Some(Password("admin-pass".into())),
        };
        let p = plan(&d, &cur, &admin, false).unwrap();
        assert_eq!(
            p.steps[0].req.value("confirmation-password"),
            Some("admin-pass")
        );
        // A token cannot.
        let tok = Caller {
            userid: "admin@pve".into(),
            token: true,
            password: None,
        };
        let e = plan(&d, &cur, &tok, false).unwrap_err();
        assert!(
            e.contains("PVE refuses password changes (PUT /access/password) to API tokens"),
            "{e}"
        );
        // With other changes: the attributes first, then the password.
        let d = desired(
            json!({"userid": "joe@pve", "password": "s3cret-pass", "update_password": "always", "enable": false}),
        );
        let p = ok(&d, &cur);
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.steps[1].req.path, "/access/password");
        assert_eq!(p.msg, "user 'joe@pve' updated: disabled, password");
        assert_eq!(
            p.warnings.len(),
            1,
            "a disabled user cannot log in: {:?}",
            p.warnings
        );
    }

    #[test]
    fn settling_a_lost_answer() {
        let mut after = joe();
        after.groups = s(&["dev", "ops"]);
        let exact = Settle::Matches {
            user: after.clone(),
            append: false,
        };
        let append = Settle::Matches {
            user: User {
                groups: s(&["dev"]),
                ..after.clone()
            },
            append: true,
        };
        assert!(exact.met_by(Some(&after)));
        assert!(!exact.met_by(Some(&joe())));
        assert!(!exact.met_by(None));
        assert!(append.met_by(Some(&after)));
        assert!(!append.met_by(Some(&joe())));
        let mut other = after.clone();
        other.tokens = vec![];
        assert!(exact.met_by(Some(&other)), "tokens do not matter");
        other.email = None;
        assert!(!exact.met_by(Some(&other)));
        assert!(Settle::Absent.met_by(None));
        assert!(!Settle::Absent.met_by(Some(&joe())));
    }
}
