//! PVE's calendar events (`format => 'pve-calendar-event'`, the `schedule`
//! of jobs): systemd-like `[WEEKDAYS] [[YYYY-]MM-DD] [HH:MM[:SS]]`, parsed
//! by proxmox-time's Rust parser on a real PVE (`Proxmox::RS::CalendarEvent`).
//!
//! What is simulated: the named events (`minutely`, `hourly`, `daily`,
//! `weekly`, `monthly`, `yearly`/`annually`, `quarterly`,
//! `semiannually`/`semi-annually`); weekday lists and ranges (`mon..fri`,
//! `sat,sun`, full names too); dates with or without year; times with or
//! without seconds, a lone value being the minute (`*/15`, `30/10`); and in
//! each of them `*`, values, `a..b` ranges, `a/r` and `*/r` repetitions and
//! comma lists, range-checked. Simplified: the `~` (days from a month's end)
//! and time-zone suffixes are refused; a refusal says only `unable to parse
//! calendar event` where proxmox-time names the parser error; and the next
//! run is computed in UTC (PVE uses the node's local time).
//!
//! ```
//! use pve_sim::calendar::Event;
//! let ev = Event::parse("mon..fri 02:30").unwrap();
//! // Thursday 1970-01-01 00:00 UTC: next at 02:30 the same day.
//! assert_eq!(ev.next_after(0), Some(2 * 3600 + 30 * 60));
//! assert!(Event::parse("noon").is_err());
//! ```

/// One field's values: items `start..=end` every `step`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field(Vec<(u32, u32, u32)>);

impl Field {
    fn any(max: u32) -> Field {
        Field(vec![(0, max, 1)])
    }

    fn one(v: u32) -> Field {
        Field(vec![(v, v, 1)])
    }

    fn matches(&self, v: u32) -> bool {
        self.0
            .iter()
            .any(|&(start, end, step)| v >= start && v <= end && (v - start) % step == 0)
    }

    /// A comma list of `*`, `v`, `a..b`, `v/r`, `*/r`, `a..b/r` within `min..=max`.
    fn parse(text: &str, min: u32, max: u32) -> Result<Field, String> {
        let mut items = Vec::new();
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => (r, Some(number(s)?)),
                None => (item, None),
            };
            let (start, end) = if range == "*" {
                (min, max)
            } else if let Some((a, b)) = range.split_once("..") {
                (number(a)?, number(b)?)
            } else {
                let v = number(range)?;
                (v, if step.is_some() { max } else { v })
            };
            if start < min || end > max || start > end {
                return Err(format!("value '{range}' out of range"));
            }
            let step = step.unwrap_or(1);
            if step == 0 || step > max {
                return Err(format!("repetition '{step}' out of range"));
            }
            items.push((start, end, step));
        }
        Ok(Field(items))
    }
}

fn number(text: &str) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 4 {
        return Err(String::new());
    }
    text.parse().map_err(|_| String::new())
}

const WEEKDAYS: [(&str, &str); 7] = [
    ("sun", "sunday"),
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
];

fn weekday(name: &str) -> Option<u32> {
    WEEKDAYS
        .iter()
        .position(|(short, long)| name == *short || name == *long)
        .map(|i| i as u32)
}

/// A parsed calendar event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// 0 = Sunday.
    weekdays: [bool; 7],
    years: Field,
    months: Field,
    days: Field,
    hours: Field,
    minutes: Field,
    seconds: Field,
}

impl Event {
    /// Parses `text` as PVE does; `Err` is the message after `invalid
    /// calendar event '<text>' - `, with PVE's trailing newline.
    pub fn parse(text: &str) -> Result<Event, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("unable to parse calendar event - event is empty\n".into());
        }
        let named = match text {
            "minutely" => Some("*:*"),
            "hourly" => Some("*:0"),
            "daily" => Some("0:0"),
            "weekly" => Some("mon 0:0"),
            "monthly" => Some("*-1 0:0"),
            "yearly" | "annually" => Some("1-1 0:0"),
            "quarterly" => Some("1,4,7,10-1 0:0"),
            "semiannually" | "semi-annually" => Some("1,7-1 0:0"),
            _ => None,
        };
        Event::parse_parts(named.unwrap_or(text))
            .map_err(|e| match e.is_empty() {
                true => "unable to parse calendar event".to_string(),
                false => e,
            })
            .map_err(|e| format!("{e}\n"))
    }

    fn parse_parts(text: &str) -> Result<Event, String> {
        let mut parts = text.split_whitespace().peekable();
        let mut event = Event {
            weekdays: [true; 7],
            years: Field::any(9999),
            months: Field::any(12),
            days: Field::any(31),
            hours: Field::one(0),
            minutes: Field::one(0),
            seconds: Field::one(0),
        };
        let mut seen = false;
        if let Some(p) = parts.next_if(|p| p.starts_with(|c: char| c.is_ascii_alphabetic())) {
            event.weekdays = [false; 7];
            for item in p.split(',') {
                let (a, b) = item.split_once("..").unwrap_or((item, item));
                let (a, b) = (weekday(a).ok_or("")?, weekday(b).ok_or("")?);
                // A range may wrap around the week (`sat..mon`).
                let mut d = a;
                loop {
                    event.weekdays[d as usize] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            seen = true;
        }
        if let Some(p) = parts.next_if(|p| p.contains('-')) {
            let comps: Vec<&str> = p.split('-').collect();
            let (year, month, day) = match comps.as_slice() {
                [y, m, d] => (Some(*y), *m, *d),
                [m, d] => (None, *m, *d),
                _ => return Err(String::new()),
            };
            if let Some(y) = year {
                event.years = Field::parse(y, 1970, 9999)?;
            }
            event.months = Field::parse(month, 1, 12)?;
            event.days = Field::parse(day, 1, 31)?;
            seen = true;
        }
        if let Some(p) = parts.next() {
            let comps: Vec<&str> = p.split(':').collect();
            match comps.as_slice() {
                [m] => {
                    event.hours = Field::any(23);
                    event.minutes = Field::parse(m, 0, 59)?;
                }
                [h, m] => {
                    event.hours = Field::parse(h, 0, 23)?;
                    event.minutes = Field::parse(m, 0, 59)?;
                }
                [h, m, s] => {
                    event.hours = Field::parse(h, 0, 23)?;
                    event.minutes = Field::parse(m, 0, 59)?;
                    event.seconds = Field::parse(s, 0, 59)?;
                }
                _ => return Err(String::new()),
            }
            seen = true;
        }
        if !seen || parts.next().is_some() {
            return Err(String::new());
        }
        Ok(event)
    }

    /// The first time after `last` (epoch seconds) the event happens, in
    /// UTC; `None` when it never does within the next eight years (a date
    /// that does not exist, a year gone by).
    pub fn next_after(&self, last: i64) -> Option<i64> {
        let first_day = last.div_euclid(86_400);
        for day in first_day..first_day + 8 * 366 {
            let (y, m, d) = civil_from_days(day);
            let wd = (day + 4).rem_euclid(7) as usize;
            let date_ok = self.weekdays[wd]
                && u32::try_from(y).is_ok_and(|y| self.years.matches(y))
                && self.months.matches(m)
                && self.days.matches(d);
            if !date_ok {
                continue;
            }
            for h in (0..24).filter(|h| self.hours.matches(*h)) {
                for mi in (0..60).filter(|mi| self.minutes.matches(*mi)) {
                    for s in (0..60).filter(|s| self.seconds.matches(*s)) {
                        let t = day * 86_400 + i64::from(h * 3600 + mi * 60 + s);
                        if t > last {
                            return Some(t);
                        }
                    }
                }
            }
        }
        None
    }
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The `pve-calendar-event` format check: PVE's message on failure.
pub fn verify(text: &str) -> Result<(), String> {
    Event::parse(text)
        .map(|_| ())
        .map_err(|e| format!("invalid calendar event '{text}' - {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-02 (a Wednesday) 10:07:30 UTC.
    const WED: i64 = 1_796_169_600 + 10 * 3600 + 7 * 60 + 30;

    fn next(ev: &str, after: i64) -> i64 {
        Event::parse(ev).unwrap().next_after(after).unwrap()
    }

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(WED.div_euclid(86_400)), (2026, 12, 2));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn common_schedules() {
        let day = WED - WED.rem_euclid(86_400);
        assert_eq!(next("daily", WED), day + 86_400);
        assert_eq!(next("hourly", WED), day + 11 * 3600);
        assert_eq!(next("*:00", WED), day + 11 * 3600);
        assert_eq!(next("*/15", WED), day + 10 * 3600 + 15 * 60);
        assert_eq!(next("mon..fri 02:30", WED), day + 86_400 + 2 * 3600 + 1800);
        assert_eq!(next("sat 03:00", WED), day + 3 * 86_400 + 3 * 3600);
        assert_eq!(next("weekly", WED), day + 5 * 86_400);
        assert_eq!(next("monthly", WED), 1_798_761_600); // 2027-01-01
        assert_eq!(next("sat..mon 0:0", WED), day + 3 * 86_400);
        assert_eq!(next("12,14:5/20", WED), day + 12 * 3600 + 5 * 60);
        assert_eq!(
            next("*-12-24 18:00:30", WED),
            day + 22 * 86_400 + 18 * 3600 + 30
        );
    }

    #[test]
    fn refusals_say_what_pve_says() {
        assert_eq!(
            verify("").unwrap_err(),
            "invalid calendar event '' - unable to parse calendar event - event is empty\n\n"
        );
        for bad in [
            "noon",
            "25:00",
            "mon..fri 2:60",
            "*/0",
            "mon x",
            "1:2:3:4",
            "daily 3",
        ] {
            let e = verify(bad).unwrap_err();
            assert!(
                e.starts_with(&format!("invalid calendar event '{bad}' - ")),
                "{e}"
            );
        }
        assert!(verify("25:00")
            .unwrap_err()
            .contains("value '25' out of range"));
        assert_eq!(Event::parse("2000-02-30").unwrap().next_after(WED), None);
    }
}
