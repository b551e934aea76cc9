use super::*;
use std::fs;

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn fake_pvesh(name: &str, script: &str) -> (Dir, Local) {
    let dir = std::env::temp_dir().join(format!("pve_api_local_{}_{name}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("pvesh");
    fs::write(&prog, format!("#!/bin/sh\n{script}\n")).unwrap();
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o755)).unwrap();
    (Dir(dir), Local::new(prog, Duration::from_secs(5)))
}

#[test]
fn args_follow_pvesh_syntax() {
    let req = ApiRequest::put(format!("/access/users/{}", crate::seg("jö@pve")))
        .param("comment", "-starts with dash")
        .param("enable", 1);
    assert_eq!(
        command_args(&req),
        [
            "set",
            "/access/users/jö@pve",
            "--output-format",
            "json",
            "--comment=-starts with dash",
            "--enable=1"
        ]
    );
    assert_eq!(command_args(&ApiRequest::post("/x"))[0], "create");
    assert_eq!(command_args(&ApiRequest::delete("/x"))[0], "delete");
    assert_eq!(command_args(&ApiRequest::get("/x"))[0], "get");
}

#[test]
fn without_pvesh_the_error_says_what_to_set() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if find_in_path(&path, "pvesh").is_some() {
        return; // on a PVE node: nothing to show
    }
    let params = ansible_module::Params::from_map(serde_json::Map::new());
    let e = crate::Client::connect(&params).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    let text = e.to_string();
    assert!(
        text.starts_with("api_host is not set (nor PROXMOX_HOST)"),
        "{text}"
    );
    assert!(text.contains("pvesh is not in PATH"), "{text}");
}

#[test]
fn this_process_is_root_or_not() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap();
    assert_eq!(effective_uid(&status), Some(uid));
}

#[test]
fn uid_from_proc_status() {
    let status = "Name:\tx\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
    assert_eq!(effective_uid(status), Some(0));
    assert_eq!(effective_uid("Uid:\t0\t1000\t1000\t1000\n"), Some(1000));
    assert_eq!(effective_uid("Name: x\n"), None);
}

#[test]
fn pvesh_errors_map_to_statuses() {
    assert_eq!(
        parse_stderr("no such user ('x@pve')\n"),
        (500, Some("no such user ('x@pve')".into()))
    );
    assert_eq!(
            parse_stderr("400 Parameter verification failed.\nuserid: invalid format - bad\n\npvesh create <api_path> [OPTIONS]\n"),
            (400, Some("Parameter verification failed. (userid: invalid format - bad)".into()))
        );
    assert_eq!(parse_stderr("\n\n"), (500, None));
    assert_eq!(
        parse_stderr("123abc oops\n"),
        (500, Some("123abc oops".into()))
    );
}

#[test]
fn finds_executables_in_path() {
    let (dir, _) = fake_pvesh("find", "exit 0");
    let path = std::env::join_paths(["/nonexistent", dir.0.to_str().unwrap()]).unwrap();
    assert_eq!(find_in_path(&path, "pvesh"), Some(dir.0.join("pvesh")));
    assert_eq!(find_in_path(&path, "pveum-not-there"), None);
    fs::set_permissions(dir.0.join("pvesh"), fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(find_in_path(&path, "pvesh"), None);
}

#[test]
fn runs_pvesh_and_reads_json() {
    let (_d, local) = fake_pvesh("ok", r#"echo "$@" >&2; printf '[{"userid":"root@pam"}]'"#);
    let v = local
        .attempt(&ApiRequest::get("/access/users").param("full", 1))
        .map_err(|f| f.err)
        .unwrap();
    assert_eq!(v, serde_json::json!([{"userid": "root@pam"}]));
    let (_d, local) = fake_pvesh("null", "exit 0");
    assert_eq!(
        local
            .attempt(&ApiRequest::put("/x"))
            .map_err(|f| f.err)
            .unwrap(),
        Value::Null
    );
}

#[test]
fn pvesh_failures_become_api_errors() {
    let (_d, local) = fake_pvesh(
        "fail",
        r#"echo "no such user ('$2')" | sed 's#/access/users/##' >&2; exit 2"#,
    );
    let f = local
        .attempt(&ApiRequest::get("/access/users/x@pve"))
        .unwrap_err();
    assert_eq!(
        f.err.to_string(),
        "GET /access/users/x@pve: 500 no such user ('x@pve')"
    );
    assert!(f.err.is_not_found());
    assert_eq!(f.class, Class::Final);

    let (_d, local) = fake_pvesh(
        "lock",
        "echo \"cfs-lock 'file-user_cfg' error: got lock request timeout\" >&2; exit 255",
    );
    let f = local.attempt(&ApiRequest::put("/access/acl")).unwrap_err();
    assert_eq!(f.class, Class::NotApplied);

    let (_d, local) = fake_pvesh("silent", "exit 3");
    let f = local.attempt(&ApiRequest::get("/x")).unwrap_err();
    assert_eq!(f.err.kind, ErrorKind::Local);
    assert!(f.err.message.contains("exit code 3"), "{}", f.err);
}

#[test]
fn a_hanging_pvesh_is_killed() {
    let (_d, local) = fake_pvesh("hang", "exec sleep 30");
    let local = Local::new(local.program.clone(), Duration::from_millis(300));
    let started = Instant::now();
    let f = local
        .attempt(&ApiRequest::post("/access/users"))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!((f.err.kind, f.class), (ErrorKind::Timeout, Class::Unknown));
}
