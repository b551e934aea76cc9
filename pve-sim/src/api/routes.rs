//! Which function answers which method of the API schema. A schema method
//! without an entry here answers `501 Method '<M> <uri>' not implemented`
//! (TFA and OpenID logins are not simulated).

use serde_json::Value;

use super::errors::ApiResult;
use super::{
    acl, domains, groups, misc, permissions, pools, roles, sync_jobs, tasks, ticket, tokens, users,
    Call,
};

/// An endpoint: validated call in, `data` out.
pub type Endpoint = fn(&Call) -> ApiResult<Value>;

/// The endpoint of `method` on the schema path template `path`.
pub fn endpoint(method: &str, path: &str) -> Option<Endpoint> {
    let f: Endpoint = match (method, path) {
        ("GET", "/version") => misc::version,
        ("GET", "/access") => misc::index,
        ("GET", "/access/domains") => domains::index,
        ("POST", "/access/domains") => domains::create,
        ("GET", "/access/domains/{realm}") => domains::read,
        ("PUT", "/access/domains/{realm}") => domains::update,
        ("DELETE", "/access/domains/{realm}") => domains::delete,
        ("POST", "/access/domains/{realm}/sync") => domains::sync,
        ("GET", "/access/ticket") => ticket::get_ticket,
        ("POST", "/access/ticket") => ticket::create_ticket,
        ("PUT", "/access/password") => ticket::change_password,
        ("GET", "/access/users") => users::index,
        ("POST", "/access/users") => users::create,
        ("GET", "/access/users/{userid}") => users::read,
        ("PUT", "/access/users/{userid}") => users::update,
        ("DELETE", "/access/users/{userid}") => users::delete,
        ("GET", "/access/users/{userid}/token") => tokens::index,
        ("GET", "/access/users/{userid}/token/{tokenid}") => tokens::read,
        ("POST", "/access/users/{userid}/token/{tokenid}") => tokens::generate,
        ("PUT", "/access/users/{userid}/token/{tokenid}") => tokens::update,
        ("DELETE", "/access/users/{userid}/token/{tokenid}") => tokens::remove,
        ("GET", "/access/groups") => groups::index,
        ("POST", "/access/groups") => groups::create,
        ("GET", "/access/groups/{groupid}") => groups::read,
        ("PUT", "/access/groups/{groupid}") => groups::update,
        ("DELETE", "/access/groups/{groupid}") => groups::delete,
        ("GET", "/access/roles") => roles::index,
        ("POST", "/access/roles") => roles::create,
        ("GET", "/access/roles/{roleid}") => roles::read,
        ("PUT", "/access/roles/{roleid}") => roles::update,
        ("DELETE", "/access/roles/{roleid}") => roles::delete,
        ("GET", "/access/acl") => acl::read,
        ("PUT", "/access/acl") => acl::update,
        ("GET", "/access/permissions") => permissions::read,
        ("GET", "/nodes/{node}/tasks") => tasks::list,
        ("GET", "/nodes/{node}/tasks/{upid}") => tasks::index,
        ("GET", "/nodes/{node}/tasks/{upid}/log") => tasks::log,
        ("GET", "/nodes/{node}/tasks/{upid}/status") => tasks::status,
        ("GET", "/pools") => pools::index,
        ("POST", "/pools") => pools::create,
        ("PUT", "/pools" | "/pools/{poolid}") => pools::update,
        ("GET", "/pools/{poolid}") => pools::read,
        ("DELETE", "/pools" | "/pools/{poolid}") => pools::delete,
        ("GET", "/cluster/resources") => pools::resources,
        ("GET", "/cluster/jobs/realm-sync") => sync_jobs::index,
        ("GET", "/cluster/jobs/realm-sync/{id}") => sync_jobs::read,
        ("POST", "/cluster/jobs/realm-sync/{id}") => sync_jobs::create,
        ("PUT", "/cluster/jobs/realm-sync/{id}") => sync_jobs::update,
        ("DELETE", "/cluster/jobs/realm-sync/{id}") => sync_jobs::delete,
        _ => return None,
    };
    Some(f)
}
