//! `pve_realm`: the Ansible module that manages one Proxmox VE
//! authentication realm (`pveum realm add/modify/delete`, done idempotently
//! through the PVE API): LDAP, Active Directory and OpenID Connect realms,
//! and the settings of the built-in `pam` and `pve` realms.
//!
//! Options are PVE's realm options with `-` turned into `_`; options left out are left as they are, `""` removes one.
//! Everything is checked before the first request: the realm id, the type,
//! that every option given is one the type has (PVE's plugins, per
//! release), the values PVE's schema limits. A new realm needs its type and
//! the type's required options; a change of type, or of an option PVE fixes
//! at creation (`username_claim`), is refused before any write with what to
//! do instead (delete and create again).
//!
//! Secrets: the LDAP/AD bind password (`password`, kept by PVE in
//! `priv/realm/<realm>.pw`) and the OpenID client key (`client_key`) are
//! sent when the realm is created; with `update_secret: always` the client
//! key also when it differs, and the bind password on every run (PVE never
//! shows it, so it cannot be compared; the module warns). They never appear
//! in the output: views and diffs show `(set)` or `(changed)`.
//!
//! Requests: one `GET /access/domains/{realm}` for a run that changes
//! nothing (plus `GET /version` when an option needs a newer release); then
//! at most one write, which carries the digest PVE handed out, so a realm
//! changed by someone else in between is not overwritten.
//!
//! ```yaml
//! - name: The company directory
//!   pve.access.pve_realm:
//!     realm: corp
//!     type: ldap
//!     server1: ldap.example.com
//!     base_dn: ou=people,dc=example,dc=com
//!     user_attr: uid
//!     bind_dn: cn=pve,dc=example,dc=com
//!     password: "{{ vault_ldap_bind_password }}"
//!     mode: ldaps
//!     verify: true
//! ```

pub mod plan;

use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
use pve_api::{access, self_lockout, ApiError, Client};
use pve_module::{carry_out, Resource, State, Step};

use plan::{Desired, Settle, OPTIONS, SECRETS, TYPES};

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    let mut opts = vec![
        Opt::str("realm").required().aliases(&["name", "realmid"]),
        Opt::str("type").choices(&TYPES),
    ];
    opts.extend(OPTIONS.iter().map(plan::OptionDef::spec));
    opts.extend(SECRETS.iter().map(|(name, ..)| Opt::str(name).no_log()));
    opts.extend([
        Opt::str("update_secret")
            .choices(&["on_create", "always"])
            .default("on_create")
            .not_secret(),
        State::option(),
        self_lockout::option(),
    ]);
    Spec::new(opts).with(pve_api::connection_options())
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let desired = Desired::from_params(&m.params)?;
    for s in desired.secrets.values() {
        m.hide(&s.0);
    }
    let client = Client::connect(&m.params)?;
    let current = access::get_realm(&client, &desired.realm)?;
    if desired.needs_version() {
        desired.check_version(&access::version(&client)?)?;
    }
    self_lockout::enforce(
        &client,
        &m.params,
        &plan::lockout_changes(&desired, current.as_ref()),
    )?;
    let plan = plan::plan(&desired, current.as_ref(), m.check_mode)?;
    let realm = RealmResource {
        realm: desired.realm,
    };
    carry_out(m, &client, &realm, plan)
}

/// The realm the task manages.
struct RealmResource {
    realm: String,
}

impl Resource for RealmResource {
    type Settle = Settle;
    const KEY: &'static str = "realm";

    fn settled(&self, c: &Client, settle: &Settle) -> Result<bool, ApiError> {
        Ok(settle.met_by(access::get_realm(c, &self.realm)?.as_ref()))
    }

    fn needs(&self, _: &Step<Settle>) -> String {
        "creating, changing and deleting realms needs Realm.Allocate on /access/realm".into()
    }
}
