//! `jobs.cfg`, PVE's cluster-wide job configuration (pve-common's
//! `PVE::Job::Registry` on `SectionConfig`), as far as realm-sync jobs go,
//! and the lock it is changed under.
//!
//! A file is sections `<type>: <id>` followed by tab-indented `key value`
//! lines, each ended by an empty line. A `realm-sync` section is written as
//! PVE writes it (measured with the real code, `docs/realm-sync-jobs.md`):
//! `comment` first (text-encoded, left out when empty), then the required
//! `realm`, `schedule`, `scope`, then the optional `enable-new`, `enabled`,
//! `remove-vanished`, each group sorted. Reading fills in `enabled 1`, so
//! every write puts `enabled 1` into the sections that lacked it. Sections
//! of other job types (vzdump) keep their options in file order.
//!
//! ```
//! use pve_sim::jobscfg::{parse, write};
//! let text = "realm-sync: nightly\n\trealm dir\n\tschedule daily\n\tscope users\n\n";
//! let jobs = parse(text);
//! assert_eq!(jobs.get("nightly").unwrap().get("realm"), Some("dir"));
//! assert_eq!(write(&jobs), text.replace("users\n", "users\n\tenabled 1\n"));
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::store::{save_atomically, StoreError};
use crate::usercfg::{decode_text, encode_text};

/// The section type of realm-sync jobs.
pub const REALM_SYNC: &str = "realm-sync";
/// The options of a realm-sync job, required ones first, as PVE orders them.
const REQUIRED: [&str; 3] = ["realm", "schedule", "scope"];
const OPTIONAL: [&str; 3] = ["enable-new", "enabled", "remove-vanished"];
/// Options that are booleans (read back as 0/1 numbers).
pub const BOOLEANS: [&str; 2] = ["enable-new", "enabled"];

/// One section: its type, id and options (the comment decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub kind: String,
    pub id: String,
    pub opts: Vec<(String, String)>,
}

impl Job {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.opts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &str, value: &str) {
        match self.opts.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.opts.push((key.to_string(), value.to_string())),
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.opts.retain(|(k, _)| k != key);
    }
}

/// The parsed file, sections in file order (new ones go last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jobs(pub Vec<Job>);

impl Jobs {
    /// A section of any type with this id (ids are unique across types).
    pub fn get(&self, id: &str) -> Option<&Job> {
        self.0.iter().find(|j| j.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Job> {
        self.0.iter_mut().find(|j| j.id == id)
    }

    pub fn remove(&mut self, id: &str) {
        self.0.retain(|j| j.id != id);
    }
}

/// Reads `jobs.cfg` text as PVE does; unparsable lines are skipped.
pub fn parse(text: &str) -> Jobs {
    let mut jobs = Vec::new();
    let mut current: Option<Job> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            jobs.extend(current.take());
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(job) = current.as_mut() {
                let body = line.trim();
                let (k, v) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                let v = v.trim();
                let v = if k == "comment" {
                    decode_text(v)
                } else {
                    v.to_string()
                };
                job.opts.push((k.to_string(), v));
            }
            continue;
        }
        jobs.extend(current.take());
        if let Some((kind, id)) = line.split_once(':') {
            let id = id.trim();
            if !id.is_empty() && !id.contains(char::is_whitespace) {
                current = Some(Job {
                    kind: kind.trim().to_string(),
                    id: id.to_string(),
                    opts: Vec::new(),
                });
            }
        }
    }
    jobs.extend(current);
    for job in &mut jobs {
        if job.get("enabled").is_none() {
            job.opts.push(("enabled".into(), "1".into()));
        }
    }
    Jobs(jobs)
}

/// Writes the file as PVE's section config does.
pub fn write(jobs: &Jobs) -> String {
    let mut out = String::new();
    for job in &jobs.0 {
        out.push_str(&format!("{}: {}\n", job.kind, job.id));
        if job.kind == REALM_SYNC {
            if let Some(c) = job.get("comment").filter(|c| !c.is_empty()) {
                out.push_str(&format!("\tcomment {}\n", encode_text(c)));
            }
            for key in REQUIRED.iter().chain(&OPTIONAL) {
                if let Some(v) = job.get(key) {
                    out.push_str(&format!("\t{key} {v}\n"));
                }
            }
        } else {
            for (k, v) in &job.opts {
                let v = if k == "comment" {
                    encode_text(v)
                } else {
                    v.clone()
                };
                out.push_str(&format!("\t{k} {v}\n"));
            }
        }
        out.push('\n');
    }
    out
}

/// `jobs.cfg` under its cluster lock: kept in `--state-dir` when there is
/// one (read at start, saved on every change), else in memory.
#[derive(Debug)]
pub struct JobsFile {
    path: Option<PathBuf>,
    jobs: Mutex<Jobs>,
}

impl JobsFile {
    pub fn open(state_dir: Option<&Path>) -> Result<JobsFile, String> {
        let path = state_dir.map(|d| d.join("jobs.cfg"));
        let jobs = match &path {
            Some(p) if p.exists() => {
                let bytes =
                    std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                parse(&crate::perlstr::chars_of_bytes(&bytes))
            }
            _ => Jobs::default(),
        };
        Ok(JobsFile {
            path,
            jobs: Mutex::new(jobs),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Jobs> {
        // Writers change a copy, so a poisoned lock still guards a whole file.
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn read<T>(&self, f: impl FnOnce(&Jobs) -> T) -> T {
        f(&self.lock())
    }

    /// Runs `f` on a copy under the lock; on `Ok` the file is written (and
    /// read back, as PVE's next reader sees it), on `Err` nothing changes.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Jobs) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut guard = self.lock();
        let mut next = guard.clone();
        let out = f(&mut next)?;
        let text = write(&next);
        if let Some(path) = &self.path {
            save_atomically(path, &crate::perlstr::bytes_of_text(&text))?;
        }
        *guard = parse(&text);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_sync_sections_are_written_in_pves_order() {
        let mut jobs = parse("vzdump: backup-1\n\tschedule 21:00\n\tstorage local\n\n");
        jobs.0.push(Job {
            kind: REALM_SYNC.into(),
            id: "j1".into(),
            opts: vec![
                ("remove-vanished".into(), "acl;entry".into()),
                ("enabled".into(), "0".into()),
                ("scope".into(), "users".into()),
                ("comment".into(), "a b:c ü%".into()),
                ("enable-new".into(), "0".into()),
                ("schedule".into(), "mon..fri 02:30".into()),
                ("realm".into(), "dir".into()),
            ],
        });
        let text = write(&jobs);
        assert_eq!(
            text,
            "vzdump: backup-1\n\tschedule 21:00\n\tstorage local\n\tenabled 1\n\n\
             realm-sync: j1\n\tcomment a b%3Ac %C3%BC%25\n\trealm dir\n\tschedule mon..fri 02:30\n\
             \tscope users\n\tenable-new 0\n\tenabled 0\n\tremove-vanished acl;entry\n\n"
        );
        assert_eq!(
            parse(&text).get("j1").unwrap().get("comment"),
            Some("a b:c ü%")
        );
    }

    #[test]
    fn an_empty_comment_is_not_written() {
        let mut jobs = parse("realm-sync: j\n\trealm dir\n\tschedule daily\n\tscope users\n\n");
        jobs.get_mut("j").unwrap().set("comment", "");
        assert!(!write(&jobs).contains("comment"));
    }
}
