//! `pve_pool`: the Ansible module that manages one Proxmox VE resource
//! pool, its comment and its members (guests and storages), as `pveum pool
//! add/modify/delete` does, idempotently through the PVE API. Pools are what
//! `/pool/<id>` ACL entries (pve.access.pve_acl) grant on.
//!
//! `vms` and `storage` replace the pool's members, or with `append: true`
//! only add; left out, they are left alone. Members to add must exist and
//! be visible to the login (`GET /cluster/resources`), checked before the
//! first write, also in check mode (no task of this collection creates
//! guests or storages). A guest is in one pool at most: one that is in
//! another pool moves only with `allow_move: true` (PVE's `allow-move`).
//! PVE deletes only empty pools: `state: absent` refuses a pool that holds
//! members unless `remove_members: true`, and one that holds nested pools.
//!
//! Nested pools (`parent/child`, up to three levels) and the `/pools`
//! API with `poolid` as a parameter came with PVE 8.1; on an older server
//! (told by a `400` to that read, then `GET /version`) the module uses
//! `/pools/{poolid}` and top-level pools.
//!
//! Requests: one `GET /pools?poolid=` for a run that changes nothing;
//! `GET /cluster/resources` only when members are added, `GET /pools` only
//! to delete; then one `POST` to create, one `PUT` to add members and set
//! the comment, one `PUT` with `delete=1` to take members out, one `DELETE`.
//!
//! ```yaml
//! - name: The web team's pool
//!   pve.access.pve_pool:
//!     poolid: web
//!     comment: web servers
//!     vms: [100, 101]
//!     storage: [local-lvm]
//! ```

pub mod plan;

use ansible_module::{Failure, Kind, Map, Module, Opt, Spec, Value};
use pve_api::{access, ApiError, ApiRequest, Client};
use pve_module::{carry_out, Resource, State, Step};

use plan::{Cluster, Desired, Pool, Settle, Shape};

/// The options of one pool.
pub fn options() -> Spec {
    Spec::new([
        Opt::str("poolid").required().aliases(&["name", "pool"]),
        Opt::str("comment"),
        Opt::list("vms").elements(Kind::Int),
        Opt::list("storage").elements(Kind::Str),
        Opt::bool("append").default(false),
        Opt::bool("allow_move").default(false),
        Opt::bool("remove_members").default(false),
        State::option(),
    ])
}

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    options().with(pve_api::connection_options())
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let desired = Desired::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    let (shape, current) = read_pool_and_shape(&client, &desired.poolid)?;
    let cluster = if desired.needs_cluster(current.as_ref()) {
        Some(read_cluster(&client)?)
    } else {
        None
    };
    let subpools = if desired.state == State::Absent && current.is_some() {
        plan::subpools(&desired.poolid, &pool_ids(&client)?)
    } else {
        Vec::new()
    };
    let plan = plan::plan(
        &desired,
        current.as_ref(),
        cluster.as_ref(),
        &subpools,
        shape,
        m.check_mode,
    )?;
    let pool = PoolResource {
        poolid: desired.poolid,
        shape,
    };
    carry_out(m, &client, &pool, plan)
}

/// The pool (`None` when it does not exist) through the API shape the
/// server has: `GET /pools?poolid=` first; a `400` to that (a server before
/// PVE 8.1 does not know the parameter) sends the module to `GET /version`.
pub fn read_pool_and_shape(
    client: &Client,
    poolid: &str,
) -> Result<(Shape, Option<Pool>), ApiError> {
    match read_pool(client, Shape::Param, poolid) {
        Err(e) if e.status == Some(400) => {
            let version = access::version(client)?;
            match Shape::of_version(&version) {
                Some(Shape::Path) => Ok((Shape::Path, read_pool(client, Shape::Path, poolid)?)),
                _ => Err(e),
            }
        }
        other => Ok((Shape::Param, other?)),
    }
}

/// One pool through `shape`, `None` when it does not exist.
pub fn read_pool(client: &Client, shape: Shape, poolid: &str) -> Result<Option<Pool>, ApiError> {
    let req = shape.read(poolid);
    match client.send(&req) {
        Ok(v) => Pool::from_json(poolid, &v)
            .map(Some)
            .map_err(|e| unexpected(&req, e)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The guests and storages the login can see (`GET /cluster/resources`).
pub fn read_cluster(client: &Client) -> Result<Cluster, ApiError> {
    let req = ApiRequest::get("/cluster/resources");
    let data = client.send(&req)?;
    Cluster::from_json(&data).map_err(|e| unexpected(&req, e))
}

/// The ids of the pools the login can see.
pub fn pool_ids(client: &Client) -> Result<Vec<String>, ApiError> {
    let req = ApiRequest::get("/pools");
    let data = client.send(&req)?;
    data.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|p| p["poolid"].as_str().map(str::to_string))
                .collect()
        })
        .ok_or_else(|| unexpected(&req, format!("expected a list, got {data}")))
}

fn unexpected(req: &ApiRequest, why: String) -> ApiError {
    ApiError::unexpected(
        req.method.as_str(),
        &req.path,
        format!("unexpected answer: {why}"),
    )
}

/// The pool the task manages.
pub struct PoolResource {
    pub poolid: String,
    pub shape: Shape,
}

impl Resource for PoolResource {
    type Settle = Settle;
    const KEY: &'static str = "pool";

    fn settled(&self, c: &Client, settle: &Settle) -> Result<bool, ApiError> {
        Ok(settle.met_by(read_pool(c, self.shape, &self.poolid)?.as_ref()))
    }

    fn needs(&self, step: &Step<Settle>) -> String {
        let id = &self.poolid;
        let members =
            step.request.value("vms").is_some() || step.request.value("storage").is_some();
        if members {
            format!(
                "changing a pool's members needs Pool.Allocate on /pool/{id} and, on each member, VM.Allocate on /vms/<id> or Datastore.Allocate on /storage/<id> (or Permissions.Modify there); moving a guest also needs Pool.Allocate on the pool it leaves"
            )
        } else {
            format!("creating, changing and deleting a pool needs Pool.Allocate on /pool/{id}")
        }
    }
}
