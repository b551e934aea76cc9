//! What PVE's own realm sync does, measured with the real code: pve-oracle's
//! `pvesh` (PVE 9.1 and 8.4) syncs an LDAP realm from the tests' slapd
//! ([`Directory`], the fixture `tests/fixtures/ldap/directory.ldif`). These
//! are the facts docs/realm-sync.md describes and pve-sim's sync is to be
//! held to: the task log PVE prints line by line, the UPID, the task's end
//! status, and what user.cfg holds afterwards, for each scope, dry run,
//! `enable-new` and each `remove-vanished` option, after the directory
//! changed, and over TLS (ldaps, StartTLS, certificate checks). Skipped without pve-oracle (failed with `PVE_REQUIRE_ORACLE=1`).
//!
//! The sync runs as a forked worker task, which logs to
//! `/var/log/pve/tasks` (not under the state directory). Each node gets a
//! `/var/log/pve` of its own in a private mount namespace where the
//! machine allows one (`unshare -m`, as root); elsewhere the tasks are
//! logged where a PVE node logs them.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use pve_test_support::http::{form, show_bytes, Latin1};
use pve_test_support::ldap::expected::{
    sorted, synced_lines, tls_cases, users_dry_run, vanished_cases, CERTIFICATE_VERIFY_FAILED,
    DIRECTORY_CHANGES, FIRST_DRY_RUN, FIRST_SYNC, GROUPS, GROUPS_SYNC, PEOPLE, REALM,
    SYNC_ATTRIBUTES,
};
use pve_test_support::ldap::Directory;
use pve_test_support::{on_each_version, require_oracle, LocalNode, Server, Sim, UserCfg, Value};

/// A node of pve-oracle whose pvesh logs its tasks into `logs`.
struct Node {
    local: LocalNode,
    /// What plays `/var/log/pve` for this node's pvesh and server.
    logs: PathBuf,
    /// The command that runs a program with `logs` as its `/var/log/pve`
    /// (the program follows), where the machine allows it.
    isolation: Option<[String; 6]>,
}

/// One pvesh run.
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

impl Run {
    /// The task's UPID: the last line a synchronous CLI task prints.
    fn upid(&self) -> &str {
        let upid = self.stdout.lines().last().unwrap_or_default();
        assert!(
            upid.starts_with("UPID:"),
            "no UPID at the end of\n{}",
            self.stdout
        );
        upid
    }

    /// What the task printed before its UPID: its log as PVE wrote it.
    fn log(&self) -> String {
        let upid = self.upid();
        self.stdout
            .strip_suffix(&format!("{upid}\n"))
            .unwrap_or(&self.stdout)
            .to_string()
    }
}

impl Node {
    fn new(version: &str) -> Option<Node> {
        let oracle = require_oracle("realm sync against slapd")?;
        let local = LocalNode::new(&oracle, version);
        let logs = local.bin.with_file_name("var-log-pve");
        fs::create_dir_all(logs.join("tasks")).expect("create the node's task log directory");
        let real = oracle.with_file_name("bin").join("pvesh");
        let run_real = format!(
            "env PVE_ORACLE_ETC='{}' PVE_ORACLE_VERSION='{version}' '{}' \"$@\"",
            local.state.display(),
            real.display()
        );
        let isolation = [
            "unshare",
            "-m",
            "sh",
            "-c",
            "mount --bind \"$0\" /var/log/pve && shift && exec \"$@\"",
            &logs.to_string_lossy(),
        ]
        .map(String::from);
        let isolated = Command::new(&isolation[0])
            .args(&isolation[1..])
            .args(["-", "true"])
            .status()
            .is_ok_and(|s| s.success());
        if isolated {
            let prefix: Vec<String> = isolation.iter().map(|a| format!("'{a}'")).collect();
            local.program("pvesh", &format!("exec {} - {run_real}", prefix.join(" ")));
        } else {
            eprintln!("no private mount namespace here: the sync tasks log to /var/log/pve");
        }
        Some(Node {
            local,
            logs: if isolated {
                logs
            } else {
                PathBuf::from("/var/log/pve")
            },
            isolation: isolated.then_some(isolation),
        })
    }

    /// A pve-oracle server on this node's state, its tasks logging where
    /// this node's pvesh logs them.
    fn server(&self) -> Sim {
        let builder = Sim::builder(&self.local.version)
            .server(Server::PveOracle)
            .state_dir(&self.local.state);
        match &self.isolation {
            Some(isolation) => {
                let mut launcher: Vec<&str> = isolation.iter().map(String::as_str).collect();
                launcher.push("-");
                builder.launcher(&launcher).start()
            }
            None => builder.start(),
        }
    }

    fn pvesh(&self, args: &[&str]) -> Run {
        let out = Command::new(self.local.bin.join("pvesh"))
            .args(args)
            .output()
            .expect("run pvesh");
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// pvesh that must succeed.
    fn ok(&self, args: &[&str]) -> Run {
        let run = self.pvesh(args);
        assert_eq!(run.code, 0, "pvesh {args:?}: {}", run.stderr);
        run
    }

    fn sync(&self, realm: &str, opts: &[&str]) -> Run {
        let path = format!("/access/domains/{realm}/sync");
        let mut args = vec!["create", path.as_str()];
        args.extend_from_slice(opts);
        self.pvesh(&args)
    }

    /// A realm of `kind` (`ldap`, `ad`) on `dir`, binding with `password`,
    /// with `extra` options (a `--server1` or `--port` there replaces
    /// `dir`'s).
    fn realm(&self, dir: &Directory, realm: &str, kind: &str, password: &str, extra: &[&str]) {
        let port = dir.port.to_string();
        let mut args = vec![
            "create",
            "/access/domains",
            "--realm",
            realm,
            "--type",
            kind,
            "--bind_dn",
            &dir.bind_dn,
            "--password",
            password,
        ];
        for (flag, value) in [("--server1", dir.host.as_str()), ("--port", &port)] {
            if !extra.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        args.extend_from_slice(extra);
        self.ok(&args);
    }

    /// An LDAP realm on `dir`'s people and groups, with `extra` options.
    fn ldap_realm(&self, dir: &Directory, realm: &str, extra: &[&str]) {
        let mut opts = vec![
            "--base_dn",
            PEOPLE,
            "--user_attr",
            "uid",
            "--group_dn",
            GROUPS,
        ];
        opts.extend_from_slice(extra);
        self.realm(dir, realm, "ldap", &dir.bind_password, &opts);
    }

    fn user_cfg(&self) -> String {
        self.local.read("user.cfg")
    }

    fn state(&self) -> UserCfg {
        UserCfg::parse(self.user_cfg().as_bytes())
    }

    /// The task's log file as the worker wrote it (in the directory named
    /// by the last hex digit of the UPID's start time), once it has ended:
    /// a task started over the API may still run when its UPID comes back.
    fn task_log(&self, upid: &str) -> String {
        let start = upid.split(':').nth(4).unwrap_or_default();
        let bucket = &start[start.len().saturating_sub(1)..];
        let path = self.logs.join("tasks").join(bucket).join(upid);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = fs::read_to_string(&path).unwrap_or_default();
            if log.lines().last().is_some_and(|l| l.starts_with("TASK ")) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "task {upid} has not ended within 10 s: {}\n{log}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn dry_run_prints_what_it_would_do_and_writes_nothing(version: &str) {
    let Some(node) = Node::new(version) else {
        return;
    };
    let dir = Directory::start();
    node.ldap_realm(&dir, REALM, &["--sync_attributes", SYNC_ATTRIBUTES]);
    let before = node.user_cfg();

    let run = node.sync(REALM, &["--scope", "both", "--dry-run", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.log(), FIRST_DRY_RUN);
    let fields: Vec<&str> = run.upid().split(':').collect();
    assert_eq!(fields.len(), 9, "{}", run.upid());
    assert_eq!(fields[5..], ["auth-realm-sync-test", REALM, "root@pam", ""]);
    assert_eq!(node.task_log(run.upid()), format!("{}TASK OK\n", run.log()));
    assert_eq!(node.user_cfg(), before, "a dry run wrote user.cfg");
}

fn sync_adds_users_and_groups_named_after_the_realm(version: &str) {
    let Some(node) = Node::new(version) else {
        return;
    };
    let dir = Directory::start();
    node.ldap_realm(&dir, REALM, &[]);

    // Without sync_attributes only the names come over.
    let run = node.sync(REALM, &["--scope", "users"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.upid().contains(":auth-realm-sync:dir:root@pam:"),
        "{}",
        run.upid()
    );
    assert!(run
        .log()
        .ends_with("adding user 'erin@dir'\nsuccessfully updated users configuration\n"));
    assert_eq!(node.task_log(run.upid()), format!("{}TASK OK\n", run.log()));
    assert_eq!(
        node.local.cfg_lines("user:alice@dir:"),
        ["user:alice@dir:1:0::::::"]
    );
    assert!(
        node.state().group("admins-dir").is_none(),
        "scope users synced groups"
    );

    node.ok(&[
        "set",
        "/access/domains/dir",
        "--sync_attributes",
        SYNC_ATTRIBUTES,
    ]);
    let run = node.sync(REALM, &["--scope", "groups"]);
    assert_eq!(run.log(), GROUPS_SYNC);
    // The posixGroup is no group PVE looks for (classes groupOfNames,
    // group, univentionGroup, ipausergroup; members by DN only).
    assert!(node.state().group("staff-dir").is_none());

    let run = node.sync(REALM, &["--scope", "both"]);
    assert!(
        run.log().contains("updating user 'alice@dir'\n"),
        "{}",
        run.log()
    );
    assert_eq!(synced_lines(&node.user_cfg()), sorted(FIRST_SYNC));

    // A sync that finds nothing new says "updating" all the same: its log
    // does not tell whether anything changed; user.cfg does.
    let before = node.user_cfg();
    let run = node.sync(REALM, &["--scope", "both"]);
    assert!(run.log().contains("updating user 'alice@dir'\n"));
    assert!(run.log().contains("updating group 'admins-dir'\n"));
    assert_eq!(node.user_cfg(), before);
}

fn remove_vanished_after_the_directory_changed(version: &str) {
    let Some(node) = Node::new(version) else {
        return;
    };
    let dir = Directory::start();
    node.ldap_realm(&dir, REALM, &["--sync_attributes", SYNC_ATTRIBUTES]);
    node.ok(&["create", "/access/domains/dir/sync", "--scope", "both"]);
    // What PVE's admins add locally: a comment, a disabled user, a token,
    // ACL entries for a user and a group that will vanish, a local member.
    node.ok(&["set", "/access/users/carol@dir", "--comment", "local note"]);
    node.ok(&["set", "/access/users/dave@dir", "--enable", "0"]);
    node.ok(&["create", "/access/users/bob@dir/token/ci"]);
    node.ok(&[
        "set",
        "/access/acl",
        "--path",
        "/vms",
        "--users",
        "erin@dir",
        "--roles",
        "PVEAuditor",
    ]);
    node.ok(&[
        "set",
        "/access/acl",
        "--path",
        "/",
        "--groups",
        "admins-dir",
        "--roles",
        "PVEAuditor",
    ]);
    node.ok(&["set", "/access/users/root@pam", "--groups", "operators-dir"]);
    dir.modify(DIRECTORY_CHANGES);
    let start = node.user_cfg();

    for case in vanished_cases() {
        let vanished = case.option;
        node.local.write("user.cfg", &start);
        let mut opts = vec!["--scope", "both", "--remove-vanished", vanished];
        if !case.enable_new {
            opts.extend(["--enable-new", "0"]);
        }
        // The dry run goes through the same steps and prints the same lines,
        // between its own first and last words.
        let mut dry_opts = opts.clone();
        dry_opts.extend(["--dry-run", "1"]);
        let dry = node.sync(REALM, &dry_opts);
        assert_eq!(
            dry.log(),
            case.dry_log,
            "dry run, remove-vanished {vanished}"
        );
        assert_eq!(
            node.user_cfg(),
            start,
            "dry run, remove-vanished {vanished}"
        );
        let run = node.sync(REALM, &opts);
        assert_eq!(run.code, 0, "remove-vanished {vanished}: {}", run.stderr);
        assert_eq!(run.log(), case.log, "remove-vanished {vanished}");
        assert_eq!(
            synced_lines(&node.user_cfg()),
            case.lines,
            "remove-vanished {vanished}"
        );
    }
}

fn a_failed_sync_is_a_failed_task_but_pvesh_exits_0(version: &str) {
    let Some(node) = Node::new(version) else {
        return;
    };
    let dir = Directory::start();
    let opts = ["--base_dn", PEOPLE, "--user_attr", "uid"];
    node.realm(&dir, "bad", "ldap", "not-the-password", &opts);
    let before = node.user_cfg();
    let run = node.sync("bad", &["--scope", "users"]);
    assert_eq!(
        run.code, 0,
        "pvesh's exit status does not say that its task failed"
    );
    assert_eq!(run.stderr, "ldap bind failed: Invalid credentials\n");
    assert_eq!(run.log(), "starting sync for realm bad\n");
    assert_eq!(
        node.task_log(run.upid()),
        // A CLI task's failure is also printed on stderr, and its log gets an
        // empty line before the end (a task run by the API server has none).
        "starting sync for realm bad\n\nTASK ERROR: ldap bind failed: Invalid credentials\n"
    );
    assert_eq!(node.user_cfg(), before);

    // Refused before any task starts: exit 255, no UPID.
    let run = node.sync("pve", &["--scope", "users"]);
    assert_eq!((run.code, run.stdout.as_str()), (255, ""));
    assert_eq!(
        run.stderr,
        "Cannot sync realm type 'pve'! Only LDAP/AD realms can be synced.\n"
    );
    let run = node.sync("bad", &[]);
    assert_eq!(run.code, 255);
    assert!(
        run.stderr.starts_with(
            "400 Parameter verification failed.\n\
             scope: Not passed as parameter and not defined in realm default sync options.\n"
        ),
        "{}",
        run.stderr
    );
}

/// An AD realm as far as slapd stands in for AD: the base from the root
/// DSE's defaultNamingContext, users by sAMAccountName, AD's group class.
/// Login by userPrincipalName (what AD realms do) slapd cannot give.
fn ad_realm_syncs_from_the_ad_subtree(version: &str) {
    let Some(node) = Node::new(version) else {
        return;
    };
    let dir = Directory::start();
    let opts = [
        "--domain",
        "pve-access.test",
        "--sync_attributes",
        SYNC_ATTRIBUTES,
        "--group_name_attr",
        "sAMAccountName",
    ];
    node.realm(&dir, "corp", "ad", &dir.bind_password, &opts);
    let run = node.sync("corp", &["--scope", "both"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The people of ou=people have no sAMAccountName: PVE warns in the
    // task log and skips them; plain warnings do not make the task's end
    // status "WARNINGS: n".
    assert_eq!(
        run.log()
            .matches("value '@corp' does not look like a valid user name\n")
            .count(),
        5
    );
    assert!(node.task_log(run.upid()).ends_with("\nTASK OK\n"));
    let state = node.state();
    assert_eq!(
        state
            .users()
            .into_iter()
            .filter(|u| u.ends_with("@corp"))
            .collect::<Vec<_>>(),
        ["gina@corp", "hank@corp"]
    );
    assert_eq!(
        state.user("gina@corp").expect("gina")["email"],
        "gina@pve-access.test"
    );
    assert!(node
        .user_cfg()
        .contains("group:domain-ops-corp:gina@corp,hank@corp::"));
    // Groups of other classes (groupOfNames) in the tree come too, without
    // members: theirs are not among the synced users.
    assert!(node.user_cfg().contains("group:admins-corp:::"));
}

/// Logging in to an LDAP realm binds to the directory as the user, and
/// needs the user in user.cfg: someone the directory knows but no sync has
/// brought over cannot log in.
fn ldap_realm_login_needs_the_synced_user(version: &str) {
    let Some(node) = Node::new(version) else {
        return;
    };
    let dir = Directory::start();
    node.ldap_realm(&dir, REALM, &[]);
    node.ok(&["create", "/access/domains/dir/sync", "--scope", "users"]);
    dir.modify(
        "dn: uid=ivan,ou=people,dc=pve-access,dc=test\nchangetype: add\nobjectClass: inetOrgPerson\n\
         uid: ivan\ncn: Ivan Ives\nsn: Ives\nuserPassword: ivan-test-password\n",
    );
    let server = node.server();
    assert!(server.logs_in("alice@dir", "alice-test-password"));
    assert!(!server.logs_in("alice@dir", "not-her-password"));
    assert!(
        !server.logs_in("ivan@dir", "ivan-test-password"),
        "ivan is not synced yet"
    );
    node.ok(&["create", "/access/domains/dir/sync", "--scope", "users"]);
    assert!(server.logs_in("ivan@dir", "ivan-test-password"));
}

/// The same sync through the API server: the call answers with the UPID
/// at once and the worker runs on; refusals are HTTP errors.
fn the_api_returns_the_upid_and_the_task_runs_on(version: &str) {
    let Some(node) = Node::new(version) else {
        return;
    };
    let dir = Directory::start();
    node.ldap_realm(&dir, REALM, &["--sync_attributes", SYNC_ATTRIBUTES]);
    let opts = ["--base_dn", PEOPLE, "--user_attr", "uid"];
    node.realm(&dir, "bad", "ldap", "not-the-password", &opts);
    let token = node.ok(&[
        "create",
        "/access/users/root@pam/token/sync",
        "--privsep",
        "0",
        "--output-format",
        "json",
    ]);
    let token: Value = serde_json::from_str(&token.stdout).expect("the token as JSON");
    let auth = [(
        "Authorization".to_string(),
        format!(
            "PVEAPIToken={}={}",
            token["full-tokenid"].as_str().unwrap_or_default(),
            token["value"].as_str().unwrap_or_default()
        ),
    )];
    let server = node.server();
    let sync = |realm: &str, params: &[(&str, &str)]| {
        let body = form(params);
        let path = format!("/access/domains/{realm}/sync");
        server.request(
            "POST",
            &path,
            &auth,
            Some(("application/x-www-form-urlencoded", body)),
            Latin1::default(),
        )
    };

    let r = sync(REALM, &[("scope", "both"), ("dry-run", "1")]);
    assert_eq!(r.status, 200, "{}", show_bytes(&r.body));
    let upid = r.json()["data"].as_str().unwrap_or_default().to_string();
    // A task started with a token names the token as its user.
    assert!(
        upid.ends_with(":auth-realm-sync-test:dir:root@pam!sync:"),
        "{upid}"
    );
    let log = node.task_log(&upid);
    assert!(
        log.starts_with("(dry test run) starting sync for realm dir\n"),
        "{log}"
    );
    assert!(
        log.ends_with(
            "\nNOTE: Dry test run, changes were NOT written to the configuration.\nTASK OK\n"
        ),
        "{log}"
    );
    assert!(node.state().user("alice@dir").is_none());

    let r = sync(REALM, &[("scope", "users")]);
    let log = node.task_log(r.json()["data"].as_str().unwrap_or_default());
    assert!(
        log.ends_with("successfully updated users configuration\nTASK OK\n"),
        "{log}"
    );
    assert!(node.state().user("alice@dir").is_some());

    // A failed task: no empty line before its end here, unlike in pvesh.
    let r = sync("bad", &[("scope", "users")]);
    assert_eq!(r.status, 200);
    assert_eq!(
        node.task_log(r.json()["data"].as_str().unwrap_or_default()),
        "starting sync for realm bad\nTASK ERROR: ldap bind failed: Invalid credentials\n"
    );

    let r = sync("pve", &[("scope", "users")]);
    assert_eq!(
        (r.status, r.reason.as_str()),
        (
            500,
            "Cannot sync realm type 'pve'! Only LDAP/AD realms can be synced."
        )
    );
    let r = sync("nope", &[("scope", "users")]);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["errors"],
        serde_json::json!({"realm": "Realm does not exist."})
    );
    let r = sync(REALM, &[]);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["errors"],
        serde_json::json!({"scope": "Not passed as parameter and not defined in realm default sync options."})
    );
}

/// The sync over TLS (ldaps, StartTLS, the deprecated `secure`), with and
/// without certificate checks: the dry run of each measured case
/// (`expected::tls_cases`), then real syncs verifying against the test CA,
/// and one against a wrong CA that writes nothing.
fn sync_over_tls(version: &str) {
    let Some(node) = Node::new(version) else {
        return;
    };
    let dir = Directory::start_with_tls();
    let no_tls = Directory::start();
    let realm_with = |realm: &str, props: &[(String, String)], extra: &[&str]| {
        let flags: Vec<String> = props.iter().map(|(k, _)| format!("--{k}")).collect();
        let mut args = vec!["--base_dn", PEOPLE, "--user_attr", "uid"];
        for (flag, (_, value)) in flags.iter().zip(props) {
            args.extend([flag.as_str(), value.as_str()]);
        }
        args.extend_from_slice(extra);
        node.realm(&dir, realm, "ldap", &dir.bind_password, &args);
    };
    for (i, case) in tls_cases().iter().enumerate() {
        let realm = format!("tls{i}");
        realm_with(&realm, &dir.tls_realm(&no_tls, case), &[]);
        let run = node.sync(&realm, &["--scope", "users", "--dry-run", "1"]);
        match case.error {
            None => assert_eq!(run.log(), users_dry_run(&realm), "{}", case.name),
            Some(error) => {
                assert_eq!(run.stderr, format!("{error}\n"), "{}", case.name);
                assert_eq!(
                    run.log(),
                    format!("(dry test run) starting sync for realm {realm}\n"),
                    "{}",
                    case.name
                );
            }
        }
    }

    let ldaps = tls_cases()
        .into_iter()
        .find(|c| c.name == "ldaps, CA file")
        .expect("the ldaps case");
    let props = dir.tls_realm(&no_tls, &ldaps);
    let capath = dir.tls.as_ref().map(|t| t.other_ca()).unwrap_or_default();
    realm_with(
        REALM,
        &props,
        &["--group_dn", GROUPS, "--sync_attributes", SYNC_ATTRIBUTES],
    );
    node.ok(&[
        "set",
        "/access/domains/dir",
        "--capath",
        &capath.to_string_lossy(),
    ]);
    let before = node.user_cfg();
    let run = node.sync(REALM, &["--scope", "both"]);
    assert_eq!(run.stderr, format!("{CERTIFICATE_VERIFY_FAILED}\n"));
    assert_eq!(
        node.user_cfg(),
        before,
        "a sync refused by TLS wrote user.cfg"
    );

    let capath = &props.iter().find(|(k, _)| k == "capath").expect("capath").1;
    node.ok(&["set", "/access/domains/dir", "--capath", capath]);
    let run = node.sync(REALM, &["--scope", "both"]);
    assert!(
        run.log()
            .ends_with("successfully updated users and groups configuration\n"),
        "{}{}",
        run.log(),
        run.stderr
    );
    assert_eq!(synced_lines(&node.user_cfg()), sorted(FIRST_SYNC));

    let port = dir.port.to_string();
    node.ok(&[
        "set",
        "/access/domains/dir",
        "--mode",
        "ldap+starttls",
        "--port",
        &port,
    ]);
    dir.modify(DIRECTORY_CHANGES);
    let run = node.sync(REALM, &["--scope", "both"]);
    assert!(
        run.log().contains("adding user 'frank@dir'\n"),
        "{}{}",
        run.log(),
        run.stderr
    );
    assert!(node.state().user("frank@dir").is_some());
}

on_each_version!(
    sync_over_tls,
    the_api_returns_the_upid_and_the_task_runs_on,
    ldap_realm_login_needs_the_synced_user,
    dry_run_prints_what_it_would_do_and_writes_nothing,
    sync_adds_users_and_groups_named_after_the_realm,
    remove_vanished_after_the_directory_changed,
    a_failed_sync_is_a_failed_task_but_pvesh_exits_0,
    ad_realm_syncs_from_the_ad_subtree,
);
