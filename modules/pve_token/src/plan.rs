//! The pure part of pve_token: the task's options, checked, and the requests
//! that bring the token where the task wants it, given the token as the
//! server has it. No I/O here; `main.rs` reads, calls [`decide`] and
//! [`plan`] and sends the requests.

use ansible_module::{Params, Value};
use pve_api::access::{AclEntry, PrincipalKind, Token};
use pve_api::ids::{self, TokenId};
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

/// Decides what to do. `authid` is who the module authenticates as (a
/// token may not delete or regenerate itself); `now` is the time in epoch
/// seconds (for `renew_before`/`expire_in`).
pub fn decide(
    d: &Desired,
    current: Option<&Token>,
    authid: &str,
    now: i64,
) -> Result<Action, String> {
    let full = d.full();
    let own = authid == full;
    if d.state == State::Absent {
        return match current {
            None => Ok(Action::Nothing),
            Some(_) if own => Err(lockout(&full, "delete")),
            Some(_) => Ok(Action::Delete),
        };
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
        if own {
            return Err(lockout(&full, "regenerate"));
        }
        return Ok(Action::Regenerate(target, fields));
    }
    if fields.is_empty() {
        Ok(Action::Nothing)
    } else {
        Ok(Action::Update(target, fields))
    }
}

/// Refuses, before any request, to delete or regenerate the token the
/// module authenticates with: it exists (it just logged in), and a
/// privilege-separated token may not even read itself to find out.
/// ([`decide`] checks the same after the read, also for `renew_before`.)
pub fn refuse_own_token(d: &Desired, authid: &str) -> Result<(), String> {
    let full = d.full();
    if authid != full {
        Ok(())
    } else if d.state == State::Absent {
        Err(lockout(&full, "delete"))
    } else if d.regenerate {
        Err(lockout(&full, "regenerate"))
    } else {
        Ok(())
    }
}

fn lockout(full: &str, verb: &str) -> String {
    format!(
        "refusing to {verb} token '{full}': the module authenticates with this token and would lock itself out; run the task with other credentials (another token, or api_user and api_password)"
    )
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
mod tests {
    use super::*;
    use ansible_module::{json, Map};

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn params(v: Value) -> Params {
        let mut m: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
        m.entry("state").or_insert(json!("present"));
        m.entry("regenerate").or_insert(json!(false));
        Params::from_map(m)
    }

    fn desired(v: Value) -> Desired {
        Desired::from_params(&params(v)).unwrap()
    }

    fn refused(v: Value) -> String {
        Desired::from_params(&params(v)).unwrap_err()
    }

    fn token(comment: Option<&str>, expire: i64, privsep: bool) -> Token {
        Token {
            userid: "joe@pve".into(),
            tokenid: "ci".into(),
            comment: comment.map(str::to_string),
            expire,
            privsep,
        }
    }

    fn server(version: (u32, u32), acl: Vec<AclEntry>) -> Server {
        Server {
            version,
            token_acl: acl,
        }
    }

    fn acl(path: &str, role: &str, propagate: bool) -> AclEntry {
        AclEntry {
            path: path.into(),
            kind: PrincipalKind::Token,
            ugid: "joe@pve!ci".into(),
            roleid: role.into(),
            propagate,
        }
    }

    fn run(d: &Desired, cur: Option<&Token>, srv: Option<&Server>) -> Plan {
        let action = decide(d, cur, "root@pam", NOW).unwrap();
        assert_eq!(action.needs_version(cur), srv.is_some(), "{action:?}");
        plan(d, cur, &action, srv, false).unwrap()
    }

    fn reqs(p: &Plan) -> Vec<String> {
        p.steps
            .iter()
            .map(|s| {
                let params: Vec<String> = s
                    .req
                    .params
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!("{} {} {}", s.req.method, s.req.path, params.join("&"))
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn ids_bare_or_full() {
        let d = desired(json!({"userid": "joe@pve", "tokenid": "ci"}));
        assert_eq!(d.full(), "joe@pve!ci");
        let d = desired(json!({"tokenid": "joe@pve!ci"}));
        assert_eq!(
            (d.id.userid.as_str(), d.id.name.as_str()),
            ("joe@pve", "ci")
        );
        let d = desired(json!({"userid": "joe@pve", "tokenid": "joe@pve!ci"}));
        assert_eq!(d.full(), "joe@pve!ci");
    }

    #[test]
    fn validation_failures() {
        assert!(refused(json!({"tokenid": "ci"})).contains("give userid too"));
        assert!(
            refused(json!({"userid": "joe", "tokenid": "ci"})).contains("realm is missing"),
            "{}",
            refused(json!({"userid": "joe", "tokenid": "ci"}))
        );
        assert!(refused(json!({"userid": "joe@pve", "tokenid": "c i"})).starts_with("tokenid:"));
        assert!(refused(json!({"userid": "joe@pve", "tokenid": "1ci"})).starts_with("tokenid:"));
        assert!(
            refused(json!({"userid": "ann@pve", "tokenid": "joe@pve!ci"}))
                .contains("belongs to joe@pve but userid is ann@pve")
        );
        assert!(
            refused(json!({"tokenid": "joe@pve!ci", "expire": "2027-13-01"}))
                .starts_with("invalid expire '2027-13-01'")
        );
        assert!(
            refused(json!({"tokenid": "joe@pve!ci", "renew_before": "14d"}))
                .contains("used together")
        );
        assert!(refused(
            json!({"tokenid": "joe@pve!ci", "renew_before": "14x", "expire_in": "90d"})
        )
        .starts_with("renew_before: invalid duration"));
        assert!(
            refused(json!({"tokenid": "joe@pve!ci", "renew_before": "1d", "expire_in": "0"}))
                .contains("expire_in must be")
        );
    }

    #[test]
    fn create_with_defaults_and_with_everything() {
        let d = desired(json!({"tokenid": "joe@pve!ci"}));
        let p = run(&d, None, None);
        assert!(p.changed);
        assert_eq!(reqs(&p), ["POST /access/users/joe@pve/token/ci privsep=1"]);
        assert!(p.steps[0].secret);
        assert_eq!(p.steps[0].settle, Settle::Exists);
        assert_eq!(p.before, json!({}));
        assert_eq!(
            p.after,
            json!({"full_tokenid": "joe@pve!ci", "userid": "joe@pve", "tokenid": "ci",
                   "comment": null, "expire": 0, "privsep": true})
        );
        assert_eq!(p.msg, "token 'joe@pve!ci' created");

        let d = desired(json!({"tokenid": "joe@pve!ci", "privsep": false,
                               "expire": "2027-01-01", "comment": "Terraform"}));
        let p = run(&d, None, None);
        assert_eq!(
            reqs(&p),
            ["POST /access/users/joe@pve/token/ci privsep=0&expire=1798761600&comment=Terraform"]
        );
        assert_eq!(p.after["privsep"], false);
        assert_eq!(p.after["expire"], 1_798_761_600);
    }

    #[test]
    fn check_mode_wording() {
        let d = desired(json!({"tokenid": "joe@pve!ci"}));
        let action = decide(&d, None, "root@pam", NOW).unwrap();
        let p = plan(&d, None, &action, None, true).unwrap();
        assert_eq!(
            p.msg,
            "token 'joe@pve!ci' would be created (the real run returns its secret, once)"
        );
        assert_eq!(p.after["tokenid"], "ci");
    }

    #[test]
    fn noop_and_omitted_means_unchanged() {
        let cur = token(Some("x"), 5_000, false);
        for task in [
            json!({"tokenid": "joe@pve!ci"}),
            json!({"tokenid": "joe@pve!ci", "comment": "x", "expire": "5000", "privsep": false}),
        ] {
            let p = run(&desired(task), Some(&cur), None);
            assert!(!p.changed);
            assert!(p.steps.is_empty());
            assert_eq!(p.before, p.after);
            assert_eq!(p.msg, "token 'joe@pve!ci' unchanged");
        }
        // An empty comment on a token without one changes nothing.
        let cur = token(None, 0, true);
        let p = run(
            &desired(json!({"tokenid": "joe@pve!ci", "comment": ""})),
            Some(&cur),
            None,
        );
        assert!(!p.changed);
    }

    #[test]
    fn each_option_updated_alone() {
        let cur = token(Some("old"), 0, true);
        let cases = [
            (
                json!({"comment": "new"}),
                "PUT /access/users/joe@pve/token/ci comment=new",
                "comment set",
            ),
            (
                json!({"expire": "2027-01-01"}),
                "PUT /access/users/joe@pve/token/ci expire=1798761600",
                "expire 2027-01-01T00:00:00Z (was never)",
            ),
            (
                json!({"privsep": false}),
                "PUT /access/users/joe@pve/token/ci privsep=0",
                "privsep off",
            ),
        ];
        for (opts, req, said) in cases {
            let mut task = opts.clone();
            task["tokenid"] = json!("joe@pve!ci");
            let p = run(&desired(task), Some(&cur), None);
            assert!(p.changed);
            assert_eq!(reqs(&p), [req], "{opts}");
            assert_eq!(p.msg, format!("token 'joe@pve!ci' updated: {said}"));
            assert!(matches!(p.steps[0].settle, Settle::Matches(_)));
            assert!(!p.steps[0].secret);
            for (k, v) in opts.as_object().unwrap() {
                if k != "expire" {
                    assert_eq!(&p.after[k], v, "{k}");
                }
            }
        }
        // Several at once: one PUT.
        let d = desired(
            json!({"tokenid": "joe@pve!ci", "comment": "n", "expire": "never", "privsep": false}),
        );
        let p = run(&d, Some(&token(Some("o"), 7, true)), None);
        assert_eq!(
            reqs(&p),
            ["PUT /access/users/joe@pve/token/ci comment=n&expire=0&privsep=0"]
        );
    }

    #[test]
    fn clearing_a_comment_needs_pve9() {
        let cur = token(Some("old"), 0, true);
        let d = desired(json!({"tokenid": "joe@pve!ci", "comment": ""}));
        let action = decide(&d, Some(&cur), "root@pam", NOW).unwrap();
        assert!(action.needs_version(Some(&cur)));
        let p = plan(
            &d,
            Some(&cur),
            &action,
            Some(&server((9, 1), vec![])),
            false,
        )
        .unwrap();
        assert_eq!(reqs(&p), ["PUT /access/users/joe@pve/token/ci comment="]);
        assert_eq!(p.after["comment"], Value::Null);
        assert_eq!(p.msg, "token 'joe@pve!ci' updated: comment cleared");
        let e = plan(
            &d,
            Some(&cur),
            &action,
            Some(&server((8, 4), vec![])),
            false,
        )
        .unwrap_err();
        assert!(e.contains("PVE 8.4 cannot clear a token's comment"), "{e}");
    }

    #[test]
    fn regenerate_on_pve91_is_one_put() {
        let cur = token(Some("c"), 0, false);
        let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true}));
        let srv = server((9, 1), vec![]);
        let p = run(&d, Some(&cur), Some(&srv));
        assert!(p.changed);
        assert_eq!(
            reqs(&p),
            ["PUT /access/users/joe@pve/token/ci regenerate=1"]
        );
        assert!(p.steps[0].secret);
        assert_eq!(p.steps[0].settle, Settle::Resend);
        assert_eq!(p.before, p.after);
        assert_eq!(p.msg, "token 'joe@pve!ci' regenerated (new secret)");
        // With a change of attributes: still one PUT.
        let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true, "comment": "d"}));
        let p = run(&d, Some(&cur), Some(&srv));
        assert_eq!(
            reqs(&p),
            ["PUT /access/users/joe@pve/token/ci comment=d&regenerate=1"]
        );
        assert_eq!(
            p.msg,
            "token 'joe@pve!ci' regenerated (new secret); comment set"
        );
    }

    #[test]
    fn regenerate_on_pve84_recreates_and_keeps_the_acl() {
        let cur = token(Some("c"), 1_900_000_000, false);
        let entries = vec![
            acl("/vms/100", "PVEVMUser", true),
            acl("/", "PVEAuditor", true),
            acl("/vms/100", "PVEAuditor", true),
            acl("/storage", "PVEDatastoreUser", false),
        ];
        let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true}));
        let p = run(&d, Some(&cur), Some(&server((8, 4), entries.clone())));
        assert_eq!(
            reqs(&p),
            [
                "DELETE /access/users/joe@pve/token/ci",
                "POST /access/users/joe@pve/token/ci privsep=0&expire=1900000000&comment=c",
                "PUT /access/acl path=/&roles=PVEAuditor&tokens=joe@pve!ci&propagate=1",
                "PUT /access/acl path=/storage&roles=PVEDatastoreUser&tokens=joe@pve!ci&propagate=0",
                "PUT /access/acl path=/vms/100&roles=PVEAuditor,PVEVMUser&tokens=joe@pve!ci&propagate=1",
            ]
        );
        let secrets: Vec<bool> = p.steps.iter().map(|s| s.secret).collect();
        assert_eq!(secrets, [false, true, false, false, false]);
        assert_eq!(p.steps[0].settle, Settle::Absent);
        assert_eq!(p.steps[1].settle, Settle::Exists);
        assert_eq!(
            p.steps[4].settle,
            Settle::Acl(vec![entries[0].clone(), entries[2].clone()])
        );
        assert_eq!(
            p.msg,
            "token 'joe@pve!ci' regenerated (new secret) by deleting and re-creating it (PVE 8.4 has no regenerate), re-adding its 4 ACL entries"
        );
        // 9.0 has no regenerate either.
        let p = run(&d, Some(&cur), Some(&server((9, 0), vec![])));
        assert_eq!(p.steps.len(), 2);
    }

    #[test]
    fn acl_steps_ignore_other_principals() {
        let mut other = acl("/", "PVEAdmin", true);
        other.ugid = "joe@pve!other".into();
        let mut user = acl("/", "PVEAdmin", true);
        user.kind = PrincipalKind::User;
        user.ugid = "joe@pve".into();
        assert!(acl_steps("joe@pve!ci", &[other, user]).is_empty());
    }

    #[test]
    fn regenerate_creates_a_missing_token() {
        let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true}));
        let p = run(&d, None, None);
        assert_eq!(reqs(&p), ["POST /access/users/joe@pve/token/ci privsep=1"]);
    }

    #[test]
    fn renew_only_when_due() {
        let d =
            desired(json!({"tokenid": "joe@pve!ci", "renew_before": "14d", "expire_in": "90d"}));
        // Not due: nothing.
        let far = token(None, NOW + 30 * DAY, true);
        assert!(!run(&d, Some(&far), None).changed);
        // No expiry: never due.
        assert!(!run(&d, Some(&token(None, 0, true)), None).changed);
        // Due (or expired): regenerate and move the expiry.
        let srv = server((9, 1), vec![]);
        for expire in [NOW + 13 * DAY, NOW - DAY] {
            let p = run(&d, Some(&token(None, expire, true)), Some(&srv));
            assert_eq!(
                reqs(&p),
                [format!(
                    "PUT /access/users/joe@pve/token/ci expire={}&regenerate=1",
                    NOW + 90 * DAY
                )]
            );
            assert!(p
                .msg
                .starts_with("token 'joe@pve!ci' regenerated (new secret); expire "));
        }
        // Missing: created with the new expiry.
        let p = run(&d, None, None);
        assert_eq!(
            reqs(&p),
            [format!(
                "POST /access/users/joe@pve/token/ci privsep=1&expire={}",
                NOW + 90 * DAY
            )]
        );
    }

    #[test]
    fn absent() {
        let d = desired(json!({"tokenid": "joe@pve!ci", "state": "absent"}));
        let cur = token(Some("x"), 0, true);
        let p = run(&d, Some(&cur), None);
        assert_eq!(reqs(&p), ["DELETE /access/users/joe@pve/token/ci"]);
        assert_eq!(p.after, json!({}));
        assert_eq!(p.before["comment"], "x");
        assert_eq!(p.msg, "token 'joe@pve!ci' deleted");
        let p = run(&d, None, None);
        assert!(!p.changed);
        assert_eq!(p.msg, "token 'joe@pve!ci' does not exist");
    }

    #[test]
    fn own_token_is_refused_before_any_read() {
        for (task, refused) in [
            (json!({"tokenid": "joe@pve!ci", "state": "absent"}), true),
            (json!({"tokenid": "joe@pve!ci", "regenerate": true}), true),
            (json!({"tokenid": "joe@pve!ci", "comment": "me"}), false),
        ] {
            let d = desired(task.clone());
            assert_eq!(
                refuse_own_token(&d, "joe@pve!ci").is_err(),
                refused,
                "{task}"
            );
            assert!(refuse_own_token(&d, "joe@pve!other").is_ok(), "{task}");
            assert!(refuse_own_token(&d, "joe@pve").is_ok(), "{task}");
        }
    }

    #[test]
    fn own_token_is_never_deleted_or_regenerated() {
        let cur = token(None, NOW + DAY, true);
        for task in [
            json!({"tokenid": "joe@pve!ci", "state": "absent"}),
            json!({"tokenid": "joe@pve!ci", "regenerate": true}),
            json!({"tokenid": "joe@pve!ci", "renew_before": "14d", "expire_in": "90d"}),
        ] {
            let e = decide(&desired(task.clone()), Some(&cur), "joe@pve!ci", NOW).unwrap_err();
            assert!(e.starts_with("refusing to "), "{e}");
            assert!(e.contains("authenticates with this token"), "{e}");
            // Other identities may.
            assert!(decide(&desired(task), Some(&cur), "joe@pve", NOW).is_ok());
        }
        // Updating its own comment is fine.
        let d = desired(json!({"tokenid": "joe@pve!ci", "comment": "me"}));
        assert!(matches!(
            decide(&d, Some(&cur), "joe@pve!ci", NOW),
            Ok(Action::Update(..))
        ));
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("9.1.1"), Some((9, 1)));
        assert_eq!(parse_version("8.4"), Some((8, 4)));
        assert_eq!(parse_version("9"), Some((9, 0)));
        assert_eq!(parse_version("x"), None);
        assert!(server((9, 1), vec![]).has_regenerate());
        assert!(server((10, 0), vec![]).has_regenerate());
        assert!(!server((9, 0), vec![]).has_regenerate());
    }

    #[test]
    fn diff_views_never_hold_a_secret() {
        let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true}));
        let cur = token(None, 0, true);
        let p = run(&d, Some(&cur), Some(&server((9, 1), vec![])));
        for v in [&p.before, &p.after] {
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                [
                    "comment",
                    "expire",
                    "full_tokenid",
                    "privsep",
                    "tokenid",
                    "userid"
                ]
            );
        }
    }
}
