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

/// `money` at a larger `scale` (more decimal digits); `None` when the scale
/// would shrink or the amount overflows.
pub fn rescale(money: &Money, scale: u8) -> Option<Money> {
    let extra = scale.checked_sub(money.scale)?;
    let factor = 10i64.checked_pow(u32::from(extra))?;
    Some(Money {
        minor_units: money.minor_units.checked_mul(factor)?,
        scale,
        currency: money.currency.clone(),
    })
}

/// `money × quantity`, exactly; `None` on overflow.
pub fn times(money: &Money, quantity: u32) -> Option<Money> {
    Some(Money {
        minor_units: money.minor_units.checked_mul(i64::from(quantity))?,
        scale: money.scale,
        currency: money.currency.clone(),
    })
}

/// The exact sum, at the largest scale among the amounts. `None` for an
/// empty list, for mixed currencies (there is no rate to convert at) and on
/// overflow.
pub fn sum<'a>(amounts: impl IntoIterator<Item = &'a Money>) -> Option<Money> {
    let amounts: Vec<&Money> = amounts.into_iter().collect();
    let first = amounts.first()?;
    if amounts
        .iter()
        .any(|m| !m.currency.eq_ignore_ascii_case(&first.currency))
    {
        return None;
    }
    let scale = amounts.iter().map(|m| m.scale).max()?;
    let mut total: i64 = 0;
    for amount in &amounts {
        total = total.checked_add(rescale(amount, scale)?.minor_units)?;
    }
    Some(Money {
        minor_units: total,
        scale,
        currency: first.currency.clone(),
    })
}

/// The amount in units of `10^-scale`, rounded half away from zero when
/// digits are dropped (`1299.50` at scale 0 is `1300`); `None` on overflow.
/// For CRMs whose fields take whole currency units only.
pub fn round_to_scale(money: &Money, scale: u8) -> Option<i64> {
    if scale >= money.scale {
        return rescale(money, scale).map(|m| m.minor_units);
    }
    let divisor = 10i64.checked_pow(u32::from(money.scale - scale))?;
    let quotient = money.minor_units / divisor;
    let remainder = (money.minor_units % divisor).abs();
    let adjust = if remainder * 2 >= divisor {
        money.minor_units.signum()
    } else {
        0
    };
    quotient.checked_add(adjust)
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

    #[test]
    fn sums_and_multiplies_exactly() {
        let m = |minor_units, scale, currency: &str| Money {
            minor_units,
            scale,
            currency: currency.into(),
        };
        let line = times(&m(129_950, 2, "UAH"), 2).unwrap_or_else(|| m(0, 0, ""));
        assert_eq!(line.minor_units, 259_900);
        let total = sum([&line, &m(250, 0, "UAH"), &m(1, 3, "uah")]);
        assert_eq!(
            total.map(|t| (t.minor_units, t.scale)),
            Some((2_849_001, 3))
        );
        assert!(sum([&m(1, 2, "UAH"), &m(1, 2, "USD")]).is_none());
        assert!(sum(std::iter::empty()).is_none());
        assert!(times(&m(i64::MAX, 2, "UAH"), 2).is_none());
    }

    #[test]
    fn rounds_half_away_from_zero() {
        let m = |minor_units| Money {
            minor_units,
            scale: 2,
            currency: "UAH".into(),
        };
        assert_eq!(round_to_scale(&m(129_950), 0), Some(1_300));
        assert_eq!(round_to_scale(&m(129_949), 0), Some(1_299));
        assert_eq!(round_to_scale(&m(-150), 0), Some(-2));
        assert_eq!(round_to_scale(&m(284_900), 0), Some(2_849));
        assert_eq!(round_to_scale(&m(5), 3), Some(50));
    }
}
