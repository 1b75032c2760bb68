//! Inline-button `callback_data`: compact, at most 64 bytes whatever the
//! product ids are, and signed so that a modified client can neither forge
//! nor alter it.
//!
//! An encoded action is `<payload>.<tag>`: the payload is a short code with
//! its arguments (`p:3`, `a:<product key>`), the tag the first 6 bytes of
//! HMAC-SHA256 over it, in unpadded base64url (8 characters). Products are
//! referred to by a [`ProductKey`], 8 bytes of SHA-256 of the CRM's product
//! id (11 characters), so the longest encoding is
//! `v:<11>:<u32>.<8>` = 33 bytes.

use std::fmt;
use std::str::FromStr;

use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The most bytes Telegram accepts in a button's `callback_data`.
pub const MAX_CALLBACK_DATA: usize = 64;

const TAG_BYTES: usize = 6;
const TAG_CHARS: usize = 8;
const SEPARATOR: char = '.';
// Keys derived for other purposes from the same secret never collide with
// this one.
const KEY_LABEL: &[u8] = b"switchboard/callback-data/v1\0";

/// A main-menu entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MenuItem {
    /// The catalog.
    Catalog,
    /// The customer's profile.
    Profile,
    /// The delivery-cost estimate.
    Delivery,
    /// Leaving feedback.
    Feedback,
    /// The cart.
    Cart,
    /// Order status.
    Status,
    /// Help.
    Help,
}

/// A profile field the customer can edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The phone number.
    Phone,
    /// The e-mail address.
    Email,
    /// The name.
    Name,
}

/// What an inline button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open a main-menu entry.
    Menu(MenuItem),
    /// Show a catalog page (0-based or 1-based as the dialogue chooses).
    CatalogPage {
        /// The page.
        page: u32,
    },
    /// Reload the catalog from the CRM.
    CatalogRefresh,
    /// Start a catalog search.
    CatalogSearch,
    /// Show a product card.
    Product {
        /// The product.
        key: ProductKey,
        /// The catalog page to go back to.
        from_page: u32,
    },
    /// Put one unit of a product into the cart.
    AddToCart {
        /// The product.
        key: ProductKey,
    },
    /// Order a product alone, right away.
    OrderNow {
        /// The product.
        key: ProductKey,
    },
    /// One more unit of a cart line.
    CartInc {
        /// The product.
        key: ProductKey,
    },
    /// One unit less of a cart line.
    CartDec {
        /// The product.
        key: ProductKey,
    },
    /// Remove a cart line.
    CartRemove {
        /// The product.
        key: ProductKey,
    },
    /// Empty the cart.
    CartClear,
    /// Go to checkout.
    Checkout,
    /// Confirm the order summary.
    ConfirmOrder,
    /// Cancel the order summary.
    CancelOrder,
    /// Send the typed text to the shop as a question.
    ConfirmQuestion,
    /// Do not send the typed text.
    CancelQuestion,
    /// Show the status of one of the customer's orders.
    OrderStatus {
        /// The host's order row id.
        order: i64,
    },
    /// Edit a profile field.
    ProfileEdit(Field),
    /// Go back one screen.
    Back,
    /// Nothing (a label-only button, such as the page counter).
    Noop,
}

/// A short, stable key for a CRM product id: the first 8 bytes of
/// SHA-256 of the id, in unpadded base64url (11 characters).
///
/// Keys are not reversible: the dialogue looks the product up in its cached
/// catalog by key. Two ids share a key with probability about 2^-64 per
/// pair.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductKey([u8; ProductKey::LEN]);

impl ProductKey {
    /// The length of a key's text.
    pub const LEN: usize = 11;

    /// The key of a CRM product id.
    pub fn of(product_id: &str) -> ProductKey {
        let digest = Sha256::digest(product_id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let mut text = [0u8; ProductKey::LEN];
        for (slot, c) in text.iter_mut().zip(base64url(&first).bytes()) {
            *slot = c;
        }
        ProductKey(text)
    }

    /// The key's text (11 base64url characters).
    pub fn as_str(&self) -> &str {
        // Only base64url ASCII is ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Reads a key from its text; only the exact text [`ProductKey::as_str`]
    /// produces is accepted.
    pub fn parse(s: &str) -> Result<ProductKey, CallbackError> {
        let bytes = unbase64url(s).ok_or(CallbackError::Malformed)?;
        if bytes.len() != 8 || base64url(&bytes) != s {
            return Err(CallbackError::Malformed);
        }
        let mut text = [0u8; ProductKey::LEN];
        text.copy_from_slice(s.as_bytes());
        Ok(ProductKey(text))
    }
}

impl fmt::Debug for ProductKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProductKey({})", self.as_str())
    }
}

impl fmt::Display for ProductKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProductKey {
    type Err = CallbackError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProductKey::parse(s)
    }
}

/// Why `callback_data` was refused. Show the customer the "this button is
/// out of date" message and the menu in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Not of the shape `<payload>.<tag>`, or the payload's arguments are
    /// invalid.
    #[error("malformed callback data")]
    Malformed,
    /// The tag does not match: forged or altered data, or a button made
    /// with another secret (before a secret rotation).
    #[error("callback data has a bad signature")]
    BadSignature,
    /// Correctly signed, but of an action this version does not know
    /// (a button from a newer or older version of the bot).
    #[error("unknown callback action")]
    Unknown,
}

/// Encodes and decodes [`Action`]s with a secret key.
#[derive(Clone)]
pub struct Codec {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Codec { .. }")
    }
}

impl Codec {
    /// A codec keyed with `secret` (any length; use at least 32 random
    /// bytes). Buttons made with one secret do not decode with another.
    pub fn new(secret: &[u8]) -> Codec {
        let derived = Sha256::new()
            .chain_update(KEY_LABEL)
            .chain_update(secret)
            .finalize();
        // HMAC pads keys shorter than its block to the block size with
        // zeros; doing it here gives the fixed-size key `new` takes.
        let mut key = Key::<Hmac<Sha256>>::default();
        key[..derived.len()].copy_from_slice(&derived);
        Codec {
            mac: <Hmac<Sha256> as KeyInit>::new(&key),
        }
    }

    /// The `callback_data` for `action`; never longer than
    /// [`MAX_CALLBACK_DATA`] bytes.
    pub fn encode(&self, action: &Action) -> String {
        let mut out = payload(action);
        let tag = self.tag(&out);
        out.push(SEPARATOR);
        out.push_str(&base64url(&tag));
        out
    }

    /// The action of `callback_data` made by [`Codec::encode`] with the
    /// same secret.
    pub fn decode(&self, data: &str) -> Result<Action, CallbackError> {
        if data.len() > MAX_CALLBACK_DATA {
            return Err(CallbackError::Malformed);
        }
        let (payload, tag) = data
            .rsplit_once(SEPARATOR)
            .ok_or(CallbackError::Malformed)?;
        if tag.len() != TAG_CHARS {
            return Err(CallbackError::Malformed);
        }
        let tag = unbase64url(tag).ok_or(CallbackError::Malformed)?;
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        mac.verify_truncated_left(&tag)
            .map_err(|_| CallbackError::BadSignature)?;
        parse_payload(payload)
    }

    fn tag(&self, payload: &str) -> [u8; TAG_BYTES] {
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }
}

fn payload(action: &Action) -> String {
    match *action {
        Action::Menu(item) => format!("m:{}", menu_code(item)),
        Action::CatalogPage { page } => format!("p:{page}"),
        Action::CatalogRefresh => "pr".to_owned(),
        Action::CatalogSearch => "ps".to_owned(),
        Action::Product { key, from_page } => format!("v:{key}:{from_page}"),
        Action::AddToCart { key } => format!("a:{key}"),
        Action::OrderNow { key } => format!("o:{key}"),
        Action::CartInc { key } => format!("ci:{key}"),
        Action::CartDec { key } => format!("cd:{key}"),
        Action::CartRemove { key } => format!("cx:{key}"),
        Action::CartClear => "cc".to_owned(),
        Action::Checkout => "co".to_owned(),
        Action::ConfirmOrder => "oy".to_owned(),
        Action::CancelOrder => "on".to_owned(),
        Action::ConfirmQuestion => "qy".to_owned(),
        Action::CancelQuestion => "qn".to_owned(),
        Action::OrderStatus { order } => format!("s:{order}"),
        Action::ProfileEdit(field) => format!("e:{}", field_code(field)),
        Action::Back => "b".to_owned(),
        Action::Noop => "n".to_owned(),
    }
}

fn parse_payload(payload: &str) -> Result<Action, CallbackError> {
    let mut parts = payload.split(':');
    let code = parts.next().unwrap_or_default();
    let args: Vec<&str> = parts.collect();
    let action = match (code, args.as_slice()) {
        ("m", [item]) => Action::Menu(parse_menu(item)?),
        ("p", [page]) => Action::CatalogPage {
            page: parse_number(page)?,
        },
        ("pr", []) => Action::CatalogRefresh,
        ("ps", []) => Action::CatalogSearch,
        ("v", [key, page]) => Action::Product {
            key: ProductKey::parse(key)?,
            from_page: parse_number(page)?,
        },
        ("a", [key]) => Action::AddToCart {
            key: ProductKey::parse(key)?,
        },
        ("o", [key]) => Action::OrderNow {
            key: ProductKey::parse(key)?,
        },
        ("ci", [key]) => Action::CartInc {
            key: ProductKey::parse(key)?,
        },
        ("cd", [key]) => Action::CartDec {
            key: ProductKey::parse(key)?,
        },
        ("cx", [key]) => Action::CartRemove {
            key: ProductKey::parse(key)?,
        },
        ("cc", []) => Action::CartClear,
        ("co", []) => Action::Checkout,
        ("oy", []) => Action::ConfirmOrder,
        ("on", []) => Action::CancelOrder,
        ("qy", []) => Action::ConfirmQuestion,
        ("qn", []) => Action::CancelQuestion,
        ("s", [order]) => Action::OrderStatus {
            order: parse_number(order)?,
        },
        ("e", [field]) => Action::ProfileEdit(parse_field(field)?),
        ("b", []) => Action::Back,
        ("n", []) => Action::Noop,
        (
            "m" | "p" | "pr" | "ps" | "v" | "a" | "o" | "ci" | "cd" | "cx" | "cc" | "co" | "oy"
            | "on" | "qy" | "qn" | "s" | "e" | "b" | "n",
            _,
        ) => return Err(CallbackError::Malformed),
        _ => return Err(CallbackError::Unknown),
    };
    Ok(action)
}

fn menu_code(item: MenuItem) -> char {
    match item {
        MenuItem::Catalog => 'c',
        MenuItem::Profile => 'p',
        MenuItem::Delivery => 'd',
        MenuItem::Feedback => 'f',
        MenuItem::Cart => 'k',
        MenuItem::Status => 's',
        MenuItem::Help => 'h',
    }
}

fn parse_menu(code: &str) -> Result<MenuItem, CallbackError> {
    Ok(match code {
        "c" => MenuItem::Catalog,
        "p" => MenuItem::Profile,
        "d" => MenuItem::Delivery,
        "f" => MenuItem::Feedback,
        "k" => MenuItem::Cart,
        "s" => MenuItem::Status,
        "h" => MenuItem::Help,
        _ => return Err(CallbackError::Unknown),
    })
}

fn field_code(field: Field) -> char {
    match field {
        Field::Phone => 'p',
        Field::Email => 'e',
        Field::Name => 'n',
    }
}

fn parse_field(code: &str) -> Result<Field, CallbackError> {
    Ok(match code {
        "p" => Field::Phone,
        "e" => Field::Email,
        "n" => Field::Name,
        _ => return Err(CallbackError::Unknown),
    })
}

/// A decimal number exactly as `to_string` writes it (no `+`, no leading
/// zeros), so that every value has one encoding.
fn parse_number<T: FromStr + ToString>(s: &str) -> Result<T, CallbackError> {
    let n: T = s.parse().map_err(|_| CallbackError::Malformed)?;
    if n.to_string() == s {
        Ok(n)
    } else {
        Err(CallbackError::Malformed)
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url.
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// Decodes unpadded base64url; `None` for any other character or an
/// impossible length. Leftover bits are ignored (callers that need one
/// text per value re-encode and compare).
fn unbase64url(s: &str) -> Option<Vec<u8>> {
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codec() -> Codec {
        Codec::new(b"a test secret that is long enough!!")
    }

    fn key(id: &str) -> ProductKey {
        ProductKey::of(id)
    }

    /// One action of every variant, with the largest arguments.
    fn longest_of_each() -> Vec<Action> {
        let k = key(&"x".repeat(500));
        vec![
            Action::Menu(MenuItem::Catalog),
            Action::Menu(MenuItem::Profile),
            Action::Menu(MenuItem::Delivery),
            Action::Menu(MenuItem::Feedback),
            Action::Menu(MenuItem::Cart),
            Action::Menu(MenuItem::Status),
            Action::Menu(MenuItem::Help),
            Action::CatalogPage { page: u32::MAX },
            Action::CatalogRefresh,
            Action::CatalogSearch,
            Action::Product {
                key: k,
                from_page: u32::MAX,
            },
            Action::AddToCart { key: k },
            Action::OrderNow { key: k },
            Action::CartInc { key: k },
            Action::CartDec { key: k },
            Action::CartRemove { key: k },
            Action::CartClear,
            Action::Checkout,
            Action::ConfirmOrder,
            Action::CancelOrder,
            Action::ConfirmQuestion,
            Action::CancelQuestion,
            Action::OrderStatus { order: i64::MIN },
            Action::OrderStatus { order: i64::MAX },
            Action::ProfileEdit(Field::Phone),
            Action::ProfileEdit(Field::Email),
            Action::ProfileEdit(Field::Name),
            Action::Back,
            Action::Noop,
        ]
    }

    #[test]
    fn every_variant_fits_in_64_bytes() {
        let codec = codec();
        let mut longest = 0;
        for action in longest_of_each() {
            let data = codec.encode(&action);
            assert!(data.len() <= MAX_CALLBACK_DATA, "{action:?}: {data}");
            assert!(data.is_ascii(), "{data}");
            assert_eq!(codec.decode(&data), Ok(action), "{data}");
            longest = longest.max(data.len());
        }
        // v:<11>:4294967295.<8>
        assert_eq!(longest, 33);
    }

    #[test]
    fn payloads_are_compact_and_stable() {
        let codec = codec();
        let data = codec.encode(&Action::CatalogPage { page: 3 });
        let (payload, tag) = data.split_once('.').unwrap_or_else(|| panic!("{data}"));
        assert_eq!(payload, "p:3");
        assert_eq!(tag.len(), 8);
        assert_eq!(codec.encode(&Action::CatalogPage { page: 3 }), data);
        let k = key("42");
        assert_eq!(
            codec
                .encode(&Action::AddToCart { key: k })
                .split_once('.')
                .map(|p| p.0),
            Some(format!("a:{k}").as_str())
        );
        assert_eq!(
            codec
                .encode(&Action::OrderStatus { order: -5 })
                .split_once('.')
                .map(|p| p.0),
            Some("s:-5")
        );
    }

    #[test]
    fn product_keys() {
        let k = ProductKey::of("12345");
        assert_eq!(k.as_str().len(), ProductKey::LEN);
        assert_eq!(ProductKey::of("12345"), k);
        assert_ne!(ProductKey::of("12346"), k);
        assert_eq!(ProductKey::parse(k.as_str()), Ok(k));
        assert_eq!(k.as_str().parse::<ProductKey>(), Ok(k));
        assert_eq!(k.to_string(), k.as_str());
        // SHA-256("") starts e3 b0 c4 42 98 fc 1c 14.
        assert_eq!(ProductKey::of("").as_str(), "47DEQpj8HBQ");
        let long = ProductKey::of(&"я".repeat(300));
        assert_eq!(long.as_str().len(), 11);
        assert!(format!("{long:?}").starts_with("ProductKey("));
        for bad in [
            "",
            "47DEQpj8HB",
            "47DEQpj8HBQA",
            "47DEQpj8HBR",
            "47DEQpj8HB+",
            "47DEQpj8HB=",
        ] {
            assert_eq!(
                ProductKey::parse(bad),
                Err(CallbackError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base64url_matches_rfc4648() {
        // RFC 4648 test vectors, without padding.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url(plain.as_bytes()), encoded);
            assert_eq!(unbase64url(encoded), Some(plain.as_bytes().to_vec()));
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(unbase64url("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(unbase64url("Z"), None);
        assert_eq!(unbase64url("Zm+v"), None);
    }

    #[test]
    fn forged_and_altered_data_is_refused() {
        let codec = codec();
        let data = codec.encode(&Action::OrderStatus { order: 17 });
        let (_, tag) = data.split_once('.').unwrap_or_else(|| panic!("{data}"));
        // Another order with the tag of this one.
        assert_eq!(
            codec.decode(&format!("s:18.{tag}")),
            Err(CallbackError::BadSignature)
        );
        // A non-canonical spelling of the same order.
        assert_eq!(
            codec.decode(&format!("s:017.{tag}")),
            Err(CallbackError::BadSignature)
        );
        // Another secret.
        let other = Codec::new(b"another secret");
        assert_eq!(other.decode(&data), Err(CallbackError::BadSignature));
        assert_eq!(
            Codec::new(b"").decode(&data),
            Err(CallbackError::BadSignature)
        );
    }

    #[test]
    fn malformed_data_is_refused() {
        let codec = codec();
        for bad in [
            "",
            ".",
            "p:3",
            "p:3.",
            "p:3.AAAAAAA",
            "p:3.AAAAAAAAA",
            "p:3.AAAA AAA",
            "catalog",
            "buy_123",
        ] {
            assert_eq!(codec.decode(bad), Err(CallbackError::Malformed), "{bad:?}");
        }
        assert_eq!(codec.decode(&"a".repeat(65)), Err(CallbackError::Malformed));
    }

    #[test]
    fn signed_but_unknown_or_invalid_payloads() {
        let codec = codec();
        let sign = |payload: &str| format!("{payload}.{}", base64url(&codec.tag(payload)));
        assert_eq!(codec.decode(&sign("zz:1")), Err(CallbackError::Unknown));
        assert_eq!(codec.decode(&sign("m:x")), Err(CallbackError::Unknown));
        assert_eq!(codec.decode(&sign("e:x")), Err(CallbackError::Unknown));
        assert_eq!(codec.decode(&sign("p:03")), Err(CallbackError::Malformed));
        assert_eq!(codec.decode(&sign("p:+3")), Err(CallbackError::Malformed));
        assert_eq!(
            codec.decode(&sign("p:4294967296")),
            Err(CallbackError::Malformed)
        );
        assert_eq!(codec.decode(&sign("p")), Err(CallbackError::Malformed));
        assert_eq!(codec.decode(&sign("b:1")), Err(CallbackError::Malformed));
        assert_eq!(
            codec.decode(&sign("a:short")),
            Err(CallbackError::Malformed)
        );
        assert_eq!(codec.decode(&sign("s:-0")), Err(CallbackError::Malformed));
        assert_eq!(
            codec.decode(&sign("p:7")),
            Ok(Action::CatalogPage { page: 7 })
        );
    }

    #[test]
    fn codec_debug_hides_the_key() {
        assert_eq!(format!("{:?}", codec()), "Codec { .. }");
    }

    fn any_key() -> impl Strategy<Value = ProductKey> {
        any::<String>().prop_map(|id| ProductKey::of(&id))
    }

    fn any_action() -> impl Strategy<Value = Action> {
        let menu = prop_oneof![
            Just(MenuItem::Catalog),
            Just(MenuItem::Profile),
            Just(MenuItem::Delivery),
            Just(MenuItem::Feedback),
            Just(MenuItem::Cart),
            Just(MenuItem::Status),
            Just(MenuItem::Help),
        ];
        let field = prop_oneof![Just(Field::Phone), Just(Field::Email), Just(Field::Name)];
        prop_oneof![
            menu.prop_map(Action::Menu),
            any::<u32>().prop_map(|page| Action::CatalogPage { page }),
            Just(Action::CatalogRefresh),
            Just(Action::CatalogSearch),
            (any_key(), any::<u32>())
                .prop_map(|(key, from_page)| Action::Product { key, from_page }),
            any_key().prop_map(|key| Action::AddToCart { key }),
            any_key().prop_map(|key| Action::OrderNow { key }),
            any_key().prop_map(|key| Action::CartInc { key }),
            any_key().prop_map(|key| Action::CartDec { key }),
            any_key().prop_map(|key| Action::CartRemove { key }),
            Just(Action::CartClear),
            Just(Action::Checkout),
            Just(Action::ConfirmOrder),
            Just(Action::CancelOrder),
            Just(Action::ConfirmQuestion),
            Just(Action::CancelQuestion),
            any::<i64>().prop_map(|order| Action::OrderStatus { order }),
            field.prop_map(Action::ProfileEdit),
            Just(Action::Back),
            Just(Action::Noop),
        ]
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(action in any_action()) {
            let codec = codec();
            let data = codec.encode(&action);
            prop_assert!(data.len() <= MAX_CALLBACK_DATA);
            prop_assert_eq!(codec.decode(&data), Ok(action));
        }

        #[test]
        fn any_single_byte_change_is_refused(
            action in any_action(),
            position in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let codec = codec();
            let mut data = codec.encode(&action).into_bytes();
            let at = position.index(data.len());
            prop_assume!(data[at] != byte);
            data[at] = byte;
            if let Ok(altered) = String::from_utf8(data) {
                prop_assert!(codec.decode(&altered).is_err(), "{} decoded", altered);
            }
        }

        #[test]
        fn truncated_or_extended_data_is_refused(action in any_action(), cut in 1usize..40, extra in "[a-zA-Z0-9:._-]{1,5}") {
            let codec = codec();
            let data = codec.encode(&action);
            let cut = cut.min(data.len());
            prop_assert!(codec.decode(&data[..data.len() - cut]).is_err());
            let appended = format!("{data}{extra}");
            let prepended = format!("{extra}{data}");
            prop_assert!(codec.decode(&appended).is_err());
            prop_assert!(codec.decode(&prepended).is_err());
        }

        #[test]
        fn decode_never_panics(chars in prop::collection::vec(any::<char>(), 0..=50)) {
            // At most 50 chars of at most 4 bytes: up to 200 bytes.
            let data: String = chars.into_iter().collect();
            let _ = codec().decode(&data);
        }

        #[test]
        fn decode_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..=200)) {
            let data = String::from_utf8_lossy(&bytes);
            prop_assert!(codec().decode(&data).is_err() || data.len() <= MAX_CALLBACK_DATA);
        }

        #[test]
        fn decode_never_panics_on_plausible_data(data in "[a-z]{1,2}(:[A-Za-z0-9_-]{0,12}){0,3}\\.[A-Za-z0-9_-]{0,10}") {
            let result = codec().decode(&data);
            prop_assert!(result.is_err() || data.len() <= MAX_CALLBACK_DATA);
        }
    }
}
