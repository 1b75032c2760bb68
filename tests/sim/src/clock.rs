//! Timestamps without a date library: Unix seconds (amoCRM), KeyCRM's
//! `YYYY-MM-DD HH:MM:SS` and Bitrix24's ISO 8601 with an offset.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time, formatted as KeyCRM does.
pub(crate) fn now_utc() -> String {
    format_unix(unix_now())
}

/// The current time in whole seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The current time in fractional seconds since the Unix epoch.
pub(crate) fn unix_now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Formats seconds since the Unix epoch as ISO 8601 in UTC with an explicit offset,
/// `YYYY-MM-DDTHH:MM:SS+00:00`, as Bitrix24 writes dates.
pub(crate) fn format_iso8601(secs: i64) -> String {
    format!("{}+00:00", format_unix(secs).replacen(' ', "T", 1))
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn format_unix(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_formats_known_instants() {
        assert_eq!(format_unix(0), "1970-01-01 00:00:00");
        assert_eq!(format_unix(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(format_unix(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(format_unix(1_705_305_600), "2024-01-15 08:00:00");
        assert_eq!(format_unix(-1), "1969-12-31 23:59:59");
    }

    #[test]
    fn it_formats_iso8601_for_bitrix24() {
        assert_eq!(format_iso8601(1_700_000_000), "2023-11-14T22:13:20+00:00");
    }

    #[test]
    fn it_formats_now_in_the_keycrm_shape() {
        let now = now_utc();
        assert_eq!(now.len(), 19);
        assert!(now.starts_with("20"));
        assert_eq!(&now[10..11], " ");
    }
}
