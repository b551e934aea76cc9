//! The binaries the tests run that `cargo test` does not build for the
//! package under test: pve-sim and the other modules (another package's
//! binaries), and the release modules that ship (built by `make modules`,
//! with the flags of the shipped binaries). Built on first use, once per
//! test process, unless `PVE_SIM_BIN` / `PVE_ACCESS_MODULES_DIR` name
//! binaries built already (as `make test` does). Two test binaries that
//! build at once are serialised by cargo's lock on the target directory,
//! and the second finds everything fresh.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::workspace_root;

/// What was built in this process: the command, and its failure if any.
static BUILT: Mutex<BTreeMap<String, Result<(), String>>> = Mutex::new(BTreeMap::new());

/// Runs `program args` in the workspace once per process (a build that is
/// fresh takes a second); panics with its output and what to run instead
/// when it fails.
fn build_once(program: &Path, args: &[&str]) {
    let key = format!("{} {}", program.display(), args.join(" "));
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let result = built.entry(key.clone()).or_insert_with(|| {
        eprintln!("building what the tests run: {key}");
        match Command::new(program)
            .args(args)
            .current_dir(workspace_root())
            .output()
        {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
            Err(e) => Err(e.to_string()),
        }
    });
    if let Err(output) = result {
        panic!(
            "`{key}` failed, so the binaries the tests run are missing: run `make test` (or \
             `make modules sim`, then `cargo test`) to see why\n{output}"
        );
    }
}

/// Builds `package`'s binaries (debug, into the target directory the tests
/// look in) unless done in this process already.
pub(crate) fn cargo_build(package: &str) {
    let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
    build_once(&cargo, &["build", "--locked", "--bins", "-p", package]);
}

/// Builds the release modules as `make modules` does (static, size-tuned).
pub(crate) fn make_modules() {
    build_once(Path::new("make"), &["modules"]);
}
