//! Exact money from the decimal numbers CRMs put in JSON.
//!
//! CRM APIs send prices as JSON numbers (`1299.5`). Going through `f64`
//! arithmetic would turn `0.1 + 0.2` into `0.30000000000000004`, so prices are
//! parsed from their decimal text into integer minor units instead.

use crate::Money;

/// Parses a decimal string (`"1299.5"`, `"-3"`, `"12.999"`) into units of
/// `10^-scale`, rounding half away from zero past `scale` digits. `None` for
/// anything that is not a finite decimal number or does not fit in an `i64`.
pub fn parse_minor_units(text: &str, scale: u8) -> Option<i64> {
    let text = text.trim();
    if text.contains(['e', 'E']) {
        // Exponent notation only shows up for huge or tiny values; an f64
        // carries them as exactly as the CRM could have.
        let value: f64 = text.parse().ok()?;
        let scaled = (value * 10f64.powi(i32::from(scale))).round();
        return (scaled.is_finite() && scaled.abs() < 9.0e18).then_some(scaled as i64);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = usize::from(scale);
    let mut units: i64 = 0;
    for b in int_part.bytes() {
        units = units.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    let frac = frac_part.as_bytes();
    for i in 0..scale {
        let digit = frac.get(i).map_or(0, |b| i64::from(b - b'0'));
        units = units.checked_mul(10)?.checked_add(digit)?;
    }
    if frac.get(scale).is_some_and(|b| *b >= b'5') {
        units = units.checked_add(1)?;
    }
    Some(if negative { -units } else { units })
}

/// Money from a JSON number or numeric string, at `scale` decimal places.
pub fn from_json(value: &serde_json::Value, scale: u8, currency: &str) -> Option<Money> {
    let text = match value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => return None,
    };
    Some(Money {
        minor_units: parse_minor_units(&text, scale)?,
        scale,
        currency: currency.to_string(),
    })
}

/// Renders money as a plain decimal string (`129950`, scale 2 → `"1299.50"`),
/// the form CRM APIs accept in JSON bodies.
pub fn to_decimal_string(money: &Money) -> String {
    let scale = u32::from(money.scale);
    if scale == 0 {
        return money.minor_units.to_string();
    }
    let divisor = 10u64.pow(scale);
    let abs = money.minor_units.unsigned_abs();
    let sign = if money.minor_units < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:0width$}",
        abs / divisor,
        abs % divisor,
        width = scale as usize
    )
}

/// Money as a JSON number with exactly its decimal digits (`1299.5`), for
/// APIs that want a number rather than a string.
pub fn to_json_number(money: &Money) -> serde_json::Value {
    let text = to_decimal_string(money);
    serde_json::from_str::<serde_json::Number>(&text)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_minor_units("1299.5", 2), Some(129_950));
        assert_eq!(parse_minor_units("1299.50", 2), Some(129_950));
        assert_eq!(parse_minor_units("100", 2), Some(10_000));
        assert_eq!(parse_minor_units("0.1", 2), Some(10));
        assert_eq!(parse_minor_units("-3.07", 2), Some(-307));
        assert_eq!(parse_minor_units(".5", 2), Some(50));
        assert_eq!(parse_minor_units("12.345", 2), Some(1_235));
        assert_eq!(parse_minor_units("12.344", 2), Some(1_234));
        assert_eq!(parse_minor_units("1e3", 2), Some(100_000));
    }

    #[test]
    fn rejects_garbage_and_overflow() {
        assert_eq!(parse_minor_units("", 2), None);
        assert_eq!(parse_minor_units("12,5", 2), None);
        assert_eq!(parse_minor_units("abc", 2), None);
        assert_eq!(parse_minor_units(".", 2), None);
        assert_eq!(parse_minor_units("99999999999999999999", 2), None);
    }

    #[test]
    fn renders_decimal_strings() {
        let m = |minor_units, scale| Money {
            minor_units,
            scale,
            currency: "UAH".into(),
        };
        assert_eq!(to_decimal_string(&m(129_950, 2)), "1299.50");
        assert_eq!(to_decimal_string(&m(-7, 2)), "-0.07");
        assert_eq!(to_decimal_string(&m(42, 0)), "42");
        assert_eq!(to_json_number(&m(129_950, 2)).to_string(), "1299.5");
        assert_eq!(to_json_number(&m(10_000, 2)).to_string(), "100.0");
    }

    #[test]
    fn json_numbers_keep_their_digits() {
        let v: serde_json::Value = serde_json::from_str("0.29").unwrap_or_default();
        assert_eq!(from_json(&v, 2, "UAH").map(|m| m.minor_units), Some(29));
    }
}
