//! Catalog data: offers, products, their JSON shapes and the deterministic generator.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::clock;
use super::json::money;

/// One property of a variant, such as `Колір: Чорний`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimProperty {
    /// The property name, for example `"Розмір"`.
    pub name: String,
    /// The property value, for example `"M"`.
    pub value: String,
}

impl SimProperty {
    /// A property from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// An offer (product variant) as KeyCRM stores it. Money is kept in kopecks.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOffer {
    /// The offer id.
    pub id: i64,
    /// The id of the product this offer belongs to.
    pub product_id: i64,
    /// The SKU; unique in a generated catalog.
    pub sku: String,
    /// The EAN-13 barcode, if the shop uses barcodes for this offer.
    pub barcode: Option<String>,
    /// The variant picture, if any.
    pub thumbnail_url: Option<String>,
    /// The sale price in kopecks (`129950` is 1299.50 UAH).
    pub price_kopecks: i64,
    /// The purchase price in kopecks, if known.
    pub purchased_price_kopecks: Option<i64>,
    /// The stock left, summed over warehouses.
    pub quantity: i64,
    /// Weight in the account's units (kilograms here).
    pub weight: f64,
    /// Length in the account's units (centimetres here).
    pub length: f64,
    /// Width in the account's units (centimetres here).
    pub width: f64,
    /// Height in the account's units (centimetres here).
    pub height: f64,
    /// The variant's properties; empty for the single offer of a product without variants.
    pub properties: Vec<SimProperty>,
    /// Whether the offer is archived (matters only to `filter[is_archived]`).
    pub is_archived: bool,
}

/// A product as KeyCRM stores it. Money is kept in kopecks.
///
/// Prices and stock of a product that has offers are derived from its offers; the
/// product's own `price_kopecks`, `purchased_price_kopecks` and `quantity` are used only
/// when no offer refers to it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimProduct {
    /// The product id.
    pub id: i64,
    /// The product name, for example `"Футболка бавовняна «Карпати»"`.
    pub name: String,
    /// The product description.
    pub description: String,
    /// The product SKU.
    pub sku: String,
    /// The product barcode, if any.
    pub barcode: Option<String>,
    /// The product's own price in kopecks.
    pub price_kopecks: i64,
    /// The product's own purchase price in kopecks, if known.
    pub purchased_price_kopecks: Option<i64>,
    /// The product's own stock.
    pub quantity: i64,
    /// The unit, or `None` for the system unit `шт`.
    pub unit_type: Option<String>,
    /// The currency, `"UAH"` in generated catalogs.
    pub currency_code: String,
    /// The main picture, if any.
    pub thumbnail_url: Option<String>,
    /// Every picture of the product, main first.
    pub attachments: Vec<String>,
    /// Default weight (kilograms).
    pub weight: f64,
    /// Default length (centimetres).
    pub length: f64,
    /// Default width (centimetres).
    pub width: f64,
    /// Default height (centimetres).
    pub height: f64,
    /// Whether the product has variants; `false` for a product sold as a single offer.
    pub has_offers: bool,
    /// Whether the product is archived.
    pub is_archived: bool,
    /// The catalog category.
    pub category_id: Option<i64>,
    /// Creation time, `YYYY-MM-DD HH:MM:SS` UTC.
    pub created_at: String,
    /// Last change time, `YYYY-MM-DD HH:MM:SS` UTC.
    pub updated_at: String,
}

/// The catalog a server instance serves, sorted by id.
#[derive(Debug)]
pub(crate) struct Catalog {
    offers: Vec<SimOffer>,
    products: Vec<SimProduct>,
}

impl Catalog {
    pub(crate) fn new(mut offers: Vec<SimOffer>, mut products: Vec<SimProduct>) -> Self {
        offers.sort_by_key(|o| o.id);
        products.sort_by_key(|p| p.id);
        Self { offers, products }
    }

    pub(crate) fn offers(&self) -> &[SimOffer] {
        &self.offers
    }

    pub(crate) fn products(&self) -> &[SimProduct] {
        &self.products
    }

    pub(crate) fn product(&self, id: i64) -> Option<&SimProduct> {
        self.products
            .binary_search_by_key(&id, |p| p.id)
            .ok()
            .and_then(|i| self.products.get(i))
    }

    pub(crate) fn offer_by_sku(&self, sku: &str) -> Option<&SimOffer> {
        self.offers.iter().find(|o| o.sku == sku)
    }

    fn offers_of(&self, product_id: i64) -> impl Iterator<Item = &SimOffer> {
        self.offers
            .iter()
            .filter(move |o| o.product_id == product_id)
    }

    /// The `Offer` schema; `product` is added only for `include=product`.
    pub(crate) fn offer_json(&self, offer: &SimOffer, include_product: bool) -> Value {
        let mut value = offer_json(offer);
        if include_product {
            value["product"] = self
                .product(offer.product_id)
                .map_or(Value::Null, |p| self.product_offer_json(p));
        }
        value
    }

    /// The `ProductOffer` schema (the product embedded in an offer).
    fn product_offer_json(&self, product: &SimProduct) -> Value {
        let aggregate = self.aggregate(product);
        let mut properties_agg: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for offer in self.offers_of(product.id) {
            for property in &offer.properties {
                let values = properties_agg.entry(&property.name).or_default();
                if !values.contains(&property.value.as_str()) {
                    values.push(&property.value);
                }
            }
        }
        json!({
            "id": product.id,
            "name": product.name,
            "description": product.description,
            "thumbnail_url": product.thumbnail_url,
            "attachments_data": product.attachments,
            "quantity": aggregate.quantity,
            "unit_type": product.unit_type,
            "currency_code": product.currency_code,
            "sku": product.sku,
            "min_price": money(aggregate.min_price),
            "max_price": money(aggregate.max_price),
            "weight": product.weight,
            "length": product.length,
            "width": product.width,
            "height": product.height,
            "has_offers": product.has_offers,
            "is_archived": product.is_archived,
            "properties_agg": properties_agg,
            "category_id": product.category_id,
            "created_at": product.created_at,
            "updated_at": product.updated_at,
        })
    }

    /// The `ProductWithIncludes` schema; `sku`, `barcode`, `price` and `purchased_price`
    /// appear only for products without variants, as the spec says.
    pub(crate) fn product_json(&self, product: &SimProduct) -> Value {
        let aggregate = self.aggregate(product);
        let mut value = json!({
            "id": product.id,
            "name": product.name,
            "description": product.description,
            "thumbnail_url": product.thumbnail_url,
            "attachments_data": product.attachments,
            "quantity": aggregate.quantity,
            "unit_type": product.unit_type,
            "currency_code": product.currency_code,
            "min_price": money(aggregate.min_price),
            "max_price": money(aggregate.max_price),
            "weight": product.weight,
            "length": product.length,
            "width": product.width,
            "height": product.height,
            "has_offers": product.has_offers,
            "is_archived": product.is_archived,
            "category_id": product.category_id,
            "created_at": product.created_at,
            "updated_at": product.updated_at,
        });
        if !product.has_offers {
            value["sku"] = json!(product.sku);
            value["barcode"] = json!(product.barcode);
            value["price"] = money(aggregate.min_price);
            value["purchased_price"] = product.purchased_price_kopecks.map_or(Value::Null, money);
        }
        value
    }

    fn aggregate(&self, product: &SimProduct) -> Aggregate {
        let mut offers = self.offers_of(product.id).peekable();
        if offers.peek().is_none() {
            return Aggregate {
                min_price: product.price_kopecks,
                max_price: product.price_kopecks,
                quantity: product.quantity,
            };
        }
        let mut aggregate = Aggregate {
            min_price: i64::MAX,
            max_price: i64::MIN,
            quantity: 0,
        };
        for offer in offers {
            aggregate.min_price = aggregate.min_price.min(offer.price_kopecks);
            aggregate.max_price = aggregate.max_price.max(offer.price_kopecks);
            aggregate.quantity += offer.quantity;
        }
        aggregate
    }
}

struct Aggregate {
    min_price: i64,
    max_price: i64,
    quantity: i64,
}

/// The `Offer` schema without the `product` association.
pub(crate) fn offer_json(offer: &SimOffer) -> Value {
    let properties: Vec<Value> = offer
        .properties
        .iter()
        .map(|p| json!({ "name": p.name, "value": p.value }))
        .collect();
    json!({
        "id": offer.id,
        "product_id": offer.product_id,
        "sku": offer.sku,
        "barcode": offer.barcode,
        "thumbnail_url": offer.thumbnail_url,
        "price": money(offer.price_kopecks),
        "purchased_price": offer.purchased_price_kopecks.map_or(Value::Null, money),
        "quantity": offer.quantity,
        "weight": offer.weight,
        "length": offer.length,
        "width": offer.width,
        "height": offer.height,
        "properties": properties,
    })
}

/// How the variants of a kind of product differ.
#[derive(Clone, Copy)]
enum Axis {
    /// One property per variant; the value list is walked from a per-product start.
    One(&'static str, &'static [&'static str]),
    /// A per-product fixed first property and a second one that varies.
    Two(
        &'static str,
        &'static [&'static str],
        &'static str,
        &'static [&'static str],
    ),
}

/// One kind of product in the generated shop.
struct Kind {
    code: &'static str,
    name: &'static str,
    description: &'static str,
    price_kopecks: i64,
    /// Added per variant index, for variants such as a bigger volume.
    variant_step_kopecks: i64,
    unit_type: Option<&'static str>,
    weight: f64,
    dimensions: (f64, f64, f64),
    axis: Axis,
}

const COLOURS: &[&str] = &[
    "Чорний",
    "Білий",
    "Графітовий",
    "Оливковий",
    "Бежевий",
    "Синій",
];
const SIZES: &[&str] = &["S", "M", "L", "XL"];

const KINDS: &[Kind] = &[
    Kind {
        code: "TS",
        name: "Футболка бавовняна",
        description: "Щільна бавовна 180 г/м², вільний крій.",
        price_kopecks: 54_900,
        variant_step_kopecks: 0,
        unit_type: None,
        weight: 0.2,
        dimensions: (30.0, 25.0, 2.0),
        axis: Axis::Two("Колір", COLOURS, "Розмір", SIZES),
    },
    Kind {
        code: "HD",
        name: "Худі оверсайз",
        description: "Тринитка з начосом, капюшон на шнурку.",
        price_kopecks: 129_950,
        variant_step_kopecks: 0,
        unit_type: None,
        weight: 0.55,
        dimensions: (35.0, 30.0, 6.0),
        axis: Axis::Two("Колір", COLOURS, "Розмір", SIZES),
    },
    Kind {
        code: "CP",
        name: "Чашка керамічна",
        description: "Кераміка ручної роботи, можна мити в посудомийній машині.",
        price_kopecks: 28_990,
        variant_step_kopecks: 4_000,
        unit_type: None,
        weight: 0.35,
        dimensions: (12.0, 9.0, 10.0),
        axis: Axis::Two("Колір", COLOURS, "Об'єм", &["250 мл", "350 мл", "450 мл"]),
    },
    Kind {
        code: "BG",
        name: "Шопер лляний",
        description: "Ущільнений льон, дві ручки, внутрішня кишеня.",
        price_kopecks: 37_900,
        variant_step_kopecks: 0,
        unit_type: None,
        weight: 0.15,
        dimensions: (40.0, 35.0, 1.0),
        axis: Axis::One("Колір", COLOURS),
    },
    Kind {
        code: "BP",
        name: "Рюкзак міський",
        description: "Відділення для ноутбука 15\", водовідштовхувальна тканина.",
        price_kopecks: 184_900,
        variant_step_kopecks: 0,
        unit_type: None,
        weight: 0.8,
        dimensions: (45.0, 30.0, 15.0),
        axis: Axis::One("Колір", COLOURS),
    },
    Kind {
        code: "CN",
        name: "Свічка соєва ароматична",
        description: "Соєвий віск, бавовняний ґніт, 40 годин горіння.",
        price_kopecks: 31_550,
        variant_step_kopecks: 0,
        unit_type: None,
        weight: 0.3,
        dimensions: (8.0, 8.0, 10.0),
        axis: Axis::One("Аромат", &["Лаванда", "Ваніль", "Кедр", "Морський бриз"]),
    },
    Kind {
        code: "SK",
        name: "Шкарпетки з вишивкою",
        description: "Бавовна з еластаном, вишитий орнамент.",
        price_kopecks: 14_999,
        variant_step_kopecks: 0,
        unit_type: Some("пара"),
        weight: 0.05,
        dimensions: (20.0, 10.0, 1.0),
        axis: Axis::One("Розмір", &["36-40", "41-45"]),
    },
    Kind {
        code: "NB",
        name: "Блокнот у крапку",
        description: "96 аркушів, папір 100 г/м², тверда обкладинка.",
        price_kopecks: 19_900,
        variant_step_kopecks: 5_000,
        unit_type: None,
        weight: 0.25,
        dimensions: (21.0, 15.0, 1.5),
        axis: Axis::One("Формат", &["A6", "A5"]),
    },
    Kind {
        code: "TH",
        name: "Термос сталевий",
        description: "Нержавіюча сталь, тримає тепло 12 годин.",
        price_kopecks: 74_900,
        variant_step_kopecks: 10_000,
        unit_type: None,
        weight: 0.45,
        dimensions: (8.0, 8.0, 26.0),
        axis: Axis::One("Об'єм", &["350 мл", "500 мл", "750 мл"]),
    },
    Kind {
        code: "CA",
        name: "Кепка з логотипом",
        description: "Регульований ремінець, вишитий логотип.",
        price_kopecks: 45_900,
        variant_step_kopecks: 0,
        unit_type: None,
        weight: 0.12,
        dimensions: (25.0, 20.0, 12.0),
        axis: Axis::One("Колір", COLOURS),
    },
    Kind {
        code: "TE",
        name: "Чай трав'яний",
        description: "Карпатські трави, зібрані вручну.",
        price_kopecks: 12_950,
        variant_step_kopecks: 9_000,
        unit_type: None,
        weight: 0.1,
        dimensions: (12.0, 8.0, 5.0),
        axis: Axis::One("Вага", &["50 г", "100 г"]),
    },
    Kind {
        code: "HN",
        name: "Мед натуральний",
        description: "Мед з власної пасіки, скляна банка.",
        price_kopecks: 26_500,
        variant_step_kopecks: 17_000,
        unit_type: None,
        weight: 0.4,
        dimensions: (8.0, 8.0, 10.0),
        axis: Axis::One("Об'єм", &["250 мл", "500 мл"]),
    },
];

const COLLECTIONS: &[&str] = &[
    "Карпати",
    "Дніпро",
    "Говерла",
    "Світязь",
    "Полісся",
    "Таврія",
    "Поділля",
    "Буковина",
    "Слобожанщина",
    "Волинь",
];

/// How many variants product `index` gets before capping by its axis.
const VARIANT_PATTERN: &[usize] = &[2, 3, 1, 2, 1, 3, 2, 2, 3, 1];

/// Product creation times start at 2024-01-15 08:00:00 UTC.
const CATALOG_EPOCH: i64 = 1_705_305_600;

const IMAGE_HOST: &str = "https://images.example.com/keycrm-sim";

/// Generates a catalog with exactly `offer_count` offers; see
/// [`KeyCrmConfig::with_catalog`](super::KeyCrmConfig::with_catalog).
pub(crate) fn generate_catalog(offer_count: usize) -> (Vec<SimOffer>, Vec<SimProduct>) {
    let mut offers = Vec::with_capacity(offer_count);
    let mut products = Vec::new();
    let mut index = 0usize;
    while offers.len() < offer_count {
        let kind = &KINDS[index % KINDS.len()];
        let wanted = VARIANT_PATTERN[index % VARIANT_PATTERN.len()];
        let variants = wanted
            .min(axis_len(kind.axis))
            .min(offer_count - offers.len());
        let mut product = base_product(index);
        product.has_offers = variants > 1;
        for variant in 0..variants {
            let global = offers.len();
            let id = i64::try_from(global + 1).unwrap_or(i64::MAX);
            let properties = if product.has_offers {
                variant_properties(kind.axis, index, variant)
            } else {
                Vec::new()
            };
            let sku = if product.has_offers {
                format!("{}-{}", product.sku, variant + 1)
            } else {
                product.sku.clone()
            };
            let price = product.price_kopecks + kind.variant_step_kopecks * as_i64(variant);
            offers.push(SimOffer {
                id,
                product_id: product.id,
                barcode: (global % 4 != 2).then(|| ean13(482_000_000_000 + as_i64(global))),
                thumbnail_url: (global % 5 != 3)
                    .then(|| format!("{IMAGE_HOST}/offers/{}.jpg", sku.to_lowercase())),
                sku,
                price_kopecks: price,
                purchased_price_kopecks: Some(purchase_price(price)),
                quantity: stock(global),
                weight: kind.weight,
                length: kind.dimensions.0,
                width: kind.dimensions.1,
                height: kind.dimensions.2,
                properties,
                is_archived: false,
            });
        }
        products.push(product);
        index += 1;
    }
    (offers, products)
}

/// Generates `count` products without variants and without offers; see
/// [`KeyCrmConfig::with_products_only`](super::KeyCrmConfig::with_products_only).
pub(crate) fn generate_products_only(count: usize) -> Vec<SimProduct> {
    (0..count).map(base_product).collect()
}

/// Product number `index` (0-based), sold as a single item until variants are added.
fn base_product(index: usize) -> SimProduct {
    let kind = &KINDS[index % KINDS.len()];
    let collection_index = (index / KINDS.len()) % COLLECTIONS.len();
    let round = index / (KINDS.len() * COLLECTIONS.len());
    let collection = COLLECTIONS[collection_index];
    let id = as_i64(index) + 1;
    let name = if round == 0 {
        format!("{} «{collection}»", kind.name)
    } else {
        format!("{} «{collection}» {}", kind.name, round + 1)
    };
    let thumbnail_url = (index % 7 != 5).then(|| format!("{IMAGE_HOST}/products/{id}.jpg"));
    let created = CATALOG_EPOCH + as_i64(index) * 7 * 3600;
    let price = kind.price_kopecks + as_i64(collection_index) * 1_000;
    SimProduct {
        id,
        name,
        description: format!("{} Колекція «{collection}».", kind.description),
        sku: format!("{}-{id:04}", kind.code),
        barcode: (index % 3 != 1).then(|| ean13(482_100_000_000 + id)),
        price_kopecks: price,
        purchased_price_kopecks: Some(purchase_price(price)),
        quantity: stock(index + 3),
        unit_type: kind.unit_type.map(str::to_owned),
        currency_code: "UAH".to_owned(),
        attachments: thumbnail_url.iter().cloned().collect(),
        thumbnail_url,
        weight: kind.weight,
        length: kind.dimensions.0,
        width: kind.dimensions.1,
        height: kind.dimensions.2,
        has_offers: false,
        is_archived: false,
        category_id: Some(as_i64(index % KINDS.len()) + 1),
        created_at: clock::format_unix(created),
        updated_at: clock::format_unix(created + 3 * 86_400 + 1_800),
    }
}

fn axis_len(axis: Axis) -> usize {
    match axis {
        Axis::One(_, values) => values.len(),
        Axis::Two(_, _, _, values) => values.len(),
    }
}

fn variant_properties(axis: Axis, product_index: usize, variant: usize) -> Vec<SimProperty> {
    // Products of one kind sit KINDS.len() apart, so the round number spreads colours
    // and scents across them.
    let round = product_index / KINDS.len();
    match axis {
        Axis::One(name, values) => {
            // Volumes, weights, formats and sizes keep their natural order so the price
            // grows with them.
            let start = if name == "Колір" || name == "Аромат" {
                round
            } else {
                0
            };
            vec![SimProperty::new(
                name,
                values[(start + variant) % values.len()],
            )]
        }
        Axis::Two(fixed_name, fixed_values, name, values) => vec![
            SimProperty::new(fixed_name, fixed_values[round % fixed_values.len()]),
            SimProperty::new(name, values[variant % values.len()]),
        ],
    }
}

/// Stock for offer or product `n`: every ninth is sold out, the rest have 1..=57.
fn stock(n: usize) -> i64 {
    if n % 9 == 4 {
        0
    } else {
        as_i64((n * 37) % 57 + 1)
    }
}

/// A purchase price of 55% of the sale price, in whole kopecks.
fn purchase_price(price_kopecks: i64) -> i64 {
    price_kopecks * 55 / 100
}

/// A 13-digit EAN code from the first 12 digits of `body`, with its check digit.
fn ean13(body: i64) -> String {
    let digits = format!("{:012}", body.rem_euclid(1_000_000_000_000));
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn it_generates_exactly_the_requested_number_of_offers() {
        for n in [0, 1, 2, 7, 230, 500] {
            let (offers, products) = generate_catalog(n);
            assert_eq!(offers.len(), n);
            let ids: Vec<i64> = offers.iter().map(|o| o.id).collect();
            let expected: Vec<i64> = (1..=as_i64(n)).collect();
            assert_eq!(ids, expected);
            for offer in &offers {
                assert!(products.iter().any(|p| p.id == offer.product_id));
            }
        }
    }

    #[test]
    fn it_is_deterministic() {
        assert_eq!(generate_catalog(230), generate_catalog(230));
        assert_eq!(generate_products_only(40), generate_products_only(40));
    }

    #[test]
    fn it_gives_unique_skus_and_variant_properties() {
        let (offers, products) = generate_catalog(500);
        let skus: HashSet<&str> = offers.iter().map(|o| o.sku.as_str()).collect();
        assert_eq!(skus.len(), offers.len());
        let names: HashSet<&str> = products.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), products.len());
        for product in &products {
            let variants: Vec<&SimOffer> = offers
                .iter()
                .filter(|o| o.product_id == product.id)
                .collect();
            assert!((1..=3).contains(&variants.len()), "{}", product.name);
            assert_eq!(product.has_offers, variants.len() > 1);
            if product.has_offers {
                let combos: HashSet<Vec<(String, String)>> = variants
                    .iter()
                    .map(|o| {
                        o.properties
                            .iter()
                            .map(|p| (p.name.clone(), p.value.clone()))
                            .collect()
                    })
                    .collect();
                assert_eq!(combos.len(), variants.len(), "{}", product.name);
                assert!(variants.iter().all(|o| !o.properties.is_empty()));
            } else {
                assert_eq!(variants[0].sku, product.sku);
                assert!(variants[0].properties.is_empty());
            }
        }
    }

    #[test]
    fn it_mixes_prices_pictures_and_stock() {
        let (offers, _) = generate_catalog(230);
        assert!(offers.iter().any(|o| o.price_kopecks % 100 != 0));
        assert!(offers.iter().any(|o| o.price_kopecks % 100 == 0));
        assert!(offers.iter().any(|o| o.thumbnail_url.is_none()));
        assert!(offers.iter().any(|o| o.thumbnail_url.is_some()));
        assert!(offers.iter().any(|o| o.quantity == 0));
        assert!(
            offers
                .iter()
                .all(|o| o.quantity >= 0 && o.price_kopecks > 0)
        );
        assert_eq!(offers[0].sku, "TS-0001-1");
        assert_eq!(
            offers[0].properties,
            vec![
                SimProperty::new("Колір", "Чорний"),
                SimProperty::new("Розмір", "S")
            ]
        );
    }

    #[test]
    fn it_computes_ean13_check_digits() {
        // A published example code.
        assert_eq!(ean13(400_638_133_393), "4006381333931");
    }

    #[test]
    fn it_generates_products_without_offers() {
        let products = generate_products_only(25);
        assert_eq!(products.len(), 25);
        assert!(products.iter().all(|p| !p.has_offers));
        assert_eq!(products[0].name, "Футболка бавовняна «Карпати»");
        assert_eq!(products[12].name, "Футболка бавовняна «Дніпро»");
    }
}
