//! `/cluster/jobs/realm-sync[/{id}]`: scheduled realm syncs (pve-access-
//! control `API2/Jobs/RealmSync.pm`, in PVE since 8.0), kept in `jobs.cfg`
//! ([`crate::jobscfg`]). Nothing runs them: there is no scheduler, so a
//! job never has a `last-run` and its `next-run` counts from now.
//!
//! As the real code answers (measured with pve-oracle's code, see
//! `docs/realm-sync-jobs.md`): errors raised while `jobs.cfg` is locked are
//! re-thrown as strings, so an unknown realm or job is a 500 whose message
//! is the stringified 400 (`400 Parameter verification failed.\nrealm: No
//! such realm 'x'\n`); `realm` is fixed (not a PUT parameter) and `schedule`
//! is required on every PUT; PUT checks `Realm.AllocateUser` on
//! `/access/realm/-` (its template has no realm to fill in).

use serde_json::{json, Map, Value};

use super::errors::{ApiError, ApiResult};
use super::Call;
use crate::calendar::Event;
use crate::ids;
use crate::jobscfg::{Job, Jobs, BOOLEANS, REALM_SYNC};

/// The methods' schema, added to the version's access schema.
pub const SCHEMA: &str = include_str!("../../data/jobs-realm-sync.json");

/// The options a job keeps, as the API names them.
const OPTIONS: [&str; 7] = [
    "comment",
    "enable-new",
    "enabled",
    "realm",
    "remove-vanished",
    "schedule",
    "scope",
];
/// What PUT's `delete` may not remove.
const REQUIRED: [&str; 3] = ["realm", "schedule", "scope"];

/// A job as GET answers it: its options (booleans as numbers) and `type`.
fn view(job: &Job) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in &job.opts {
        let value = if BOOLEANS.contains(&k.as_str()) {
            json!(i64::from(ids::truthy(v)))
        } else {
            json!(v)
        };
        m.insert(k.clone(), value);
    }
    m.insert("type".into(), json!(job.kind));
    m
}

fn realm_sync<'a>(jobs: &'a Jobs, id: &str) -> Option<&'a Job> {
    jobs.get(id).filter(|j| j.kind == REALM_SYNC)
}

/// What `die "$@"` makes of an error raised under the `jobs.cfg` lock.
fn rethrown(e: ApiError) -> ApiError {
    ApiError::die(e.stringify())
}

/// `GET /cluster/jobs/realm-sync`: the realm-sync jobs in file order, each
/// with `id`, `last-run` (null: never run) and `next-run`.
pub fn index(call: &Call) -> ApiResult<Value> {
    call.store().jobs().read(|jobs| {
        let mut out = Vec::new();
        for job in jobs.0.iter().filter(|j| j.kind == REALM_SYNC) {
            let mut m = view(job);
            m.insert("id".into(), json!(job.id));
            if let Some(schedule) = job.get("schedule") {
                m.insert("last-run".into(), Value::Null);
                let event = Event::parse(schedule).map_err(ApiError::die)?;
                if let Some(next) = event.next_after(call.now) {
                    m.insert("next-run".into(), json!(next));
                }
            }
            out.push(Value::Object(m));
        }
        Ok(Value::Array(out))
    })
}

/// `GET /cluster/jobs/realm-sync/{id}`.
pub fn read(call: &Call) -> ApiResult<Value> {
    let id = call.param("id").unwrap_or_default();
    call.store().jobs().read(|jobs| match realm_sync(jobs, id) {
        Some(job) => Ok(Value::Object(view(job))),
        None => Err(ApiError::param1("id", format!("No such job '{id}'"))),
    })
}

/// The options of the call a job keeps.
fn given<'a>(call: &'a Call) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
    OPTIONS
        .into_iter()
        .filter_map(|k| call.param(k).map(|v| (k, v)))
}

/// `POST /cluster/jobs/realm-sync/{id}`: only for an LDAP or AD realm.
pub fn create(call: &Call) -> ApiResult<Value> {
    let id = call.param("id").unwrap_or_default().to_string();
    let realm = call.param("realm").unwrap_or_default();
    let realm_type = call
        .store()
        .read(|s| s.realms.kind(realm).map(str::to_string));
    call.store()
        .jobs()
        .write(|jobs| -> ApiResult<()> {
            if jobs.get(&id).is_some() {
                return Err(ApiError::die(format!("Job '{id}' already exists")));
            }
            match realm_type.as_deref() {
                None => {
                    return Err(ApiError::param1(
                        "realm",
                        format!("No such realm '{realm}'"),
                    ))
                }
                Some("ldap" | "ad") => {}
                Some(_) => {
                    return Err(ApiError::param1(
                        "realm",
                        "Only LDAP/AD realms can be synced.",
                    ))
                }
            }
            let opts = given(call).map(|(k, v)| (k.to_string(), v.to_string()));
            jobs.0.push(Job {
                kind: REALM_SYNC.into(),
                id: id.clone(),
                opts: opts.collect(),
            });
            Ok(())
        })
        .map_err(rethrown)?;
    Ok(Value::Null)
}

/// `PUT /cluster/jobs/realm-sync/{id}`: sets what is given, removes what
/// `delete` names.
pub fn update(call: &Call) -> ApiResult<Value> {
    let id = call.param("id").unwrap_or_default().to_string();
    let delete = ids::split_list(call.param("delete").unwrap_or_default());
    call.store()
        .jobs()
        .write(|jobs| -> ApiResult<()> {
            let job = jobs
                .get_mut(&id)
                .filter(|j| j.kind == REALM_SYNC)
                .ok_or_else(|| ApiError::die("no such realm-sync job"))?;
            for k in &delete {
                if !OPTIONS.contains(&k.as_str()) {
                    return Err(ApiError::die(format!("no such option '{k}'")));
                }
                if REQUIRED.contains(&k.as_str()) {
                    return Err(ApiError::die(format!(
                        "unable to delete required option '{k}'"
                    )));
                }
                if call.param(k).is_some() {
                    return Err(ApiError::die(format!(
                        "cannot set and delete property '{k}' at the same time!"
                    )));
                }
                job.remove(k);
            }
            for (k, v) in given(call) {
                job.set(k, v);
            }
            Ok(())
        })
        .map_err(rethrown)?;
    Ok(Value::Null)
}

/// `DELETE /cluster/jobs/realm-sync/{id}`.
pub fn delete(call: &Call) -> ApiResult<Value> {
    let id = call.param("id").unwrap_or_default().to_string();
    call.store()
        .jobs()
        .write(|jobs| -> ApiResult<()> {
            if realm_sync(jobs, &id).is_none() {
                return Err(ApiError::param1("id", format!("No such job '{id}'")));
            }
            jobs.remove(&id);
            Ok(())
        })
        .map_err(rethrown)?;
    Ok(Value::Null)
}
