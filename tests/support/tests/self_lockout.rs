//! The self-lockout rule across every module that changes state, as the
//! module binaries apply it against the server (`PVE_TEST_SERVER`: pve-sim,
//! or the real PVE code with `pve-oracle`), on PVE 9.1 and 8.4.
//!
//! alice@pve logs in three ways: with her password, with a
//! privilege-separated token `sep` and with a full token `full`. Every task
//! of the matrix is tried by each login: a change that weakens the login's
//! own access is refused without `allow_self_lockout` and done with it; a
//! change that would delete or disable the login itself is refused either
//! way; any other change goes through. What the server holds is read from
//! its own files (user.cfg, priv/token.cfg), not through the modules.
//!
//! Binaries: `$PVE_ACCESS_MODULES_DIR`, else the debug build (`cargo build
//! --bins`).

use std::fs;

use pve_test_support::{built_module, on_each_version, run_module, with_api_token, ModuleRun, Sim};
use serde_json::{json, Value};

const ALICE_PASSWORD: &str = "alice-pass-1";
const SEP_SECRET: &str = "1b0a1f1e-3b2d-4e5f-8a7b-6c5d4e3f2a1b";
const FULL_SECRET: &str = "2c0a1f1e-3b2d-4e5f-8a7b-6c5d4e3f2a1b";

/// alice is in `admins` (Administrator on /) and holds `Ops` on /vms
/// herself; her token `sep` has Administrator on / and `SepRole` on
/// /storage of its own; bob, `others`, `Other` and bob's token are
/// unrelated to her.
const USER_CFG: &str = "\
user:root@pam:1:0:::root@localhost:::
user:alice@pve:1:0::::::
token:alice@pve!sep:0:1::
token:alice@pve!full:0:0::
user:bob@pve:1:0::::::
token:bob@pve!ci:0:0::

group:admins:alice@pve,bob@pve::
group:others:bob@pve::

role:Ops:Permissions.Modify,Sys.Audit,VM.Audit:
role:SepRole:Datastore.Audit,Permissions.Modify:
role:Other:Sys.Audit,VM.Audit:

acl:1:/:@admins:Administrator:
acl:1:/:alice@pve!sep:Administrator:
acl:1:/nodes:bob@pve:Other:
acl:1:/storage:alice@pve!sep:SepRole:
acl:1:/vms:alice@pve:Ops:
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Login {
    Password,
    PrivsepToken,
    FullToken,
}

impl Login {
    /// `task` run as this login against `sim`.
    fn args(self, sim: &Sim, task: &Value) -> Value {
        let mut args = sim.args(task.clone());
        match self {
            Login::Password => {
                args["api_user"] = json!("alice@pve");
                args["api_password"] = json!(ALICE_PASSWORD);
                args
            }
            Login::PrivsepToken => with_api_token(args, &format!("alice@pve!sep={SEP_SECRET}")),
            Login::FullToken => with_api_token(args, &format!("alice@pve!full={FULL_SECRET}")),
        }
    }
}

/// Whose access a task weakens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Whose {
    /// Every login of alice's.
    Alices,
    /// Only the privilege-separated token's.
    Sep,
    /// Only the full token's.
    Full,
    /// No login's of alice's.
    Nobodys,
}

struct Case {
    module: &'static str,
    task: Value,
    whose: Whose,
    /// Refused even with `allow_self_lockout` (deleting or disabling the login).
    never: bool,
}

fn case(module: &'static str, task: Value, whose: Whose) -> Case {
    Case {
        module,
        task,
        whose,
        never: false,
    }
}

fn never(module: &'static str, task: Value, whose: Whose) -> Case {
    Case {
        never: true,
        ..case(module, task, whose)
    }
}

/// The matrix. The changes to nobody's access run one after the other on
/// one server, so each of them still changes something after the ones
/// before it.
fn cases() -> Vec<Case> {
    use Whose::*;
    vec![
        case(
            "pve_user",
            json!({"userid": "alice@pve", "groups": []}),
            Alices,
        ),
        case(
            "pve_user",
            json!({"userid": "alice@pve", "expire": "2030-01-01"}),
            Alices,
        ),
        never(
            "pve_user",
            json!({"userid": "alice@pve", "enable": false}),
            Alices,
        ),
        never(
            "pve_user",
            json!({"userid": "alice@pve", "state": "absent"}),
            Alices,
        ),
        case(
            "pve_user",
            json!({"userid": "bob@pve", "groups": ["admins"]}),
            Nobodys,
        ),
        case(
            "pve_group",
            json!({"groupid": "admins", "members": ["bob@pve"]}),
            Alices,
        ),
        case(
            "pve_group",
            json!({"groupid": "admins", "state": "absent"}),
            Alices,
        ),
        case(
            "pve_group",
            json!({"groupid": "others", "state": "absent"}),
            Nobodys,
        ),
        case(
            "pve_role",
            json!({"roleid": "Ops", "privs": ["Permissions.Modify", "VM.Audit"]}),
            Alices,
        ),
        case(
            "pve_role",
            json!({"roleid": "Other", "privs": ["VM.Audit"]}),
            Nobodys,
        ),
        case(
            "pve_acl",
            json!({"path": "/", "roles": ["Administrator"], "groups": ["admins"], "state": "absent"}),
            Alices,
        ),
        case(
            "pve_acl",
            json!({"path": "/", "roles": ["Administrator"], "groups": ["admins"], "propagate": false}),
            Alices,
        ),
        case(
            "pve_acl",
            json!({"path": "/vms", "roles": ["Ops"], "users": ["alice@pve"], "state": "absent"}),
            Alices,
        ),
        case(
            "pve_acl",
            json!({"path": "/storage", "roles": ["NoAccess"], "groups": ["admins"]}),
            Alices,
        ),
        case(
            "pve_acl",
            json!({"path": "/storage", "roles": ["SepRole"], "tokens": ["alice@pve!sep"], "state": "absent"}),
            Sep,
        ),
        case(
            "pve_acl",
            json!({"path": "/nodes", "roles": ["Other"], "users": ["bob@pve"], "state": "absent"}),
            Nobodys,
        ),
        // After the entry above: deleting SepRole takes the token's entry with it.
        case(
            "pve_role",
            json!({"roleid": "SepRole", "state": "absent"}),
            Sep,
        ),
        case(
            "pve_token",
            json!({"tokenid": "alice@pve!sep", "expire": "2030-01-01"}),
            Sep,
        ),
        case(
            "pve_token",
            json!({"tokenid": "alice@pve!sep", "regenerate": true}),
            Sep,
        ),
        never(
            "pve_token",
            json!({"tokenid": "alice@pve!sep", "state": "absent"}),
            Sep,
        ),
        case(
            "pve_token",
            json!({"tokenid": "alice@pve!full", "privsep": true}),
            Full,
        ),
        case(
            "pve_token",
            json!({"tokenid": "alice@pve!full", "expire": "2030-01-01"}),
            Full,
        ),
        never(
            "pve_token",
            json!({"tokenid": "alice@pve!full", "state": "absent"}),
            Full,
        ),
        case(
            "pve_token",
            json!({"tokenid": "bob@pve!ci", "expire": "2030-01-01"}),
            Nobodys,
        ),
    ]
}

fn weakens(whose: Whose, login: Login) -> bool {
    match whose {
        Whose::Alices => true,
        Whose::Sep => login == Login::PrivsepToken,
        Whose::Full => login == Login::FullToken,
        Whose::Nobodys => false,
    }
}

/// A server with the seed, and alice's password set by root.
fn start(version: &str) -> Sim {
    let sim = Sim::builder(version)
        .user_cfg(USER_CFG)
        .token_cfg(&format!(
            "alice@pve!sep {SEP_SECRET}\nalice@pve!full {FULL_SECRET}\n"
        ))
        .start();
    let r = run_module(
        &built_module("pve_user"),
        &sim.args(
            json!({"userid": "alice@pve", "password": ALICE_PASSWORD, "update_password": "always"}),
        ),
    );
    assert_eq!(r.code, 0, "setting alice's password: {}", r.stdout);
    sim
}

/// What the server holds: its user.cfg and priv/token.cfg.
fn state(sim: &Sim) -> String {
    let read =
        |name: &str| fs::read_to_string(sim.dir.join("state").join(name)).unwrap_or_default();
    format!(
        "{}\n--- token.cfg\n{}",
        read("user.cfg"),
        read("priv/token.cfg")
    )
}

fn run(sim: &Sim, login: Login, c: &Case, allow: bool, check_mode: bool) -> ModuleRun {
    let mut task = c.task.clone();
    task["allow_self_lockout"] = json!(allow);
    task["_ansible_check_mode"] = json!(check_mode);
    run_module(&built_module(c.module), &login.args(sim, &task))
}

fn describe(login: Login, c: &Case, allow: bool) -> String {
    format!(
        "{login:?} {} {} allow_self_lockout={allow}",
        c.module, c.task
    )
}

/// Refused, with nothing written; in check mode too.
fn assert_refused(sim: &Sim, login: Login, c: &Case, allow: bool, word: &str) {
    for check_mode in [true, false] {
        assert_refused_once(sim, login, c, allow, check_mode, word);
    }
}

fn assert_refused_once(
    sim: &Sim,
    login: Login,
    c: &Case,
    allow: bool,
    check_mode: bool,
    word: &str,
) {
    let before = state(sim);
    sim.clear_requests();
    let r = run(sim, login, c, allow, check_mode);
    let what = format!("{} check_mode={check_mode}", describe(login, c, allow));
    assert_eq!(r.code, 1, "{what}: expected a refusal, got {}", r.stdout);
    assert_eq!(r.json["changed"], false, "{what}: {}", r.stdout);
    let msg = r.json["msg"].as_str().unwrap_or_default();
    assert!(msg.contains(word), "{what}: {msg}");
    assert_eq!(sim.writes(), Vec::<String>::new(), "{what}: wrote");
    assert_eq!(state(sim), before, "{what}: the server's state changed");
    for secret in [ALICE_PASSWORD, SEP_SECRET, FULL_SECRET] {
        assert!(
            !r.stdout.contains(secret),
            "{what}: a secret in {}",
            r.stdout
        );
    }
}

/// Done: changed, and the server holds something else than before.
fn assert_done(sim: &Sim, login: Login, c: &Case, allow: bool) {
    let before = state(sim);
    let r = run(sim, login, c, allow, false);
    let what = describe(login, c, allow);
    assert_eq!(r.code, 0, "{what}: {}\nserver: {}", r.stdout, sim.stderr());
    assert_eq!(r.json["changed"], true, "{what}: {}", r.stdout);
    assert_ne!(state(sim), before, "{what}: nothing written");
}

fn matrix(version: &str, login: Login) {
    let cases = cases();
    // Refusals first, on one server: they write nothing.
    let shared = start(version);
    for c in &cases {
        if c.never && weakens(c.whose, login) {
            assert_refused(&shared, login, c, true, "never does that");
            assert_refused(&shared, login, c, false, "never does that");
        } else if weakens(c.whose, login) {
            assert_refused(&shared, login, c, false, "allow_self_lockout: true");
        }
    }
    // Changes to nobody's access go through without the option, in order.
    for c in &cases {
        if !weakens(c.whose, login) {
            assert_done(&shared, login, c, false);
        }
    }
    // Weakening with the option: each on a server of its own, since it
    // may leave the login without access.
    for c in &cases {
        if c.never || !weakens(c.whose, login) {
            continue;
        }
        let sim = start(version);
        let regenerates_itself = c.task["regenerate"] == true;
        if regenerates_itself && version == "8.4" {
            // Delete and re-create: it would lose its login half way.
            assert_refused(&sim, login, c, true, "with itself on PVE 8.4");
        } else {
            assert_done(&sim, login, c, true);
        }
    }
}

fn password_login(version: &str) {
    matrix(version, Login::Password);
}

fn privsep_token(version: &str) {
    matrix(version, Login::PrivsepToken);
}

fn full_token(version: &str) {
    matrix(version, Login::FullToken);
}

on_each_version!(password_login, privsep_token, full_token);
