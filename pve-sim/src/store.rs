//! The simulator's state under one lock, like PVE's cluster locks on
//! `user.cfg` and `domains.cfg`: writes are serialised, readers never see half a change, and
//! every acknowledged change is on disk (with `--state-dir`) before the answer
//! goes out.
//!
//! ```no_run
//! # use pve_sim::store::{Store, StoreOptions};
//! # use pve_sim::model::PveVersion;
//! let store = Store::open(StoreOptions { version: PveVersion::V9_1, user_cfg: None, token_cfg: None, state_dir: None }).unwrap();
//! let users = store.read(|s| s.cfg.users.len());
//! ```

use crate::domains::{self, Realms};
use crate::jobscfg::JobsFile;
use crate::model::{PveVersion, Shadow, TokenSecrets, UserCfg};
use crate::perlstr;
use crate::usercfg;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Everything PVE keeps about access control.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub cfg: UserCfg,
    pub secrets: TokenSecrets,
    pub shadow: Shadow,
    /// `domains.cfg` and `priv/realm/<realm>.pw`.
    pub realms: Realms,
    /// `sha1_hex` of `domains.cfg` as last read or written.
    pub domains_digest: String,
    /// Set by the realm endpoints: PVE writes `domains.cfg` on each of their
    /// successful calls, also when nothing in it changes.
    pub rewrite_domains: bool,
}

/// Where the state comes from and goes to.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub version: PveVersion,
    /// A real cluster's `user.cfg` to start from.
    pub user_cfg: Option<PathBuf>,
    /// A real cluster's `priv/token.cfg` to start from.
    pub token_cfg: Option<PathBuf>,
    /// Saved to on every change; loaded at start when it already holds a
    /// `user.cfg` (then `user_cfg`/`token_cfg` are not read: the saved state
    /// is newer than any seed).
    pub state_dir: Option<PathBuf>,
}

/// Saving the state failed; the change was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

pub struct Store {
    version: PveVersion,
    state_dir: Option<PathBuf>,
    state: Mutex<State>,
    /// `jobs.cfg`, under its own lock as on PVE.
    jobs: JobsFile,
}

/// What PVE's tooling writes on a new node: root with the installer's
/// address.
const DEFAULT_USER_CFG: &str = "user:root@pam:1:0:::root@localhost:::\n";

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn read_if_exists(path: &Path) -> Result<Vec<u8>, String> {
    if path.exists() {
        read_file(path)
    } else {
        Ok(Vec::new())
    }
}

/// Write-and-rename, so a crash leaves either the old or the new file.
pub(crate) fn save_atomically(path: &Path, text: &[u8]) -> Result<(), StoreError> {
    let fail = |e: std::io::Error| StoreError(format!("cannot save {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(fail)?;
    f.write_all(text).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    fs::rename(&tmp, path).map_err(fail)
}

impl Store {
    pub fn open(opts: StoreOptions) -> Result<Store, String> {
        let v = opts.version;
        let saved = opts
            .state_dir
            .as_ref()
            .filter(|d| d.join("user.cfg").exists());
        let (user_bytes, token_text, shadow_text) = match saved {
            Some(dir) => (
                read_file(&dir.join("user.cfg"))?,
                read_if_exists(&dir.join("priv/token.cfg"))?,
                read_if_exists(&dir.join("priv/shadow.cfg"))?,
            ),
            None => (
                match opts.user_cfg.as_deref() {
                    Some(path) => read_file(path)?,
                    None => DEFAULT_USER_CFG.as_bytes().to_vec(),
                },
                opts.token_cfg
                    .as_deref()
                    .map(read_file)
                    .transpose()?
                    .unwrap_or_default(),
                Vec::new(),
            ),
        };
        let domains_bytes = match &opts.state_dir {
            Some(dir) if dir.join("domains.cfg").exists() => read_file(&dir.join("domains.cfg"))?,
            _ => domains::DEFAULT.as_bytes().to_vec(),
        };
        let (realms, warnings) = domains::parse(&perlstr::chars_of_bytes(&domains_bytes), v);
        for w in warnings {
            eprintln!("pve-sim: {w}");
        }
        let mut passwords = std::collections::BTreeMap::new();
        if let Some(dir) = &opts.state_dir {
            for (realm, _) in &realms {
                let path = dir.join(format!("priv/realm/{realm}.pw"));
                if path.exists() {
                    let text = perlstr::chars_of_bytes(&read_file(&path)?);
                    passwords.insert(realm.clone(), text);
                }
            }
        }
        let from_saved = saved.is_some();
        let token_seed = opts.token_cfg.is_some();
        let user_text = perlstr::chars_of_bytes(&user_bytes);
        let (cfg, warnings) = usercfg::parse_user_cfg(&user_text, v);
        for w in warnings {
            eprintln!("pve-sim: {w}");
        }
        let state = State {
            cfg,
            secrets: usercfg::parse_token_cfg(&perlstr::chars_of_bytes(&token_text)),
            shadow: usercfg::parse_shadow(&perlstr::chars_of_bytes(&shadow_text)),
            realms: Realms { realms, passwords },
            domains_digest: domains::digest(&domains_bytes),
            rewrite_domains: false,
        };
        let store = Store {
            version: v,
            jobs: JobsFile::open(opts.state_dir.as_deref())?,
            state_dir: opts.state_dir,
            state: Mutex::new(state),
        };
        // As PVE starts from the files as they are: a seed is copied
        // verbatim (never rewritten until a change), a saved state is kept.
        if !from_saved {
            if let Some(dir) = &store.state_dir {
                save_atomically(&dir.join("user.cfg"), &user_bytes).map_err(|e| e.0)?;
                if !dir.join("domains.cfg").exists() {
                    save_atomically(&dir.join("domains.cfg"), &domains_bytes).map_err(|e| e.0)?;
                }
                if token_seed {
                    save_atomically(&dir.join("priv/token.cfg"), &token_text).map_err(|e| e.0)?;
                }
            }
        }
        Ok(store)
    }

    pub fn version(&self) -> PveVersion {
        self.version
    }

    /// The cluster's jobs (`jobs.cfg`).
    pub fn jobs(&self) -> &JobsFile {
        &self.jobs
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic inside a writer never leaves a half change behind (writers
        // work on a copy), so a poisoned lock still guards a whole state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.lock())
    }

    /// Runs `f` on a copy of the state under the lock. On `Ok` the files
    /// that changed are saved as PVE writes them, and the state becomes what
    /// PVE reads back from them (ACLs of deleted roles and tokens vanish,
    /// memberships are rebuilt, root@pam comes back): the file keeps such
    /// lines until the next write, as on PVE. On `Err` nothing changes.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut guard = self.lock();
        let mut next = guard.clone();
        let out = f(&mut next)?;
        let bytes = perlstr::bytes_of_text(&usercfg::write_user_cfg(&next.cfg));
        if let Some(dir) = &self.state_dir {
            // Every change but a password's or a realm's is a user.cfg
            // write on PVE, also when it changes nothing there (it then
            // drops lines the last parse ignored).
            let realm_change = next.rewrite_domains || next.realms != guard.realms;
            if next.cfg != guard.cfg || (next.shadow == guard.shadow && !realm_change) {
                save_atomically(&dir.join("user.cfg"), &bytes)?;
            }
            if next.secrets != guard.secrets {
                save_atomically(
                    &dir.join("priv/token.cfg"),
                    &perlstr::bytes_of_text(&usercfg::write_token_cfg(&next.secrets)),
                )?;
            }
            if next.shadow != guard.shadow {
                save_atomically(
                    &dir.join("priv/shadow.cfg"),
                    &perlstr::bytes_of_text(&usercfg::write_shadow(&next.shadow)),
                )?;
            }
        }
        next.cfg = usercfg::parse_user_cfg(&perlstr::chars_of_bytes(&bytes), self.version).0;
        if next.rewrite_domains || next.realms.realms != guard.realms.realms {
            let text = domains::write(&next.realms.realms, self.version);
            let bytes = perlstr::bytes_of_text(&text);
            if let Some(dir) = &self.state_dir {
                save_atomically(&dir.join("domains.cfg"), &bytes)?;
            }
            next.realms.realms = domains::parse(&text, self.version).0;
            next.domains_digest = domains::digest(&bytes);
            next.rewrite_domains = false;
        }
        if let Some(dir) = &self.state_dir {
            self.save_realm_passwords(dir, &guard.realms.passwords, &next.realms.passwords)?;
        }
        *guard = next;
        Ok(out)
    }
}

impl Store {
    /// `priv/realm/<realm>.pw` as PVE keeps them: the password alone, no
    /// newline; removed with the realm or its password.
    fn save_realm_passwords(
        &self,
        dir: &Path,
        before: &std::collections::BTreeMap<String, String>,
        after: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        for (realm, pw) in after {
            if before.get(realm) != Some(pw) {
                let path = dir.join(format!("priv/realm/{realm}.pw"));
                save_atomically(&path, &perlstr::bytes_of_text(pw))?;
            }
        }
        for realm in before.keys().filter(|r| !after.contains_key(*r)) {
            let path = dir.join(format!("priv/realm/{realm}.pw"));
            fs::remove_file(&path)
                .map_err(|e| StoreError(format!("cannot remove {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// A failed save answers like PVE's failed cfs write: a plain 500.
impl From<StoreError> for crate::api::errors::ApiError {
    fn from(e: StoreError) -> Self {
        crate::api::errors::ApiError::die(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pve-sim-store-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn opts(dir: &Path) -> StoreOptions {
        StoreOptions {
            version: PveVersion::V9_1,
            user_cfg: None,
            token_cfg: None,
            state_dir: Some(dir.to_path_buf()),
        }
    }

    #[test]
    fn changes_persist_and_errors_change_nothing() {
        let dir = temp_dir("persist");
        let store = Store::open(opts(&dir)).unwrap();
        store
            .write(|s| {
                s.cfg.roles.insert(
                    "R".into(),
                    Role {
                        privs: ["VM.Audit".to_string()].into(),
                        special: false,
                    },
                );
                s.secrets.insert("root@pam!tk".into(), "x".into());
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let failed: Result<(), StoreError> = store.write(|s| {
            s.cfg.roles.clear();
            Err(StoreError("no".into()))
        });
        assert!(failed.is_err());
        assert!(store.read(|s| s.cfg.roles.contains_key("R")));
        let reopened = Store::open(opts(&dir)).unwrap();
        assert!(reopened.read(|s| s.cfg.roles.contains_key("R")));
        assert_eq!(
            fs::read_to_string(dir.join("priv/token.cfg")).unwrap(),
            "root@pam!tk x\n"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_are_written_as_pve_writes_them() {
        let dir = temp_dir("files");
        fs::create_dir_all(&dir).unwrap();
        let seed = dir.join("seed.cfg");
        let raw = "# by hand\nuser:j\u{f6}e@pve:1:0:\ntoken:j\u{f6}e@pve!ci:0:1:\nacl:1:/:j\u{f6}e@pve!ci:PVEAuditor:\n";
        fs::write(&seed, perlstr::bytes_of_text(raw)).unwrap();
        let state = dir.join("state");
        let store = Store::open(StoreOptions {
            user_cfg: Some(seed),
            ..opts(&state)
        })
        .unwrap();
        let on_disk = || fs::read(state.join("user.cfg")).unwrap();
        assert_eq!(on_disk(), perlstr::bytes_of_text(raw), "the seed as it is");
        assert!(!state.join("priv/token.cfg").exists());

        // Deleting the user leaves its token's ACL line until the next write.
        store
            .write(|s| {
                s.cfg.users.remove("jöe@pve");
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let text = perlstr::chars_of_bytes(&on_disk());
        assert!(text.contains("acl:1:/:jöe@pve!ci:PVEAuditor:"), "{text}");
        assert!(on_disk().contains(&0xf6), "Latin-1 on disk");
        store.write(|_| Ok::<_, StoreError>(())).unwrap();
        assert!(!perlstr::chars_of_bytes(&on_disk()).contains("acl:"));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn normalisation_drops_acls_of_deleted_roles() {
        let dir = temp_dir("norm");
        let seed = dir.join("seed.cfg");
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            &seed,
            "user:joe@pve:1:0:\nrole:R:VM.Audit:\nacl:1:/:joe@pve:R:\n",
        )
        .unwrap();
        let store = Store::open(StoreOptions {
            user_cfg: Some(seed),
            state_dir: None,
            ..opts(&dir)
        })
        .unwrap();
        assert!(store.read(|s| s.cfg.acl.contains_key("/")));
        store
            .write(|s| {
                s.cfg.roles.remove("R");
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert!(store.read(|s| s.cfg.acl.is_empty()));
        let _ = fs::remove_dir_all(&dir);
    }
}
