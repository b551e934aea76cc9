//! What the module's integration tests share.

/// The requests of a whole audit by root@pam, in order: one GET per kind.
pub const ALL_GETS: [&str; 6] = [
    "GET /access/users",
    "GET /access/tfa",
    "GET /access/groups",
    "GET /access/roles",
    "GET /access/acl",
    "GET /access/domains",
];
