//! # The CRM domain
//!
//! What the host and its CRM plugins talk about: products and catalog pages,
//! leads (orders, feedback, questions) with their contact, pipeline statuses,
//! and the errors a CRM call ends in. These are the host's own types: every
//! contract version (`switchboard:crm@0.1.0`, …) is converted into them by
//! its module in `switchboard-plugin-runtime`, so a new WIT version is an
//! added module there, not an edit to the store, the shop or the CLI.
//!
//! # Layout
//! - [`Money`]: exact amounts in minor units.
//! - [`Product`], [`ProductPage`]: the catalog.
//! - [`Lead`], [`LeadKind`], [`LineItem`], [`Contact`]: what a customer
//!   confirms; [`LeadRef`]: what the CRM calls it.
//! - [`PipelineStatus`], [`StatusEvent`]: where a lead stands in the CRM.
//! - [`PluginInfo`], [`Operations`]: what a plugin says about itself.
//! - [`CrmError`]: how a call fails.
//! - [`truncate`]: cutting untrusted CRM text before it is logged or stored.

use std::borrow::Cow;
use std::fmt;

/// An exact amount: `minor_units / 10^scale` of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Money {
    /// The amount in the smallest unit (kopiyky for UAH at scale 2).
    pub minor_units: i64,
    /// How many decimal places `minor_units` carries.
    pub scale: u8,
    /// ISO 4217 code (`UAH`).
    pub currency: String,
}

impl Money {
    /// The amount as a decimal string (`"1299.50"`), exact.
    pub fn to_decimal_string(&self) -> String {
        let scale = u32::from(self.scale.min(18));
        if scale == 0 {
            return self.minor_units.to_string();
        }
        let divisor = 10u64.pow(scale);
        let abs = self.minor_units.unsigned_abs();
        let sign = if self.minor_units < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:0width$}",
            abs / divisor,
            abs % divisor,
            width = scale as usize
        )
    }
}

impl Money {
    /// An exact amount from a decimal string (`"12.50"`: scale 2, 1250
    /// minor units), never through a float. The error says what is wrong.
    pub fn from_decimal_str(amount: &str, currency: impl Into<String>) -> Result<Money, String> {
        let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
        let scale = u8::try_from(frac.len()).map_err(|_| "too many decimals".to_string())?;
        let minor_units: i64 = format!("{int}{frac}")
            .parse()
            .map_err(|_| format!("`{amount}` is not a decimal number"))?;
        Ok(Money {
            minor_units,
            scale,
            currency: currency.into(),
        })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

/// One product (or one variant of a product) in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The CRM's id, opaque to the host.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The variant's own name (`"XL, red"`), if it is a variant.
    pub variant_name: Option<String>,
    /// Stock keeping unit.
    pub sku: Option<String>,
    /// The price of one.
    pub price: Money,
    /// Plain-text description.
    pub description: Option<String>,
    /// An https image.
    pub image_url: Option<String>,
    /// Units in stock; `None` when the CRM does not track it.
    pub stock: Option<i64>,
}

/// One page of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPage {
    /// The products on this page.
    pub items: Vec<Product>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
    /// The catalog's size, when the CRM says.
    pub total: Option<u64>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    /// The product's CRM id.
    pub product_id: String,
    /// The name the customer saw.
    pub name: String,
    /// Stock keeping unit.
    pub sku: Option<String>,
    /// How many.
    pub quantity: u32,
    /// The price of one, as the customer saw it.
    pub unit_price: Money,
    /// The product's image.
    pub image_url: Option<String>,
}

/// What a lead is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadKind {
    /// An order of these lines.
    Order(Vec<LineItem>),
    /// Feedback about the shop.
    Feedback,
    /// A question for a person.
    Question,
}

impl LeadKind {
    /// The kind's stable name (`order`, `feedback`, `question`), as stored
    /// and shown by the CLI and the admin API.
    pub fn name(&self) -> &'static str {
        self.lead_type().name()
    }

    /// What kind of lead this is, without its lines.
    pub fn lead_type(&self) -> LeadType {
        match self {
            Self::Order(_) => LeadType::Order,
            Self::Feedback => LeadType::Feedback,
            Self::Question => LeadType::Question,
        }
    }
}

/// What kind of lead a stored one is: [`LeadKind`] without the order lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadType {
    /// An order.
    Order,
    /// Feedback.
    Feedback,
    /// A question.
    Question,
}

impl LeadType {
    /// The stable name: `order`, `feedback`, `question`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Feedback => "feedback",
            Self::Question => "question",
        }
    }

    /// The type of a stable name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "order" => Some(Self::Order),
            "feedback" => Some(Self::Feedback),
            "question" => Some(Self::Question),
            _ => None,
        }
    }
}

impl fmt::Display for LeadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Who a lead is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The customer's name.
    pub full_name: String,
    /// E.164 phone number.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// The Telegram user id.
    pub telegram_user_id: Option<i64>,
    /// The Telegram @username, without the `@`.
    pub telegram_username: Option<String>,
}

/// What a customer confirmed, on its way to the CRM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    /// The same key for every attempt to create this lead.
    pub idempotency_key: String,
    /// Order, feedback or question.
    pub kind: LeadKind,
    /// Who it is from.
    pub contact: Contact,
    /// A short title for the CRM's list view.
    pub title: String,
    /// The customer's words.
    pub comment: Option<String>,
    /// Where it came from (`telegram`).
    pub source: String,
}

/// The CRM's name for a lead it created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadRef {
    /// The CRM's id.
    pub id: String,
    /// A link to the lead in the CRM's UI.
    pub url: Option<String>,
}

/// A stage of the CRM's pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineStatus {
    /// The CRM's id of the stage.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Won, lost, delivered: nothing more will happen.
    pub is_final: bool,
}

/// A lead moved to a stage (from a CRM webhook).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// The CRM's lead id.
    pub lead_id: String,
    /// The stage it moved to.
    pub status: PipelineStatus,
}

/// How a CRM call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// The credentials were refused.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Try again after this many seconds.
    #[error("rate limited, retry after {0} s")]
    RateLimited(u32),
    /// The CRM is down or did not answer.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The CRM refused the request as malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No such object.
    #[error("not found: {0}")]
    NotFound(String),
    /// The plugin does not do this.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl CrmError {
    /// The longest pause a plugin's `rate-limited` can ask for, in seconds
    /// (an hour). A plugin is untrusted: `rate-limited(u32::MAX)` would
    /// otherwise pause it, and every order waiting for it, for 136 years.
    pub const MAX_RETRY_AFTER_SECS: u32 = 3600;

    /// The longest error text kept from a plugin, in bytes (before `…`).
    pub const MAX_TEXT_BYTES: usize = 500;

    /// True when trying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited(_) | Self::Unavailable(_))
    }

    /// The error as the host keeps it, whatever a plugin sent: the pause
    /// capped at [`Self::MAX_RETRY_AFTER_SECS`], the text cut to
    /// [`Self::MAX_TEXT_BYTES`] and its control characters escaped, so it
    /// cannot forge log lines (a newline, a terminal escape) or swell the
    /// outbox's `last_error` and the admin API's answers.
    pub fn bounded(self) -> Self {
        match self {
            Self::Unauthorized(m) => Self::Unauthorized(clean_text(&m)),
            Self::RateLimited(s) => Self::RateLimited(s.min(Self::MAX_RETRY_AFTER_SECS)),
            Self::Unavailable(m) => Self::Unavailable(clean_text(&m)),
            Self::InvalidRequest(m) => Self::InvalidRequest(clean_text(&m)),
            Self::NotFound(m) => Self::NotFound(clean_text(&m)),
            Self::Unsupported(m) => Self::Unsupported(clean_text(&m)),
        }
    }
}

/// A plugin's text made safe to log, store and serve: control characters
/// escaped (`\n`, `\u{1b}`), cut to [`CrmError::MAX_TEXT_BYTES`].
pub fn clean_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len().min(CrmError::MAX_TEXT_BYTES + 8));
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
        // Enough to cut from: the rest would be thrown away.
        if escaped.len() > CrmError::MAX_TEXT_BYTES + 8 {
            break;
        }
    }
    truncate(&escaped, CrmError::MAX_TEXT_BYTES).into_owned()
}

bitflags::bitflags! {
    /// The optional operations a plugin implements.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Operations: u8 {
        /// `get-product`.
        const GET_PRODUCT = 1;
        /// `lead-status`.
        const LEAD_STATUS = 1 << 1;
        /// `handle-webhook`.
        const HANDLE_WEBHOOK = 1 << 2;
        /// `create-lead` dedupes on the idempotency key.
        const IDEMPOTENT_CREATE = 1 << 3;
    }
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Its id (`keycrm`).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The optional operations it implements.
    pub operations: Operations,
}

/// Cuts `text` to at most `max_bytes` bytes on a character boundary, marking
/// a cut with `…`. CRM answers and plugin logs are untrusted and unbounded;
/// this is what keeps them from flooding a log line or a stored row.
pub fn truncate(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugins_error_is_bounded_before_the_host_keeps_it() {
        assert_eq!(
            CrmError::RateLimited(u32::MAX).bounded(),
            CrmError::RateLimited(3600)
        );
        assert_eq!(CrmError::RateLimited(7).bounded(), CrmError::RateLimited(7));
        let forged = "bad key\n2026-12-08T00:00:00Z INFO admin: all good\u{1b}[2J";
        let CrmError::Unauthorized(text) = CrmError::Unauthorized(forged.into()).bounded() else {
            panic!("kind changed")
        };
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(text.contains("\\n2026"), "{text:?}");
        let CrmError::Unavailable(long) = CrmError::Unavailable("є".repeat(10_000)).bounded()
        else {
            panic!("kind changed")
        };
        assert!(
            long.len() <= CrmError::MAX_TEXT_BYTES + '…'.len_utf8(),
            "{}",
            long.len()
        );
        assert!(long.ends_with('…'));
        assert_eq!(clean_text("Помилка 502"), "Помилка 502");
    }

    #[test]
    fn money_renders_exactly() {
        let m = Money {
            minor_units: -129_905,
            scale: 2,
            currency: "UAH".into(),
        };
        assert_eq!(m.to_string(), "-1299.05 UAH");
        let m = Money {
            minor_units: 7,
            scale: 0,
            currency: "JPY".into(),
        };
        assert_eq!(m.to_string(), "7 JPY");
    }

    #[test]
    fn decimal_strings_are_read_exactly() {
        for m in [
            Money {
                minor_units: 129_905,
                scale: 2,
                currency: "UAH".into(),
            },
            Money {
                minor_units: -5,
                scale: 3,
                currency: "USD".into(),
            },
            Money {
                minor_units: 7,
                scale: 0,
                currency: "JPY".into(),
            },
        ] {
            assert_eq!(
                Money::from_decimal_str(&m.to_decimal_string(), m.currency.clone()),
                Ok(m)
            );
        }
        assert!(Money::from_decimal_str("12,5", "UAH").is_err());
        assert!(Money::from_decimal_str("1e3", "UAH").is_err());
    }

    #[test]
    fn truncate_cuts_on_a_char_boundary() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("абв", 3), "а…");
        assert_eq!(truncate("abcdef", 4), "abcd…");
    }

    #[test]
    fn lead_kinds_have_stable_names() {
        for t in [LeadType::Order, LeadType::Feedback, LeadType::Question] {
            assert_eq!(LeadType::parse(t.name()), Some(t));
        }
        assert_eq!(LeadType::parse("Order"), None);
        assert_eq!(LeadKind::Order(vec![]).name(), "order");
        assert_eq!(LeadKind::Feedback.name(), "feedback");
        assert_eq!(LeadKind::Question.name(), "question");
    }
}
