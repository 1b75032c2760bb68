//! Escaping, measuring and cutting text for Telegram, and rendering money.
//!
//! Telegram measures message and caption lengths in UTF-16 code units
//! (4096 for a message, 1024 for a caption, 200 for a callback answer), and
//! parses messages sent with `parse_mode = HTML` strictly: a stray `<` or `&`
//! makes the whole send fail. Everything here is pure and never panics.

use std::borrow::Cow;
use std::fmt;

use crate::i18n::Locale;
use switchboard_crm::Money;

/// The most UTF-16 code units Telegram accepts in a message text.
pub const MESSAGE_MAX_UTF16: usize = 4096;
/// The most UTF-16 code units Telegram accepts in a media caption.
pub const CAPTION_MAX_UTF16: usize = 1024;
/// The most characters of a callback-query answer (a toast) Telegram shows.
pub const CALLBACK_ANSWER_MAX_CHARS: usize = 200;
/// The longest inline-button label we produce, in characters; longer labels
/// are cut by Telegram clients anyway, and unpredictably.
pub const BUTTON_LABEL_MAX_CHARS: usize = 64;
/// What replaces the cut-off end of a text.
pub const ELLIPSIS: char = '…';

// CLDR's Ukrainian number format groups with a no-break space, and a
// no-break space before the currency keeps "₴" from wrapping to a new line.
const NBSP: char = '\u{a0}';

/// Escapes `&`, `<`, `>` and `"` for Telegram's HTML parse mode.
///
/// `"` is escaped too so that the result is also safe inside an attribute
/// value (`<a href="…">`).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The length of `s` as Telegram counts it: UTF-16 code units.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Cuts `s` to at most `max_chars` characters (Unicode scalar values),
/// ending a cut text with `…`.
///
/// The result is borrowed when nothing was cut. A cut never separates a
/// character from the combining marks, variation selectors, emoji modifiers
/// or zero-width joiner sequences that follow it (see [`fit_utf16`]).
pub fn truncate_chars(s: &str, max_chars: usize) -> Cow<'_, str> {
    if s.chars().nth(max_chars).is_none() {
        return Cow::Borrowed(s);
    }
    if max_chars == 0 {
        return Cow::Borrowed("");
    }
    // Room for the ellipsis: keep max_chars - 1 characters at most.
    let end = s
        .char_indices()
        .nth(max_chars - 1)
        .map_or(s.len(), |(i, _)| i);
    Cow::Owned(cut_with_ellipsis(s, end))
}

/// Cuts `s` so that it takes at most `max_units` UTF-16 code units, ending
/// a cut text with `…` (one unit). Use it with [`MESSAGE_MAX_UTF16`] and
/// [`CAPTION_MAX_UTF16`].
///
/// A cut never splits a surrogate pair (it works on whole characters), and
/// backs off so as not to separate a character from what visually belongs
/// to it: combining marks (`й` written as `и` + U+0306), variation
/// selectors, emoji skin-tone modifiers, zero-width-joiner sequences
/// (`👩‍💻`) and regional-indicator pairs (flags). This is an approximation of
/// Unicode grapheme clusters that covers Latin, Cyrillic and emoji.
pub fn fit_utf16(s: &str, max_units: usize) -> String {
    if utf16_len(s) <= max_units {
        return s.to_owned();
    }
    if max_units == 0 {
        return String::new();
    }
    let budget = max_units - ELLIPSIS.len_utf16();
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        end = i + c.len_utf8();
    }
    cut_with_ellipsis(s, end)
}

/// `s[..end]` moved back to a grapheme-ish boundary, trailing whitespace
/// dropped, plus the ellipsis. `end` must be a char boundary of `s`.
fn cut_with_ellipsis(s: &str, end: usize) -> String {
    let end = grapheme_boundary_at_or_before(s, end);
    let kept = s.get(..end).unwrap_or_default().trim_end();
    let mut out = String::with_capacity(kept.len() + ELLIPSIS.len_utf8());
    out.push_str(kept);
    out.push(ELLIPSIS);
    out
}

/// The greatest index `<= end` where cutting `s` does not separate a
/// character from what extends it (0 when the whole head is one cluster).
fn grapheme_boundary_at_or_before(s: &str, end: usize) -> usize {
    let mut idx = end;
    while idx > 0 && idx < s.len() && !is_grapheme_boundary(s, idx) {
        idx = s
            .get(..idx)
            .and_then(|head| head.char_indices().next_back())
            .map_or(0, |(i, _)| i);
    }
    idx
}

fn is_grapheme_boundary(s: &str, idx: usize) -> bool {
    let (Some(head), Some(tail)) = (s.get(..idx), s.get(idx..)) else {
        return true;
    };
    let (Some(prev), Some(next)) = (head.chars().next_back(), tail.chars().next()) else {
        return true;
    };
    if is_extending(next) || prev == ZWJ {
        return false;
    }
    if is_regional_indicator(prev) && is_regional_indicator(next) {
        // Flags are pairs: a boundary only after an even run of indicators.
        let run = head
            .chars()
            .rev()
            .take_while(|&c| is_regional_indicator(c))
            .count();
        return run % 2 == 0;
    }
    true
}

const ZWJ: char = '\u{200d}';

/// Characters that attach to the one before them.
fn is_extending(c: char) -> bool {
    matches!(
        u32::from(c),
        0x0300..=0x036F     // combining diacritical marks
        | 0x0483..=0x0489   // combining Cyrillic
        | 0x1AB0..=0x1AFF   // combining diacritical marks extended
        | 0x1DC0..=0x1DFF   // combining diacritical marks supplement
        | 0x200C..=0x200D   // zero-width non-joiner and joiner
        | 0x20D0..=0x20FF   // combining marks for symbols (keycap U+20E3)
        | 0xFE00..=0xFE0F   // variation selectors (emoji presentation)
        | 0xFE20..=0xFE2F   // combining half marks
        | 0x1F3FB..=0x1F3FF // emoji skin-tone modifiers
        | 0xE0020..=0xE007F // tag characters (subdivision flags)
        | 0xE0100..=0xE01EF // variation selectors supplement
    )
}

fn is_regional_indicator(c: char) -> bool {
    matches!(u32::from(c), 0x1F1E6..=0x1F1FF)
}

/// Renders money exactly (from minor units, never through floats) the way
/// a customer of `locale` expects.
///
/// - Ukrainian: `1 299,50 ₴`, `1 299,50 USD` (no-break spaces, U+00A0).
/// - English: `₴1,299.50`, `USD 1,299.50` (a no-break space after a code).
///
/// Hryvnia is shown as `₴`; every other currency by its code. Scale 0 has
/// no decimals; any scale up to 255 is exact.
pub fn format_money(money: &Money, locale: Locale) -> String {
    let (group, decimal) = match locale {
        Locale::Uk => (NBSP, ','),
        Locale::En => (',', '.'),
    };
    let number = format_decimal(money.minor_units, money.scale, group, decimal);
    let sign = if money.minor_units < 0 { "-" } else { "" };
    let code = money.currency.trim();
    let symbol = currency_symbol(code);
    match (locale, symbol) {
        (_, None) if code.is_empty() => format!("{sign}{number}"),
        (Locale::Uk, Some(symbol)) => format!("{sign}{number}{NBSP}{symbol}"),
        (Locale::Uk, None) => format!("{sign}{number}{NBSP}{code}"),
        (Locale::En, Some(symbol)) => format!("{sign}{symbol}{number}"),
        (Locale::En, None) => format!("{sign}{code}{NBSP}{number}"),
    }
}

fn currency_symbol(code: &str) -> Option<&'static str> {
    code.eq_ignore_ascii_case("UAH").then_some("₴")
}

/// `|minor_units| / 10^scale` as digits with the given separators, no sign.
fn format_decimal(minor_units: i64, scale: u8, group: char, decimal: char) -> String {
    let scale = usize::from(scale);
    let mut digits = minor_units.unsigned_abs().to_string();
    if digits.len() <= scale {
        // Leading zeros so that at least one integer digit remains.
        let pad = scale + 1 - digits.len();
        digits.insert_str(0, &"0".repeat(pad));
    }
    let (int, frac) = digits.split_at(digits.len() - scale);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(group);
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(decimal);
        out.push_str(frac);
    }
    out
}

/// A distance for a customer: one decimal below 10 km (`4,7` / `4.7`),
/// whole kilometres from 10 km on (`469`). Not-a-number renders as `?`.
pub fn format_distance_km(km: f64, locale: Locale) -> String {
    if !km.is_finite() {
        return "?".to_owned();
    }
    let text = if km.abs() < 9.95 {
        format!("{km:.1}")
    } else {
        format!("{km:.0}")
    };
    match locale {
        Locale::Uk => text.replace('.', ","),
        Locale::En => text,
    }
}

/// An inline-button label for a product: `"name • price"`, at most
/// `max_chars` characters in all (use [`BUTTON_LABEL_MAX_CHARS`]).
///
/// The name is put on one line (line breaks and runs of whitespace become a
/// single space) and cut with `…` so that the price always stays whole;
/// only when the price alone does not fit is the whole label cut.
pub fn button_label(name: &str, price: &Money, locale: Locale, max_chars: usize) -> String {
    const SEPARATOR: &str = " • ";
    let name = single_line(name);
    let price = format_money(price, locale);
    if name.is_empty() {
        return truncate_chars(&price, max_chars).into_owned();
    }
    let fixed = SEPARATOR.chars().count() + price.chars().count();
    if fixed >= max_chars {
        let whole = format!("{name}{SEPARATOR}{price}");
        return truncate_chars(&whole, max_chars).into_owned();
    }
    let name = truncate_chars(&name, max_chars - fixed);
    format!("{name}{SEPARATOR}{price}")
}

/// `s` with every run of whitespace and control characters replaced by one
/// space, trimmed.
fn single_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Why a text would be refused by Telegram's HTML parse mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HtmlError {
    /// A `&` that does not start a `&name;` or `&#123;` entity.
    #[error("unescaped `&` at byte {0}")]
    BareAmpersand(usize),
    /// A `>` outside of a tag.
    #[error("unescaped `>` at byte {0}")]
    BareGreaterThan(usize),
    /// A `<` whose tag never closes with `>`.
    #[error("unterminated tag at byte {0}")]
    UnterminatedTag(usize),
    /// A tag Telegram does not support.
    #[error("unsupported tag `{tag}` at byte {at}")]
    UnsupportedTag {
        /// The tag's name as written.
        tag: String,
        /// Where the tag starts.
        at: usize,
    },
    /// A closing tag that does not match the innermost open one.
    #[error("`</{tag}>` at byte {at} closes nothing open")]
    UnbalancedClose {
        /// The closing tag's name.
        tag: String,
        /// Where the closing tag starts.
        at: usize,
    },
    /// A tag left open at the end.
    #[error("`<{0}>` is never closed")]
    Unclosed(String),
}

/// The tags Telegram's HTML parse mode understands.
const TELEGRAM_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
];

/// Checks that `s` would be accepted by Telegram's HTML parse mode: only
/// supported tags, properly nested and closed, and no bare `&`, `<`, `>`.
///
/// Attribute values are not checked beyond being inside the tag.
pub fn validate_html(s: &str) -> Result<(), HtmlError> {
    let bytes = s.as_bytes();
    let mut open: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'&' => {
                let len = entity_len(&s[i..]).ok_or(HtmlError::BareAmpersand(i))?;
                i += len;
            }
            b'>' => return Err(HtmlError::BareGreaterThan(i)),
            b'<' => {
                let close = s[i..].find('>').ok_or(HtmlError::UnterminatedTag(i))?;
                let inner = &s[i + 1..i + close];
                let (closing, inner) = match inner.strip_prefix('/') {
                    Some(rest) => (true, rest),
                    None => (false, inner),
                };
                let name = inner
                    .split(|c: char| c.is_ascii_whitespace())
                    .next()
                    .unwrap_or_default();
                let known: &str = TELEGRAM_TAGS
                    .iter()
                    .copied()
                    .find(|t| t.eq_ignore_ascii_case(name))
                    .ok_or_else(|| HtmlError::UnsupportedTag {
                        tag: name.to_owned(),
                        at: i,
                    })?;
                if closing {
                    if open.pop() != Some(known) {
                        return Err(HtmlError::UnbalancedClose {
                            tag: name.to_owned(),
                            at: i,
                        });
                    }
                } else {
                    open.push(known);
                }
                i += close + 1;
            }
            _ => i += 1,
        }
    }
    match open.pop() {
        Some(tag) => Err(HtmlError::Unclosed(tag.to_owned())),
        None => Ok(()),
    }
}

/// The byte length of the entity `s` starts with (`&amp;`, `&#39;`,
/// `&#x1F600;`), if it is one.
fn entity_len(s: &str) -> Option<usize> {
    // The longest entity Telegram knows is `&#x10FFFF;` (10 bytes).
    let semi = s.bytes().take(12).position(|b| b == b';')?;
    let body = s.get(1..semi)?;
    let valid = if let Some(hex) = body.strip_prefix("#x").or_else(|| body.strip_prefix("#X")) {
        !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())
    } else if let Some(dec) = body.strip_prefix('#') {
        !dec.is_empty() && dec.chars().all(|c| c.is_ascii_digit())
    } else {
        !body.is_empty() && body.chars().all(|c| c.is_ascii_alphabetic())
    };
    valid.then_some(semi + 1)
}

/// Displays a [`Money`] with [`format_money`]: `format!("{}", Localized(&m, l))`.
#[derive(Debug, Clone, Copy)]
pub struct Localized<'a>(
    /// The amount.
    pub &'a Money,
    /// The customer's locale.
    pub Locale,
);

impl fmt::Display for Localized<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_money(self.0, self.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(minor_units: i64, scale: u8, currency: &str) -> Money {
        Money {
            minor_units,
            scale,
            currency: currency.to_owned(),
        }
    }

    fn unescape_html(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    }

    #[test]
    fn escape_html_escapes_the_four_characters() {
        assert_eq!(
            escape_html(r#"<b>Tom & "Jerry"</b>"#),
            "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"
        );
        assert_eq!(escape_html("Ціна: 5 ₴ 'ok'"), "Ціна: 5 ₴ 'ok'");
        assert_eq!(escape_html("&amp;"), "&amp;amp;");
        assert_eq!(escape_html(""), "");
    }

    #[test]
    fn utf16_len_counts_code_units() {
        assert_eq!(utf16_len(""), 0);
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("Київ"), 4);
        assert_eq!(utf16_len("😀"), 2);
        assert_eq!(utf16_len("👩\u{200d}💻"), 5);
    }

    #[test]
    fn truncate_chars_keeps_short_text_borrowed() {
        let s = "Футболка";
        assert!(matches!(truncate_chars(s, 8), Cow::Borrowed("Футболка")));
        assert!(matches!(truncate_chars(s, 100), Cow::Borrowed(_)));
        assert!(matches!(truncate_chars("", 0), Cow::Borrowed("")));
    }

    #[test]
    fn truncate_chars_cuts_with_ellipsis() {
        assert_eq!(truncate_chars("Футболка базова", 9), "Футболка…");
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
        assert_eq!(truncate_chars("abcdef", 1), "…");
        assert_eq!(truncate_chars("abcdef", 0), "");
        assert_eq!(truncate_chars("ab cdef", 4), "ab…");
    }

    #[test]
    fn truncate_chars_does_not_split_combining_marks() {
        // "й" as и + combining breve: cutting between them would show "и".
        let s = "ми\u{306} тест";
        assert_eq!(truncate_chars(s, 3), "м…");
        assert_eq!(truncate_chars(s, 4), "ми\u{306}…");
    }

    #[test]
    fn fit_utf16_cuts_to_code_units() {
        assert_eq!(fit_utf16("hello", 5), "hello");
        assert_eq!(fit_utf16("hello", 4), "hel…");
        assert_eq!(fit_utf16("hello", 1), "…");
        assert_eq!(fit_utf16("hello", 0), "");
        // 😀 takes two units: "a😀b" is 4 units; in 3 only "a…" fits.
        assert_eq!(fit_utf16("a😀b", 3), "a…");
        assert_eq!(fit_utf16("a😀bc", 4), "a😀…");
        let long = "я".repeat(5000);
        let fitted = fit_utf16(&long, MESSAGE_MAX_UTF16);
        assert_eq!(utf16_len(&fitted), MESSAGE_MAX_UTF16);
        assert!(fitted.ends_with('…'));
    }

    #[test]
    fn fit_utf16_keeps_emoji_sequences_whole() {
        // 👩‍💻 is 👩 ZWJ 💻; a cut after the ZWJ or before it must drop all.
        let s = "ab👩\u{200d}💻cd";
        assert_eq!(fit_utf16(s, 6), "ab…");
        assert_eq!(fit_utf16(s, 7), "ab…");
        assert_eq!(fit_utf16(s, 8), "ab👩\u{200d}💻…");
        // A thumbs-up with a skin tone: the modifier stays with its base.
        assert_eq!(fit_utf16("x👍\u{1f3fd}y", 4), "x…");
        // Flags are pairs of regional indicators.
        let flags = "🇺🇦🇵🇱";
        assert_eq!(fit_utf16(flags, 7), "🇺🇦…");
        assert_eq!(fit_utf16(flags, 6), "🇺🇦…");
        assert_eq!(fit_utf16(flags, 5), "🇺🇦…");
        assert_eq!(fit_utf16(flags, 4), "…");
        // ❤️ is ❤ + VS16.
        assert_eq!(fit_utf16("a❤\u{fe0f}b", 3), "a…");
    }

    #[test]
    fn cutting_one_long_cluster_leaves_only_the_ellipsis() {
        assert_eq!(fit_utf16(&"\u{301}".repeat(10), 5), "…");
        assert_eq!(truncate_chars("👩\u{200d}💻!", 3), "…");
    }

    #[test]
    fn money_in_ukrainian() {
        assert_eq!(
            format_money(&money(129_950, 2, "UAH"), Locale::Uk),
            "1\u{a0}299,50\u{a0}₴"
        );
        assert_eq!(
            format_money(&money(6_000, 2, "UAH"), Locale::Uk),
            "60,00\u{a0}₴"
        );
        assert_eq!(format_money(&money(5, 2, "UAH"), Locale::Uk), "0,05\u{a0}₴");
        assert_eq!(
            format_money(&money(-129_905, 2, "UAH"), Locale::Uk),
            "-1\u{a0}299,05\u{a0}₴"
        );
        assert_eq!(
            format_money(&money(1_234_567_890, 2, "USD"), Locale::Uk),
            "12\u{a0}345\u{a0}678,90\u{a0}USD"
        );
        assert_eq!(
            format_money(&money(1500, 0, "JPY"), Locale::Uk),
            "1\u{a0}500\u{a0}JPY"
        );
        assert_eq!(
            format_money(&money(999, 0, "UAH"), Locale::Uk),
            "999\u{a0}₴"
        );
    }

    #[test]
    fn money_in_english() {
        assert_eq!(
            format_money(&money(129_950, 2, "UAH"), Locale::En),
            "₴1,299.50"
        );
        assert_eq!(
            format_money(&money(-129_950, 2, "UAH"), Locale::En),
            "-₴1,299.50"
        );
        assert_eq!(
            format_money(&money(100_000, 2, "EUR"), Locale::En),
            "EUR\u{a0}1,000.00"
        );
        assert_eq!(
            format_money(&money(1_000_000, 0, "JPY"), Locale::En),
            "JPY\u{a0}1,000,000"
        );
        assert_eq!(format_money(&money(0, 2, "uah"), Locale::En), "₴0.00");
        assert_eq!(format_money(&money(7, 3, ""), Locale::En), "0.007");
    }

    #[test]
    fn money_extremes_are_exact() {
        assert_eq!(
            format_money(&money(i64::MIN, 2, "UAH"), Locale::En),
            "-₴92,233,720,368,547,758.08"
        );
        assert_eq!(
            format_money(&money(i64::MAX, 0, "UAH"), Locale::En),
            "₴9,223,372,036,854,775,807"
        );
        assert_eq!(
            format_money(&money(1, 20, "X"), Locale::En),
            "X\u{a0}0.00000000000000000001"
        );
        assert_eq!(
            Localized(&money(150, 2, "UAH"), Locale::Uk).to_string(),
            "1,50\u{a0}₴"
        );
    }

    #[test]
    fn distances() {
        assert_eq!(format_distance_km(4.74, Locale::Uk), "4,7");
        assert_eq!(format_distance_km(4.74, Locale::En), "4.7");
        assert_eq!(format_distance_km(0.0, Locale::En), "0.0");
        assert_eq!(format_distance_km(9.96, Locale::En), "10");
        assert_eq!(format_distance_km(468.6, Locale::Uk), "469");
        assert_eq!(format_distance_km(f64::NAN, Locale::Uk), "?");
    }

    #[test]
    fn button_label_keeps_the_price_whole() {
        let price = money(129_950, 2, "UAH");
        assert_eq!(
            button_label("Футболка", &price, Locale::Uk, BUTTON_LABEL_MAX_CHARS),
            "Футболка • 1\u{a0}299,50\u{a0}₴"
        );
        // " • 1 299,50 ₴" is 13 characters: 7 remain for the name.
        let label = button_label("Футболка базова чорна", &price, Locale::Uk, 20);
        assert_eq!(label, "Футбол… • 1\u{a0}299,50\u{a0}₴");
        assert_eq!(label.chars().count(), 20);
        let label = button_label("Футболка базова", &price, Locale::Uk, 21);
        assert_eq!(label, "Футболк… • 1\u{a0}299,50\u{a0}₴");
        assert_eq!(label.chars().count(), 21);
    }

    #[test]
    fn button_label_flattens_whitespace_and_handles_tiny_limits() {
        let price = money(6_000, 2, "UAH");
        assert_eq!(
            button_label("  Чай\n\tзелений  ", &price, Locale::En, 64),
            "Чай зелений • ₴60.00"
        );
        assert_eq!(button_label(" \n ", &price, Locale::En, 64), "₴60.00");
        assert_eq!(button_label("Tea", &price, Locale::En, 9), "Tea • ₴6…");
        assert_eq!(button_label("Tea", &price, Locale::En, 0), "");
    }

    #[test]
    fn validate_html_accepts_telegram_markup() {
        assert_eq!(validate_html("plain"), Ok(()));
        assert_eq!(
            validate_html("<b>bold</b> &amp; <i>it</i> &lt;3 &#39; &#x1F600;"),
            Ok(())
        );
        assert_eq!(
            validate_html(r#"<a href="https://x.y/?a=1&amp;b=2">link</a> <code>x</code>"#),
            Ok(())
        );
        assert_eq!(validate_html("<b><i>nested</i></b>"), Ok(()));
    }

    #[test]
    fn validate_html_rejects_what_telegram_rejects() {
        assert_eq!(validate_html("a & b"), Err(HtmlError::BareAmpersand(2)));
        assert_eq!(validate_html("&;"), Err(HtmlError::BareAmpersand(0)));
        assert_eq!(validate_html("1 > 0"), Err(HtmlError::BareGreaterThan(2)));
        assert_eq!(validate_html("x <b"), Err(HtmlError::UnterminatedTag(2)));
        assert_eq!(
            validate_html("<div>x</div>"),
            Err(HtmlError::UnsupportedTag {
                tag: "div".into(),
                at: 0
            })
        );
        assert_eq!(
            validate_html("<b><i>x</b></i>"),
            Err(HtmlError::UnbalancedClose {
                tag: "b".into(),
                at: 7
            })
        );
        assert_eq!(validate_html("<b>x"), Err(HtmlError::Unclosed("b".into())));
        assert!(validate_html(&escape_html("<script>&</script>")).is_ok());
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_markup_and_round_trips(s in any::<String>()) {
            let escaped = escape_html(&s);
            prop_assert!(!escaped.contains('<'));
            prop_assert!(!escaped.contains('>'));
            prop_assert!(!escaped.contains('"'));
            prop_assert_eq!(unescape_html(&escaped), s);
            prop_assert_eq!(validate_html(&escaped), Ok(()));
        }

        #[test]
        fn validate_html_never_panics(s in any::<String>(), tagged in "[<>/&;#a-z \"=]{0,40}") {
            let _ = validate_html(&s);
            let _ = validate_html(&tagged);
        }

        #[test]
        fn escaping_markup_heavy_text_round_trips(s in "[<>&\"a-zа-я;#]{0,40}") {
            prop_assert_eq!(unescape_html(&escape_html(&s)), s);
        }

        #[test]
        fn truncate_chars_fits_and_is_a_prefix(s in any::<String>(), max in 0usize..80) {
            let cut = truncate_chars(&s, max);
            prop_assert!(cut.chars().count() <= max);
            if cut.as_ref() != s {
                // Only a zero limit leaves no room for the ellipsis.
                prop_assert_eq!(cut.ends_with(ELLIPSIS), max > 0);
                let kept = cut.strip_suffix(ELLIPSIS).unwrap_or(&cut);
                prop_assert!(s.starts_with(kept));
            }
        }

        #[test]
        fn fit_utf16_fits_and_is_a_prefix(s in any::<String>(), max in 0usize..80) {
            let cut = fit_utf16(&s, max);
            prop_assert!(utf16_len(&cut) <= max);
            if cut != s {
                prop_assert_eq!(cut.ends_with(ELLIPSIS), max > 0);
                let kept = cut.strip_suffix(ELLIPSIS).unwrap_or(&cut);
                prop_assert!(s.starts_with(kept));
            }
        }

        #[test]
        fn fit_utf16_on_emoji_and_marks(s in "[a\u{301}\u{200d}\u{fe0f}😀👍\u{1f3fd}🇺🇦 ]{0,30}", max in 0usize..40) {
            let cut = fit_utf16(&s, max);
            prop_assert!(utf16_len(&cut) <= max);
            let kept = cut.strip_suffix(ELLIPSIS).unwrap_or(&cut);
            prop_assert!(s.starts_with(kept));
        }

        #[test]
        fn money_round_trips_through_its_digits(units in any::<i64>(), scale in 0u8..=20) {
            let m = money(units, scale, "UAH");
            let en = format_money(&m, Locale::En);
            let digits: String = en.chars().filter(char::is_ascii_digit).collect();
            let expected = m.to_decimal_string().replace(['-', '.'], "");
            // to_decimal_string caps the scale at 18; compare where it agrees.
            if scale <= 18 {
                prop_assert_eq!(digits, expected);
            }
            prop_assert_eq!(en.starts_with('-'), units < 0);
            let uk = format_money(&m, Locale::Uk);
            let suffix = "\u{a0}₴";
            prop_assert!(uk.ends_with(suffix));
            prop_assert_eq!(uk.contains(','), scale > 0);
        }

        #[test]
        fn button_label_never_exceeds(name in any::<String>(), units in any::<i64>(), max in 0usize..80) {
            let label = button_label(&name, &money(units, 2, "UAH"), Locale::Uk, max);
            prop_assert!(label.chars().count() <= max);
            prop_assert!(!label.contains('\n'));
        }
    }
}
