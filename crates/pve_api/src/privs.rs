//! Privilege names checked against a server's privilege set, with the help a
//! person needs when a name is wrong: the closest valid names (`VM.Config.cpu`
//! → `VM.Config.CPU`, `VM.Audti` → `VM.Audit`) and the renames and removals
//! between PVE versions (`VM.Monitor` is gone in PVE 9, `VM.GuestAgent.*` is
//! new there, `Qemu.*`/`Nodes.*` are old names of `VM.*`/`Sys.*`).
//!
//! The server's set is the privileges of its built-in `Administrator` role
//! ([`crate::access::privileges`]); everything here is pure.
//!
//! ```
//! use pve_api::privs;
//! let valid: Vec<String> = ["VM.Audit", "VM.Config.CPU", "Sys.Audit"]
//!     .iter().map(|s| s.to_string()).collect();
//! let requested: Vec<String> = vec!["VM.Audit".into(), "VM.Config.cpu".into()];
//! let (known, unknown) = privs::partition(&requested, &valid);
//! assert_eq!(known, ["VM.Audit"]);
//! assert_eq!(unknown[0].suggestions, ["VM.Config.CPU"]);
//! assert!(privs::unknown_message(&unknown, Some("9.1.1"), valid.len())
//!     .contains("did you mean VM.Config.CPU?"));
//! ```

use std::collections::BTreeSet;

/// A requested privilege name the server does not know, and what to say
/// about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    pub name: String,
    /// Valid names it was probably meant to be, best first (at most 3).
    pub suggestions: Vec<String>,
    /// Why the name is not there, for names renamed, removed or added
    /// between PVE versions.
    pub note: Option<String>,
}

impl Unknown {
    /// `'VM.Config.cpu' (did you mean VM.Config.CPU?)`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(note) = &self.note {
            parts.push(note.clone());
        }
        if !self.suggestions.is_empty() {
            parts.push(format!("did you mean {}?", or_list(&self.suggestions)));
        }
        if parts.is_empty() {
            format!("'{}'", self.name)
        } else {
            format!("'{}' ({})", self.name, parts.join("; "))
        }
    }
}

/// Splits `requested` into the names `valid` holds (in the order given,
/// without duplicates) and the unknown ones, each with its suggestions.
pub fn partition(requested: &[String], valid: &[String]) -> (Vec<String>, Vec<Unknown>) {
    let set: BTreeSet<&str> = valid.iter().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for name in requested {
        if !seen.insert(name.as_str()) {
            continue;
        }
        if set.contains(name.as_str()) {
            known.push(name.clone());
        } else {
            unknown.push(explain(name, valid));
        }
    }
    (known, unknown)
}

/// What to say about one name that is not in `valid`.
pub fn explain(name: &str, valid: &[String]) -> Unknown {
    let has = |p: &str| valid.iter().any(|v| v == p);
    let (note, mut suggestions) = history(name, valid);
    if suggestions.is_empty() && note.is_none() {
        suggestions = closest(name, valid);
    }
    suggestions.retain(|s| has(s));
    Unknown {
        name: name.to_string(),
        suggestions,
        note,
    }
}

/// Names renamed, removed or added between PVE versions: the note, and the
/// names to use instead (when the server has them). An old prefix is
/// renamed first, since the new name may have a story of its own
/// (`Qemu.Monitor` is `VM.Monitor`, which PVE 9 removed).
fn history(name: &str, valid: &[String]) -> (Option<String>, Vec<String>) {
    let has = |p: &str| valid.iter().any(|v| v == p);
    let lower = name.to_ascii_lowercase();
    for (old, new) in [("qemu.", "VM."), ("nodes.", "Sys."), ("node.", "Sys.")] {
        if lower.starts_with(old) {
            // The prefix is ASCII, so `old.len()` is a char boundary of `name`.
            let (old_name, rest) = name.split_at(old.len() - 1);
            let renamed = format!("{new}{}", &rest[1..]);
            let mut note = format!("{old_name}.* privileges are called {new}* in PVE");
            if has(&renamed) {
                return (Some(note), vec![renamed]);
            }
            let (later, suggestions) = changed_name(&renamed, valid);
            if let Some(later) = later {
                note = format!("{note}, and {renamed} is {later}");
                return (Some(note), suggestions);
            }
            return (Some(note), closest(&renamed, valid));
        }
    }
    changed_name(name, valid)
}

/// Names of the current prefixes that PVE removed, added in a later version,
/// or never had under that name.
fn changed_name(name: &str, valid: &[String]) -> (Option<String>, Vec<String>) {
    let has = |p: &str| valid.iter().any(|v| v == p);
    let lower = name.to_ascii_lowercase();
    if lower == "vm.monitor" && !has("VM.Monitor") {
        return (
            Some(
                "removed in PVE 9.0: use Sys.Audit for monitoring and VM.GuestAgent.* for guest agent access"
                    .into(),
            ),
            vec![],
        );
    }
    if lower.starts_with("vm.guestagent.") && !has("VM.GuestAgent.Audit") {
        let note = if has("VM.Monitor") {
            "added in PVE 9.0; before, guest agent access is part of VM.Monitor"
        } else {
            "added in PVE 9.0"
        };
        return (Some(note.into()), vec![]);
    }
    if lower == "vm.replicate" && !has("VM.Replicate") {
        return (Some("added in PVE 9.0".into()), vec![]);
    }
    if lower == "sys.accessnetwork" && !has("Sys.AccessNetwork") {
        return (Some("added in PVE 8.1".into()), vec![]);
    }
    if lower == "datastore.browse" {
        return (
            Some(
                "PVE has no Datastore.Browse: listing storage content needs Datastore.Audit".into(),
            ),
            vec!["Datastore.Audit".into()],
        );
    }
    if matches!(
        lower.as_str(),
        "sys.shutdown" | "sys.reboot" | "sys.poweroff" | "sys.power"
    ) {
        return (
            Some(
                "PVE has no such privilege: shutting down and rebooting a node needs Sys.PowerMgmt"
                    .into(),
            ),
            vec!["Sys.PowerMgmt".into()],
        );
    }
    (None, vec![])
}

/// The valid names closest to `name`: an exact match ignoring case, else
/// those within a small edit distance (ignoring case), best first, at most 3.
pub fn closest(name: &str, valid: &[String]) -> Vec<String> {
    let lower = name.to_lowercase();
    let same_case: Vec<String> = valid
        .iter()
        .filter(|v| v.to_lowercase() == lower)
        .cloned()
        .collect();
    if !same_case.is_empty() {
        return same_case;
    }
    let len = lower.chars().count();
    let limit = (len / 3).clamp(1, 3);
    let mut scored: Vec<(usize, &String)> = valid
        .iter()
        .map(|v| (distance(&lower, &v.to_lowercase()), v))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    let best = scored.first().map_or(0, |(d, _)| *d);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= best + 1)
        .take(3)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and swaps of two neighbours each cost 1 (`Audti` → `Audit` is 1).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The whole message for unknown names: each with its help, then which
/// server said so (`version` from `GET /version`, when known).
pub fn unknown_message(unknown: &[Unknown], version: Option<&str>, known_count: usize) -> String {
    let what = if unknown.len() == 1 {
        "unknown privilege"
    } else {
        "unknown privileges"
    };
    let list: Vec<String> = unknown.iter().map(Unknown::describe).collect();
    let server = match version {
        Some(v) => format!("PVE {v}"),
        None => "this server".to_string(),
    };
    format!(
        "{what} {}: {server} has {known_count} privileges (those of the built-in Administrator role)",
        list.join(", ")
    )
}

/// `A`, `A or B`, `A, B or C`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
#[path = "tests/privs.rs"]
mod tests;
