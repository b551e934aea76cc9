//! What every pve.access module that changes something is made of, so that
//! a module is only its option spec, its read of the current state and its
//! planner.
//!
//! A planner (pure: desired state + current state, no I/O) returns a
//! [`Plan`]: the [`Step`]s to send, each with its *settle check*, the
//! module's own value saying how to tell, after a write whose answer was
//! lost, whether it happened; plus `changed`, `msg`, the resource's view
//! before and after, and warnings. The module describes its resource once,
//! by implementing [`Resource`] (how to read a settle check back, what PVE
//! privilege a refused write needs, how a view reads in a diff), and hands
//! the plan to [`carry_out`], which:
//!
//! - passes the warnings on,
//! - refuses before the first write what the connection cannot send (a
//!   password in local mode),
//! - in a real run sends the steps in order with [`apply`] (a lost answer is
//!   settled by reading back, never sent again blindly),
//! - on a failure half way answers with one message in one format: PVE's
//!   words, the privilege a 403 needs, what was done before and what was not,
//!   and `changed: true` when something was done,
//! - returns the result every module returns: `changed`, `msg`, the resource
//!   after the run under its key and, in diff mode, `diff: {before, after}`.
//!
//! ```no_run
//! use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
//! use pve_api::{seg, ApiError, ApiRequest, Client};
//! use pve_module::{carry_out, Plan, Resource, Step};
//!
//! /// A user's comment, the whole resource of this example.
//! struct Comment {
//!     userid: String,
//! }
//!
//! impl Resource for Comment {
//!     type Settle = String; // the comment a write leads to
//!     const KEY: &'static str = "comment";
//!     fn settled(&self, c: &Client, want: &String) -> Result<bool, ApiError> {
//!         Ok(c.get(&format!("/access/users/{}", seg(&self.userid)))?["comment"] == *want)
//!     }
//!     fn needs(&self, _: &Step<String>) -> String {
//!         "changing a user needs User.Modify on /access/groups".into()
//!     }
//! }
//!
//! fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
//!     let userid = m.params.str("userid").unwrap_or_default().to_string();
//!     let client = Client::connect(&m.params)?;
//!     let path = format!("/access/users/{}", seg(&userid));
//!     let now = client.get(&path)?["comment"].clone();
//!     let plan = if now == "managed" {
//!         Plan::unchanged("comment unchanged", now)
//!     } else {
//!         let step = Step::new(ApiRequest::put(path).param("comment", "managed"), "managed".into());
//!         Plan::change(vec![step], "comment set", now, "managed".into())
//!     };
//!     carry_out(m, &client, &Comment { userid }, plan)
//! }
//!
//! fn main() {
//!     let spec = Spec::new([Opt::str("userid").required()]).with(pve_api::connection_options());
//!     ansible_module::run("pve_comment", spec, run)
//! }
//! ```

use ansible_module::{diff_text, json, Failure, Map, Module, Opt, Params, Value};
use pve_api::{ApiError, ApiRequest, Client};

/// One write of a plan, and how to tell whether it happened when its answer
/// is lost.
#[derive(Clone, Debug, PartialEq)]
pub struct Step<S> {
    pub request: ApiRequest,
    pub settle: S,
}

impl<S> Step<S> {
    pub fn new(request: ApiRequest, settle: S) -> Step<S> {
        Step { request, settle }
    }
}

/// What a run does and what it reports. Check mode computes the same plan
/// as the real run (only `msg` says "would"), so it predicts `changed` and
/// the diff exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan<S> {
    pub steps: Vec<Step<S>>,
    pub changed: bool,
    pub msg: String,
    /// The resource before and after the run (`{}` when it does not exist).
    pub before: Value,
    pub after: Value,
    pub warnings: Vec<String>,
}

impl<S> Plan<S> {
    /// Nothing to do: the resource stays as `view` shows it.
    pub fn unchanged(msg: impl Into<String>, view: Value) -> Plan<S> {
        Plan {
            steps: Vec::new(),
            changed: false,
            msg: msg.into(),
            before: view.clone(),
            after: view,
            warnings: Vec::new(),
        }
    }

    /// A change made by `steps`.
    pub fn change(
        steps: Vec<Step<S>>,
        msg: impl Into<String>,
        before: Value,
        after: Value,
    ) -> Plan<S> {
        Plan {
            steps,
            changed: true,
            msg: msg.into(),
            before,
            after,
            warnings: Vec::new(),
        }
    }

    pub fn with_warnings(mut self, warnings: Vec<String>) -> Plan<S> {
        self.warnings = warnings;
        self
    }
}

/// The `state` option of the modules that manage one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Present,
    Absent,
}

impl State {
    /// The option: `present` (the default) or `absent`.
    pub fn option() -> Opt {
        Opt::str("state")
            .choices(&["present", "absent"])
            .default("present")
    }

    /// `state` as the spec checked it (`present` when not given).
    pub fn from_params(p: &Params) -> State {
        match p.str("state") {
            Some("absent") => State::Absent,
            _ => State::Present,
        }
    }
}

/// Why a planner will not do the task, found before anything was written:
/// the message says what is wrong and what to do instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Refused> for Failure {
    fn from(r: Refused) -> Failure {
        Failure::new(r.0)
    }
}

/// `{}`, the view of a resource that does not exist.
pub fn no_view() -> Value {
    Value::Object(Map::new())
}

/// The word a message uses for what a plan does: "created", or in check
/// mode "would be created".
pub fn verb(check_mode: bool, done: &str) -> String {
    if check_mode {
        format!("would be {done}")
    } else {
        done.to_string()
    }
}

/// What turning the list `have` into `target` adds and removes (members,
/// groups, privileges), for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListChange<'a> {
    pub added: Vec<&'a str>,
    pub removed: Vec<&'a str>,
}

impl<'a> ListChange<'a> {
    pub fn between(have: &'a [String], target: &'a [String]) -> ListChange<'a> {
        let not_in = |list: &'a [String], other: &'a [String]| {
            list.iter()
                .filter(|x| !other.contains(x))
                .map(String::as_str)
                .collect()
        };
        ListChange {
            added: not_in(target, have),
            removed: not_in(have, target),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// "added a, b; removed c".
    pub fn summary(&self) -> String {
        let mut what = Vec::new();
        if !self.added.is_empty() {
            what.push(format!("added {}", self.added.join(", ")));
        }
        if !self.removed.is_empty() {
            what.push(format!("removed {}", self.removed.join(", ")));
        }
        what.join("; ")
    }
}

/// What a module manages, as the skeleton needs to know it.
pub trait Resource {
    /// The module's settle check: what a write leads to, to be read back.
    type Settle;
    /// The result key of the resource's view (`user`, `acl`, ...).
    const KEY: &'static str;

    /// Whether the write `settle` stands for has happened, read back from
    /// the server after its answer was lost.
    fn settled(&self, client: &Client, settle: &Self::Settle) -> Result<bool, ApiError>;

    /// What PVE requires of the login for `step`, for the message when it
    /// answers 403: "creating roles needs Sys.Modify on /access".
    fn needs(&self, step: &Step<Self::Settle>) -> String;

    /// The step in people's words ("grant PVEVMUser on '/vms/100' for
    /// group 'ops'"), where the request itself (`METHOD path`) does not say
    /// enough; messages then use these words.
    fn describe(&self, _step: &Step<Self::Settle>) -> Option<String> {
        None
    }

    /// A view as people read it in the diff (a date for an epoch, say); the
    /// returned resource stays as it is.
    fn shown(&self, view: Value) -> Value {
        view
    }
}

/// The common end of a module's run: warnings, the writes (not in check
/// mode) and the result.
pub fn carry_out<R: Resource>(
    m: &mut Module,
    client: &Client,
    resource: &R,
    plan: Plan<R::Settle>,
) -> Result<Map<String, Value>, Failure> {
    for w in &plan.warnings {
        m.warn(w.clone());
    }
    for step in &plan.steps {
        client.check_sendable(&step.request)?;
    }
    if !m.check_mode {
        apply(
            client,
            resource,
            &plan.steps,
            &mut Progress::default(),
            |_, _| Ok::<(), Failure>(()),
        )?;
    }
    Ok(result(
        m,
        resource,
        plan.changed,
        plan.msg,
        plan.before,
        plan.after,
    ))
}

/// The writes done so far, across [`apply`] calls of one run.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: Vec<String>,
    /// The writes planned after those of the current [`apply`] call (a
    /// later part of a run that applies in parts), named with the others
    /// not done when a write fails.
    pub later: Vec<String>,
}

/// Sends `steps` in order; a lost answer is settled by reading back with
/// [`Resource::settled`]. `answered` gets each step's answer (`null` when it
/// was settled by reading back) before the next step is sent; it may stop
/// the run with the module's own error `E`, so that the module decides by
/// type what comes next (the token module issues a new secret when the
/// answer holding one was lost). A failed write says what failed, what it
/// needs, what was done before (in this and earlier calls with the same
/// `progress`) and what was not.
pub fn apply<R: Resource, E: From<Failure>>(
    client: &Client,
    resource: &R,
    steps: &[Step<R::Settle>],
    progress: &mut Progress,
    answered: impl FnMut(&Step<R::Settle>, Value) -> Result<(), E>,
) -> Result<(), E> {
    let send = |step: &Step<R::Settle>| {
        let settled = |c: &Client| resource.settled(c, &step.settle);
        client.send_settled(&step.request, &settled)
    };
    send_each(send, resource, steps, progress, answered)
}

/// [`apply`] with the way a step is sent given, so that tests can answer
/// without a server.
fn send_each<R: Resource, E: From<Failure>>(
    mut send: impl FnMut(&Step<R::Settle>) -> Result<Value, ApiError>,
    resource: &R,
    steps: &[Step<R::Settle>],
    progress: &mut Progress,
    mut answered: impl FnMut(&Step<R::Settle>, Value) -> Result<(), E>,
) -> Result<(), E> {
    for (i, step) in steps.iter().enumerate() {
        match send(step) {
            Ok(answer) => {
                progress.done.push(words(resource, step));
                answered(step, answer)?;
            }
            Err(e) => return Err(write_failure(resource, &e, &steps[i..], progress).into()),
        }
    }
    Ok(())
}

/// A step as messages name it: [`Resource::describe`], else `METHOD path`.
pub fn words<R: Resource>(resource: &R, step: &Step<R::Settle>) -> String {
    resource
        .describe(step)
        .unwrap_or_else(|| format!("{} {}", step.request.method, step.request.path))
}

/// A failed write: PVE's words (and the step's, where the request does not
/// say enough), what a 403 needs, what was done before and what is left.
fn write_failure<R: Resource>(
    resource: &R,
    e: &ApiError,
    rest: &[Step<R::Settle>],
    progress: &Progress,
) -> Failure {
    let mut msg = e.to_string();
    if let Some(what) = rest.first().and_then(|s| resource.describe(s)) {
        msg.push_str(&format!(" (the request to {what})"));
    }
    // A permission check PVE makes inside its config lock (pool members,
    // say) comes back as a 500 naming the 403: it needs the same hint.
    let refused = e.status == Some(403)
        || (e.status == Some(500) && e.message.contains(": 403 Permission check failed"));
    if let (true, Some(step)) = (refused, rest.first()) {
        msg.push_str(&format!(
            ". {}: grant it to this login or use one that has it",
            resource.needs(step)
        ));
    }
    if progress.done.is_empty() {
        msg.push_str(". Nothing was changed");
    } else {
        let left: Vec<String> = rest
            .iter()
            .map(|s| words(resource, s))
            .chain(progress.later.iter().cloned())
            .collect();
        msg.push_str(&format!(
            ". Done before it: {}. Not done: {}; run the task again when the cause is fixed",
            progress.done.join("; "),
            left.join("; ")
        ));
    }
    let mut f = Failure::new(msg).with("changed", !progress.done.is_empty());
    if let Some(status) = e.status {
        f = f.with("status", status);
    }
    f
}

/// The result every module returns: `changed`, `msg`, the resource after
/// the run under [`Resource::KEY`] and, in diff mode, `diff: {before,
/// after}` as text (a list view, ACL entries, is shown as `{key: list}`).
pub fn result<R: Resource>(
    m: &Module,
    resource: &R,
    changed: bool,
    msg: String,
    before: Value,
    after: Value,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("changed".into(), Value::Bool(changed));
    out.insert("msg".into(), Value::String(msg));
    if m.diff {
        let view = |v: Value| {
            let v = match v {
                Value::Array(_) => json!({ R::KEY: v }),
                other => other,
            };
            Value::String(diff_text(&resource.shown(v)))
        };
        out.insert(
            "diff".into(),
            json!({ "before": view(before), "after": view(after.clone()) }),
        );
    }
    out.insert(R::KEY.into(), after);
    out
}

#[cfg(test)]
mod tests;
