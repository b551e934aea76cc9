//! Process-level checks of `run` with the `ansible-module-selftest` binary:
//! argv and args-file handling, the panic hook, and stdout holding exactly
//! one JSON object.

use ansible_module::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_ansible-module-selftest");

fn args_file(content: &[u8]) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!(
        "ansible-module-selftest-{}-{n}.json",
        std::process::id()
    ));
    std::fs::write(&path, content).unwrap();
    path
}

/// Runs the module; checks stdout is one JSON object on one line and returns it with the exit code.
fn run(arg: Option<&std::ffi::OsStr>) -> (Value, i32) {
    run_with_stdin(arg, b"")
}

fn run_with_stdin(arg: Option<&std::ffi::OsStr>, stdin: &[u8]) -> (Value, i32) {
    let mut child = Command::new(BIN)
        .args(arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // A module that does not read its stdin closes the pipe: not an error here.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let values: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(values.len(), 1, "stdout: {stdout}");
    assert!(
        values[0].is_object() && stdout.ends_with("}\n") && stdout.lines().count() == 1,
        "stdout: {stdout}"
    );
    (values[0].clone(), out.status.code().unwrap())
}

fn run_file(content: &[u8]) -> (Value, i32) {
    let path = args_file(content);
    let result = run(Some(path.as_os_str()));
    std::fs::remove_file(path).unwrap();
    result
}

#[test]
fn success() {
    let (v, code) = run_file(
        br#"{"name": "world", "_ansible_check_mode": true, "_ansible_version": "2.19.0"}"#,
    );
    assert_eq!(
        (v, code),
        (json!({"msg": "hello world", "changed": false}), 0)
    );
}

#[test]
fn json_text_as_argument() {
    let (v, code) = run(Some(r#"{"name": "arg"}"#.as_ref()));
    assert_eq!((&v["msg"], code), (&json!("hello arg"), 0));
}

#[test]
fn arguments_on_standard_input() {
    let stdin = |bytes: &[u8]| run_with_stdin(Some("-".as_ref()), bytes);
    let (v, code) = stdin(br#"{"name": "stdin", "_ansible_check_mode": true}"#);
    assert_eq!(
        (v, code),
        (json!({"msg": "hello stdin", "changed": false}), 0)
    );
    // Secrets read from stdin are hidden like those from a file.
    let (v, code) = stdin(br#"{"mode": "fail", "password": "hunter22"}"#);
    assert_eq!((&v["msg"], code), (&json!("failed with ********"), 1));
    let msg = |(v, code): (Value, i32)| {
        assert_eq!((code, &v["failed"]), (1, &json!(true)));
        v["msg"].as_str().unwrap().to_string()
    };
    assert!(msg(stdin(b"")).contains("arguments are empty"));
    assert!(msg(stdin(b"{\"name\": ")).contains("not valid JSON"));
    assert_eq!(
        msg(stdin(b"{\"name\": \"\xff\"}")),
        "selftest: the arguments on standard input are not UTF-8 text"
    );
}

#[test]
fn failures() {
    let (v, code) = run_file(br#"{"mode": "fail", "password": "hunter22"}"#);
    assert_eq!(
        (v, code),
        (
            json!({"failed": true, "msg": "failed with ********", "changed": false}),
            1
        )
    );
    let (v, code) = run_file(br#"{"nme": "x"}"#);
    assert_eq!(code, 1);
    assert_eq!(
        v["msg"],
        "Unsupported parameters for (selftest) module: nme. Supported parameters include: mode, name, password."
    );
}

#[test]
fn bad_args_files() {
    let msg = |(v, code): (Value, i32)| {
        assert_eq!((code, &v["failed"]), (1, &json!(true)));
        v["msg"].as_str().unwrap().to_string()
    };
    assert!(msg(run(None)).starts_with("selftest: no arguments file"));
    assert!(msg(run(Some("/nonexistent/args".as_ref())))
        .starts_with("selftest: cannot read the arguments file /nonexistent/args: "));
    assert!(msg(run(Some(std::env::temp_dir().as_os_str())))
        .starts_with("selftest: cannot read the arguments file"));
    assert!(msg(run_file(b"")).contains("arguments are empty"));
    assert!(msg(run_file(b"{\"name\": ")).contains("not valid JSON"));
    assert!(msg(run_file(b"[]")).contains("must be a JSON object"));
    assert!(msg(run_file(b"{\"name\": \"\xff\"}")).contains("is not UTF-8"));
}

#[test]
fn panic_prints_one_scrubbed_failure() {
    let (v, code) = run_file(br#"{"mode": "panic", "password": "hunter22"}"#);
    assert_eq!(code, 1);
    assert_eq!(
        v,
        json!({"failed": true, "changed": false, "msg": "selftest: internal error: boom with ******** — please report this"})
    );
}

#[test]
fn print_spec_prints_the_spec_and_runs_nothing() {
    let (v, code) = run_with_stdin(
        Some(std::ffi::OsStr::new(ansible_module::PRINT_SPEC)),
        br#"{"mode": "panic"}"#,
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v,
        json!({"argument_spec": {
            "name": {"type": "str"},
            "password": {"type": "str", "no_log": true},
            "mode": {"type": "str", "choices": ["ok", "fail", "panic"], "default": "ok"},
        }})
    );
}
