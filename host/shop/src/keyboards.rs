//! The dialogue's keyboards. Every callback button's data comes from the
//! signed [`Codec`], so it fits 64 bytes and cannot be forged.

use teloxide::types::{
    ButtonRequest, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, KeyboardMarkup,
    WebAppInfo,
};

use crate::callback::{Action, Codec, Field, MenuItem, ProductKey};
use crate::catalog::Snapshot;
use crate::settings::ShopSettings;
use switchboard_store::{CartItem, LeadRow};
use switchboard_telegram::i18n::{Locale, Texts};
use switchboard_telegram::text::{BUTTON_LABEL_MAX_CHARS, button_label, truncate_chars};

/// Products on one catalog page.
pub const PER_PAGE: usize = 8;

/// Builds keyboards in one locale.
pub struct Keys<'a> {
    /// The texts.
    pub texts: &'a Texts,
    /// The locale.
    pub locale: Locale,
    /// The callback codec.
    pub codec: &'a Codec,
}

impl Keys<'_> {
    fn label(&self, id: &str) -> String {
        self.texts.get(self.locale, id, &[])
    }

    fn button(&self, text: impl Into<String>, action: Action) -> InlineKeyboardButton {
        InlineKeyboardButton::callback(text.into(), self.codec.encode(&action))
    }

    /// "name • price", opening the product card.
    fn product_button(&self, p: &switchboard_crm::Product, from_page: u32) -> InlineKeyboardButton {
        self.button(
            button_label(&p.name, &p.price, self.locale, BUTTON_LABEL_MAX_CHARS),
            Action::Product {
                key: ProductKey::of(&p.id),
                from_page,
            },
        )
    }

    fn back(&self, action: Action) -> InlineKeyboardButton {
        self.button(self.label("btn-back"), action)
    }

    /// The main menu.
    pub fn menu(&self, shop: &ShopSettings, cart_count: usize) -> InlineKeyboardMarkup {
        let mut rows =
            vec![vec![self.button(
                self.label("btn-catalog"),
                Action::Menu(MenuItem::Catalog),
            )]];
        let mut links = Vec::new();
        if let Some(url) = shop
            .website_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
        {
            links.push(InlineKeyboardButton::web_app(
                self.label("btn-website"),
                WebAppInfo { url },
            ));
        }
        if let Some(url) = shop
            .instagram_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
        {
            links.push(InlineKeyboardButton::url(self.label("btn-instagram"), url));
        }
        if !links.is_empty() {
            rows.push(links);
        }
        rows.push(vec![
            self.button(self.label("btn-profile"), Action::Menu(MenuItem::Profile)),
            self.button(self.label("btn-delivery"), Action::Menu(MenuItem::Delivery)),
        ]);
        let mut help =
            vec![self.button(self.label("btn-feedback"), Action::Menu(MenuItem::Feedback))];
        if let Some(url) = shop
            .support_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
        {
            help.push(InlineKeyboardButton::url(self.label("btn-support"), url));
        }
        rows.push(help);
        let count = i64::try_from(cart_count).unwrap_or(i64::MAX);
        rows.push(vec![
            self.button(
                self.texts
                    .get(self.locale, "btn-cart", &[("count", count.into())]),
                Action::Menu(MenuItem::Cart),
            ),
            self.button(self.label("btn-status"), Action::Menu(MenuItem::Status)),
        ]);
        InlineKeyboardMarkup::new(rows)
    }

    /// One catalog page: a button a product, paging, search, refresh, back.
    pub fn catalog(&self, snapshot: &Snapshot, page: usize) -> InlineKeyboardMarkup {
        let pages = snapshot.pages(PER_PAGE);
        let page = page.min(pages.saturating_sub(1));
        let mut rows: Vec<Vec<InlineKeyboardButton>> = snapshot
            .page(page, PER_PAGE)
            .iter()
            .map(|p| vec![self.product_button(p, page as u32)])
            .collect();
        if pages > 1 {
            let mut nav = Vec::new();
            if page > 0 {
                nav.push(self.button(
                    self.label("btn-prev"),
                    Action::CatalogPage {
                        page: page as u32 - 1,
                    },
                ));
            }
            nav.push(self.button(
                self.texts.get(
                    self.locale,
                    "btn-page",
                    &[
                        ("page", (page as i64 + 1).into()),
                        ("pages", (pages as i64).into()),
                    ],
                ),
                Action::Noop,
            ));
            if page + 1 < pages {
                nav.push(self.button(
                    self.label("btn-next"),
                    Action::CatalogPage {
                        page: page as u32 + 1,
                    },
                ));
            }
            rows.push(nav);
        }
        rows.push(vec![
            self.button(self.label("btn-search"), Action::CatalogSearch),
            self.button(self.label("btn-refresh"), Action::CatalogRefresh),
        ]);
        rows.push(vec![self.back(Action::Back)]);
        InlineKeyboardMarkup::new(rows)
    }

    /// Search results, without paging (the best matches).
    pub fn results(&self, products: &[&switchboard_crm::Product]) -> InlineKeyboardMarkup {
        let mut rows: Vec<Vec<InlineKeyboardButton>> = products
            .iter()
            .map(|p| vec![self.product_button(p, 0)])
            .collect();
        rows.push(vec![
            self.button(self.label("btn-search"), Action::CatalogSearch),
            self.back(Action::CatalogPage { page: 0 }),
        ]);
        InlineKeyboardMarkup::new(rows)
    }

    /// A product card's buttons.
    pub fn product(&self, key: ProductKey, name: &str, from_page: u32) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new(vec![
            vec![
                self.button(self.label("btn-add-to-cart"), Action::AddToCart { key }),
                self.button(self.label("btn-order-now"), Action::OrderNow { key }),
            ],
            vec![InlineKeyboardButton::switch_inline_query(
                self.label("btn-share"),
                truncate_chars(name, 200).into_owned(),
            )],
            vec![self.back(Action::CatalogPage { page: from_page })],
        ])
    }

    /// The cart: a row a line (− name · qty + 🗑), then checkout and clear.
    pub fn cart(&self, items: &[CartItem]) -> InlineKeyboardMarkup {
        let mut rows = Vec::new();
        for item in items {
            let key = ProductKey::of(&item.product_id);
            rows.push(vec![self.button(
                self.texts.get(
                    self.locale,
                    "btn-cart-item",
                    &[
                        ("name", truncate_chars(&item.name, 40).as_ref().into()),
                        ("qty", i64::from(item.quantity).into()),
                    ],
                ),
                Action::Noop,
            )]);
            rows.push(vec![
                self.button(self.label("btn-cart-dec"), Action::CartDec { key }),
                self.button(self.label("btn-cart-inc"), Action::CartInc { key }),
                self.button(self.label("btn-cart-remove"), Action::CartRemove { key }),
            ]);
        }
        if !items.is_empty() {
            rows.push(vec![
                self.button(self.label("btn-checkout"), Action::Checkout),
                self.button(self.label("btn-cart-clear"), Action::CartClear),
            ]);
        }
        rows.push(vec![
            self.button(self.label("btn-catalog"), Action::Menu(MenuItem::Catalog)),
            self.back(Action::Back),
        ]);
        InlineKeyboardMarkup::new(rows)
    }

    /// Confirm / cancel an order.
    pub fn confirm_order(&self) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new(vec![vec![
            self.button(self.label("btn-confirm"), Action::ConfirmOrder),
            self.button(self.label("btn-cancel"), Action::CancelOrder),
        ]])
    }

    /// Send / cancel a question.
    pub fn confirm_question(&self) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new(vec![vec![
            self.button(self.label("btn-send-question"), Action::ConfirmQuestion),
            self.button(self.label("btn-cancel"), Action::CancelQuestion),
        ]])
    }

    /// Profile editing.
    pub fn profile(&self) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new(vec![
            vec![
                self.button(
                    self.label("btn-edit-phone"),
                    Action::ProfileEdit(Field::Phone),
                ),
                self.button(
                    self.label("btn-edit-email"),
                    Action::ProfileEdit(Field::Email),
                ),
            ],
            vec![self.button(
                self.label("btn-edit-name"),
                Action::ProfileEdit(Field::Name),
            )],
            vec![self.back(Action::Back)],
        ])
    }

    /// A button per order (newest first), to see its status.
    pub fn orders(&self, orders: &[LeadRow], date: impl Fn(i64) -> String) -> InlineKeyboardMarkup {
        let mut rows: Vec<Vec<InlineKeyboardButton>> = orders
            .iter()
            .map(|o| {
                let number = o.crm_id.clone().unwrap_or_else(|| format!("#{}", o.id));
                vec![self.button(
                    self.texts.get(
                        self.locale,
                        "btn-order",
                        &[
                            ("number", number.as_str().into()),
                            ("date", date(o.created_at).as_str().into()),
                        ],
                    ),
                    Action::OrderStatus { order: o.id },
                )]
            })
            .collect();
        rows.push(vec![self.back(Action::Back)]);
        InlineKeyboardMarkup::new(rows)
    }

    /// A reply keyboard asking for the customer's own phone number.
    pub fn share_phone(&self) -> KeyboardMarkup {
        KeyboardMarkup::new(vec![
            vec![
                KeyboardButton::new(self.label("btn-share-phone")).request(ButtonRequest::Contact),
            ],
            vec![KeyboardButton::new(self.label("btn-cancel"))],
        ])
        .resize_keyboard()
        .one_time_keyboard()
    }

    /// A reply keyboard asking for a location.
    pub fn share_location(&self) -> KeyboardMarkup {
        KeyboardMarkup::new(vec![
            vec![
                KeyboardButton::new(self.label("btn-send-location"))
                    .request(ButtonRequest::Location),
            ],
            vec![KeyboardButton::new(self.label("btn-cancel"))],
        ])
        .resize_keyboard()
        .one_time_keyboard()
    }
}
