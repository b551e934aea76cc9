//! Authentication and passwords by realm type, as PVE's auth plugins behave
//! (AC `Auth/PVE.pm`, `Auth/PAM.pm`, `Auth/LDAP.pm`, `Auth/AD.pm`,
//! `Auth/OpenId.pm`): `pve` keeps SHA-crypt hashes in `priv/shadow.cfg`
//! keyed by the name without realm; `pam` knows exactly one Linux user,
//! `root`, whose password is the simulator's root password; an LDAP or AD
//! realm would bind to its directory server, which the simulator does not
//! have, so its users cannot log in; an OpenID realm takes no passwords.
//! The realms are those of `domains.cfg` ([`crate::domains`]).

use super::secrets;
use super::Api;
use crate::domains::Realms;
use crate::ids;
use crate::model::Shadow;

/// `$plugin->authenticate_user(...)` after the realm lookup; `Err` holds
/// the plugin's message.
pub fn authenticate(
    api: &Api,
    realms: &Realms,
    shadow: &Shadow,
    realm: &str,
    name: &str,
    password: &str,
) -> Result<(), String> {
    let Some(kind) = realms.kind(realm) else {
        return Err(format!("auth domain '{realm}' does not exist\n"));
    };
    match kind {
        "pve" => {
            if !ids::truthy(password) {
                return Err("no password\n".to_string());
            }
            match shadow.get(name) {
                None => Err("no password set\n".to_string()),
                Some(hash) if secrets::verify_password(password, hash) => Ok(()),
                Some(_) => Err("invalid credentials\n".to_string()),
            }
        }
        "pam" => {
            if !ids::truthy(password) {
                return Err("no password\n".to_string());
            }
            if name != "root" {
                return Err("User not known to the underlying authentication module\n".to_string());
            }
            if api.root_password_matches(password) {
                Ok(())
            } else {
                Err("Authentication failure\n".to_string())
            }
        }
        "openid" => Err("OpenID realm does not allow password verification.\n".to_string()),
        _ => Err(format!(
            "{kind} realm '{realm}': the simulator has no directory server to bind to\n"
        )),
    }
}

/// `domain_set_password`: stores a new password for `name@realm`.
pub fn store_password(
    api: &Api,
    realms: &Realms,
    shadow: &mut Shadow,
    realm: &str,
    name: &str,
    password: &str,
) -> Result<(), String> {
    let Some(kind) = realms.kind(realm) else {
        return Err(format!("auth domain '{realm}' does not exist\n"));
    };
    match kind {
        "pve" => {
            shadow.insert(name.to_string(), secrets::hash_password(password)?);
            Ok(())
        }
        "pam" if name == "root" => {
            api.set_root_password(password);
            Ok(())
        }
        // `usermod` fails: the simulator has no other Linux users. (PVE's
        // message shows the new hash; it is masked here.)
        "pam" => Err(format!(
            "change password failed: command 'usermod -p ******** {name}' failed: exit code 6\n"
        )),
        other => Err(format!("can't set password on auth type '{other}'\n")),
    }
}

/// `$plugin->delete_user(...)`: the pve realm forgets the password.
pub fn delete_user(realms: &Realms, shadow: &mut Shadow, realm: &str, name: &str) {
    if realms.kind(realm) == Some("pve") {
        shadow.remove(name);
    }
}
