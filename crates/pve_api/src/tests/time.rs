use super::*;

#[test]
fn civil_round_trip() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    for days in (-800_000..800_000).step_by(997) {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
    }
}

#[test]
fn expire_never_and_epoch() {
    assert_eq!(parse_expire("0"), Ok(0));
    assert_eq!(parse_expire("never"), Ok(0));
    assert_eq!(parse_expire(" Never "), Ok(0));
    assert_eq!(parse_expire("1700000000"), Ok(1_700_000_000));
    assert_eq!(parse_expire("00"), Ok(0));
    assert!(parse_expire("-5")
        .unwrap_err()
        .contains("must not be negative"));
    assert!(parse_expire("99999999999999999999")
        .unwrap_err()
        .contains("too large"));
    for bad in ["", "soon", "1.5", "+5", "17e8", "2027-1", "2027-1-31"] {
        let e = parse_expire(bad).unwrap_err();
        assert!(e.starts_with(&format!("invalid expire '{bad}'")), "{e}");
    }
}

#[test]
fn expire_dates() {
    assert_eq!(parse_expire("2027-01-31"), Ok(1_801_353_600));
    assert_eq!(parse_expire("1970-01-02"), Ok(86_400));
    assert_eq!(parse_expire("2000-03-01"), Ok(951_868_800));
    // Leap years: 2024 and 2000 have a 29th of February, 2100 and 2027 not.
    assert_eq!(parse_expire("2024-02-29"), Ok(1_709_164_800));
    assert_eq!(parse_expire("2000-02-29"), Ok(951_782_400));
    assert!(parse_expire("2027-02-29")
        .unwrap_err()
        .contains("2027-02 has no day 29"));
    assert!(parse_expire("2100-02-29").is_err());
    assert!(parse_expire("2027-02-30").is_err());
    assert!(parse_expire("2027-04-31").is_err());
    assert!(parse_expire("2027-13-01")
        .unwrap_err()
        .contains("month 13 does not exist"));
    assert!(parse_expire("2027-00-10").is_err());
    assert!(parse_expire("2027-01-00").is_err());
    assert_eq!(parse_expire("2027-12-31"), Ok(1_830_211_200));
    // 0 would mean never.
    assert!(parse_expire("1970-01-01")
        .unwrap_err()
        .contains("after 1970-01-01"));
    assert!(parse_expire("1969-12-31").is_err());
}

#[test]
fn expire_rfc3339() {
    assert_eq!(parse_expire("2027-01-31T12:00:00Z"), Ok(1_801_396_800));
    assert_eq!(parse_expire("2027-01-31t12:00:00z"), Ok(1_801_396_800));
    assert_eq!(parse_expire("2027-01-31 12:00:00Z"), Ok(1_801_396_800));
    assert_eq!(parse_expire("2027-01-31T14:00:00+02:00"), Ok(1_801_396_800));
    assert_eq!(parse_expire("2027-01-31T14:00:00+0200"), Ok(1_801_396_800));
    assert_eq!(parse_expire("2027-01-31T07:30:00-04:30"), Ok(1_801_396_800));
    assert_eq!(parse_expire("2027-01-31T12:00:00.999Z"), Ok(1_801_396_800));
    // An offset can move the instant to another day.
    assert_eq!(
        parse_expire("2027-01-01T00:30:00+01:00"),
        parse_expire("2026-12-31T23:30:00Z")
    );
    assert_eq!(parse_expire("2016-12-31T23:59:60Z"), Ok(1_483_228_800));
    let e = parse_expire("2027-01-31T12:00:00").unwrap_err();
    assert!(e.contains("no UTC offset"), "{e}");
    for bad in [
        "2027-01-31T24:00:00Z",
        "2027-01-31T12:60:00Z",
        "2027-01-31T12:00:61Z",
        "2027-01-31T12:00Z",
        "2027-01-31T12:00:00.Z",
        "2027-01-31T12:00:00+24:00",
        "2027-01-31T12:00:00+01:60",
        "2027-01-31T12:00:00+1",
        "2027-01-31T12:00:00Zx",
        "2027-01-31X12:00:00Z",
        "2027-02-30T12:00:00Z",
    ] {
        assert!(parse_expire(bad).is_err(), "{bad}");
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration("14d"), Ok(14 * 86_400));
    assert_eq!(parse_duration("90d"), Ok(90 * 86_400));
    assert_eq!(parse_duration("12h"), Ok(43_200));
    assert_eq!(parse_duration("30m"), Ok(1_800));
    assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
    assert_eq!(parse_duration("3600s"), Ok(3_600));
    assert_eq!(parse_duration("3600"), Ok(3_600));
    assert_eq!(parse_duration(" 1w2d3h "), Ok(9 * 86_400 + 3 * 3600));
    assert_eq!(parse_duration("1D"), Ok(86_400));
    assert_eq!(parse_duration("0"), Ok(0));
    for bad in ["", "d", "14x", "14 d", "1.5d", "-1d", "d14", "14dd"] {
        let e = parse_duration(bad).unwrap_err();
        assert!(e.starts_with(&format!("invalid duration '{bad}'")), "{e}");
    }
    assert!(parse_duration("99999999999999999w").is_err());
}

#[test]
fn formatting() {
    assert_eq!(format_epoch(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_epoch(1_801_396_800), "2027-01-31T12:00:00Z");
    assert_eq!(format_epoch(1_709_164_800 + 3_661), "2024-02-29T01:01:01Z");
    assert_eq!(format_epoch(-1), "1969-12-31T23:59:59Z");
    for t in [86_400, 951_782_400, 1_801_396_800, 4_102_444_799] {
        assert_eq!(parse_expire(&format_epoch(t)), Ok(t));
    }
    assert!(now() > 1_700_000_000);
}

#[test]
fn diff_views_show_expire_as_a_date() {
    use serde_json::json;
    assert_eq!(
        expire_shown(json!({"expire": 0, "comment": "x"})),
        json!({"expire": "never (0)", "comment": "x"})
    );
    assert_eq!(
        expire_shown(json!({"expire": 1_801_396_800})),
        json!({"expire": "2027-01-31T12:00:00Z (1801396800)"})
    );
    // The `{}` of a resource that does not exist stays as it is.
    assert_eq!(expire_shown(json!({})), json!({}));
}
