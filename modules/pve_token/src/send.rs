//! Sending a token's plan, and handing over the secret a creation or a
//! regeneration brings the moment it arrives, so that it is in the result
//! even when a later step fails. A creation whose answer (with the secret)
//! was lost is settled by reading the token back; no one can hold that
//! secret, so a new one is issued at once, before the plan's other steps.

use ansible_module::{Failure, Module, Value};
use pve_api::access;
use pve_api::{ApiError, Client};
use pve_module::{apply, words, Progress};

use crate::plan::{self, Edit, Step};
use crate::TokenResource;

/// Why sending stopped before the last step.
enum Stop {
    /// A write failed; the message says what was done and what was not.
    Failed(Failure),
    /// The answer that held the new secret was lost in transit, though the
    /// write happened.
    SecretLost,
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Stop {
        Stop::Failed(f)
    }
}

/// Why a token whose first secret was lost has no secret to hand over.
enum LostSecret {
    /// Reading the token back failed.
    Unreadable(ApiError),
    /// The token has been deleted since it was created.
    Disappeared,
    /// Issuing a new secret failed.
    NotIssued(Failure),
    /// The answer with the new secret was lost too.
    LostAgain,
}

impl LostSecret {
    /// The failure of the run: the token was created, so `changed`;
    /// `not_done`: the plan's steps left.
    fn failure(self, full: &str, not_done: &[String]) -> Failure {
        let mut extra = ansible_module::Map::new();
        let why = match self {
            LostSecret::Unreadable(e) => format!("reading it back failed: {e}"),
            LostSecret::Disappeared => "it has disappeared since".to_string(),
            LostSecret::NotIssued(f) => {
                extra = f.extra;
                format!("issuing a new one failed: {}", f.msg)
            }
            LostSecret::LostAgain => "lost again while a new one was issued".to_string(),
        };
        let mut msg = format!(
            "token '{full}' exists, but the answer holding its secret was lost in transit and PVE never shows a secret again ({why})"
        );
        if !not_done.is_empty() {
            msg.push_str(&format!(". Not done: {}", not_done.join("; ")));
        }
        msg.push_str("; run this task again with regenerate: true to issue a new secret");
        let mut f = Failure::new(msg);
        f.extra = extra;
        f.with("changed", true)
    }
}

/// Where in the result a new secret is handed over: `secret` and
/// `api_token` under these keys (none: at the top, as pve_token does).
pub type Place<'a> = &'a [&'a str];

/// The result keys of a secret at `place`, as a playbook reads them:
/// `secret, api_token`, or `secrets['joe@pve!ci'].secret, ….api_token`.
fn keys_text(place: Place) -> String {
    let mut path = String::new();
    for (i, key) in place.iter().enumerate() {
        path.push_str(&if i == 0 {
            key.to_string()
        } else {
            format!("['{key}']")
        });
    }
    if path.is_empty() {
        "secret, api_token".to_string()
    } else {
        format!("{path}.secret, {path}.api_token")
    }
}

/// Sends `steps` in order, counting what was done in `progress` (shared
/// with the run's other writes). Returns whether the secret was issued a
/// second time because the answer to the creation was lost. A failure
/// after the secret arrived says that the result holds it.
pub fn send(
    m: &mut Module,
    client: &Client,
    token: &TokenResource,
    steps: &[Step],
    progress: &mut Progress,
    place: Place,
) -> Result<bool, Failure> {
    let mut handed_over = false;
    let sent = send_recovering(m, client, token, steps, progress, place, &mut handed_over);
    sent.map_err(|mut f| {
        if handed_over {
            f.msg.push_str(&format!(
                ". The token's new secret is in this result ({}): keep it",
                keys_text(place)
            ));
        }
        f
    })
}

fn send_recovering(
    m: &mut Module,
    client: &Client,
    token: &TokenResource,
    steps: &[Step],
    progress: &mut Progress,
    place: Place,
    handed_over: &mut bool,
) -> Result<bool, Failure> {
    let full = token.id.full();
    let mut pending = steps.to_vec();
    let mut reissued = false;
    loop {
        let mut answered = 0;
        let sent = apply(client, token, &pending, progress, |step, answer| {
            answered += 1;
            if !step.settle.brings_secret() {
                return Ok(());
            }
            let secret = answer
                .get("value")
                .and_then(Value::as_str)
                .ok_or(Stop::SecretLost)?;
            hand_over(m, &full, secret, place);
            *handed_over = true;
            Ok(())
        });
        let later = progress.later.clone();
        let rest = |from: usize| -> Vec<String> {
            pending[from..]
                .iter()
                .map(|s| words(token, s))
                .chain(later.iter().cloned())
                .collect()
        };
        match sent {
            Ok(()) => return Ok(reissued),
            // A failed write says itself what is left.
            Err(Stop::Failed(f)) if reissued && !*handed_over => {
                return Err(LostSecret::NotIssued(f).failure(&full, &[]))
            }
            Err(Stop::Failed(f)) => return Err(f),
            Err(Stop::SecretLost) if reissued => {
                return Err(LostSecret::LostAgain.failure(&full, &rest(answered)))
            }
            Err(Stop::SecretLost) => {
                let again =
                    reissue(client, token).map_err(|lost| lost.failure(&full, &rest(answered)))?;
                pending = again.into_iter().chain(pending.drain(answered..)).collect();
                reissued = true;
            }
        }
    }
}

/// Returns the secret under `secret` and `api_token` at `place`, also when
/// a later step fails, and nowhere else.
fn hand_over(m: &mut Module, full: &str, secret: &str, place: Place) {
    let at = |key| place.iter().copied().chain([key]).collect::<Vec<&str>>();
    m.reveal(&at("secret"), secret);
    m.reveal(&at("api_token"), &format!("{full}={secret}"));
    if !m.no_log {
        m.warn(format!(
            "the result holds the secret of token '{full}' ({}): set no_log: true on this task so that it stays out of Ansible's output and logs",
            keys_text(place)
        ));
    }
}

/// The steps that give the token as it is now a new secret, the way a
/// regeneration does.
fn reissue(client: &Client, token: &TokenResource) -> Result<Vec<Step>, LostSecret> {
    let id = &token.id;
    let current = access::get_token(client, &id.userid, &id.name)
        .map_err(LostSecret::Unreadable)?
        .ok_or(LostSecret::Disappeared)?;
    let server = crate::read_server(client, id, true)
        .map_err(|e| LostSecret::NotIssued(Failure::from(e)))?;
    let edit = Edit::new(current.clone(), current);
    Ok(plan::regenerate_steps(id, &edit, &server))
}
