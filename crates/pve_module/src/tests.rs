use super::*;
use ansible_module::{execute, Spec};
use pve_api::ErrorKind;

/// A resource whose settle check is the path a write leads to.
struct Thing;

impl Resource for Thing {
    type Settle = &'static str;
    const KEY: &'static str = "thing";
    fn settled(&self, _: &Client, _: &&'static str) -> Result<bool, ApiError> {
        Ok(false)
    }
    fn needs(&self, step: &Step<&'static str>) -> String {
        format!("changing {} needs Sys.Modify on /access", step.settle)
    }
}

/// Shows a date where the view has an epoch.
struct Dated;

impl Resource for Dated {
    type Settle = ();
    const KEY: &'static str = "acl";
    fn settled(&self, _: &Client, _: &()) -> Result<bool, ApiError> {
        Ok(false)
    }
    fn needs(&self, _: &Step<()>) -> String {
        String::new()
    }
    fn describe(&self, _: &Step<()>) -> Option<String> {
        Some("grant the entry".into())
    }
    fn shown(&self, mut view: Value) -> Value {
        if let Some(e) = view.get("expire").and_then(Value::as_i64) {
            view["expire"] = json!(format!("epoch {e}"));
        }
        view
    }
}

fn step(path: &'static str) -> Step<&'static str> {
    Step::new(ApiRequest::put(path), path)
}

fn http(status: u16) -> ApiError {
    ApiError::new(
        ErrorKind::Http,
        "PUT",
        "/b",
        Some(status),
        "Permission check failed",
    )
}

#[test]
fn a_failure_before_any_write_says_nothing_changed() {
    let f = write_failure(&Thing, &http(403), &[step("/b")], &Progress::default());
    assert_eq!(
        f.msg,
        "PUT /b: 403 Permission check failed. changing /b needs Sys.Modify on /access: grant it to this login or use one that has it. Nothing was changed"
    );
    assert_eq!(f.extra["changed"], json!(false));
    assert_eq!(f.extra["status"], json!(403));
}

#[test]
fn a_refusal_inside_pves_config_lock_gets_the_hint_too() {
    let mut e = http(500);
    e.message = "update pools failed: 403 Permission check failed (/vms/100, VM.Allocate)".into();
    let f = write_failure(&Thing, &e, &[step("/b")], &Progress::default());
    assert!(
        f.msg
            .contains("VM.Allocate). changing /b needs Sys.Modify on /access: grant it"),
        "{}",
        f.msg
    );
    assert_eq!(f.extra["status"], json!(500));
}

#[test]
fn a_failure_half_way_says_what_was_done_and_what_was_not() {
    let progress = Progress {
        done: vec!["PUT /a".into()],
        ..Progress::default()
    };
    let f = write_failure(&Thing, &http(500), &[step("/b"), step("/c")], &progress);
    assert_eq!(
        f.msg,
        "PUT /b: 500 Permission check failed. Done before it: PUT /a. Not done: PUT /b; PUT /c; run the task again when the cause is fixed"
    );
    assert_eq!(f.extra["changed"], json!(true));
}

#[test]
fn a_failure_in_a_part_of_a_run_names_the_later_parts_as_not_done() {
    let progress = Progress {
        done: vec!["PUT /a".into()],
        later: vec!["DELETE /z".into()],
    };
    let f = write_failure(&Thing, &http(500), &[step("/b")], &progress);
    assert_eq!(
        f.msg,
        "PUT /b: 500 Permission check failed. Done before it: PUT /a. Not done: PUT /b; DELETE /z; run the task again when the cause is fixed"
    );
}

fn outcome(args: &str, resource: impl Resource, before: Value, after: Value) -> Value {
    execute("m", &Spec::new([]), args, &|_| None, |m| {
        Ok(result(m, &resource, true, "updated".into(), before, after))
    })
    .0
}

#[test]
fn the_result_has_a_diff_only_in_diff_mode() {
    let plain = outcome("{}", Thing, json!({"a": 1}), json!({"a": 2}));
    assert_eq!(
        plain,
        json!({"changed": true, "msg": "updated", "thing": {"a": 2}})
    );
    let diffed = outcome(
        r#"{"_ansible_diff": true}"#,
        Thing,
        json!({"a": 1}),
        json!({"a": 2}),
    );
    assert_eq!(
        diffed["diff"],
        json!({"before": "{\n    \"a\": 1\n}\n", "after": "{\n    \"a\": 2\n}\n"})
    );
}

#[test]
fn the_diff_shows_views_for_people_and_lists_as_mappings() {
    let diffed = outcome(
        r#"{"_ansible_diff": true}"#,
        Dated,
        json!({"expire": 5}),
        json!([{"path": "/"}]),
    );
    assert_eq!(
        diffed["diff"]["before"],
        diff_text(&json!({"expire": "epoch 5"}))
    );
    assert_eq!(
        diffed["diff"]["after"],
        diff_text(&json!({"acl": [{"path": "/"}]}))
    );
    // The returned resource is not changed by how the diff shows it.
    assert_eq!(diffed["acl"], json!([{"path": "/"}]));
}

#[test]
fn plans_and_verbs() {
    let p: Plan<()> = Plan::unchanged("same", json!({"a": 1}));
    assert!(!p.changed && p.steps.is_empty() && p.before == p.after);
    let p = Plan::change(vec![step("/a")], "changed", no_view(), json!({"a": 1}))
        .with_warnings(vec!["w".into()]);
    assert!(p.changed && p.warnings == ["w"] && p.before == json!({}));
    assert_eq!(verb(true, "created"), "would be created");
    assert_eq!(verb(false, "created"), "created");
}

#[test]
fn list_changes_in_words() {
    let have = vec!["a".to_string(), "b".to_string()];
    let target = vec!["b".to_string(), "c".to_string(), "d".to_string()];
    let change = ListChange::between(&have, &target);
    assert_eq!(
        (change.added.clone(), change.removed.clone()),
        (vec!["c", "d"], vec!["a"])
    );
    assert_eq!(change.summary(), "added c, d; removed a");
    assert!(ListChange::between(&have, &have).is_empty());
    assert_eq!(ListChange::between(&[], &have).summary(), "added a, b");
}

#[test]
fn a_failure_names_the_step_in_words_where_the_module_has_them() {
    let step = Step::new(ApiRequest::put("/access/acl"), ());
    let f = write_failure(
        &Dated,
        &http(500),
        &[step.clone(), step],
        &Progress::default(),
    );
    assert_eq!(
        f.msg,
        "PUT /b: 500 Permission check failed (the request to grant the entry). Nothing was changed"
    );
}

/// What a module's `answered` may stop a run with.
#[derive(Debug, PartialEq)]
enum Stop {
    Failed(String),
    Lost(&'static str),
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Stop {
        Stop::Failed(f.msg)
    }
}

#[test]
fn answered_stops_the_run_with_the_modules_own_error() {
    let steps = [step("/a"), step("/b"), step("/c")];
    let mut sent = Vec::new();
    let mut progress = Progress::default();
    let stopped = send_each(
        |s: &Step<&'static str>| {
            sent.push(s.settle);
            Ok(if s.settle == "/b" {
                Value::Null
            } else {
                json!({"value": 1})
            })
        },
        &Thing,
        &steps,
        &mut progress,
        |s, answer| match answer {
            Value::Null => Err(Stop::Lost(s.settle)),
            _ => Ok(()),
        },
    );
    assert_eq!(stopped, Err(Stop::Lost("/b")));
    assert_eq!(sent, ["/a", "/b"]);
    assert_eq!(progress.done, ["PUT /a", "PUT /b"]);
    // A failed write after that, in the same run, lists both as done.
    let failed = send_each(
        |_: &Step<&'static str>| Err(http(500)),
        &Thing,
        &steps[2..],
        &mut progress,
        |_, _| Ok::<(), Stop>(()),
    );
    assert_eq!(
        failed,
        Err(Stop::Failed("PUT /b: 500 Permission check failed. Done before it: PUT /a; PUT /b. Not done: PUT /c; run the task again when the cause is fixed".into()))
    );
}
