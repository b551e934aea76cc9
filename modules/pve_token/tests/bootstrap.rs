//! The bootstrap runbook end to end against pve-sim (PVE 9.1 and 8.4), with
//! the release binaries of the modules run in sequence as a playbook would:
//! a user `terraform@pve`, a role `TerraformRole` with the privileges the
//! Terraform providers need, an ACL entry on `/`, a token `terraform` with
//! privilege separation off, and then a check run authenticated with the
//! `api_token` the token task returned. Once with root's password, once
//! with a root token; a second pass of the whole runbook changes nothing.
//!
//! The binaries: `$PVE_ACCESS_MODULES_DIR/<name>` (what `make test` sets),
//! else the workspace's release build (`make modules`); pve_token itself
//! falls back to the binary cargo built for this test.

use pve_test_support::{
    module_binary, on_each_version, release_module, run_module, with_api_token, Sim,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The privileges of the Terraform providers (bpg/proxmox, telmate), valid
/// on PVE 8 and 9 (no `VM.Monitor`, which PVE 9 removed).
const TERRAFORM_PRIVS: [&str; 24] = [
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "Mapping.Audit",
    "Mapping.Use",
    "Pool.Allocate",
    "SDN.Use",
    "Sys.Audit",
    "Sys.Console",
    "Sys.Modify",
    "User.Modify",
    "VM.Allocate",
    "VM.Audit",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Migrate",
    "VM.PowerMgmt",
];

/// Secret of the seeded `root@pam!bootstrap` token (privsep off).
const ROOT_SECRET: &str = "0c8f1f8e-4b7d-4e55-9a43-6c1f2d3e4a5b";

/// How the runbook authenticates.
#[derive(Clone, Copy, Debug)]
enum Auth {
    RootPassword,
    RootToken,
}

struct Binaries {
    user: PathBuf,
    role: PathBuf,
    acl: PathBuf,
    token: PathBuf,
    info: PathBuf,
}

impl Binaries {
    /// Panics, naming `make modules`, when a binary has not been built.
    fn find() -> Binaries {
        Binaries {
            user: release_module("pve_user"),
            role: release_module("pve_role"),
            acl: release_module("pve_acl"),
            token: module_binary("pve_token", env!("CARGO_BIN_EXE_pve_token")),
            info: release_module("pve_permission_info"),
        }
    }
}

fn sim(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg("user:root@pam:1:0:::root@localhost:::\ntoken:root@pam!bootstrap:0:0::\n\n")
        .token_cfg(&format!("root@pam!bootstrap {ROOT_SECRET}\n"))
        .start()
}

/// Runs one task and returns its result; fails the test, with the output,
/// when the module fails or prints no JSON object.
fn task(sim: &Sim, auth: Auth, binary: &Path, args: Value) -> Value {
    let mut args = sim.args(args);
    if let Auth::RootToken = auth {
        args["api_user"] = Value::Null;
        args["api_password"] = Value::Null;
        args["api_token_id"] = json!("root@pam!bootstrap");
        args["api_token_secret"] = json!(ROOT_SECRET);
    }
    let run = run_module(binary, &args);
    assert!(
        run.code == 0 && run.json.is_object(),
        "{} {args}: exit {}\nstdout: {}\nstderr: {}\nsim: {}\n(a module that prints nothing may be a stale build: run `make modules`)",
        binary.display(),
        run.code,
        run.stdout,
        run.stderr,
        sim.stderr()
    );
    run.json
}

/// Module args for `sim` authenticated with the whole token `api_token`.
fn as_token(sim: &Sim, args: Value, api_token: &str) -> Value {
    with_api_token(sim.args(args), api_token)
}

/// The runbook's four tasks; their results.
fn runbook(sim: &Sim, auth: Auth, bin: &Binaries) -> [Value; 4] {
    let user = task(
        sim,
        auth,
        &bin.user,
        json!({"userid": "terraform@pve", "comment": "Terraform automation"}),
    );
    let role = task(
        sim,
        auth,
        &bin.role,
        json!({"roleid": "TerraformRole", "privs": TERRAFORM_PRIVS}),
    );
    let acl = task(
        sim,
        auth,
        &bin.acl,
        json!({"path": "/", "roles": ["TerraformRole"], "users": ["terraform@pve"]}),
    );
    let token = task(
        sim,
        auth,
        &bin.token,
        json!({"userid": "terraform@pve", "tokenid": "terraform", "privsep": false,
               "comment": "Terraform bpg/proxmox provider", "_ansible_no_log": true}),
    );
    [user, role, acl, token]
}

fn bootstrap(version: &str, auth: Auth) {
    let bin = Binaries::find();
    let sim = sim(version);

    let [user, role, acl, token] = runbook(&sim, auth, &bin);
    for (name, r) in [
        ("user", &user),
        ("role", &role),
        ("acl", &acl),
        ("token", &token),
    ] {
        assert_eq!(r["changed"], true, "{version} {auth:?} {name}: {r}");
    }
    assert_eq!(user["user"]["userid"], "terraform@pve");
    assert_eq!(role["role"]["privs"].as_array().map(Vec::len), Some(24));
    assert_eq!(token["token"]["privsep"], false);
    assert!(token.get("warnings").is_none(), "no_log task: {token}");
    let api_token = token["api_token"].as_str().unwrap_or_default().to_string();
    let secret = token["secret"].as_str().unwrap_or_default();
    assert_eq!(api_token, format!("terraform@pve!terraform={secret}"));

    // The new token authenticates the check that ends the runbook: it has
    // every privilege of the role on / through its user (privsep off).
    sim.clear_requests();
    let run = run_module(
        &bin.info,
        &as_token(
            &sim,
            json!({"path": "/", "require": {"/": TERRAFORM_PRIVS}}),
            &api_token,
        ),
    );
    assert_eq!(run.code, 0, "{version} {auth:?}: {}", run.stdout);
    assert_eq!(run.json["missing"], json!({}), "{}", run.stdout);
    let log = sim.requests();
    assert!(
        !log.is_empty() && log.iter().all(|r| r["auth"] == "token"),
        "{log:?}"
    );
    // ... and works with what Terraform manages, e.g. reads the role.
    let run = run_module(
        &bin.role,
        &as_token(&sim, json!({"roleid": "TerraformRole"}), &api_token),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.json["changed"], false);

    // The runbook again: nothing changes, no new secret.
    let again = runbook(&sim, auth, &bin);
    for r in &again {
        assert_eq!(r["changed"], false, "{version} {auth:?} second pass: {r}");
    }
    assert!(again[3].get("secret").is_none() && again[3].get("api_token").is_none());

    // What the runbook reports is what the server saved.
    let saved = sim.state();
    assert_eq!(
        saved.user("terraform@pve").as_ref(),
        Some(&again[0]["user"])
    );
    assert_eq!(saved.role("TerraformRole").as_ref(), Some(&role["role"]));
    assert_eq!(
        saved.token("terraform@pve!terraform").as_ref(),
        Some(&token["token"])
    );
    let entry = json!({"path": "/", "type": "user", "ugid": "terraform@pve",
                       "roleid": "TerraformRole", "propagate": true});
    assert!(saved.acl().contains(&entry), "{:?}", saved.acl());
    assert!(sim.token_authenticates(&api_token));
}

fn bootstrap_with_password(version: &str) {
    bootstrap(version, Auth::RootPassword);
}

fn bootstrap_with_token(version: &str) {
    bootstrap(version, Auth::RootToken);
}

on_each_version!(bootstrap_with_password, bootstrap_with_token);
