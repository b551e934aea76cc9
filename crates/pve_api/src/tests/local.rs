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
    let local = Local::new(prog, dir.clone().into_os_string(), Duration::from_secs(5));
    (Dir(dir), local)
}

#[test]
fn passwords_go_to_pveum_stdin_never_to_arguments() {
    let ticket = ApiRequest::post("/access/ticket")
        .param("username", "joe@pve")
        .param("password", "pw-one-12");
    assert_eq!(
        call_for(&ticket),
        Ok(Call::Login {
            username: "joe@pve".into(),
            password: "pw-one-12".into()
        })
    );
    let passwd = ApiRequest::put("/access/password")
        .param("userid", "joe@pve")
        .param("password", "pw-two-12");
    assert_eq!(
        call_for(&passwd),
        Ok(Call::Passwd {
            userid: "joe@pve".into(),
            password: "pw-two-12".into()
        })
    );
    let create = ApiRequest::post("/access/users")
        .param("userid", "joe@pve")
        .param("password", "pw-three-1")
        .param("comment", "x");
    assert_eq!(
        call_for(&create),
        Ok(Call::CreateUser {
            create: command_args(
                &ApiRequest::post("/access/users")
                    .param("userid", "joe@pve")
                    .param("comment", "x")
            ),
            userid: "joe@pve".into(),
            password: "pw-three-1".into()
        })
    );
    let plain = ApiRequest::put("/access/users/joe@pve").param("comment", "x");
    assert_eq!(call_for(&plain), Ok(Call::Pvesh(command_args(&plain))));
}

#[test]
fn a_secret_pveum_cannot_read_is_refused() {
    let confirm = ApiRequest::put("/access/password")
        .param("userid", "joe@pve")
        .param("password", "pw-new-123")
        .param("confirmation-password", "pw-mine-123");
    let other = ApiRequest::put("/access/users/joe@pve").param("password", "pw-new-123");
    let newline = ApiRequest::put("/access/password")
        .param("userid", "joe@pve")
        .param("password", "two\nlines-123");
    for (req, why) in [
        (&confirm, "cannot take"),
        (&other, "cannot take password of PUT /access/users/joe@pve"),
        (&newline, "holds a line break"),
    ] {
        let msg = call_for(req).unwrap_err();
        assert!(msg.contains(why), "{msg}");
        assert!(msg.contains("set api_host"), "{msg}");
        assert!(!msg.contains("pw-") && !msg.contains("lines-123"), "{msg}");
    }
}

#[test]
fn args_follow_pvesh_syntax() {
    let req = ApiRequest::put(format!("/access/users/{}", crate::seg("jö@pve")))
        .param("comment", "-starts with dash")
        .param("groups", "")
        .param("enable", 1);
    assert_eq!(
        command_args(&req),
        [
            "set",
            "/access/users/jö@pve",
            "--output-format",
            "json",
            "--comment=-starts with dash",
            "--groups",
            "",
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
fn pve_error_not_the_first_line_of_stderr() {
    let waited = "trying to acquire cfs lock 'file-user_cfg' ...\n".repeat(9)
        + "create role failed: cfs-lock 'file-user_cfg' error: got lock request timeout\n";
    assert_eq!(
        parse_stderr(&waited),
        (
            500,
            Some(
                "create role failed: cfs-lock 'file-user_cfg' error: got lock request timeout"
                    .into()
            )
        )
    );
    assert_eq!(
        parse_stderr("auth key pair missing, generating new one..\n401 authentication failure\n"),
        (401, Some("authentication failure".into()))
    );
    assert_eq!(
        parse_stderr("some warning\nupdate user failed: no such user\n"),
        (500, Some("update user failed: no such user".into()))
    );
    assert_eq!(
        parse_stderr("trying to acquire lock... OK\n400 Parameter verification failed.\npassword: value must be at least 8 characters long\n\npveum passwd <userid> [OPTIONS]\n"),
        (400, Some("Parameter verification failed. (password: value must be at least 8 characters long)".into()))
    );
    assert_eq!(
        parse_stderr("500 oops\n\t...propagated at /usr/share/perl5/PVE/X.pm line 1\n"),
        (500, Some("oops".into()))
    );
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
    let local = Local {
        timeout: Duration::from_millis(300),
        allowance: Duration::ZERO,
        ..local
    };
    let started = Instant::now();
    let f = local
        .attempt(&ApiRequest::post("/access/users"))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!((f.err.kind, f.class), (ErrorKind::Timeout, Class::Unknown));
}
