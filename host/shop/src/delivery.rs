//! Delivery-cost estimates from a distance tariff.
//!
//! A business configures where it delivers from and a list of distance
//! bands, each with a price:
//!
//! ```toml
//! [delivery]
//! origin = { lat = 50.4501, lon = 30.5234 }
//!
//! [[delivery.bands]]
//! up_to_km = 5.0
//! price = "60.00"
//! currency = "UAH"
//!
//! [[delivery.bands]]
//! up_to_km = 15
//! price = "120"
//! currency = "UAH"
//! ```
//!
//! A customer's location is priced by the first band whose `up_to_km` is at
//! least its great-circle distance from the origin (so band limits are
//! inclusive); beyond the last band the location is outside the zone.
//! Prices are decimal strings turned into exact [`Money`]; floats are only
//! used for distances.

use std::fmt;

use serde::Deserialize;

use switchboard_crm::Money;

/// The mean Earth radius (IUGG), in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// One distance band of a tariff.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The band covers distances up to and including this, in kilometres.
    pub up_to_km: f64,
    /// The delivery price within the band.
    pub price: Money,
}

/// A validated delivery tariff: an origin and bands of increasing
/// distance.
#[derive(Debug, Clone, PartialEq)]
pub struct Tariff {
    origin: (f64, f64),
    bands: Vec<Band>,
}

/// What delivery to a location costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The great-circle distance from the origin, in kilometres.
    pub distance_km: f64,
    /// The price; `None` when the location is beyond the last band.
    pub price: Option<Money>,
}

/// Why a tariff is invalid. The messages name the offending setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TariffError {
    /// No bands at all.
    #[error("delivery needs at least one band in bands")]
    NoBands,
    /// The origin's latitude is not a number within -90..=90.
    #[error("origin.lat must be between -90 and 90, got {0}")]
    Latitude(f64),
    /// The origin's longitude is not a number within -180..=180.
    #[error("origin.lon must be between -180 and 180, got {0}")]
    Longitude(f64),
    /// A band's distance is not a positive finite number.
    #[error("bands[{index}].up_to_km must be a positive number of kilometres, got {value}")]
    Distance {
        /// The band's position.
        index: usize,
        /// The value given.
        value: f64,
    },
    /// A band does not reach further than the one before it.
    #[error(
        "bands[{index}].up_to_km must be greater than bands[{}].up_to_km ({previous} km), got {value} km",
        .index.saturating_sub(1)
    )]
    NotIncreasing {
        /// The band's position.
        index: usize,
        /// Its distance.
        value: f64,
        /// The previous band's distance.
        previous: f64,
    },
    /// A negative price.
    #[error("bands[{index}].price must not be negative")]
    NegativePrice {
        /// The band's position.
        index: usize,
    },
    /// The price is not a decimal number such as `"60"` or `"60.50"`.
    #[error("bands[{index}].price: {reason}")]
    Price {
        /// The band's position.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The currency is not a three-letter ISO 4217 code.
    #[error("bands[{index}].currency must be a three-letter code like UAH, got `{value}`")]
    Currency {
        /// The band's position.
        index: usize,
        /// The value given.
        value: String,
    },
    /// Bands priced in different currencies.
    #[error("bands[{index}].currency is {got}, but bands[0] is in {expected}; use one currency")]
    MixedCurrencies {
        /// The band's position.
        index: usize,
        /// The first band's currency.
        expected: String,
        /// This band's currency.
        got: String,
    },
}

impl Tariff {
    /// A tariff from an origin `(lat, lon)` in degrees and bands in order
    /// of increasing distance, checked: at least one band, finite positive
    /// strictly increasing distances, non-negative prices in one currency,
    /// and an origin on the globe.
    pub fn new(origin: (f64, f64), bands: Vec<Band>) -> Result<Tariff, TariffError> {
        let (lat, lon) = origin;
        if !(-90.0..=90.0).contains(&lat) {
            return Err(TariffError::Latitude(lat));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(TariffError::Longitude(lon));
        }
        let first = bands.first().ok_or(TariffError::NoBands)?;
        for (index, band) in bands.iter().enumerate() {
            if !(band.up_to_km.is_finite() && band.up_to_km > 0.0) {
                return Err(TariffError::Distance {
                    index,
                    value: band.up_to_km,
                });
            }
            if let Some(previous) = index.checked_sub(1).and_then(|i| bands.get(i))
                && band.up_to_km <= previous.up_to_km
            {
                return Err(TariffError::NotIncreasing {
                    index,
                    value: band.up_to_km,
                    previous: previous.up_to_km,
                });
            }
            if band.price.minor_units < 0 {
                return Err(TariffError::NegativePrice { index });
            }
            if band.price.currency != first.price.currency {
                return Err(TariffError::MixedCurrencies {
                    index,
                    expected: first.price.currency.clone(),
                    got: band.price.currency.clone(),
                });
            }
        }
        Ok(Tariff { origin, bands })
    }

    /// Where deliveries start, `(lat, lon)` in degrees.
    pub fn origin(&self) -> (f64, f64) {
        self.origin
    }

    /// The bands, in order of increasing distance.
    pub fn bands(&self) -> &[Band] {
        &self.bands
    }

    /// The farthest distance delivered to, in kilometres.
    pub fn max_distance_km(&self) -> f64 {
        self.bands.last().map_or(0.0, |b| b.up_to_km)
    }

    /// The price of delivering `distance_km` away: the first band reaching
    /// that far (limits inclusive), `None` beyond the last band or for a
    /// distance that is not a number.
    pub fn price_for_distance(&self, distance_km: f64) -> Option<&Money> {
        self.bands
            .iter()
            .find(|b| distance_km <= b.up_to_km)
            .map(|b| &b.price)
    }

    /// The distance to `(lat, lon)` and the price of delivering there.
    /// Coordinates that are not numbers give a distance that is not a
    /// number, and no price.
    pub fn estimate(&self, lat: f64, lon: f64) -> Estimate {
        let distance_km = distance_km(self.origin, (lat, lon));
        Estimate {
            distance_km,
            price: self.price_for_distance(distance_km).cloned(),
        }
    }
}

/// The great-circle (haversine) distance between two `(lat, lon)` points
/// in degrees, in kilometres, on a sphere of [`EARTH_RADIUS_KM`].
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let sin_dlat = ((lat2 - lat1) / 2.0).sin();
    let sin_dlon = ((lon2 - lon1) / 2.0).sin();
    let h = sin_dlat * sin_dlat + lat1.cos() * lat2.cos() * sin_dlon * sin_dlon;
    // Rounding can push h a hair outside [0, 1] for antipodal points.
    let h = h.clamp(0.0, 1.0);
    2.0 * EARTH_RADIUS_KM * h.sqrt().atan2((1.0 - h).sqrt())
}

/// The `[delivery]` section of the configuration, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TariffConfig {
    /// Where deliveries start.
    pub origin: OriginConfig,
    /// The distance bands, in order of increasing distance.
    #[serde(default)]
    pub bands: Vec<BandConfig>,
}

/// A point as written in config: `{ lat = 50.4501, lon = 30.5234 }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginConfig {
    /// Latitude in degrees, -90..=90.
    pub lat: f64,
    /// Longitude in degrees, -180..=180.
    pub lon: f64,
}

/// A band as written in config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandConfig {
    /// The band covers distances up to and including this, in kilometres.
    pub up_to_km: f64,
    /// The price as a decimal string (`"60"`, `"60.00"`), never a float.
    pub price: String,
    /// The ISO 4217 currency code (`"UAH"`).
    pub currency: String,
}

impl TariffConfig {
    /// The checked tariff.
    pub fn into_tariff(self) -> Result<Tariff, TariffError> {
        let bands = self
            .bands
            .into_iter()
            .enumerate()
            .map(|(index, band)| {
                let currency = parse_currency(&band.currency).ok_or(TariffError::Currency {
                    index,
                    value: band.currency.clone(),
                })?;
                let price = parse_price(&band.price, &currency).map_err(|e| match e {
                    PriceError::Negative => TariffError::NegativePrice { index },
                    other => TariffError::Price {
                        index,
                        reason: other.to_string(),
                    },
                })?;
                Ok(Band {
                    up_to_km: band.up_to_km,
                    price,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Tariff::new((self.origin.lat, self.origin.lon), bands)
    }
}

/// An upper-case three-letter code.
fn parse_currency(code: &str) -> Option<String> {
    let code = code.trim();
    (code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}

/// The number of decimals ISO 4217 gives a currency (2 for most).
fn minor_unit_digits(currency: &str) -> u8 {
    const NONE: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
        "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NONE.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum PriceError {
    #[error("expected a decimal number like \"60\" or \"60.50\", got {0:?}")]
    Syntax(String),
    #[error("{currency} has {allowed} decimal places, {value:?} has more")]
    TooPrecise {
        currency: String,
        allowed: u8,
        value: String,
    },
    #[error("{0:?} is too large")]
    Overflow(String),
    #[error("must not be negative")]
    Negative,
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "up to {} km: {}", self.up_to_km, self.price)
    }
}

/// A decimal string (`"60"`, `"60.5"`, `"0.05"`) as exact money in
/// `currency`, at the currency's ISO scale.
fn parse_price(text: &str, currency: &str) -> Result<Money, PriceError> {
    let syntax = || PriceError::Syntax(text.to_owned());
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(PriceError::Negative);
    }
    let (int, frac) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || !digits_only(frac) || trimmed.ends_with('.') {
        return Err(syntax());
    }
    let scale = minor_unit_digits(currency);
    let significant = frac.trim_end_matches('0');
    if significant.len() > usize::from(scale) {
        return Err(PriceError::TooPrecise {
            currency: currency.to_owned(),
            allowed: scale,
            value: text.to_owned(),
        });
    }
    let overflow = || PriceError::Overflow(text.to_owned());
    let mut minor_units: i64 = int.parse().map_err(|_| overflow())?;
    for i in 0..usize::from(scale) {
        let digit = significant
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        minor_units = minor_units
            .checked_mul(10)
            .and_then(|n| n.checked_add(digit))
            .ok_or_else(overflow)?;
    }
    Ok(Money {
        minor_units,
        scale,
        currency: currency.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIDAN: (f64, f64) = (50.4501, 30.5234);
    const LVIV_RYNOK: (f64, f64) = (49.8419, 24.0316);

    fn uah(minor_units: i64) -> Money {
        Money {
            minor_units,
            scale: 2,
            currency: "UAH".into(),
        }
    }

    fn band(up_to_km: f64, minor_units: i64) -> Band {
        Band {
            up_to_km,
            price: uah(minor_units),
        }
    }

    fn kyiv_tariff() -> Tariff {
        Tariff::new(
            MAIDAN,
            vec![band(5.0, 6_000), band(15.0, 12_000), band(30.0, 20_000)],
        )
        .unwrap_or_else(|e| panic!("tariff: {e}"))
    }

    #[derive(Deserialize)]
    struct Config {
        delivery: TariffConfig,
    }

    fn from_toml(text: &str) -> Result<Tariff, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.delivery.into_tariff().map_err(|e| e.to_string())
    }

    #[test]
    fn known_distances() {
        assert_eq!(distance_km(MAIDAN, MAIDAN), 0.0);
        let kyiv_lviv = distance_km(MAIDAN, LVIV_RYNOK);
        assert!((kyiv_lviv - 467.351).abs() < 0.01, "{kyiv_lviv}");
        assert_eq!(distance_km(LVIV_RYNOK, MAIDAN), kyiv_lviv);
        // Half the equator is half the circumference.
        let half = distance_km((0.0, 0.0), (0.0, 180.0));
        assert!(
            (half - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6,
            "{half}"
        );
        // Pole to pole across the antimeridian.
        let poles = distance_km((90.0, 0.0), (-90.0, 0.0));
        assert!((poles - half).abs() < 1e-6, "{poles}");
        // 0.1° of longitude at Kyiv's latitude is about 7.08 km.
        let east = distance_km(MAIDAN, (50.4501, 30.6234));
        assert!((east - 7.0803).abs() < 0.001, "{east}");
        // Across the antimeridian the short way: 0.2° of the equator.
        let across = distance_km((0.0, 179.9), (0.0, -179.9));
        assert!((across - 22.239).abs() < 0.001, "{across}");
    }

    #[test]
    fn estimates_by_band() {
        let tariff = kyiv_tariff();
        assert_eq!(
            tariff.estimate(MAIDAN.0, MAIDAN.1),
            Estimate {
                distance_km: 0.0,
                price: Some(uah(6_000))
            }
        );
        // About 0.51 km north: first band.
        let near = tariff.estimate(50.4547, 30.5238);
        assert!((near.distance_km - 0.5123).abs() < 0.001, "{near:?}");
        assert_eq!(near.price, Some(uah(6_000)));
        // About 7.08 km east: second band.
        assert_eq!(tariff.estimate(50.4501, 30.6234).price, Some(uah(12_000)));
        let lviv = tariff.estimate(LVIV_RYNOK.0, LVIV_RYNOK.1);
        assert!((lviv.distance_km - 467.351).abs() < 0.01);
        assert_eq!(lviv.price, None);
        let nowhere = tariff.estimate(f64::NAN, 30.0);
        assert!(nowhere.distance_km.is_nan());
        assert_eq!(nowhere.price, None);
    }

    #[test]
    fn band_limits_are_inclusive() {
        let tariff = kyiv_tariff();
        assert_eq!(tariff.price_for_distance(0.0), Some(&uah(6_000)));
        assert_eq!(tariff.price_for_distance(5.0), Some(&uah(6_000)));
        assert_eq!(tariff.price_for_distance(5.000_001), Some(&uah(12_000)));
        assert_eq!(tariff.price_for_distance(15.0), Some(&uah(12_000)));
        assert_eq!(tariff.price_for_distance(30.0), Some(&uah(20_000)));
        assert_eq!(tariff.price_for_distance(30.000_001), None);
        assert_eq!(tariff.price_for_distance(f64::INFINITY), None);
        assert_eq!(tariff.max_distance_km(), 30.0);
        // A band ending exactly at a real location's distance includes it.
        let lviv = distance_km(MAIDAN, LVIV_RYNOK);
        let exact = Tariff::new(MAIDAN, vec![band(lviv, 50_000)]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            exact.estimate(LVIV_RYNOK.0, LVIV_RYNOK.1).price,
            Some(uah(50_000))
        );
        assert_eq!(exact.origin(), MAIDAN);
        assert_eq!(exact.bands().len(), 1);
    }

    #[test]
    fn validation_names_the_problem() {
        let err = |origin, bands| {
            Tariff::new(origin, bands)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "accepted".into())
        };
        assert_eq!(
            err(MAIDAN, vec![]),
            "delivery needs at least one band in bands"
        );
        assert_eq!(
            err((90.5, 30.0), vec![band(5.0, 1)]),
            "origin.lat must be between -90 and 90, got 90.5"
        );
        assert_eq!(
            err((f64::NAN, 30.0), vec![band(5.0, 1)]),
            "origin.lat must be between -90 and 90, got NaN"
        );
        assert_eq!(
            err((50.0, -180.5), vec![band(5.0, 1)]),
            "origin.lon must be between -180 and 180, got -180.5"
        );
        assert_eq!(
            err(MAIDAN, vec![band(5.0, 1), band(10.0, 2), band(10.0, 3)]),
            "bands[2].up_to_km must be greater than bands[1].up_to_km (10 km), got 10 km"
        );
        assert_eq!(
            err(MAIDAN, vec![band(5.0, 1), band(3.0, 2)]),
            "bands[1].up_to_km must be greater than bands[0].up_to_km (5 km), got 3 km"
        );
        assert_eq!(
            err(MAIDAN, vec![band(0.0, 1)]),
            "bands[0].up_to_km must be a positive number of kilometres, got 0"
        );
        assert_eq!(
            err(MAIDAN, vec![band(5.0, 1), band(f64::INFINITY, 1)]),
            "bands[1].up_to_km must be a positive number of kilometres, got inf"
        );
        assert_eq!(
            err(MAIDAN, vec![band(5.0, 1), band(10.0, -1)]),
            "bands[1].price must not be negative"
        );
        let mut usd = band(10.0, 500);
        usd.price.currency = "USD".into();
        assert_eq!(
            err(MAIDAN, vec![band(5.0, 1), usd]),
            "bands[1].currency is USD, but bands[0] is in UAH; use one currency"
        );
        // Free delivery and the poles are fine.
        assert_eq!(err((-90.0, 180.0), vec![band(1.0, 0)]), "accepted");
    }

    #[test]
    fn config_from_toml() {
        let tariff = from_toml(
            r#"
            [delivery]
            origin = { lat = 50.4501, lon = 30.5234 }

            [[delivery.bands]]
            up_to_km = 5.0
            price = "60.00"
            currency = "UAH"

            [[delivery.bands]]
            up_to_km = 15
            price = "120"
            currency = "uah"

            [[delivery.bands]]
            up_to_km = 40.5
            price = "199.9"
            currency = "UAH"
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tariff.origin(), MAIDAN);
        assert_eq!(
            tariff.bands(),
            &[band(5.0, 6_000), band(15.0, 12_000), band(40.5, 19_990)]
        );
    }

    #[test]
    fn config_errors() {
        let with_band = |band: &str| {
            from_toml(&format!(
                "[delivery]\norigin = {{ lat = 50.0, lon = 30.0 }}\n[[delivery.bands]]\n{band}\n"
            ))
            .err()
            .unwrap_or_else(|| "accepted".into())
        };
        assert_eq!(
            with_band("up_to_km = 5\nprice = \"60,00\"\ncurrency = \"UAH\""),
            "bands[0].price: expected a decimal number like \"60\" or \"60.50\", got \"60,00\""
        );
        assert_eq!(
            with_band("up_to_km = 5\nprice = \"60.005\"\ncurrency = \"UAH\""),
            "bands[0].price: UAH has 2 decimal places, \"60.005\" has more"
        );
        assert_eq!(
            with_band("up_to_km = 5\nprice = \"-60\"\ncurrency = \"UAH\""),
            "bands[0].price must not be negative"
        );
        assert_eq!(
            with_band("up_to_km = 5\nprice = \"60\"\ncurrency = \"гривня\""),
            "bands[0].currency must be a three-letter code like UAH, got `гривня`"
        );
        assert_eq!(
            with_band("up_to_km = 5\nprice = \"99999999999999999999\"\ncurrency = \"UAH\""),
            "bands[0].price: \"99999999999999999999\" is too large"
        );
        // A float price is refused by the config's shape itself.
        let float = with_band("up_to_km = 5\nprice = 60.0\ncurrency = \"UAH\"");
        assert!(float.contains("invalid type: floating point"), "{float}");
        let unknown = with_band("up_to_km = 5\nprice = \"60\"\ncurrency = \"UAH\"\nprise = \"1\"");
        assert!(unknown.contains("unknown field `prise`"), "{unknown}");
        let no_bands = from_toml("[delivery]\norigin = { lat = 50.0, lon = 30.0 }\n");
        assert_eq!(
            no_bands,
            Err("delivery needs at least one band in bands".into())
        );
        let bad_origin = from_toml(
            "[delivery]\norigin = { lat = 95.0, lon = 30.0 }\n[[delivery.bands]]\nup_to_km = 5\nprice = \"1\"\ncurrency = \"UAH\"\n",
        );
        assert_eq!(
            bad_origin,
            Err("origin.lat must be between -90 and 90, got 95".into())
        );
    }

    #[test]
    fn prices_are_exact() {
        let price = |text: &str, currency: &str| parse_price(text, currency);
        let money = |minor_units, scale, currency: &str| Money {
            minor_units,
            scale,
            currency: currency.into(),
        };
        assert_eq!(price("60", "UAH"), Ok(money(6_000, 2, "UAH")));
        assert_eq!(price("60.5", "UAH"), Ok(money(6_050, 2, "UAH")));
        assert_eq!(price("0.05", "UAH"), Ok(money(5, 2, "UAH")));
        assert_eq!(price(" 1299.50 ", "UAH"), Ok(money(129_950, 2, "UAH")));
        assert_eq!(price("60.000", "UAH"), Ok(money(6_000, 2, "UAH")));
        assert_eq!(price("0.1", "UAH"), Ok(money(10, 2, "UAH")));
        assert_eq!(price("1500", "JPY"), Ok(money(1_500, 0, "JPY")));
        assert_eq!(price("1.5", "KWD"), Ok(money(1_500, 3, "KWD")));
        assert_eq!(
            price("92233720368547758.07", "UAH"),
            Ok(money(i64::MAX, 2, "UAH"))
        );
        assert_eq!(
            price("92233720368547758.08", "UAH"),
            Err(PriceError::Overflow("92233720368547758.08".into()))
        );
        for bad in ["", ".5", "5.", "1e3", "+5", "5 0", "0x10", "١٢"] {
            assert_eq!(
                price(bad, "UAH"),
                Err(PriceError::Syntax(bad.into())),
                "{bad:?}"
            );
        }
        assert_eq!(
            price("1.5", "JPY"),
            Err(PriceError::TooPrecise {
                currency: "JPY".into(),
                allowed: 0,
                value: "1.5".into()
            })
        );
        assert_eq!(band(5.0, 6_000).to_string(), "up to 5 km: 60.00 UAH");
    }
}
