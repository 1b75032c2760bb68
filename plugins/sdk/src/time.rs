//! Calendar time for CRM requests.

/// `YYYY-MM-DD HH:MM:SS` for a Unix time in milliseconds, UTC: the format
/// most CRM date filters take. A time outside ±9999 years is clamped to the
/// nearest representable one.
pub fn utc_datetime(unix_ms: i64) -> String {
    let t = jiff::Timestamp::from_millisecond(unix_ms).unwrap_or(if unix_ms < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    });
    // The civil date-time in UTC, printed as `YYYY-MM-DD HH:MM:SS`
    // (jiff's own printer is smaller in a plugin than its strftime).
    let dt = jiff::tz::Offset::UTC.to_datetime(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(utc_datetime(1_709_251_199_000), "2024-02-29 23:59:59");
        assert_eq!(utc_datetime(-1_000), "1969-12-31 23:59:59");
    }
}
