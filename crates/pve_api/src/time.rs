//! Times as the modules take them: expiry dates of users and tokens
//! ([`parse_expire`]: `0`/`never`, epoch seconds, `YYYY-MM-DD`, RFC 3339),
//! durations such as `14d` ([`parse_duration`]) and epoch seconds printed as
//! RFC 3339 for messages ([`format_epoch`]).
//!
//! Plain proleptic-Gregorian arithmetic on days since 1970-01-01 (no time
//! zone database is needed: every input carries its UTC offset).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in a day.
pub const DAY: i64 = 86_400;
const EXPIRE_FORMS: &str =
    "expected 0 or never, epoch seconds, a date YYYY-MM-DD (midnight UTC) or an RFC 3339 time such as 2027-01-31T12:00:00Z";

/// Days from 1970-01-01 to the given date (Howard Hinnant's
/// `days_from_civil`); `month` 1..=12, `day` 1..=31, any year.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count from 1970-01-01: `(year, month, day)`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both fit: day is 1..=31 and month 1..=12 by construction.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads exactly `n` ASCII digits at the front of `s`.
fn digits(s: &[u8], n: usize) -> Option<(u32, &[u8])> {
    if s.len() < n || !s[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = s[..n]
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Some((v, &s[n..]))
}

fn byte(s: &[u8], b: u8) -> Option<&[u8]> {
    s.strip_prefix(&[b])
}

/// Parses `YYYY-MM-DD` at the front of `s`: days since 1970-01-01 and the rest.
fn date(s: &[u8]) -> Result<(i64, &[u8]), String> {
    let parsed = (|| {
        let (y, s) = digits(s, 4)?;
        let s = byte(s, b'-')?;
        let (m, s) = digits(s, 2)?;
        let s = byte(s, b'-')?;
        let (d, s) = digits(s, 2)?;
        Some((i64::from(y), m, d, s))
    })();
    let (y, m, d, rest) = parsed.ok_or_else(|| EXPIRE_FORMS.to_string())?;
    if !(1..=12).contains(&m) {
        return Err(format!("month {m:02} does not exist"));
    }
    if d < 1 || d > days_in_month(y, m) {
        return Err(format!("{y:04}-{m:02} has no day {d:02}"));
    }
    Ok((days_from_civil(y, m, d), rest))
}

/// Parses `HH:MM:SS[.fraction]` and the zone `Z` / `±HH:MM` (`±HHMM` too):
/// seconds since midnight, UTC offset in seconds.
fn time_and_zone(s: &[u8]) -> Result<(i64, i64), String> {
    let (h, m, sec, rest) = (|| {
        let (h, s) = digits(s, 2)?;
        let s = byte(s, b':')?;
        let (m, s) = digits(s, 2)?;
        let s = byte(s, b':')?;
        let (sec, mut s) = digits(s, 2)?;
        if let Some(frac) = byte(s, b'.') {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            // Fractions of a second are dropped: PVE counts whole seconds.
            s = &frac[n..];
        }
        Some((h, m, sec, s))
    })()
    .ok_or_else(|| EXPIRE_FORMS.to_string())?;
    // 60 is a leap second, which RFC 3339 allows.
    if h > 23 || m > 59 || sec > 60 {
        return Err(format!("{h:02}:{m:02}:{sec:02} is not a time of day"));
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (oh, z) = digits(zone, 2).ok_or_else(|| EXPIRE_FORMS.to_string())?;
            let z = byte(z, b':').unwrap_or(z);
            let (om, z) = digits(z, 2).ok_or_else(|| EXPIRE_FORMS.to_string())?;
            if !z.is_empty() {
                return Err(EXPIRE_FORMS.to_string());
            }
            if oh > 23 || om > 59 {
                return Err(format!("UTC offset {oh:02}:{om:02} is out of range"));
            }
            let off = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        [] => {
            return Err(
                "the time has no UTC offset: add Z or +HH:MM (such as 2027-01-31T12:00:00Z)"
                    .to_string(),
            )
        }
        _ => return Err(EXPIRE_FORMS.to_string()),
    };
    Ok((i64::from(h * 3600 + m * 60 + sec), offset))
}

/// Parses an expiry as the modules accept it and returns epoch seconds, 0
/// meaning "never": `0` or `never`, epoch seconds, a date `YYYY-MM-DD`
/// (midnight UTC), or an RFC 3339 time (`2027-01-31T12:00:00Z`,
/// `2027-01-31T14:00:00+02:00`; a space instead of `T` and fractions of a
/// second are accepted). A date must lie after 1970-01-01T00:00:00Z, since 0
/// would mean "never".
pub fn parse_expire(text: &str) -> Result<i64, String> {
    let s = text.trim();
    let fail = |why: String| format!("invalid expire '{text}': {why}");
    if s == "0" || s.eq_ignore_ascii_case("never") {
        return Ok(0);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .map_err(|_| fail("the number is too large".to_string()));
    }
    if let Some(n) = s.strip_prefix('-') {
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail(
                "epoch seconds must not be negative (0 or never means no expiry)".to_string(),
            ));
        }
    }
    let (days, rest) = date(s.as_bytes()).map_err(fail)?;
    let epoch = match rest {
        [] => days * DAY,
        [b'T' | b't' | b' ', time @ ..] => {
            let (secs, offset) = time_and_zone(time).map_err(fail)?;
            days * DAY + secs - offset
        }
        _ => return Err(fail(EXPIRE_FORMS.to_string())),
    };
    if epoch <= 0 {
        return Err(fail(
            "the time must be after 1970-01-01T00:00:00Z (0 or never means no expiry)".to_string(),
        ));
    }
    Ok(epoch)
}

/// Parses a duration into seconds: a number with a unit `s`, `m`, `h`, `d` or
/// `w` (`14d`, `12h`, `3600s`), several of them (`1w2d`), or a plain number of
/// seconds (`3600`).
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let s = text.trim();
    let fail = || {
        format!(
            "invalid duration '{text}': expected a number with a unit s, m, h, d or w (such as 14d, 12h or 90d), or seconds"
        )
    };
    if s.is_empty() {
        return Err(fail());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().map_err(|_| fail());
    }
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(fail());
        }
        let value: i64 = rest[..n].parse().map_err(|_| fail())?;
        let mut unit_chars = rest[n..].chars();
        let unit = match unit_chars.next().map(|c| c.to_ascii_lowercase()) {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            Some('d') => DAY,
            Some('w') => 7 * DAY,
            _ => return Err(fail()),
        };
        total = value
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(fail)?;
        rest = unit_chars.as_str();
    }
    Ok(total)
}

/// A user or token view as its diff shows it: `expire` (epoch seconds) as
/// a date with the epoch, `2027-01-31T12:00:00Z (1801396800)`, or `never
/// (0)`, since people read a diff. The module's result keeps the number.
pub fn expire_shown(mut view: serde_json::Value) -> serde_json::Value {
    if let Some(expire) = view.get_mut("expire") {
        if let Some(e) = expire.as_i64() {
            let date = if e == 0 {
                "never".to_string()
            } else {
                format_epoch(e)
            };
            *expire = serde_json::Value::String(format!("{date} ({e})"));
        }
    }
    view
}

/// Epoch seconds as RFC 3339 in UTC, such as `2027-01-31T12:00:00Z`.
pub fn format_epoch(epoch: i64) -> String {
    let days = epoch.div_euclid(DAY);
    let secs = epoch.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The current time in epoch seconds (0 if the clock is before 1970).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
#[path = "tests/time.rs"]
mod tests;
