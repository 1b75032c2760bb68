//! Phone numbers as people type them, to E.164 (`+380501234567`).
//!
//! [`normalize`] accepts the usual spellings (`+380 50 123 45 67`,
//! `050-123-45-67`, `(050) 123 45 67`, `00380501234567`, `380501234567`)
//! against the business's home country; [`from_contact`] takes the
//! `phone_number` of a shared Telegram contact, which is international
//! with or without `+`. Numbers of the countries with a built-in plan (see
//! [`CountryCode::KNOWN`]: the shop's neighbours, with the leniencies
//! people there need, like a trunk `0` kept after `+380`) are checked for
//! their length and trunk prefix; numbers of every other assigned calling
//! code are checked against libphonenumber's metadata (the `phonenumber`
//! crate: lengths and number ranges); for an unassigned code, E.164 allows
//! 8 to 15 digits in all.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The fewest digits (country code included) we accept.
pub const MIN_DIGITS: usize = 8;
/// The most digits E.164 allows, country code included.
pub const MAX_DIGITS: usize = 15;
/// The national-number lengths accepted for a country without a fixed one.
pub const GENERIC_NATIONAL_DIGITS: std::ops::RangeInclusive<usize> = 6..=12;

/// A phone number in E.164: `+`, the country calling code and the national
/// number, digits only (`+380501234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    /// The number as text, `+` first.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Reads a number already in canonical E.164 (as stored by the host):
    /// `+` and digits only, and exactly what [`normalize`] would produce.
    pub fn parse(s: &str) -> Result<E164, PhoneError> {
        let digits = s.strip_prefix('+').ok_or(PhoneError::NotE164)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::NotE164);
        }
        let number = international(digits, &CountryCode::UKRAINE)?;
        if number.as_str() == s {
            Ok(number)
        } else {
            Err(PhoneError::NotE164)
        }
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for E164 {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for E164 {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        E164::parse(s)
    }
}

impl From<E164> for String {
    fn from(number: E164) -> Self {
        number.0
    }
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but spaces and separators.
    #[error("no phone number given")]
    Empty,
    /// A letter or symbol other than the usual separators.
    #[error("`{0}` is not allowed in a phone number")]
    InvalidCharacter(char),
    /// A `+` after the first digit, or a second `+`.
    #[error("`+` may only start the number")]
    MisplacedPlus,
    /// An international number whose country code starts with 0.
    #[error("a country calling code cannot start with 0")]
    ZeroCountryCode,
    /// Fewer than [`MIN_DIGITS`] digits in all.
    #[error("too short: {0} digits, at least 8 needed")]
    TooShort(usize),
    /// More than [`MAX_DIGITS`] digits in all.
    #[error("too long: {0} digits, at most 15 allowed")]
    TooLong(usize),
    /// The national number of a country with a fixed length has another.
    #[error("+{calling_code} numbers have {expected} digits after the country code, not {got}")]
    WrongLength {
        /// The country calling code.
        calling_code: u16,
        /// The country's national-number length.
        expected: u8,
        /// The length given.
        got: usize,
    },
    /// The national number of a country without a fixed length is not
    /// within [`GENERIC_NATIONAL_DIGITS`].
    #[error("+{calling_code} numbers have 6 to 12 digits after the country code, not {got}")]
    NationalLength {
        /// The country calling code.
        calling_code: u16,
        /// The length given.
        got: usize,
    },
    /// The national number starts with the country's trunk prefix
    /// (`+380 0…`), which never follows the country code.
    #[error("after +{calling_code} the number cannot start with {prefix}")]
    TrunkPrefix {
        /// The country calling code.
        calling_code: u16,
        /// The trunk prefix.
        prefix: String,
    },
    /// Not canonical E.164 (see [`E164::parse`]).
    #[error("not a canonical E.164 number")]
    NotE164,
    /// The number of a country without a built-in plan is not a number
    /// of that country by libphonenumber's metadata (no such range).
    #[error("+{calling_code} has no numbers like this")]
    NotInPlan {
        /// The country calling code.
        calling_code: u16,
    },
}

/// A country's numbering plan, as much as normalizing needs: its calling
/// code, the trunk prefix dialled before national numbers at home (`0` in
/// Ukraine) and, when all its national numbers have one length, that length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountryCode {
    calling_code: u16,
    national_prefix: Cow<'static, str>,
    national_digits: Option<u8>,
    /// Taken from libphonenumber's metadata rather than built in: its
    /// numbers are also checked against the metadata's number ranges
    /// (the trunk-prefix rule of the built-in plans does not hold for every
    /// country: `+7 800 …` is a Russian number although `8` is Russia's
    /// trunk prefix).
    from_metadata: bool,
}

/// Why a [`CountryCode`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryCodeError {
    /// Not `+` followed by 1 to 3 digits, the first not 0.
    #[error("`{0}` is not a country calling code (expected `+` and 1-3 digits, like +380)")]
    CallingCode(String),
    /// The trunk prefix is not 0 to 3 digits.
    #[error("national prefix `{0}` must be up to 3 digits")]
    NationalPrefix(String),
    /// The national-number length makes numbers shorter than 8 or longer
    /// than 15 digits.
    #[error(
        "+{calling_code} with {digits}-digit national numbers is outside E.164's 8 to 15 digits"
    )]
    NationalDigits {
        /// The country calling code.
        calling_code: u16,
        /// The length given.
        digits: u8,
    },
}

impl CountryCode {
    /// Ukraine: `+380`, national numbers `0` + 9 digits.
    pub const UKRAINE: CountryCode = CountryCode::known(380, "0", Some(9));
    /// Poland: `+48`, 9 digits, no trunk prefix.
    pub const POLAND: CountryCode = CountryCode::known(48, "", Some(9));
    /// Moldova: `+373`, `0` + 8 digits.
    pub const MOLDOVA: CountryCode = CountryCode::known(373, "0", Some(8));
    /// Romania: `+40`, `0` + 9 digits.
    pub const ROMANIA: CountryCode = CountryCode::known(40, "0", Some(9));
    /// Czechia: `+420`, 9 digits, no trunk prefix.
    pub const CZECHIA: CountryCode = CountryCode::known(420, "", Some(9));
    /// Slovakia: `+421`, `0` + 9 digits.
    pub const SLOVAKIA: CountryCode = CountryCode::known(421, "0", Some(9));
    /// Germany: `+49`, `0` + a number of varying length.
    pub const GERMANY: CountryCode = CountryCode::known(49, "0", None);
    /// The United Kingdom: `+44`, `0` + a number of varying length.
    pub const UNITED_KINGDOM: CountryCode = CountryCode::known(44, "0", None);
    /// The North American Numbering Plan (USA, Canada): `+1`, 10 digits,
    /// `1` dialled before them at home.
    pub const NANP: CountryCode = CountryCode::known(1, "1", Some(10));

    /// The countries whose plans are built in: numbers with their calling
    /// codes are checked against them whatever the default country.
    pub const KNOWN: &'static [CountryCode] = &[
        CountryCode::UKRAINE,
        CountryCode::POLAND,
        CountryCode::MOLDOVA,
        CountryCode::ROMANIA,
        CountryCode::CZECHIA,
        CountryCode::SLOVAKIA,
        CountryCode::GERMANY,
        CountryCode::UNITED_KINGDOM,
        CountryCode::NANP,
    ];

    const fn known(calling_code: u16, national_prefix: &'static str, digits: Option<u8>) -> Self {
        CountryCode {
            calling_code,
            national_prefix: Cow::Borrowed(national_prefix),
            national_digits: digits,
            from_metadata: false,
        }
    }

    /// A country from its parts, checked: a calling code of 1 to 3 digits,
    /// a trunk prefix of up to 3 digits (`""` when there is none), and a
    /// national-number length that keeps numbers within E.164.
    pub fn new(
        calling_code: u16,
        national_prefix: &str,
        national_digits: Option<u8>,
    ) -> Result<CountryCode, CountryCodeError> {
        if !(1..=999).contains(&calling_code) {
            return Err(CountryCodeError::CallingCode(calling_code.to_string()));
        }
        if national_prefix.len() > 3 || !national_prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CountryCodeError::NationalPrefix(national_prefix.to_owned()));
        }
        if let Some(digits) = national_digits {
            let total = calling_code.to_string().len() + usize::from(digits);
            if !(MIN_DIGITS..=MAX_DIGITS).contains(&total) {
                return Err(CountryCodeError::NationalDigits {
                    calling_code,
                    digits,
                });
            }
        }
        Ok(CountryCode {
            calling_code,
            national_prefix: Cow::Owned(national_prefix.to_owned()),
            national_digits,
            from_metadata: false,
        })
    }

    /// The country of a calling code as written in config (`"+380"`,
    /// `"48"`): a built-in plan when there is one, else the plan
    /// libphonenumber's metadata gives (its trunk prefix, and the length of
    /// its national numbers when there is one), else a generic country
    /// without a trunk prefix whose national numbers have 6 to 12 digits
    /// (use [`CountryCode::new`] to describe it fully).
    pub fn parse(s: &str) -> Result<CountryCode, CountryCodeError> {
        let trimmed = s.trim();
        let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let valid = (1..=3).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        let code = digits
            .parse::<u16>()
            .ok()
            .filter(|_| valid)
            .ok_or_else(|| CountryCodeError::CallingCode(s.to_owned()))?;
        Ok(CountryCode::of_calling_code(code).unwrap_or(CountryCode {
            calling_code: code,
            national_prefix: Cow::Borrowed(""),
            national_digits: None,
            from_metadata: false,
        }))
    }

    /// The plan of an assigned calling code: a built-in one, else what
    /// libphonenumber's metadata says of the code's regions.
    fn of_calling_code(code: u16) -> Option<CountryCode> {
        if let Some(known) = CountryCode::KNOWN.iter().find(|c| c.calling_code == code) {
            return Some(known.clone());
        }
        let regions = phonenumber::metadata::DATABASE.by_code(&code)?;
        let main = regions.first()?;
        let prefix = main
            .national_prefix()
            .filter(|p| p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or("");
        let mut lengths = regions
            .iter()
            .flat_map(|r| r.descriptors().general().possible_length().iter().copied());
        let first = lengths.next();
        let fixed = first
            .filter(|n| lengths.all(|m| m == *n))
            .and_then(|n| u8::try_from(n).ok());
        CountryCode::new(code, prefix, fixed).ok().map(|mut c| {
            c.from_metadata = true;
            c
        })
    }

    /// The calling code (`380`).
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// The trunk prefix (`"0"`), empty when the country has none.
    pub fn national_prefix(&self) -> &str {
        &self.national_prefix
    }

    /// The length of national numbers (after the calling code), when fixed.
    pub fn national_digits(&self) -> Option<u8> {
        self.national_digits
    }

    /// Checks a national significant number (what follows the calling
    /// code) and returns it without a trunk prefix typed by mistake.
    fn check_national<'a>(&self, nsn: &'a str) -> Result<&'a str, PhoneError> {
        let prefix = self.national_prefix.as_ref();
        let mut nsn = nsn;
        if !prefix.is_empty() && nsn.starts_with(prefix) {
            // "+380 050 …": people often keep the trunk 0 after the code.
            let lenient = match self.national_digits {
                Some(n) => nsn.len() == usize::from(n) + prefix.len(),
                None => true,
            };
            if lenient {
                nsn = &nsn[prefix.len()..];
            }
        }
        match self.national_digits {
            Some(expected) if nsn.len() != usize::from(expected) => {
                return Err(PhoneError::WrongLength {
                    calling_code: self.calling_code,
                    expected,
                    got: nsn.len(),
                });
            }
            None if !GENERIC_NATIONAL_DIGITS.contains(&nsn.len()) => {
                return Err(PhoneError::NationalLength {
                    calling_code: self.calling_code,
                    got: nsn.len(),
                });
            }
            _ => {}
        }
        if !prefix.is_empty() && nsn.starts_with(prefix) {
            return Err(PhoneError::TrunkPrefix {
                calling_code: self.calling_code,
                prefix: prefix.to_owned(),
            });
        }
        Ok(nsn)
    }

    fn e164(&self, nsn: &str) -> Result<E164, PhoneError> {
        if self.from_metadata {
            return self.e164_by_metadata(nsn);
        }
        let nsn = self.check_national(nsn)?;
        let number = format!("+{}{nsn}", self.calling_code);
        check_total(number.len() - 1)?;
        Ok(E164(number))
    }

    /// A number of a country known from the metadata: its length, then its
    /// number ranges. One trunk prefix typed after the code is dropped
    /// when the number is valid only without it.
    fn e164_by_metadata(&self, nsn: &str) -> Result<E164, PhoneError> {
        // Any region sharing the code will do (+7 is Russia and Kazakhstan;
        // libphonenumber's own region guess misses e.g. +7 800 numbers).
        let regions = phonenumber::metadata::DATABASE
            .by_code(&self.calling_code)
            .unwrap_or_default();
        let valid = |nsn: &str| {
            regions
                .iter()
                .any(|r| r.descriptors().general().is_match(nsn))
                .then(|| format!("+{}{nsn}", self.calling_code))
        };
        let prefix = self.national_prefix.as_ref();
        let candidates = std::iter::once(nsn).chain(
            (!prefix.is_empty())
                .then(|| nsn.strip_prefix(prefix))
                .flatten(),
        );
        for candidate in candidates {
            if let Some(number) = valid(candidate) {
                check_total(number.len() - 1)?;
                return Ok(E164(number));
            }
        }
        match self.national_digits {
            Some(expected) if nsn.len() != usize::from(expected) => Err(PhoneError::WrongLength {
                calling_code: self.calling_code,
                expected,
                got: nsn.len(),
            }),
            _ => Err(PhoneError::NotInPlan {
                calling_code: self.calling_code,
            }),
        }
    }
}

impl Default for CountryCode {
    fn default() -> Self {
        CountryCode::UKRAINE
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.calling_code)
    }
}

impl FromStr for CountryCode {
    type Err = CountryCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CountryCode::parse(s)
    }
}

impl<'de> serde::Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        CountryCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A phone number as a customer typed it, in E.164.
///
/// Spaces, no-break spaces, dashes, dots, slashes and parentheses are
/// ignored; any other letter or symbol is refused. Then:
/// - `+…` or `00…` is international and keeps its own country;
/// - a number starting with the default country's trunk prefix (`0…` in
///   Ukraine) is national;
/// - a number starting with the default country's calling code and having
///   the length of an international number of it (`380501234567`) is
///   international;
/// - a number of exactly the national length (`501234567`) is national.
///
/// Numbers of known countries must have their national length, and never
/// start with their trunk prefix after the country code (one trunk prefix
/// typed by mistake, `+380 050 …`, is dropped).
pub fn normalize(input: &str, default_country: &CountryCode) -> Result<E164, PhoneError> {
    let (plus, digits) = digits_of(input)?;
    if plus {
        return international(&digits, default_country);
    }
    if let Some(rest) = digits.strip_prefix("00") {
        return international(rest, default_country);
    }
    let country = default_country;
    let prefix = country.national_prefix();
    let calling_code = country.calling_code.to_string();
    match country.national_digits.map(usize::from) {
        Some(n) => {
            let len = digits.len();
            if !prefix.is_empty() && digits.starts_with(prefix) && len == prefix.len() + n {
                country.e164(&digits[prefix.len()..])
            } else if digits.starts_with(&calling_code)
                && (len == calling_code.len() + n || len == calling_code.len() + prefix.len() + n)
            {
                international(&digits, default_country)
            } else if len == n && (prefix.is_empty() || !digits.starts_with(prefix)) {
                country.e164(&digits)
            } else if digits.starts_with(&calling_code) && len > n + prefix.len() {
                international(&digits, default_country)
            } else {
                let got = match digits.strip_prefix(prefix) {
                    Some(nsn) if !prefix.is_empty() => nsn.len(),
                    _ => len,
                };
                Err(PhoneError::WrongLength {
                    calling_code: country.calling_code,
                    expected: country.national_digits.unwrap_or_default(),
                    got,
                })
            }
        }
        None => {
            if !prefix.is_empty() && digits.starts_with(prefix) {
                country.e164(&digits[prefix.len()..])
            } else if digits.starts_with(&calling_code)
                && digits.len() - calling_code.len() >= *GENERIC_NATIONAL_DIGITS.start()
            {
                international(&digits, default_country)
            } else {
                country.e164(&digits)
            }
        }
    }
}

/// The `phone_number` of a Telegram contact, in E.164. Telegram sends it
/// international, usually without `+` (`380501234567`); separators are
/// tolerated as in [`normalize`]. `default_country` only matters when it
/// is not one of [`CountryCode::KNOWN`]: its rules then apply to its
/// numbers.
pub fn from_contact(phone_number: &str, default_country: &CountryCode) -> Result<E164, PhoneError> {
    let (_, digits) = digits_of(phone_number)?;
    international(&digits, default_country)
}

/// The digits of `input`, and whether it started with `+`.
fn digits_of(input: &str) -> Result<(bool, String), PhoneError> {
    let mut plus = false;
    let mut digits = String::with_capacity(16);
    for c in input.chars() {
        match c {
            '0'..='9' => {
                if digits.len() > MAX_DIGITS + 4 {
                    return Err(PhoneError::TooLong(digits.len() + 1));
                }
                digits.push(c);
            }
            '+' if !plus && digits.is_empty() => plus = true,
            '+' => return Err(PhoneError::MisplacedPlus),
            ' ' | '\t' | '\u{a0}' | '\u{202f}' | '-' | '.' | '/' | '(' | ')' => {}
            '\u{2010}'..='\u{2015}' | '\u{2212}' => {} // typographic dashes and minus
            other => return Err(PhoneError::InvalidCharacter(other)),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    Ok((plus, digits))
}

/// An international number: the country calling code and the rest.
fn international(digits: &str, default_country: &CountryCode) -> Result<E164, PhoneError> {
    if digits.starts_with('0') {
        return Err(PhoneError::ZeroCountryCode);
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    check_total(digits.len())?;
    // Calling codes are prefix-free (ITU E.164), so at most one of the
    // first 1 to 3 digits is an assigned code.
    let country = if digits.starts_with(&default_country.calling_code.to_string()) {
        Some(default_country.clone())
    } else {
        (1..=3)
            .filter_map(|n| digits.get(..n)?.parse::<u16>().ok())
            .find_map(CountryCode::of_calling_code)
    };
    match country {
        Some(country) => {
            let nsn = &digits[country.calling_code.to_string().len()..];
            country.e164(nsn)
        }
        // No assigned calling code: only E.164's bounds can be checked.
        None => Ok(E164(format!("+{digits}"))),
    }
}

fn check_total(len: usize) -> Result<(), PhoneError> {
    if len < MIN_DIGITS {
        Err(PhoneError::TooShort(len))
    } else if len > MAX_DIGITS {
        Err(PhoneError::TooLong(len))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const UA: &CountryCode = &CountryCode::UKRAINE;

    fn ok(input: &str, country: &CountryCode) -> String {
        normalize(input, country)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"))
            .into_string()
    }

    fn err(input: &str, country: &CountryCode) -> PhoneError {
        match normalize(input, country) {
            Ok(n) => panic!("{input:?} accepted as {n}"),
            Err(e) => e,
        }
    }

    fn is_e164(s: &str) -> bool {
        let Some(digits) = s.strip_prefix('+') else {
            return false;
        };
        (MIN_DIGITS..=MAX_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    }

    #[test]
    fn ukrainian_spellings() {
        for input in [
            "+380 50 123 45 67",
            "+380501234567",
            "050-123-45-67",
            "0501234567",
            "380501234567",
            "(050) 123 45 67",
            "00380501234567",
            "+38 (050) 123-45-67",
            "  +380\u{a0}50\u{a0}123\u{a0}45\u{a0}67 ",
            "050.123.45.67",
            "050–123–45–67",
            "501234567",
            "(+380) 50 123 45 67",
            "+380 050 123 45 67",
            "3800501234567",
        ] {
            assert_eq!(ok(input, UA), "+380501234567", "{input:?}");
        }
        assert_eq!(ok("044 123 4567", UA), "+380441234567");
    }

    #[test]
    fn international_numbers_keep_their_country() {
        assert_eq!(ok("+48 601 234 567", UA), "+48601234567");
        assert_eq!(ok("0048601234567", UA), "+48601234567");
        assert_eq!(ok("+49 30 1234567", UA), "+49301234567");
        assert_eq!(ok("+49 (0)30 1234567", UA), "+49301234567");
        assert_eq!(ok("+1 (212) 555-0123", UA), "+12125550123");
        assert_eq!(ok("+44 7700 900123", UA), "+447700900123");
        // A country without a built-in plan: only E.164's bounds apply.
        assert_eq!(ok("+995 555 12 34 56", UA), "+995555123456");
        assert_eq!(ok("+86 138 0013 8000", UA), "+8613800138000");
    }

    #[test]
    fn other_default_countries() {
        let pl = CountryCode::parse("+48").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pl, CountryCode::POLAND);
        assert_eq!(ok("601 234 567", &pl), "+48601234567");
        assert_eq!(ok("48601234567", &pl), "+48601234567");
        // Nine digits starting with 48 are a Polish national number.
        assert_eq!(ok("486012345", &pl), "+48486012345");
        // A Ukrainian national number means nothing in Poland.
        assert_eq!(
            err("0501234567", &pl),
            PhoneError::WrongLength {
                calling_code: 48,
                expected: 9,
                got: 10
            }
        );
        let de = CountryCode::parse("49").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok("030 1234567", &de), "+49301234567");
        assert_eq!(ok("01701234567", &de), "+491701234567");
        let us = CountryCode::NANP;
        assert_eq!(ok("(212) 555-0123", &us), "+12125550123");
        assert_eq!(ok("1 212 555 0123", &us), "+12125550123");
        let generic = CountryCode::parse("+995").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(generic.national_digits(), None);
        assert_eq!(ok("555123456", &generic), "+995555123456");
        assert_eq!(ok("995555123456", &generic), "+995555123456");
    }

    #[test]
    fn countries_without_a_built_in_plan_use_libphonenumbers_metadata() {
        // Russia: trunk prefix 8, yet +7 800 … is a real (toll-free) number.
        assert_eq!(ok("+7 800 555 35 35", UA), "+78005553535");
        assert_eq!(ok("+7 912 345 67 89", UA), "+79123456789");
        let ru = CountryCode::parse("+7").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ru.national_prefix(), "8");
        assert_eq!(ok("8 (912) 345-67-89", &ru), "+79123456789");
        // No Russian number starts with 1: refused, not passed on.
        assert_eq!(
            err("+7 123 456 78 90", UA),
            PhoneError::NotInPlan { calling_code: 7 }
        );
        // Georgia: 9-digit numbers; a Georgian mobile from a Ukrainian shop.
        assert_eq!(ok("+995 599 12 34 56", UA), "+995599123456");
        assert!(matches!(
            err("+995 599 12 34 5", UA),
            PhoneError::WrongLength {
                calling_code: 995,
                ..
            } | PhoneError::NotInPlan { .. }
        ));
        // An unassigned calling code: only E.164's bounds apply.
        assert_eq!(ok("+999 1234 5678", UA), "+99912345678");
    }

    #[test]
    fn custom_country_rules_apply_to_its_numbers() {
        let ge = CountryCode::new(995, "0", Some(9)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok("0555 12 34 56", &ge), "+995555123456");
        assert_eq!(
            err("+995 555 12 34 5", &ge),
            PhoneError::WrongLength {
                calling_code: 995,
                expected: 9,
                got: 8
            }
        );
        assert_eq!(
            from_contact("99555512345", &ge),
            Err(PhoneError::WrongLength {
                calling_code: 995,
                expected: 9,
                got: 8
            })
        );
    }

    #[test]
    fn obviously_wrong_numbers_are_refused() {
        assert_eq!(err("", UA), PhoneError::Empty);
        assert_eq!(err(" - () ", UA), PhoneError::Empty);
        assert_eq!(err("+", UA), PhoneError::Empty);
        assert_eq!(err("050 123 45 6x", UA), PhoneError::InvalidCharacter('x'));
        assert_eq!(
            err("phone: 0501234567", UA),
            PhoneError::InvalidCharacter('p')
        );
        assert_eq!(err("050123456７", UA), PhoneError::InvalidCharacter('７'));
        assert_eq!(err("050+1234567", UA), PhoneError::MisplacedPlus);
        assert_eq!(err("++380501234567", UA), PhoneError::MisplacedPlus);
        assert_eq!(
            err("050123456", UA),
            PhoneError::WrongLength {
                calling_code: 380,
                expected: 9,
                got: 8
            }
        );
        assert_eq!(
            err("05012345678", UA),
            PhoneError::WrongLength {
                calling_code: 380,
                expected: 9,
                got: 10
            }
        );
        assert_eq!(
            err("+380 50 123 45 6", UA),
            PhoneError::WrongLength {
                calling_code: 380,
                expected: 9,
                got: 8
            }
        );
        assert_eq!(
            err("+380 50 123 45 678", UA),
            PhoneError::WrongLength {
                calling_code: 380,
                expected: 9,
                got: 10
            }
        );
        assert_eq!(
            err("+380 012 345 678", UA),
            PhoneError::TrunkPrefix {
                calling_code: 380,
                prefix: "0".into()
            }
        );
        assert_eq!(err("+0501234567", UA), PhoneError::ZeroCountryCode);
        assert_eq!(err("000501234567", UA), PhoneError::ZeroCountryCode);
        assert_eq!(err("+995 1234", UA), PhoneError::TooShort(7));
        assert_eq!(err("+995 1234 5678 9012 3", UA), PhoneError::TooLong(16));
        assert_eq!(
            err("12345", UA),
            PhoneError::WrongLength {
                calling_code: 380,
                expected: 9,
                got: 5
            }
        );
        assert!(matches!(err(&"1".repeat(1000), UA), PhoneError::TooLong(_)));
        assert_eq!(
            err("+48 601 234 56", UA),
            PhoneError::WrongLength {
                calling_code: 48,
                expected: 9,
                got: 8
            }
        );
    }

    #[test]
    fn telegram_contacts() {
        assert_eq!(
            from_contact("380501234567", UA).map(String::from),
            Ok("+380501234567".into())
        );
        assert_eq!(
            from_contact("+380501234567", UA).map(String::from),
            Ok("+380501234567".into())
        );
        // A foreign customer of a Ukrainian shop.
        assert_eq!(
            from_contact("48601234567", UA).map(String::from),
            Ok("+48601234567".into())
        );
        assert_eq!(
            from_contact("0501234567", UA),
            Err(PhoneError::ZeroCountryCode)
        );
        assert_eq!(
            from_contact("38050123456", UA),
            Err(PhoneError::WrongLength {
                calling_code: 380,
                expected: 9,
                got: 8
            })
        );
        assert_eq!(from_contact("", UA), Err(PhoneError::Empty));
    }

    #[test]
    fn e164_type() {
        let n = normalize("0501234567", UA).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.as_str(), "+380501234567");
        assert_eq!(n.to_string(), "+380501234567");
        assert_eq!(n.as_ref(), "+380501234567");
        assert_eq!("+380501234567".parse::<E164>(), Ok(n));
        for bad in [
            "380501234567",
            "+380 50 123 45 67",
            "+3800501234567",
            "+",
            "",
            "+38050123456",
        ] {
            assert!(E164::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            E164::parse("+48601234567").map(String::from),
            Ok("+48601234567".into())
        );
    }

    #[test]
    fn country_codes() {
        assert_eq!(CountryCode::parse(" +380 "), Ok(CountryCode::UKRAINE));
        assert_eq!(CountryCode::default(), CountryCode::UKRAINE);
        assert_eq!(CountryCode::UKRAINE.to_string(), "+380");
        assert_eq!(CountryCode::UKRAINE.national_prefix(), "0");
        assert_eq!(CountryCode::UKRAINE.national_digits(), Some(9));
        assert_eq!(CountryCode::UKRAINE.calling_code(), 380);
        for bad in ["", "+", "+0", "+038", "+3800", "ua", "+3 8", "-48"] {
            assert_eq!(
                CountryCode::parse(bad),
                Err(CountryCodeError::CallingCode(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert_eq!(
            CountryCode::new(0, "0", None),
            Err(CountryCodeError::CallingCode("0".into()))
        );
        assert_eq!(
            CountryCode::new(380, "x", None),
            Err(CountryCodeError::NationalPrefix("x".into()))
        );
        assert_eq!(
            CountryCode::new(290, "", Some(4)),
            Err(CountryCodeError::NationalDigits {
                calling_code: 290,
                digits: 4
            })
        );
        assert_eq!(
            CountryCode::new(380, "0", Some(9)),
            Ok(CountryCode::UKRAINE)
        );
        let from_toml: CountryCode =
            serde_json::from_str("\"+48\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(from_toml, CountryCode::POLAND);
        assert!(serde_json::from_str::<CountryCode>("\"+0\"").is_err());
    }

    #[test]
    fn known_countries_are_valid() {
        for country in CountryCode::KNOWN {
            let rebuilt = CountryCode::new(
                country.calling_code(),
                country.national_prefix(),
                country.national_digits(),
            );
            assert_eq!(rebuilt.as_ref(), Ok(country));
        }
    }

    fn country() -> impl Strategy<Value = CountryCode> {
        prop_oneof![
            Just(CountryCode::UKRAINE),
            Just(CountryCode::POLAND),
            Just(CountryCode::GERMANY),
            Just(CountryCode::NANP),
            Just(CountryCode::parse("+995").unwrap_or_default()),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_and_output_is_e164(input in any::<String>(), country in country()) {
            if let Ok(n) = normalize(&input, &country) {
                prop_assert!(is_e164(n.as_str()), "{}", n);
            }
            if let Ok(n) = from_contact(&input, &country) {
                prop_assert!(is_e164(n.as_str()), "{}", n);
            }
        }

        #[test]
        fn phone_like_input_is_idempotent(
            input in "[+]?[0-9 ()-]{0,20}",
            country in country(),
        ) {
            if let Ok(n) = normalize(&input, &country) {
                prop_assert!(is_e164(n.as_str()), "{}", n);
                prop_assert_eq!(normalize(n.as_str(), &country), Ok(n.clone()));
                prop_assert_eq!(normalize(n.as_str(), &CountryCode::UKRAINE), Ok(n.clone()));
                prop_assert_eq!(from_contact(n.as_str(), &country), Ok(n.clone()));
                prop_assert_eq!(E164::parse(n.as_str()), Ok(n.clone()));
            }
        }

        #[test]
        fn every_ukrainian_mobile_spelling_agrees(
            operator in prop::sample::select(vec!["50", "63", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99"]),
            rest in "[0-9]{7}",
        ) {
            let expected = format!("+380{operator}{rest}");
            let spaced = format!("{} {} {}", &rest[..3], &rest[3..5], &rest[5..]);
            for input in [
                format!("0{operator}{rest}"),
                format!("+380 {operator} {spaced}"),
                format!("(0{operator}) {spaced}"),
                format!("00380{operator}{rest}"),
                format!("380{operator}{rest}"),
            ] {
                prop_assert_eq!(normalize(&input, UA).map(String::from), Ok(expected.clone()), "{}", input);
            }
        }
    }
}
