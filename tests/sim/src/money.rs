//! Money kept in kopecks and rendered the ways the CRMs write it.

use serde_json::Value;

/// Renders kopecks as a JSON number in hryvnias: `129950` is `1299.5`, `10000` is `100`.
pub(crate) fn money(kopecks: i64) -> Value {
    if kopecks % 100 == 0 {
        return Value::from(kopecks / 100);
    }
    // Going through the decimal text gives the shortest f64 with at most two decimals.
    decimal_text(kopecks)
        .parse::<f64>()
        .map_or(Value::Null, Value::from)
}

/// Renders kopecks as text with exactly two decimals: `129950` is `"1299.50"`.
pub(crate) fn decimal_text(kopecks: i64) -> String {
    let sign = if kopecks < 0 { "-" } else { "" };
    let abs = kopecks.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_renders_money_with_at_most_two_decimals() {
        assert_eq!(money(129_950).to_string(), "1299.5");
        assert_eq!(money(14_999).to_string(), "149.99");
        assert_eq!(money(10_000).to_string(), "100");
        assert_eq!(money(1).to_string(), "0.01");
        assert_eq!(money(-250).to_string(), "-2.5");
        assert_eq!(money(0).to_string(), "0");
    }

    #[test]
    fn it_renders_decimal_text_with_two_decimals() {
        assert_eq!(decimal_text(129_950), "1299.50");
        assert_eq!(decimal_text(54_900), "549.00");
        assert_eq!(decimal_text(-5), "-0.05");
    }
}
