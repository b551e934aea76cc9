//! Every module binary, fed any args file at all, prints exactly one JSON
//! object, fails with exit code 1, and never hangs, crashes or reaches the
//! network; and `--print-spec` prints the spec and runs nothing. Runs the
//! release binaries (`make modules` builds them).

use pve_test_support::{modules, release_module, run_module_raw, ModuleRun};
use std::process::Command;

/// Args files a broken controller, a hand-written test or bit rot can
/// produce, with a word the failure message must contain. (For the last
/// three, a module with required options may report those missing first,
/// as AnsibleModule does; the option engine's own tests cover the messages.)
fn bad_inputs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    vec![
        ("empty file", Vec::new(), "JSON"),
        ("not JSON", b"userid=joe@pve state=present".to_vec(), "JSON"),
        ("truncated JSON", b"{\"userid\": \"joe@p".to_vec(), "JSON"),
        ("a JSON array", b"[1, 2, 3]".to_vec(), "object"),
        ("JSON null", b"null".to_vec(), "object"),
        ("a JSON string", b"\"hello\"".to_vec(), "object"),
        (
            "binary junk",
            vec![0xff, 0xfe, 0x00, 0x80, 0x7b, 0xc3],
            "UTF-8",
        ),
        ("deeply nested JSON", deep.into_bytes(), "JSON"),
        (
            "two JSON objects",
            b"{\"state\": \"present\"} {\"state\": \"absent\"}".to_vec(),
            "JSON",
        ),
        (
            "an unknown option",
            br#"{"api_host": "127.0.0.1:1", "no_such_option": 1}"#.to_vec(),
            "Unsupported parameters",
        ),
        (
            "a wrong type",
            br#"{"api_host": "127.0.0.1:1", "api_timeout": "soon"}"#.to_vec(),
            "api_timeout",
        ),
        (
            "a bad choice",
            br#"{"api_host": "127.0.0.1:1", "state": "maybe"}"#.to_vec(),
            "state",
        ),
    ]
}

fn assert_one_failure(name: &str, what: &str, run: &ModuleRun, word: &str) {
    assert_eq!(
        run.code, 1,
        "{name} with {what}: exit code {} (stdout {:?}, stderr {:?})",
        run.code, run.stdout, run.stderr
    );
    assert_eq!(
        run.json["failed"], true,
        "{name} with {what}: not one JSON failure object: {:?}",
        run.stdout
    );
    let msg = run.json["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains(word) || msg.contains("required"),
        "{name} with {what}: msg {msg:?} does not mention {word:?}"
    );
}

/// Runs a module binary; its stdout must be one JSON value.
fn run_json(cmd: &mut Command) -> (serde_json::Value, Option<i32>) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{cmd:?}: not JSON ({e}): {stdout:?}"));
    (json, out.status.code())
}

#[test]
fn any_args_file_gets_one_json_failure() {
    for name in modules() {
        let name = name.as_str();
        let binary = release_module(name);
        for (what, content, word) in bad_inputs() {
            let run = run_module_raw(&binary, &content);
            assert_one_failure(name, what, &run, word);
        }
    }
}

#[test]
fn a_missing_args_file_gets_one_json_failure() {
    for name in modules() {
        let name = name.as_str();
        let binary = release_module(name);
        for args in [vec![], vec!["/nonexistent/args.json"]] {
            let (json, code) = run_json(Command::new(&binary).args(&args));
            assert_eq!(code, Some(1), "{name} {args:?}: {json}");
            assert_eq!(json["failed"], true, "{name} {args:?}: {json}");
        }
    }
}

#[test]
fn every_module_prints_its_spec_without_running() {
    let names = modules();
    assert!(names.contains(&"pve_user".to_string()), "{names:?}");
    for name in names {
        // A server that is not there: printing the spec must not need one.
        let (spec, code) = run_json(
            Command::new(release_module(&name))
                .arg("--print-spec")
                .env("PROXMOX_HOST", "https://192.0.2.1:1"),
        );
        assert_eq!(code, Some(0), "{name}: {spec}");
        let options = spec["argument_spec"].as_object().unwrap();
        assert_eq!(
            options["api_host"],
            serde_json::json!({"type": "str", "fallback": ["env_fallback", ["PROXMOX_HOST"]]}),
            "{name}"
        );
        assert!(
            options.values().all(|o| o["type"].is_string()),
            "{name}: {spec}"
        );
    }
}
