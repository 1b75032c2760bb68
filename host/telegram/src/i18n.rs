//! Customer-facing texts from Fluent locale files.
//!
//! The built-in texts are `host/telegram/locales/uk.ftl` and `host/telegram/locales/en.ftl`,
//! embedded in the binary. A business may override any of them with its own
//! `uk.ftl` / `en.ftl` ([`Texts::with_overrides`]); an override replaces the
//! built-in message of the same id and is checked when it is loaded.
//!
//! # Message conventions
//! - `btn-*`, `cmd-*`, `toast-*` and `crm-*` messages are plain text: button
//!   labels, command descriptions for `setMyCommands`, callback-query
//!   answers, and the titles leads get in the CRM (in the business's
//!   language, [`Texts::default_locale`], not the customer's).
//!   Render them with [`Texts::get`].
//! - Every other message is a Telegram-HTML template (it may use `<b>`,
//!   `<i>`, `<code>`): render it with [`Texts::html`], which escapes text
//!   arguments, and send it with `parse_mode = HTML`.
//!
//! [`MESSAGES`] lists every message id and the arguments it takes.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::{LanguageIdentifier, langid};

use crate::text::{escape_html, validate_html};

/// A language the bot speaks with a customer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// Ukrainian, the default.
    #[default]
    Uk,
    /// English.
    En,
}

impl Locale {
    /// Every locale, in the order of their built-in files.
    pub const ALL: [Locale; 2] = [Locale::Uk, Locale::En];

    /// The language code (`"uk"`, `"en"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Uk => "uk",
            Locale::En => "en",
        }
    }

    /// The locale of an IETF language tag (`"uk"`, `"uk-UA"`, `"en_GB"`,
    /// any case), if the bot speaks it.
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("uk") {
            Some(Locale::Uk)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// The locale for a Telegram user's `language_code`: the language when
    /// the bot speaks it, else Ukrainian. Use [`Texts::locale_for`] to fall
    /// back to the business's configured default instead.
    pub fn from_language_code(code: Option<&str>) -> Locale {
        code.and_then(Locale::parse).unwrap_or_default()
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Locale::Uk => langid!("uk"),
            Locale::En => langid!("en"),
        }
    }

    fn builtin_source(self) -> &'static str {
        match self {
            Locale::Uk => include_str!("../locales/uk.ftl"),
            Locale::En => include_str!("../locales/en.ftl"),
        }
    }

    fn index(self) -> usize {
        match self {
            Locale::Uk => 0,
            Locale::En => 1,
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A language tag the bot does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported locale `{0}` (expected `uk` or `en`)")]
pub struct UnknownLocale(
    /// The tag as given.
    pub String,
);

impl FromStr for Locale {
    type Err = UnknownLocale;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Locale::parse(s).ok_or_else(|| UnknownLocale(s.to_owned()))
    }
}

/// One argument of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg<'a> {
    /// Text: escaped by [`Texts::html`], inserted as is by [`Texts::get`].
    Str(&'a str),
    /// An already rendered Telegram-HTML fragment (for example lines made
    /// with [`Texts::html`]); never escaped.
    Html(&'a str),
    /// A number, for counts and plural forms. Identifiers such as order
    /// numbers go as [`Arg::Str`], so that they are shown exactly as given.
    Int(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Str(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Str(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

impl From<u32> for Arg<'_> {
    fn from(n: u32) -> Self {
        Arg::Int(n.into())
    }
}

impl From<usize> for Arg<'_> {
    fn from(n: usize) -> Self {
        Arg::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// What kind of value a message argument expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// Plain text ([`Arg::Str`]).
    Text,
    /// A rendered HTML fragment ([`Arg::Html`]).
    Html,
    /// A number ([`Arg::Int`]).
    Number,
}

/// A message id and the arguments it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageSpec {
    /// The Fluent message id.
    pub id: &'static str,
    /// The arguments' names (without `$`) and kinds.
    pub args: &'static [(&'static str, ArgKind)],
}

impl MessageSpec {
    /// True for plain-text messages (`btn-*`, `cmd-*`, `toast-*`, `crm-*`).
    pub fn is_plain(&self) -> bool {
        is_plain_id(self.id)
    }
}

fn is_plain_id(id: &str) -> bool {
    ["btn-", "cmd-", "toast-", "crm-"]
        .iter()
        .any(|p| id.starts_with(p))
}

const NO_ARGS: &[(&str, ArgKind)] = &[];

macro_rules! spec {
    ($id:literal) => {
        MessageSpec { id: $id, args: NO_ARGS }
    };
    ($id:literal, $($arg:literal: $kind:ident),+) => {
        MessageSpec { id: $id, args: &[$(($arg, ArgKind::$kind)),+] }
    };
}

/// Every message of the built-in locale files, with its arguments. Both
/// files define exactly these ids (a test checks it), and overrides may
/// only redefine them.
pub const MESSAGES: &[MessageSpec] = &[
    // Start and main menu.
    spec!("greeting", "name": Text),
    spec!("menu-title"),
    spec!("btn-catalog"),
    spec!("btn-cart", "count": Number),
    spec!("btn-website"),
    spec!("btn-instagram"),
    spec!("btn-profile"),
    spec!("btn-delivery"),
    spec!("btn-feedback"),
    spec!("btn-support"),
    spec!("btn-status"),
    spec!("btn-help"),
    spec!("btn-menu"),
    spec!("btn-back"),
    spec!("btn-cancel"),
    spec!("btn-confirm"),
    // Catalog.
    spec!("catalog-header", "page": Number, "pages": Number),
    spec!("catalog-empty"),
    spec!("catalog-stale", "time": Text),
    spec!("btn-prev"),
    spec!("btn-next"),
    spec!("btn-page", "page": Number, "pages": Number),
    spec!("btn-refresh"),
    spec!("btn-search"),
    spec!("search-prompt"),
    spec!("search-results", "query": Text, "count": Number),
    spec!("search-no-results", "query": Text),
    // Product card.
    spec!("product-price", "price": Text),
    spec!("product-sku", "sku": Text),
    spec!("product-in-stock"),
    spec!("product-in-stock-qty", "qty": Number),
    spec!("product-out-of-stock"),
    spec!("product-unavailable"),
    spec!("btn-add-to-cart"),
    spec!("btn-order-now"),
    spec!("btn-share"),
    spec!("toast-added-to-cart", "name": Text),
    // Cart.
    spec!("cart-title"),
    spec!("cart-line", "name": Text, "qty": Number, "sum": Text),
    spec!("cart-total", "total": Text),
    spec!("cart-empty"),
    // Lead titles in the CRM.
    spec!("crm-title-order"),
    spec!("crm-title-feedback"),
    spec!("crm-title-question"),
    spec!("cart-lines-dropped", "count": Number),
    spec!("btn-cart-item", "name": Text, "qty": Number),
    spec!("btn-cart-inc"),
    spec!("btn-cart-dec"),
    spec!("btn-cart-remove"),
    spec!("btn-checkout"),
    spec!("btn-cart-clear"),
    spec!("toast-cart-cleared"),
    // Checkout.
    spec!("checkout-ask-phone"),
    spec!("btn-share-phone"),
    spec!("checkout-foreign-contact"),
    spec!("checkout-invalid-phone"),
    spec!("checkout-summary", "items": Html, "total": Text, "phone": Text, "name": Text),
    spec!("order-sent", "number": Text),
    spec!("order-pending"),
    spec!("order-failed"),
    spec!("order-cancelled"),
    // Follow-ups from the outbox.
    spec!("followup-order-delivered", "number": Text),
    spec!("followup-order-dead"),
    spec!("followup-message-dead"),
    spec!("checkout-phone-ok"),
    spec!("order-status-pending"),
    spec!("order-status-received"),
    spec!("order-status-cancelled"),
    spec!("order-status-failed"),
    // Feedback and questions.
    spec!("feedback-prompt"),
    spec!("feedback-thanks"),
    spec!("input-truncated", "max": Number),
    spec!("question-confirm", "text": Text),
    spec!("btn-send-question"),
    spec!("question-sent"),
    spec!("question-cancelled"),
    // Profile.
    spec!("profile-view", "id": Text, "name": Text, "phone": Text, "email": Text),
    spec!("profile-not-set"),
    spec!("btn-edit-phone"),
    spec!("btn-edit-email"),
    spec!("btn-edit-name"),
    spec!("profile-orders-title"),
    spec!("profile-order-line", "number": Text, "date": Text, "status": Text),
    spec!("profile-no-orders"),
    spec!("profile-ask-phone"),
    spec!("profile-ask-email"),
    spec!("profile-ask-name"),
    spec!("profile-invalid-email"),
    spec!("profile-saved"),
    // Order status.
    spec!("status-choose"),
    spec!("btn-order", "number": Text, "date": Text),
    spec!("status-result-final", "number": Text, "status": Text),
    spec!("status-result-progress", "number": Text, "status": Text),
    spec!("status-no-orders"),
    spec!("status-unknown", "number": Text),
    // Delivery.
    spec!("delivery-ask-location"),
    spec!("btn-send-location"),
    spec!("delivery-estimate", "distance": Text, "price": Text),
    spec!("delivery-outside", "distance": Text),
    spec!("delivery-flat", "text": Text),
    // Commands and the rest.
    spec!("help"),
    spec!("cancel-done"),
    spec!("stop-goodbye"),
    spec!("hint-unexpected"),
    spec!("button-stale"),
    spec!("toast-button-stale"),
    spec!("error-generic"),
    spec!("cmd-start"),
    spec!("cmd-catalog"),
    spec!("cmd-cart"),
    spec!("cmd-status"),
    spec!("cmd-cancel"),
    spec!("cmd-help"),
    spec!("cmd-stop"),
];

/// The [`MessageSpec`] of a message id.
pub fn spec(id: &str) -> Option<&'static MessageSpec> {
    MESSAGES.iter().find(|m| m.id == id)
}

/// Why the business's locale overrides could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum I18nError {
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The file is not valid Fluent.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the first error.
        line: usize,
        /// The parser's description.
        message: String,
    },
    /// The file defines a message the bot never shows (most likely a typo).
    #[error("{}:{line}: unknown message id `{id}`", path.display())]
    UnknownMessage {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the message.
        line: usize,
        /// The id.
        id: String,
    },
    /// An overriding message cannot be rendered: it uses a variable its
    /// message does not have, refers to a missing message, has no value...
    #[error("{}:{line}: message `{id}`: {problem}", path.display())]
    BadMessage {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the message.
        line: usize,
        /// The id.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

type Bundle = FluentBundle<FluentResource>;

/// The customer-facing texts of every locale. `Send + Sync`: share one
/// behind an `Arc`.
pub struct Texts {
    default: Locale,
    bundles: [Bundle; 2],
}

impl fmt::Debug for Texts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Texts")
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl Texts {
    /// The built-in texts; `default` is the locale for customers whose
    /// language the bot does not speak, and the fallback for missing ids.
    pub fn new(default: Locale) -> Texts {
        Texts {
            default,
            bundles: Locale::ALL.map(builtin_bundle),
        }
    }

    /// The built-in texts with the business's overrides from `dir`:
    /// `<dir>/uk.ftl` and `<dir>/en.ftl`, each optional. An override's
    /// messages replace the built-in ones with the same id; each is checked
    /// to render without errors (and, for HTML messages, to be valid
    /// Telegram HTML) with the arguments its message takes.
    pub fn with_overrides(default: Locale, dir: &Path) -> Result<Texts, I18nError> {
        let mut texts = Texts::new(default);
        for locale in Locale::ALL {
            let path = dir.join(format!("{}.ftl", locale.as_str()));
            let source = match std::fs::read_to_string(&path) {
                Ok(source) => source,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(I18nError::Read { path, source }),
            };
            let defined = message_definitions(&source);
            let resource = FluentResource::try_new(source).map_err(|(resource, errors)| {
                let first = errors.first();
                // An error at the very end (an unclosed `{`) belongs to the
                // last line with text, not to the empty one after it.
                let last_text = resource.source().trim_end().len().saturating_sub(1);
                let offset = first.map_or(0, |e| e.pos.start).min(last_text);
                I18nError::Parse {
                    line: line_of(resource.source(), offset),
                    message: first.map_or_else(String::new, ToString::to_string),
                    path: path.clone(),
                }
            })?;
            for (id, line) in &defined {
                if spec(id).is_none() {
                    return Err(I18nError::UnknownMessage {
                        path,
                        line: *line,
                        id: id.clone(),
                    });
                }
            }
            let bundle = &mut texts.bundles[locale.index()];
            bundle.add_resource_overriding(resource);
            for (id, line) in defined {
                if let Some(spec) = spec(&id)
                    && let Err(problem) = check_message(bundle, spec)
                {
                    return Err(I18nError::BadMessage {
                        path,
                        line,
                        id,
                        problem,
                    });
                }
            }
            tracing::info!(path = %path.display(), "loaded text overrides");
        }
        Ok(texts)
    }

    /// The locale configured for customers whose language is not spoken.
    pub fn default_locale(&self) -> Locale {
        self.default
    }

    /// The locale for a Telegram user's `language_code`, falling back to
    /// the configured default.
    pub fn locale_for(&self, language_code: Option<&str>) -> Locale {
        language_code
            .and_then(Locale::parse)
            .unwrap_or(self.default)
    }

    /// A plain-text message (`btn-*`, `cmd-*`, `toast-*`), arguments
    /// inserted as they are.
    ///
    /// A message missing from `locale` comes from the default locale; one
    /// missing from both renders as its id, with a warning.
    pub fn get(&self, locale: Locale, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.format(locale, id, args, false)
    }

    /// A Telegram-HTML message: [`Arg::Str`] arguments are HTML-escaped,
    /// [`Arg::Html`] ones inserted as they are. Falls back like
    /// [`Texts::get`].
    pub fn html(&self, locale: Locale, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.format(locale, id, args, true)
    }

    fn format(&self, locale: Locale, id: &str, args: &[(&str, Arg<'_>)], escape: bool) -> String {
        let fluent_args = fluent_args(args, escape);
        for candidate in [locale, self.default] {
            let bundle = &self.bundles[candidate.index()];
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            if !errors.is_empty() {
                tracing::warn!(
                    id,
                    locale = %candidate,
                    errors = ?errors,
                    "message rendered with errors"
                );
            }
            return text.into_owned();
        }
        tracing::warn!(id, locale = %locale, "no such message; showing its id");
        id.to_owned()
    }
}

fn builtin_bundle(locale: Locale) -> Bundle {
    let mut bundle = Bundle::new_concurrent(vec![locale.langid()]);
    // Isolation marks (U+2068/U+2069) around arguments show up as stray
    // characters in some Telegram clients; all our texts are left-to-right.
    bundle.set_use_isolating(false);
    let resource = match FluentResource::try_new(locale.builtin_source().to_owned()) {
        Ok(resource) => resource,
        Err((resource, errors)) => {
            // The tests keep this from happening; keep what did parse.
            tracing::error!(%locale, ?errors, "built-in locale file has errors");
            resource
        }
    };
    bundle.add_resource_overriding(resource);
    bundle
}

fn fluent_args<'a>(args: &[(&'a str, Arg<'a>)], escape: bool) -> FluentArgs<'a> {
    let mut out = FluentArgs::with_capacity(args.len());
    for &(name, arg) in args {
        let value: FluentValue<'a> = match arg {
            Arg::Str(s) if escape => FluentValue::String(Cow::Owned(escape_html(s))),
            Arg::Str(s) | Arg::Html(s) => FluentValue::String(Cow::Borrowed(s)),
            // Fluent numbers are f64: beyond 2^53 show the exact digits.
            Arg::Int(n) if n.unsigned_abs() > (1 << 53) => FluentValue::from(n.to_string()),
            Arg::Int(n) => FluentValue::from(n),
        };
        out.set(name, value);
    }
    out
}

fn sample_args(spec: &MessageSpec) -> Vec<(&'static str, Arg<'static>)> {
    spec.args
        .iter()
        .map(|&(name, kind)| {
            let arg = match kind {
                ArgKind::Text => Arg::Str("Sample & <text>"),
                ArgKind::Html => Arg::Html("<b>Sample</b>"),
                ArgKind::Number => Arg::Int(3),
            };
            (name, arg)
        })
        .collect()
}

/// Renders `spec`'s message with sample arguments: an error if Fluent
/// reports any, or if an HTML message is not valid Telegram HTML.
fn check_message(bundle: &Bundle, spec: &MessageSpec) -> Result<(), String> {
    let message = bundle
        .get_message(spec.id)
        .ok_or_else(|| "not defined".to_owned())?;
    let pattern = message
        .value()
        .ok_or_else(|| "has no value (only attributes)".to_owned())?;
    let args = sample_args(spec);
    let escape = !spec.is_plain();
    let fluent_args = fluent_args(&args, escape);
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    if !errors.is_empty() {
        let names: Vec<String> = spec.args.iter().map(|(n, _)| format!("${n}")).collect();
        let available = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };
        let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(format!(
            "{} (arguments available: {available})",
            problems.join("; ")
        ));
    }
    if text.trim().is_empty() {
        return Err("renders as empty text".to_owned());
    }
    if escape {
        validate_html(&text).map_err(|e| format!("invalid Telegram HTML: {e}"))?;
    }
    Ok(())
}

/// The ids of the messages `source` defines, with their 1-based lines.
///
/// In Fluent a message starts at the beginning of a line with its
/// identifier (`[a-zA-Z][a-zA-Z0-9_-]*`) and `=`; continuation lines are
/// indented, terms start with `-` and comments with `#`.
fn message_definitions(source: &str) -> Vec<(String, usize)> {
    source
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let first = line.chars().next()?;
            if !first.is_ascii_alphabetic() {
                return None;
            }
            let end = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(line.len());
            let rest = line[end..].trim_start_matches([' ', '\t']);
            rest.starts_with('=')
                .then(|| (line[..end].to_owned(), i + 1))
        })
        .collect()
}

fn line_of(source: &str, offset: usize) -> usize {
    let offset = offset.min(source.len());
    source.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn texts() -> Texts {
        Texts::new(Locale::Uk)
    }

    fn ids(source: &str) -> BTreeSet<String> {
        message_definitions(source)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// The `$variables` a message's source uses.
    fn variables_in(source: &str, id: &str) -> BTreeSet<String> {
        let mut lines = source
            .lines()
            .skip_while(|l| !(l.starts_with(id) && l[id.len()..].trim_start().starts_with('=')));
        let mut block = lines.next().unwrap_or_default().to_owned();
        for line in lines {
            if line.is_empty() || line.starts_with([' ', '\t']) {
                block.push('\n');
                block.push_str(line);
            } else {
                break;
            }
        }
        let mut vars = BTreeSet::new();
        let mut rest = block.as_str();
        while let Some(at) = rest.find('$') {
            rest = &rest[at + 1..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            vars.insert(rest[..end].to_owned());
        }
        vars
    }

    fn write_override(dir: &Path, locale: Locale, body: &str) {
        std::fs::write(dir.join(format!("{}.ftl", locale.as_str())), body)
            .unwrap_or_else(|e| panic!("write override: {e}"));
    }

    fn temp_dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
    }

    #[test]
    fn language_codes() {
        assert_eq!(Locale::from_language_code(Some("uk")), Locale::Uk);
        assert_eq!(Locale::from_language_code(Some("uk-UA")), Locale::Uk);
        assert_eq!(Locale::from_language_code(Some("UK_ua")), Locale::Uk);
        assert_eq!(Locale::from_language_code(Some("en")), Locale::En);
        assert_eq!(Locale::from_language_code(Some("en-GB")), Locale::En);
        assert_eq!(Locale::from_language_code(Some("ru")), Locale::Uk);
        assert_eq!(Locale::from_language_code(Some("eng")), Locale::Uk);
        assert_eq!(Locale::from_language_code(Some("")), Locale::Uk);
        assert_eq!(Locale::from_language_code(None), Locale::Uk);
        let english_first = Texts::new(Locale::En);
        assert_eq!(english_first.locale_for(Some("ru")), Locale::En);
        assert_eq!(english_first.locale_for(None), Locale::En);
        assert_eq!(english_first.locale_for(Some("uk-UA")), Locale::Uk);
        assert_eq!(english_first.default_locale(), Locale::En);
    }

    #[test]
    fn locale_strings() {
        assert_eq!("en".parse::<Locale>(), Ok(Locale::En));
        assert_eq!("de".parse::<Locale>(), Err(UnknownLocale("de".to_owned())));
        assert_eq!(Locale::Uk.to_string(), "uk");
        let parsed: Locale = serde_json::from_str("\"en\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, Locale::En);
        assert!(serde_json::from_str::<Locale>("\"de\"").is_err());
    }

    #[test]
    fn texts_are_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Texts>();
    }

    #[test]
    fn builtin_files_parse() {
        for locale in Locale::ALL {
            let parsed = FluentResource::try_new(locale.builtin_source().to_owned());
            assert!(
                parsed.is_ok(),
                "{locale}.ftl: {:?}",
                parsed.err().map(|(_, e)| e)
            );
        }
    }

    #[test]
    fn both_locales_define_exactly_the_listed_messages() {
        let listed: BTreeSet<String> = MESSAGES.iter().map(|m| m.id.to_owned()).collect();
        assert_eq!(listed.len(), MESSAGES.len(), "duplicate ids in MESSAGES");
        let uk = ids(Locale::Uk.builtin_source());
        let en = ids(Locale::En.builtin_source());
        assert_eq!(
            uk.difference(&en).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "only in uk.ftl"
        );
        assert_eq!(
            en.difference(&uk).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "only in en.ftl"
        );
        assert_eq!(
            uk.difference(&listed).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "not in MESSAGES"
        );
        assert_eq!(
            listed.difference(&uk).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "not in uk.ftl"
        );
        for locale in Locale::ALL {
            let defs = message_definitions(locale.builtin_source());
            assert_eq!(defs.len(), uk.len(), "{locale}.ftl defines an id twice");
        }
    }

    #[test]
    fn every_message_uses_exactly_its_listed_arguments() {
        for locale in Locale::ALL {
            for spec in MESSAGES {
                let used = variables_in(locale.builtin_source(), spec.id);
                let listed: BTreeSet<String> =
                    spec.args.iter().map(|(n, _)| (*n).to_owned()).collect();
                assert_eq!(used, listed, "{locale}.ftl, {}", spec.id);
            }
        }
    }

    #[test]
    fn every_message_renders_cleanly_in_every_locale() {
        let texts = texts();
        for locale in Locale::ALL {
            let bundle = &texts.bundles[locale.index()];
            for spec in MESSAGES {
                assert_eq!(
                    check_message(bundle, spec),
                    Ok(()),
                    "{locale}.ftl, {}",
                    spec.id
                );
                let rendered = texts.html(locale, spec.id, &sample_args(spec));
                assert!(!rendered.contains(['\u{2068}', '\u{2069}']), "{}", spec.id);
                assert_ne!(rendered, spec.id);
            }
        }
    }

    #[test]
    fn plain_messages_fit_telegram_limits() {
        let texts = texts();
        for locale in Locale::ALL {
            for spec in MESSAGES.iter().filter(|s| s.is_plain()) {
                let text = texts.get(locale, spec.id, &sample_args(spec));
                assert!(!text.contains('\n'), "{locale} {} is one line", spec.id);
                if spec.id.starts_with("cmd-") {
                    // setMyCommands: 1..=256 characters.
                    assert!((3..=256).contains(&text.chars().count()), "{}", spec.id);
                }
                if spec.id.starts_with("btn-") {
                    assert!(text.chars().count() <= 40, "{locale} {}: {text}", spec.id);
                }
            }
        }
    }

    #[test]
    fn greeting_and_arguments() {
        let texts = texts();
        assert_eq!(
            texts.html(Locale::Uk, "greeting", &[("name", Arg::Str("Оля <3"))]),
            "👋 Вітаємо, <b>Оля &lt;3</b>!\n\
             Я допоможу обрати товар, оформити замовлення й дізнатися про доставку. \
             Оберіть, що вас цікавить:"
        );
        assert_eq!(
            texts.html(Locale::En, "greeting", &[("name", "Ann".into())]),
            "👋 Hello, <b>Ann</b>!\n\
             I can help you choose a product, place an order and check delivery. \
             What would you like to do?"
        );
        assert_eq!(
            texts.get(
                Locale::Uk,
                "toast-added-to-cart",
                &[("name", "Чай & кава".into())]
            ),
            "«Чай & кава» додано до кошика"
        );
    }

    #[test]
    fn html_arguments_are_not_escaped_twice() {
        let texts = texts();
        let line = texts.html(
            Locale::Uk,
            "cart-line",
            &[
                ("name", "Чай <зелений>".into()),
                ("qty", 2u32.into()),
                ("sum", "120,00 ₴".into()),
            ],
        );
        assert_eq!(line, "Чай &lt;зелений&gt; × 2 = 120,00 ₴");
        let summary = texts.html(
            Locale::En,
            "checkout-summary",
            &[
                ("items", Arg::Html(&line)),
                ("total", "₴120.00".into()),
                ("phone", "+380501234567".into()),
                ("name", "Ann & Bob".into()),
            ],
        );
        assert_eq!(
            summary,
            "📝 <b>Please check your order</b>\n\n\
             Чай &lt;зелений&gt; × 2 = 120,00 ₴\n\n\
             Total: <b>₴120.00</b>\n\
             Phone: +380501234567\n\
             Name: Ann &amp; Bob\n\n\
             Is everything correct?"
        );
        assert_eq!(validate_html(&summary), Ok(()));
    }

    #[test]
    fn catalog_header_and_pager() {
        let texts = texts();
        let args = [("page", Arg::Int(2)), ("pages", Arg::Int(7))];
        assert_eq!(
            texts.html(Locale::Uk, "catalog-header", &args),
            "🛍 <b>Каталог</b> · сторінка 2 з 7"
        );
        assert_eq!(
            texts.html(Locale::En, "catalog-header", &args),
            "🛍 <b>Catalog</b> · page 2 of 7"
        );
        assert_eq!(texts.get(Locale::En, "btn-page", &args), "2/7");
    }

    #[test]
    fn ukrainian_plurals() {
        let texts = texts();
        let found = |n: i64| {
            texts.html(
                Locale::Uk,
                "search-results",
                &[("query", "чай".into()), ("count", n.into())],
            )
        };
        assert_eq!(found(1), "🔍 За запитом «чай» знайдено 1 товар:");
        assert_eq!(found(3), "🔍 За запитом «чай» знайдено 3 товари:");
        assert_eq!(found(5), "🔍 За запитом «чай» знайдено 5 товарів:");
        assert_eq!(found(11), "🔍 За запитом «чай» знайдено 11 товарів:");
        assert_eq!(found(21), "🔍 За запитом «чай» знайдено 21 товар:");
        assert_eq!(found(24), "🔍 За запитом «чай» знайдено 24 товари:");
        let en = |n: i64| {
            texts.html(
                Locale::En,
                "search-results",
                &[("query", "tea".into()), ("count", n.into())],
            )
        };
        assert_eq!(en(1), "🔍 1 product found for “tea”:");
        assert_eq!(en(2), "🔍 2 products found for “tea”:");
    }

    #[test]
    fn cart_button_shows_the_count_only_when_not_empty() {
        let texts = texts();
        assert_eq!(
            texts.get(Locale::Uk, "btn-cart", &[("count", Arg::Int(0))]),
            "🛒 Кошик"
        );
        assert_eq!(
            texts.get(Locale::Uk, "btn-cart", &[("count", Arg::Int(3))]),
            "🛒 Кошик (3)"
        );
        assert_eq!(
            texts.get(Locale::En, "btn-cart", &[("count", Arg::Int(1))]),
            "🛒 Cart (1)"
        );
    }

    #[test]
    fn big_numbers_stay_exact() {
        let texts = texts();
        let n = 9_007_199_254_740_993_i64; // 2^53 + 1, not representable in f64
        assert_eq!(
            texts.get(
                Locale::En,
                "btn-page",
                &[("page", n.into()), ("pages", n.into())]
            ),
            "9007199254740993/9007199254740993"
        );
    }

    #[test]
    fn missing_ids_fall_back() {
        let texts = texts();
        assert_eq!(
            texts.get(Locale::En, "no-such-message", &[]),
            "no-such-message"
        );
        // A message missing from the asked locale comes from the default.
        let mut texts = Texts::new(Locale::Uk);
        texts.bundles[Locale::En.index()] = Bundle::new_concurrent(vec![Locale::En.langid()]);
        assert_eq!(texts.get(Locale::En, "btn-back", &[]), "⬅️ Назад");
    }

    #[test]
    fn missing_arguments_render_visibly_without_panicking() {
        let texts = texts();
        let text = texts.html(Locale::En, "order-sent", &[]);
        assert!(text.contains("No. <b>{$number}</b>"), "{text}");
    }

    #[test]
    fn help_lists_every_command() {
        let texts = texts();
        for locale in Locale::ALL {
            let help = texts.html(locale, "help", &[]);
            for command in [
                "start", "catalog", "cart", "status", "cancel", "help", "stop",
            ] {
                let description = texts.get(locale, &format!("cmd-{command}"), &[]);
                assert!(
                    help.contains(&format!("/{command} — {description}")),
                    "{locale}: /{command} in {help}"
                );
            }
        }
    }

    #[test]
    fn overrides_replace_builtin_messages() {
        let dir = temp_dir();
        write_override(
            dir.path(),
            Locale::Uk,
            "# Наш магазин\nbtn-catalog = 🌸 Букети\ngreeting = Привіт, { $name }! Оберіть букет:\n",
        );
        let texts = Texts::with_overrides(Locale::Uk, dir.path())
            .unwrap_or_else(|e| panic!("overrides: {e}"));
        assert_eq!(texts.get(Locale::Uk, "btn-catalog", &[]), "🌸 Букети");
        assert_eq!(
            texts.html(Locale::Uk, "greeting", &[("name", "Оля".into())]),
            "Привіт, Оля! Оберіть букет:"
        );
        // Untouched messages and locales stay built in.
        assert_eq!(texts.get(Locale::Uk, "btn-back", &[]), "⬅️ Назад");
        assert_eq!(texts.get(Locale::En, "btn-catalog", &[]), "🛍 Catalog");
    }

    #[test]
    fn no_override_files_means_builtin_texts() {
        let dir = temp_dir();
        let texts = Texts::with_overrides(Locale::En, dir.path())
            .unwrap_or_else(|e| panic!("overrides: {e}"));
        assert_eq!(texts.get(Locale::Uk, "btn-catalog", &[]), "🛍 Каталог");
        assert_eq!(texts.default_locale(), Locale::En);
    }

    fn override_error(locale: Locale, body: &str) -> String {
        let dir = temp_dir();
        write_override(dir.path(), locale, body);
        match Texts::with_overrides(Locale::Uk, dir.path()) {
            Ok(_) => panic!("override accepted: {body}"),
            Err(e) => e
                .to_string()
                .replace(&dir.path().display().to_string(), "DIR"),
        }
    }

    #[test]
    fn override_parse_errors_name_file_and_line() {
        let message = override_error(Locale::En, "btn-back = Back\n\nbtn-next = { \n");
        assert_eq!(message, "DIR/en.ftl:3: Expected an inline expression");
        let message = override_error(
            Locale::Uk,
            "btn-back = Назад\nbtn-next = { $ }\nbtn-prev = x\n",
        );
        assert!(message.starts_with("DIR/uk.ftl:2: "), "{message}");
    }

    #[test]
    fn override_with_unknown_id_is_refused() {
        assert_eq!(
            override_error(Locale::Uk, "btn-back = Назад\nbtn-catalogue = Каталог\n"),
            "DIR/uk.ftl:2: unknown message id `btn-catalogue`"
        );
    }

    #[test]
    fn override_with_wrong_variable_is_refused() {
        assert_eq!(
            override_error(Locale::Uk, "order-sent = Замовлення { $order } прийнято\n"),
            "DIR/uk.ftl:1: message `order-sent`: Resolver error: Unknown variable: $order \
             (arguments available: $number)"
        );
        assert_eq!(
            override_error(Locale::En, "btn-back = Back\ncart-title = { $cart }\n"),
            "DIR/en.ftl:2: message `cart-title`: Resolver error: Unknown variable: $cart \
             (arguments available: none)"
        );
        assert_eq!(
            override_error(Locale::En, "menu-title = { no-such-message }\n"),
            "DIR/en.ftl:1: message `menu-title`: Resolver error: Unknown message: no-such-message \
             (arguments available: none)"
        );
    }

    #[test]
    fn override_with_broken_html_is_refused() {
        assert_eq!(
            override_error(Locale::Uk, "\n\ncart-title = <b>Кошик\n"),
            "DIR/uk.ftl:3: message `cart-title`: invalid Telegram HTML: `<b>` is never closed"
        );
        assert_eq!(
            override_error(Locale::En, "cart-title = Cart & co\n"),
            "DIR/en.ftl:1: message `cart-title`: invalid Telegram HTML: unescaped `&` at byte 5"
        );
    }

    #[test]
    fn override_without_value_is_refused() {
        assert_eq!(
            override_error(Locale::En, "cart-title =\n    .label = Cart\n"),
            "DIR/en.ftl:1: message `cart-title`: has no value (only attributes)"
        );
    }

    #[test]
    fn override_may_use_terms_and_references() {
        let dir = temp_dir();
        write_override(
            dir.path(),
            Locale::En,
            "-shop = Flora\nmenu-title = Welcome to { -shop }! { btn-catalog } is below.\n",
        );
        let texts = Texts::with_overrides(Locale::Uk, dir.path())
            .unwrap_or_else(|e| panic!("overrides: {e}"));
        assert_eq!(
            texts.html(Locale::En, "menu-title", &[]),
            "Welcome to Flora! 🛍 Catalog is below."
        );
    }

    #[test]
    fn unreadable_override_is_an_error() {
        let dir = temp_dir();
        std::fs::create_dir(dir.path().join("uk.ftl")).unwrap_or_else(|e| panic!("{e}"));
        let message = Texts::with_overrides(Locale::Uk, dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.starts_with("cannot read "), "{message}");
    }

    proptest::proptest! {
        #[test]
        fn html_messages_stay_valid_with_any_text(
            index in 0..MESSAGES.len(),
            text in proptest::prelude::any::<String>(),
        ) {
            let texts = texts();
            let spec = &MESSAGES[index];
            let args: Vec<(&str, Arg<'_>)> = spec
                .args
                .iter()
                .map(|&(name, kind)| match kind {
                    ArgKind::Number => (name, Arg::Int(i64::try_from(text.len()).unwrap_or(0))),
                    ArgKind::Text | ArgKind::Html => (name, Arg::Str(&text)),
                })
                .collect();
            for locale in Locale::ALL {
                let rendered = texts.html(locale, spec.id, &args);
                proptest::prop_assert_eq!(validate_html(&rendered), Ok(()), "{}", spec.id);
            }
        }
    }

    #[test]
    fn message_definitions_find_ids_and_lines() {
        let source =
            "# comment\n-term = x\nfoo = a\n    continued = not an id\nbar-2 =\n    b\n\nbaz_3=c\n";
        assert_eq!(
            message_definitions(source),
            vec![
                ("foo".to_owned(), 3),
                ("bar-2".to_owned(), 5),
                ("baz_3".to_owned(), 8)
            ]
        );
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a", 100), 1);
    }
}
