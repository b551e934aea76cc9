//! Authentication as pveproxy does it (pve-http-server's
//! `AnyEvent.pm`, AC `AccessControl.pm`): tickets (`PVE:<user>:<hex
//! time>::<signature>`, 2 h lifetime, 5 min clock-skew grace), CSRF
//! prevention tokens bound to the user, and API tokens
//! (`PVEAPIToken=<user>@<realm>!<id>=<secret>`).
//!
//! Tickets and CSRF tokens are signed with HMAC-SHA256 keys generated when
//! the simulator starts (PVE signs tickets with RSA; clients treat the
//! signature as opaque), so tickets do not survive a restart.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use ring::hmac;
use ring::rand::SystemRandom;

use crate::ids;
use crate::model::{TokenSecrets, User, UserCfg};
use crate::perlstr;

/// Ticket lifetime (AC `$ticket_lifetime`).
pub const TICKET_LIFETIME: i64 = 2 * 3600;
/// Accepted clock skew (AC `$auth_graceperiod`).
pub const GRACE: i64 = 300;

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The signing keys of this simulator run.
pub struct Keys {
    ticket: hmac::Key,
    csrf: hmac::Key,
}

impl Keys {
    /// Fresh random keys.
    pub fn generate() -> Result<Keys, String> {
        let rng = SystemRandom::new();
        let ticket = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| "unable to generate the ticket key".to_string())?;
        let csrf = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| "unable to generate the CSRF key".to_string())?;
        Ok(Keys { ticket, csrf })
    }

    /// `assemble_ticket`: `PVE:<userid, ':' escaped>:<8 hex digits>::<signature>`.
    pub fn assemble_ticket(&self, userid: &str, timestamp: i64) -> String {
        let plain = format!("PVE:{}:{:08X}", userid.replace(':', "%3A"), timestamp);
        let sig = hmac::sign(&self.ticket, plain.as_bytes());
        format!("{plain}::{}", STANDARD.encode(sig.as_ref()))
    }

    /// `verify_ticket`: the user of a valid, unexpired ticket. The user name
    /// must be a valid userid, but need not exist (checked by the caller).
    pub fn verify_ticket(&self, ticket: &str, now: i64) -> Option<String> {
        let (plain, sig) = ticket.rsplit_once("::")?;
        if !plain.starts_with("PVE:")
            || plain.chars().any(char::is_whitespace)
            || sig.is_empty()
            || sig.contains(':')
            || sig.chars().any(char::is_whitespace)
        {
            return None;
        }
        let sig = STANDARD.decode(sig).ok()?;
        // The cookie's bytes, which were signed as the UTF-8 of the user id.
        hmac::verify(&self.ticket, &perlstr::bytes_of_text(plain), &sig).ok()?;
        let (data, ts) = plain.strip_prefix("PVE:")?.rsplit_once(':')?;
        let ttime = parse_hex8(ts)?;
        let age = now - ttime;
        if !(age > -GRACE && age < TICKET_LIFETIME) {
            return None;
        }
        // `%XX` escapes of the user part, on the ticket's bytes.
        let user = perlstr::chars_of_bytes(&perlstr::uri_unescape(&perlstr::bytes_of_text(data)));
        ids::verify_userid(&user).ok()?;
        Some(user)
    }

    /// `assemble_csrf_prevention_token`: `<8 hex digits>:<base64 HMAC>`.
    pub fn assemble_csrf(&self, userid: &str, timestamp: i64) -> String {
        let ts = format!("{timestamp:08X}");
        let sig = hmac::sign(&self.csrf, format!("{ts}:{userid}").as_bytes());
        format!("{ts}:{}", STANDARD_NO_PAD.encode(sig.as_ref()))
    }

    /// `verify_csrf_prevention_token` for the ticket's user.
    pub fn verify_csrf(&self, userid: &str, token: Option<&str>, now: i64) -> bool {
        let Some((ts, sig)) = token.and_then(|t| t.split_once(':')) else {
            return false;
        };
        let Some(ttime) = parse_hex8(ts) else {
            return false;
        };
        if sig.is_empty() || sig.chars().any(char::is_whitespace) {
            return false;
        }
        let expected = hmac::sign(
            &self.csrf,
            &perlstr::bytes_of_text(&format!("{ts}:{userid}")),
        );
        let age = now - ttime;
        STANDARD_NO_PAD.encode(expected.as_ref()) == sig && age > -GRACE && age < TICKET_LIFETIME
    }
}

/// `[A-Z0-9]{8}` read as hex (as Perl's `hex` would, non-hex digits fail here).
fn parse_hex8(s: &str) -> Option<i64> {
    if s.len() != 8
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return None;
    }
    i64::from_str_radix(s, 16).ok()
}

/// `check_user_exist`: the user, or PVE's message (format errors included).
pub fn check_user_exist<'a>(cfg: &'a UserCfg, userid: &str) -> Result<&'a User, String> {
    let userid = ids::verify_userid(userid)?.0;
    cfg.users
        .get(&userid)
        .ok_or_else(|| format!("no such user ('{userid}')\n"))
}

/// `check_user_enabled`: exists, enabled and not expired.
pub fn check_user_enabled<'a>(
    cfg: &'a UserCfg,
    userid: &str,
    now: i64,
) -> Result<&'a User, String> {
    let user = check_user_exist(cfg, userid)?;
    if !user.enable {
        return Err(format!("user '{userid}' is disabled\n"));
    }
    if user.expire != 0 && user.expire < now {
        return Err(format!("user '{userid}' access expired\n"));
    }
    Ok(user)
}

/// `verify_token`: the full token id of a valid `<tokenid>=<secret>` value,
/// or the reason PVE would log (the client only sees `Authentication failed!`).
pub fn verify_token(
    cfg: &UserCfg,
    secrets: &TokenSecrets,
    value: &str,
    now: i64,
) -> Result<String, String> {
    let Some((tokenid, secret)) = value.rsplit_once('=') else {
        return Err("no tokenid specified\n".to_string());
    };
    let (userid, token) = ids::split_tokenid(tokenid)?;
    let user = check_user_enabled(cfg, &userid, now)?;
    let info = user
        .tokens
        .get(&token)
        .ok_or_else(|| format!("no such token '{token}' for user '{userid}'\n"))?;
    if info.expire != 0 && info.expire < now {
        return Err(format!("token '{token}' access expired\n"));
    }
    match secrets.get(tokenid) {
        Some(s) if s == secret => Ok(tokenid.to_string()),
        _ => Err("invalid token value!\n".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets() {
        let k = Keys::generate().unwrap();
        let t = k.assemble_ticket("root@pam", 1_700_000_000);
        assert!(t.starts_with("PVE:root@pam:6553F100::"));
        assert_eq!(
            k.verify_ticket(&t, 1_700_000_000 + 10).as_deref(),
            Some("root@pam")
        );
        assert_eq!(k.verify_ticket(&t, 1_700_000_000 + TICKET_LIFETIME), None);
        assert_eq!(k.verify_ticket(&t, 1_700_000_000 - 301), None);
        let forged = t.replace("root@pam", "joe@pve");
        assert_eq!(k.verify_ticket(&forged, 1_700_000_000), None);
        let other = Keys::generate().unwrap();
        assert_eq!(other.verify_ticket(&t, 1_700_000_000), None);
    }

    #[test]
    fn csrf() {
        let k = Keys::generate().unwrap();
        let c = k.assemble_csrf("joe@pve", 1_700_000_000);
        assert!(c.starts_with("6553F100:"));
        assert!(!c.ends_with('='));
        assert!(k.verify_csrf("joe@pve", Some(&c), 1_700_000_100));
        assert!(!k.verify_csrf("max@pve", Some(&c), 1_700_000_100));
        assert!(!k.verify_csrf("joe@pve", Some(&c), 1_700_000_000 + TICKET_LIFETIME));
        assert!(!k.verify_csrf("joe@pve", None, 1_700_000_100));
    }
}
