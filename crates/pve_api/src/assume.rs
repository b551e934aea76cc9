//! Referenced objects that do not exist yet: the one rule every module
//! follows for them.
//!
//! A task names objects it does not manage itself: the role and principals
//! of an ACL entry, a user's groups and realm, a group's members, a token's
//! user, the subject of a permission check. A real run refuses when one of
//! them does not exist, before any write. Check mode runs every task of a
//! playbook against a server on which the earlier tasks changed nothing, so
//! on a fresh cluster nothing the playbook creates exists yet: there, each
//! such object is assumed to be created by an earlier task of the same run,
//! the change is predicted as if it existed, and one warning per object
//! says so. Only what no task can create is refused in check mode too
//! (a built-in role missing on this PVE version, a name reserved for them).

use crate::ids;
use ansible_module::text::MAX_ITEMS;

/// The kind of a referenced object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Realm,
    User,
    Group,
    Role,
    Token,
    Pool,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Realm => "realm",
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
            Kind::Token => "token",
            Kind::Pool => "pool",
        }
    }
}

/// An object a task references and the server does not have.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Missing {
    pub kind: Kind,
    /// Its id as PVE writes it (a full `user@realm!name` for a token).
    pub id: String,
}

impl Missing {
    pub fn new(kind: Kind, id: impl Into<String>) -> Missing {
        Missing {
            kind,
            id: id.into(),
        }
    }

    /// `role 'TerraformRole'`.
    pub fn name(&self) -> String {
        format!("{} '{}'", self.kind.as_str(), self.id)
    }

    /// Whether a task can create it: PVE ships the built-in roles and
    /// reserves their `PVE` prefix, so a missing one stays missing.
    pub fn creatable(&self) -> bool {
        self.kind != Kind::Role || !(ids::builtin_role(&self.id) || ids::reserved_roleid(&self.id))
    }

    /// The check-mode warning.
    pub fn assumption(&self) -> String {
        format!(
            "{} does not exist yet; assuming an earlier task creates it",
            self.name()
        )
    }
}

/// Settles `missing` (in the order found; repeats are dropped): nothing
/// missing is `Ok` with no warning; a real run is `Err(refusal(..))` of all
/// of them; check mode is `Ok` with one assumption warning each, unless some
/// cannot be created by any task, which are refused (`refusal` of those).
pub fn assume_created(
    check_mode: bool,
    missing: &[Missing],
    refusal: impl FnOnce(&[Missing]) -> String,
) -> Result<Vec<String>, String> {
    let mut unique: Vec<Missing> = Vec::with_capacity(missing.len());
    for m in missing {
        if !unique.contains(m) {
            unique.push(m.clone());
        }
    }
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    if !check_mode {
        return Err(refused(&unique, refusal));
    }
    let never: Vec<Missing> = unique.iter().filter(|m| !m.creatable()).cloned().collect();
    if !never.is_empty() {
        return Err(refused(&never, refusal));
    }
    let shown = unique.len().min(MAX_ITEMS);
    let mut warnings: Vec<String> = unique[..shown].iter().map(Missing::assumption).collect();
    if unique.len() > shown {
        warnings.push(format!(
            "and {} more objects do not exist yet; assuming earlier tasks create them",
            unique.len() - shown
        ));
    }
    Ok(warnings)
}

/// The refusal of the first [`MAX_ITEMS`] objects, and how many more
/// there are: a task naming a thousand unknown users gets a message a
/// person can read.
fn refused(missing: &[Missing], refusal: impl FnOnce(&[Missing]) -> String) -> String {
    let shown = missing.len().min(MAX_ITEMS);
    let msg = refusal(&missing[..shown]);
    match missing.len() - shown {
        0 => msg,
        more => format!("{msg} (and {more} more that do not exist)"),
    }
}

#[cfg(test)]
#[path = "tests/assume.rs"]
mod tests;
