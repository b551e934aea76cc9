//! PVE's worker tasks: what `fork_worker` leaves behind on a node, for the
//! simulator's long-running calls (realm sync).
//!
//! A task is named by its UPID, built as PVE's `PVE::UPID::encode` does:
//! `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`, the numbers
//! in upper-case hex of at least 8 digits. Its log is a list of lines; a
//! finished task's last line is `TASK OK`, `TASK WARNINGS: <n>` or
//! `TASK ERROR: <message>`, and its exit status is read back from that line
//! as PVE's `PVE::UPID::read_status` does. `api::tasks` serves them under
//! `/nodes/{node}/tasks`.
//!
//! ```
//! # use pve_sim::tasks::Tasks;
//! let tasks = Tasks::in_memory("pve-sim");
//! let task = tasks.start("auth-realm-sync", "dir", "root@pam");
//! task.log("starting sync for realm dir");
//! task.finish(Ok(()));
//! assert_eq!(task.status().exitstatus.as_deref(), Some("OK"));
//! ```
//!
//! With a state directory the logs are also kept where a node keeps them,
//! relative to it: `tasks/<last hex digit of the start time>/<UPID>`, and
//! `tasks/index` lists the finished ones (`<UPID> <endtime hex> <status>`),
//! so the finished tasks survive a restart.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// A parsed UPID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upid {
    pub node: String,
    pub pid: u32,
    pub pstart: u64,
    pub starttime: i64,
    /// The worker type (`auth-realm-sync`).
    pub kind: String,
    /// What the task works on (the realm), may be empty.
    pub id: String,
    /// The user or full token id that started it.
    pub user: String,
}

impl Upid {
    /// `PVE::UPID::decode`: `None` for anything PVE would not parse.
    pub fn parse(upid: &str) -> Option<Upid> {
        let rest = upid.strip_prefix("UPID:")?.strip_suffix(':')?;
        let f: Vec<&str> = rest.split(':').collect();
        let [node, pid, pstart, start, kind, id, user] = f.as_slice() else {
            return None;
        };
        let hex = |s: &str, min: usize, max: usize| {
            (min..=max).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit())
        };
        let field = |s: &str| !s.chars().any(|c| c.is_whitespace() || c == '/');
        if !(crate::ids::is_node_name(node)
            && hex(pid, 8, 8)
            && hex(pstart, 8, 9)
            && hex(start, 8, 8)
            && !kind.is_empty()
            && field(kind)
            && field(id)
            && !user.is_empty()
            && field(user))
        {
            return None;
        }
        Some(Upid {
            node: node.to_string(),
            pid: u32::from_str_radix(pid, 16).ok()?,
            pstart: u64::from_str_radix(pstart, 16).ok()?,
            starttime: i64::from_str_radix(start, 16).ok()?,
            kind: kind.to_string(),
            id: id.to_string(),
            user: user.to_string(),
        })
    }

    /// Where a node keeps the task's log, relative to its `/var/log/pve`.
    fn log_path(&self) -> PathBuf {
        let hex = format!("{:08X}", self.starttime);
        let bucket = &hex[hex.len() - 1..];
        PathBuf::from("tasks").join(bucket).join(self.to_string())
    }
}

impl std::fmt::Display for Upid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UPID:{}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node, self.pid, self.pstart, self.starttime, self.kind, self.id, self.user
        )
    }
}

/// What the status endpoint reports of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub running: bool,
    /// Only once it has stopped: `OK`, `WARNINGS: <n>`, the error message,
    /// or `unexpected status` for a log without a final `TASK` line.
    pub exitstatus: Option<String>,
    /// Epoch seconds, once stopped.
    pub endtime: Option<i64>,
}

#[derive(Debug, Default)]
struct Progress {
    lines: Vec<String>,
    endtime: Option<i64>,
}

/// One task: its UPID and its log so far. Cheap to share.
#[derive(Debug)]
pub struct Task {
    pub upid: Upid,
    progress: Mutex<Progress>,
    /// The node's log directory, when the logs are kept on disk.
    dir: Option<PathBuf>,
}

impl Task {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one line (without its newline) to the log.
    pub fn log(&self, line: &str) {
        let mut p = self.progress();
        if p.endtime.is_some() {
            return;
        }
        p.lines.push(line.to_string());
        self.append_file(&self.upid.log_path(), &format!("{line}\n"));
    }

    /// Ends the task: `TASK OK`, or `TASK ERROR: <message>` (first line of
    /// the message, as a node's log has it). A task ends once.
    pub fn finish(&self, result: Result<(), String>) {
        let last = match result {
            Ok(()) => "TASK OK".to_string(),
            Err(e) => format!("TASK ERROR: {}", e.trim_end_matches('\n')),
        };
        let mut p = self.progress();
        if p.endtime.is_some() {
            return;
        }
        p.lines.push(last.clone());
        let end = crate::api::auth::now();
        p.endtime = Some(end);
        self.append_file(&self.upid.log_path(), &format!("{last}\n"));
        let status = read_status(&p.lines);
        self.append_file(
            Path::new("tasks/index"),
            &format!("{} {end:08X} {status}\n", self.upid),
        );
    }

    /// Running or stopped, and how it ended.
    pub fn status(&self) -> Status {
        let p = self.progress();
        Status {
            running: p.endtime.is_none(),
            exitstatus: p.endtime.map(|_| read_status(&p.lines)),
            endtime: p.endtime,
        }
    }

    /// The log lines so far (the final `TASK` line included once stopped).
    pub fn lines(&self) -> Vec<String> {
        self.progress().lines.clone()
    }

    /// Best effort, as a node's log on a full disk: the task goes on in
    /// memory, which is what the API serves.
    fn append_file(&self, relative: &Path, text: &str) {
        let Some(dir) = &self.dir else {
            return;
        };
        let path = dir.join(relative);
        let written = path
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| OpenOptions::new().create(true).append(true).open(&path))
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            eprintln!("pve-sim: cannot write {}: {e}", path.display());
        }
    }
}

/// `PVE::UPID::read_status` on a log's last line.
fn read_status(lines: &[String]) -> String {
    let last = lines.last().map(String::as_str).unwrap_or_default();
    if last == "TASK OK" {
        return "OK".to_string();
    }
    if let Some(e) = last.strip_prefix("TASK ERROR: ").filter(|e| !e.is_empty()) {
        return e.to_string();
    }
    match last.strip_prefix("TASK WARNINGS: ") {
        Some(n) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            format!("WARNINGS: {n}")
        }
        _ => "unexpected status".to_string(),
    }
}

/// The tasks of this node, oldest first.
#[derive(Debug)]
pub struct Tasks {
    node: String,
    pid: u32,
    pstart: u64,
    dir: Option<PathBuf>,
    tasks: Mutex<Vec<Arc<Task>>>,
}

impl Tasks {
    /// The tasks of node `node`, kept in memory only.
    pub fn in_memory(node: &str) -> Tasks {
        Tasks {
            node: node.to_string(),
            pid: std::process::id(),
            pstart: process_start(),
            dir: None,
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// The tasks of node `node` with their logs kept in `state_dir`; the
    /// finished tasks its `tasks/index` lists are loaded.
    pub fn open(node: &str, state_dir: &Path) -> Result<Tasks, String> {
        Ok(Tasks {
            dir: Some(state_dir.to_path_buf()),
            tasks: Mutex::new(load(state_dir)?),
            ..Tasks::in_memory(node)
        })
    }

    /// The node name the UPIDs carry.
    pub fn node(&self) -> &str {
        &self.node
    }

    fn list(&self) -> MutexGuard<'_, Vec<Arc<Task>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new running task of type `kind` on `id`, started by `user` (a
    /// user or full token id). Its pid is pve-sim's; a task of the same
    /// kind started in the same second gets the next free one, as a forked
    /// worker would have a pid of its own.
    pub fn start(&self, kind: &str, id: &str, user: &str) -> Arc<Task> {
        let mut list = self.list();
        let mut upid = Upid {
            node: self.node.clone(),
            pid: self.pid,
            pstart: self.pstart,
            starttime: crate::api::auth::now(),
            kind: kind.to_string(),
            id: id.to_string(),
            user: user.to_string(),
        };
        while list.iter().any(|t| t.upid == upid) {
            upid.pid = upid.pid.wrapping_add(1);
        }
        let task = Arc::new(Task {
            upid,
            progress: Mutex::new(Progress::default()),
            dir: self.dir.clone(),
        });
        list.push(Arc::clone(&task));
        task
    }

    /// The task named `upid` exactly.
    pub fn get(&self, upid: &str) -> Option<Arc<Task>> {
        self.list()
            .iter()
            .find(|t| t.upid.to_string() == upid)
            .cloned()
    }

    /// Every task, the most recently started first.
    pub fn all(&self) -> Vec<Arc<Task>> {
        self.list().iter().rev().cloned().collect()
    }
}

/// The finished tasks a state directory's `tasks/index` lists.
fn load(dir: &Path) -> Result<Vec<Arc<Task>>, String> {
    let index = dir.join("tasks/index");
    let text = match fs::read_to_string(&index) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", index.display())),
    };
    let mut tasks = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ' ');
        let (Some(upid), Some(end)) = (f.next().and_then(Upid::parse), f.next()) else {
            continue;
        };
        let Ok(endtime) = i64::from_str_radix(end, 16) else {
            continue;
        };
        let log = fs::read_to_string(dir.join(upid.log_path())).unwrap_or_default();
        tasks.push(Arc::new(Task {
            upid,
            progress: Mutex::new(Progress {
                lines: log.lines().map(str::to_string).collect(),
                endtime: Some(endtime),
            }),
            dir: Some(dir.to_path_buf()),
        }));
    }
    Ok(tasks)
}

/// The host's short name when it is a valid node name (as a PVE node is
/// named), else `pve-sim`.
pub fn default_node_name() -> String {
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let short = host.trim().split('.').next().unwrap_or_default();
    if crate::ids::is_node_name(short) {
        short.to_string()
    } else {
        "pve-sim".to_string()
    }
}

/// The process's start time in clock ticks since boot (field 22 of
/// `/proc/self/stat`), what PVE puts in a UPID as `pstart`; 0 where there
/// is no procfs.
fn process_start() -> u64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces: count after its `)`.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(19))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upids_round_trip_as_pve_writes_them() {
        let text = "UPID:pve1:0001A2B3:00C0FFEE:6750A1B2:auth-realm-sync:dir:root@pam!sync:";
        let upid = Upid::parse(text).unwrap();
        assert_eq!(
            (upid.pid, upid.pstart, upid.starttime),
            (0x1A2B3, 0xC0FFEE, 0x6750A1B2)
        );
        assert_eq!(upid.user, "root@pam!sync");
        assert_eq!(upid.to_string(), text);
        assert_eq!(
            upid.log_path(),
            PathBuf::from("tasks/2").join(text),
            "the bucket is the start time's last hex digit"
        );
        for bad in [
            "UPID:pve1:1A2B3:00C0FFEE:6750A1B2:t:id:u:",
            "UPID:pve1:0001A2B3:00C0FFEE:6750A1B2:t:id:u",
            "UPID:-pve:0001A2B3:00C0FFEE:6750A1B2:t:id:u:",
            "UPID:pve1:0001A2B3:00C0FFEE:6750A1B2:t:i/d:u:",
            "UPID:pve1:0001A2B3:00C0FFEE:6750A1B2::id:u:",
            "nonsense",
        ] {
            assert_eq!(Upid::parse(bad), None, "{bad}");
        }
        assert!(Upid::parse("UPID:n:0001A2B3:1C0FFEEAA:6750A1B2:t::u:").is_some());
    }

    #[test]
    fn status_comes_from_the_last_line() {
        let tasks = Tasks::in_memory("n");
        let ok = tasks.start("t", "x", "root@pam");
        assert!(ok.status().running);
        ok.log("one");
        ok.finish(Ok(()));
        ok.log("after the end");
        ok.finish(Err("late".into()));
        assert_eq!(ok.lines(), ["one", "TASK OK"]);
        assert_eq!(ok.status().exitstatus.as_deref(), Some("OK"));
        let failed = tasks.start("t", "x", "root@pam");
        assert_ne!(failed.upid, ok.upid, "two tasks in one second differ");
        failed.finish(Err("ldap bind failed: Invalid credentials\n".into()));
        assert_eq!(
            failed.lines(),
            ["TASK ERROR: ldap bind failed: Invalid credentials"]
        );
        assert_eq!(
            failed.status().exitstatus.as_deref(),
            Some("ldap bind failed: Invalid credentials")
        );
        assert_eq!(
            read_status(&["TASK WARNINGS: 3".to_string()]),
            "WARNINGS: 3"
        );
        assert_eq!(read_status(&[]), "unexpected status");
        let all = tasks.all();
        assert_eq!(all[0].upid, failed.upid, "newest first");
        assert!(tasks.get(&ok.upid.to_string()).is_some());
    }

    #[test]
    fn finished_tasks_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("pve-sim-tasks-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let tasks = Tasks::open("n", &dir).unwrap();
        let task = tasks.start("t", "x", "root@pam");
        task.log("line");
        task.finish(Ok(()));
        let running = tasks.start("t", "y", "root@pam");
        running.log("half");
        let upid = task.upid.to_string();
        let on_disk = fs::read_to_string(dir.join(task.upid.log_path())).unwrap();
        assert_eq!(on_disk, "line\nTASK OK\n");

        let again = Tasks::open("n", &dir).unwrap();
        let back = again.get(&upid).expect("the finished task");
        assert_eq!(back.lines(), ["line", "TASK OK"]);
        assert_eq!(back.status().exitstatus.as_deref(), Some("OK"));
        assert!(again.get(&running.upid.to_string()).is_none());
        let _ = fs::remove_dir_all(&dir);
    }
}
