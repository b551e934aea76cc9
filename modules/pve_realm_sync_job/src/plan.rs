//! The pure part of pve_realm_sync_job: the task's options, checked, the
//! job as the server has it, and what to do about it. No I/O here.

use ansible_module::{json, Params, Value};
use pve_api::assume::{self, Kind, Missing};
use pve_api::{seg, ApiRequest};
pub use pve_module::State;
use pve_module::{no_view, verb, Refused};

pub type Step = pve_module::Step<Settle>;
pub type Plan = pve_module::Plan<Settle>;

/// What `remove_vanished` may list, in PVE's words.
pub const VANISHED: [&str; 3] = ["acl", "entry", "properties"];
/// The values of `scope`.
pub const SCOPES: [&str; 3] = ["users", "groups", "both"];

/// A realm-sync job: the task's wish (fields `None` = not given) or, with
/// every field set, the server's job.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Job {
    pub realm: Option<String>,
    pub schedule: Option<String>,
    pub scope: Option<String>,
    pub enabled: Option<bool>,
    /// `Some("")`: no comment.
    pub comment: Option<String>,
    pub enable_new: Option<bool>,
    /// Sorted, without duplicates; `[]` is PVE's `none`.
    pub remove_vanished: Option<Vec<String>>,
}

impl Job {
    /// The job in `GET /cluster/jobs/realm-sync/{id}`'s answer, with PVE's
    /// defaults for what the file leaves out (`enabled`, `enable-new`: 1;
    /// `remove-vanished`: none).
    pub fn from_json(v: &Value) -> Result<Job, String> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let flag = |k: &str| match v.get(k) {
            None | Some(Value::Null) => Ok(true),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) => Ok(n.as_i64() != Some(0)),
            Some(Value::String(s)) => Ok(s != "0" && !s.is_empty()),
            Some(other) => Err(format!("'{k}' is not a boolean: {other}")),
        };
        Ok(Job {
            realm: Some(text("realm").ok_or("the job has no realm")?),
            schedule: Some(text("schedule").ok_or("the job has no schedule")?),
            scope: text("scope"),
            enabled: Some(flag("enabled")?),
            comment: Some(text("comment").unwrap_or_default()),
            enable_new: Some(flag("enable-new")?),
            remove_vanished: Some(vanished_list(&text("remove-vanished").unwrap_or_default())),
        })
    }

    /// The job as the module reports it (`job`, and the diff).
    pub fn view(&self, id: &str) -> Value {
        let mut v = json!({
            "id": id,
            "realm": self.realm,
            "schedule": self.schedule,
            "scope": self.scope,
            "enabled": self.enabled.unwrap_or(true),
            "enable_new": self.enable_new.unwrap_or(true),
            "remove_vanished": self.remove_vanished.clone().unwrap_or_default(),
        });
        if let Some(c) = self.comment.as_ref().filter(|c| !c.is_empty()) {
            v["comment"] = json!(c);
        }
        v
    }
}

/// PVE's `remove-vanished` text (`acl;entry`, `none`) as a sorted list.
fn vanished_list(text: &str) -> Vec<String> {
    let mut items: Vec<String> = text
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "none")
        .map(str::to_string)
        .collect();
    items.sort();
    items.dedup();
    items
}

/// The task, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub id: String,
    pub job: Job,
    pub state: State,
}

impl Desired {
    /// Reads and checks the options before any request.
    pub fn from_params(p: &Params) -> Result<Desired, String> {
        let id = p.str("id").unwrap_or_default().to_string();
        verify_id(&id)?;
        if let Some(realm) = p.str("realm") {
            if !pve_api::ids::valid_realm(realm) {
                return Err(format!("realm: '{realm}' is not a valid realm name"));
            }
        }
        if let Some(s) = p.str("schedule") {
            verify_schedule(s)?;
        }
        if let Some(c) = p.str("comment") {
            let len = c.chars().count();
            if len > 512 {
                return Err(format!(
                    "comment is too long ({len} characters, PVE allows at most 512)"
                ));
            }
        }
        let remove_vanished = match p.list("remove_vanished") {
            Some(items) => {
                let items: Vec<String> = items.iter().flat_map(|i| vanished_list(i)).collect();
                if let Some(bad) = items.iter().find(|i| !VANISHED.contains(&i.as_str())) {
                    return Err(format!(
                        "remove_vanished: '{bad}' is not one of acl, entry, properties (an empty list is PVE's 'none')"
                    ));
                }
                Some(vanished_list(&items.join(";")))
            }
            None => None,
        };
        Ok(Desired {
            id,
            job: Job {
                realm: p.str("realm").map(str::to_string),
                schedule: p.str("schedule").map(|s| s.trim().to_string()),
                scope: p.str("scope").map(str::to_string),
                enabled: p.bool("enabled"),
                comment: p.str("comment").map(str::to_string),
                enable_new: p.bool("enable_new"),
                remove_vanished,
            },
            state: State::from_params(p),
        })
    }
}

/// PVE's `pve-configid`: a letter, then letters, digits, `-` or `_`; 2 to 64
/// characters.
fn verify_id(id: &str) -> Result<(), String> {
    let mut chars = id.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && (2..=64).contains(&id.len());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id: '{id}' is not a valid job id (2 to 64 letters, digits, '-' or '_', starting with a letter)"
        ))
    }
}

/// Checks the syntax of a calendar event, as PVE's parser accepts it:
/// a named event, or `[weekdays] [[year-]month-day] [hour:]minute[:second]`
/// whose values are `*`, numbers, `a..b` ranges, `/r` repetitions and comma
/// lists. Ranges of values are left to PVE.
pub fn verify_schedule(text: &str) -> Result<(), String> {
    const NAMED: [&str; 10] = [
        "minutely",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
        "annually",
        "quarterly",
        "semiannually",
        "semi-annually",
    ];
    let fail = |why: &str| {
        Err(format!(
            "schedule: '{text}' is not a calendar event PVE accepts ({why}); examples: daily, hourly, '*/15', 'mon..fri 02:30', 'sat 03:00'"
        ))
    };
    let t = text.trim();
    if t.is_empty() {
        return fail("it is empty");
    }
    if t.len() > 128 {
        return fail("longer than 128 characters");
    }
    if NAMED.contains(&t) {
        return Ok(());
    }
    let mut words = t.split_whitespace().collect::<Vec<_>>().into_iter();
    let mut word = words.next();
    if let Some(days) = word.filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic())) {
        let day = |d: &str| {
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .any(|n| d == *n || (d.len() > 3 && d.starts_with(n) && d.ends_with("day")))
        };
        let ok = days.split(',').all(|item| match item.split_once("..") {
            Some((a, b)) => day(a) && day(b),
            None => day(item),
        });
        if !ok {
            return fail(&format!(
                "'{days}' is no weekday list like mon..fri or sat,sun"
            ));
        }
        word = words.next();
    }
    if let Some(date) = word.filter(|w| w.contains('-')) {
        let parts = date.split('-').count();
        if !(2..=3).contains(&parts) || !date.split('-').all(values) {
            return fail(&format!("'{date}' is no date like 2026-12-24 or *-*-01"));
        }
        word = words.next();
    }
    if let Some(time) = word {
        let parts = time.split(':').count();
        if parts > 3 || !time.split(':').all(values) {
            return fail(&format!("'{time}' is no time like 02:30, *:00 or */15"));
        }
    }
    if words.next().is_some() {
        return fail("too many parts");
    }
    Ok(())
}

/// One field of a date or time: comma-separated `*`, `n`, `a..b`, each
/// optionally with `/r`.
fn values(field: &str) -> bool {
    let number = |n: &str| !n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit());
    field.split(',').all(|item| {
        let (base, step) = item.split_once('/').unwrap_or((item, "1"));
        let base_ok = base == "*"
            || number(base)
            || base
                .split_once("..")
                .is_some_and(|(a, b)| number(a) && number(b));
        base_ok && number(step)
    })
}

/// How to tell, after a write whose answer was lost, whether it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The job does not exist.
    Absent,
    /// The job exists and reads back as this view.
    Job(Value),
}

pub fn job_path(id: &str) -> String {
    format!("/cluster/jobs/realm-sync/{}", seg(id))
}

/// The realm-sync step's parameters for the fields of `wanted` that differ
/// from `have` (all given fields when creating).
fn changed_params(wanted: &Job, have: Option<&Job>) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    let str_field = |name: &'static str, w: &Option<String>, h: Option<&Option<String>>| {
        // Creating, an empty value is PVE's default: nothing to send.
        w.as_ref()
            .filter(|w| match h {
                None => !w.is_empty(),
                Some(h) => h.as_deref().unwrap_or_default() != w.as_str(),
            })
            .map(|w| (name, w.clone()))
    };
    params.extend(str_field(
        "schedule",
        &wanted.schedule,
        have.map(|h| &h.schedule),
    ));
    params.extend(str_field("scope", &wanted.scope, have.map(|h| &h.scope)));
    params.extend(str_field(
        "comment",
        &wanted.comment,
        have.map(|h| &h.comment),
    ));
    let bool_field = |name: &'static str, w: Option<bool>, h: Option<Option<bool>>| {
        w.filter(|w| h.is_none_or(|h| h.unwrap_or(true) != *w))
            .map(|w| (name, u8::from(w).to_string()))
    };
    params.extend(bool_field(
        "enabled",
        wanted.enabled,
        have.map(|h| h.enabled),
    ));
    params.extend(bool_field(
        "enable-new",
        wanted.enable_new,
        have.map(|h| h.enable_new),
    ));
    if let Some(w) = &wanted.remove_vanished {
        let h = have.map(|h| h.remove_vanished.clone().unwrap_or_default());
        if h.as_ref() != Some(w) {
            let text = if w.is_empty() {
                "none".to_string()
            } else {
                w.join(";")
            };
            params.push(("remove-vanished", text));
        }
    }
    params
}

/// `have` with what `wanted` gives put in.
fn merged(wanted: &Job, have: &Job) -> Job {
    Job {
        realm: have.realm.clone(),
        schedule: wanted.schedule.clone().or_else(|| have.schedule.clone()),
        scope: wanted.scope.clone().or_else(|| have.scope.clone()),
        enabled: wanted.enabled.or(have.enabled),
        comment: wanted.comment.clone().or_else(|| have.comment.clone()),
        enable_new: wanted.enable_new.or(have.enable_new),
        remove_vanished: wanted
            .remove_vanished
            .clone()
            .or_else(|| have.remove_vanished.clone()),
    }
}

/// Plans the task. `realm_type` is the type of the task's realm as the
/// server lists it (`None`: no such realm), read only when a job is created.
pub fn plan(
    d: &Desired,
    current: Option<&Job>,
    realm_type: Option<&str>,
    check_mode: bool,
) -> Result<Plan, Refused> {
    let id = &d.id;
    let before = current.map_or_else(no_view, |j| j.view(id));
    if d.state == State::Absent {
        return Ok(match current {
            None => Plan::unchanged(format!("realm-sync job '{id}' does not exist"), before),
            Some(_) => Plan::change(
                vec![Step::new(ApiRequest::delete(job_path(id)), Settle::Absent)],
                format!("realm-sync job '{id}' {}", verb(check_mode, "deleted")),
                before,
                no_view(),
            ),
        });
    }
    let Some(have) = current else {
        return create(d, realm_type, check_mode);
    };
    if let Some(realm) = d
        .job
        .realm
        .as_ref()
        .filter(|r| have.realm.as_ref() != Some(*r))
    {
        return Err(Refused(format!(
            "realm-sync job '{id}' not changed: its realm is '{}' and PVE cannot change a job's realm; to sync realm '{realm}' instead, delete the job (state: absent) and create it again, or use another id",
            have.realm.as_deref().unwrap_or_default()
        )));
    }
    let params = changed_params(&d.job, Some(have));
    if params.is_empty() {
        return Ok(Plan::unchanged(
            format!("realm-sync job '{id}' unchanged"),
            before,
        ));
    }
    let target = merged(&d.job, have);
    let after = target.view(id);
    let names: Vec<&str> = params.iter().map(|(k, _)| *k).collect();
    // PVE requires the schedule on every update.
    let mut req = ApiRequest::put(job_path(id));
    if !names.contains(&"schedule") {
        req = req.param("schedule", target.schedule.clone().unwrap_or_default());
    }
    for (k, v) in &params {
        req = req.param(*k, v);
    }
    Ok(Plan::change(
        vec![Step::new(req, Settle::Job(after.clone()))],
        format!(
            "realm-sync job '{id}' {}: {}",
            verb(check_mode, "updated"),
            names.join(", ")
        ),
        before,
        after,
    ))
}

fn create(d: &Desired, realm_type: Option<&str>, check_mode: bool) -> Result<Plan, Refused> {
    let id = &d.id;
    let missing: Vec<&str> = [
        ("realm", d.job.realm.is_none()),
        ("schedule", d.job.schedule.is_none()),
        ("scope", d.job.scope.is_none()),
    ]
    .into_iter()
    .filter_map(|(k, m)| m.then_some(k))
    .collect();
    if !missing.is_empty() {
        return Err(Refused(format!(
            "realm-sync job '{id}' does not exist, and creating it needs {}: give {}",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        )));
    }
    let realm = d.job.realm.clone().unwrap_or_default();
    let mut warnings = Vec::new();
    match realm_type {
        Some("ldap" | "ad") => {}
        Some(other) => {
            return Err(Refused(format!(
                "realm-sync job '{id}' not created: realm '{realm}' is of type '{other}', and PVE syncs only LDAP and AD realms"
            )))
        }
        None => {
            warnings = assume::assume_created(
                check_mode,
                &[Missing::new(Kind::Realm, &realm)],
                |_| {
                    format!(
                        "realm-sync job '{id}' not created: realm '{realm}' does not exist; create it first, e.g. with pve.access.pve_realm"
                    )
                },
            )
            .map_err(Refused)?;
        }
    }
    let mut req = ApiRequest::post(job_path(id)).param("realm", &realm);
    for (k, v) in changed_params(&d.job, None) {
        req = req.param(k, v);
    }
    let target = merged(
        &d.job,
        &Job {
            realm: Some(realm),
            ..Job::default()
        },
    );
    let after = target.view(id);
    Ok(Plan::change(
        vec![Step::new(req, Settle::Job(after.clone()))],
        format!("realm-sync job '{id}' {}", verb(check_mode, "created")),
        no_view(),
        after,
    )
    .with_warnings(warnings))
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
