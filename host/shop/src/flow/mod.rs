//! The shop's flows as pure steps.
//!
//! Each flow (catalog, cart, checkout, profile, status, feedback and
//! questions, delivery) is a module of functions from what the chat looks
//! like now ([`Chat`], plus the facts the step reads: the catalog, the
//! customer's orders) to an [`Outcome`]: the store writes the step makes and
//! the effects it has, in order. Nothing here touches the network or the
//! store, so every step is unit-tested below its flow with real texts and
//! keyboards; `dialogue` is the one runner that loads the facts, commits the
//! writes together and carries the effects out.
//!
//! Two effects come back to a flow: offering a lead to the CRM
//! ([`Effect::Submit`]) and asking the CRM for a lead's status
//! ([`Effect::LeadStatus`]). The runner does the I/O and hands the result to
//! the flow's follow-up step ([`lead::told`], [`status::result`]).

pub mod browse;
pub mod cart;
pub mod checkout;
pub mod delivery;
pub mod lead;
pub mod menu;
pub mod profile;
pub mod status;

use reqwest::Url;
use teloxide::types::{InlineKeyboardMarkup, KeyboardRemove, MessageId, ReplyMarkup};

use crate::callback::Codec;
use crate::delivery::Tariff;
use crate::keyboards::Keys;
use crate::phone::CountryCode;
use crate::settings::ShopSettings;
use crate::state::State;
use switchboard_crm::{LeadKind, LeadType, Money};
use switchboard_store::{CartItem, Customer, LeadRow, Write};
use switchboard_telegram::i18n::{Arg, Locale, Texts};
use switchboard_telegram::text::{MESSAGE_MAX_UTF16, fit_utf16, format_money};

/// How many orders the status and profile views list.
pub const RECENT_ORDERS: i64 = 10;

/// What a step renders with: the shop's configuration and the customer's
/// language. No I/O.
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// Customer-facing texts.
    pub texts: &'a Texts,
    /// Signs inline-button data.
    pub codec: &'a Codec,
    /// The shop's links and settings.
    pub shop: &'a ShopSettings,
    /// The home country of typed phone numbers.
    pub country: &'a CountryCode,
    /// The delivery tariff, when configured.
    pub tariff: Option<&'a Tariff>,
    /// Shown for delivery when there is no tariff.
    pub delivery_text: Option<&'a str>,
    /// The customer's language.
    pub locale: Locale,
}

impl View<'_> {
    /// Keyboards in the customer's language.
    pub fn keys(&self) -> Keys<'_> {
        Keys {
            texts: self.texts,
            locale: self.locale,
            codec: self.codec,
        }
    }

    /// A message's HTML, cut to what one message holds.
    pub fn html(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        fit_utf16(&self.texts.html(self.locale, id, args), MESSAGE_MAX_UTF16)
    }

    /// A plain text (a toast, a label).
    pub fn plain(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.texts.get(self.locale, id, args)
    }

    /// An amount in the customer's locale.
    pub fn money(&self, m: &Money) -> String {
        format_money(m, self.locale)
    }

    /// A lead's title in the CRM, in the business's language (the CRM's
    /// users are the shop's staff, not the customer).
    pub fn crm_title(&self, kind: LeadType) -> String {
        let id = match kind {
            LeadType::Order => "crm-title-order",
            LeadType::Feedback => "crm-title-feedback",
            LeadType::Question => "crm-title-question",
        };
        self.texts.get(self.texts.default_locale(), id, &[])
    }
}

/// The chat as the update found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// The customer.
    pub customer: Customer,
    /// Where the chat stands.
    pub state: State,
    /// The cart, in the order lines were added.
    pub cart: Vec<CartItem>,
    /// The plugin whose catalog the cart may hold lines of (the active
    /// one); `None` when no plugin is active.
    pub plugin_id: Option<String>,
    /// Products whose cart line this very update already changed: it is
    /// seen again after a crash, and the store will not apply its change
    /// twice, so neither may the view a step computes.
    pub already_changed: Vec<String>,
}

impl Chat {
    /// The customer's Telegram user id.
    pub fn user_id(&self) -> i64 {
        self.customer.telegram.user_id
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTML, already cut to fit.
    pub text: String,
    /// Its keyboard.
    pub markup: Option<ReplyMarkup>,
}

/// A lead a step asks the runner to record and offer to the CRM.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// What it is, with an order's lines.
    pub kind: LeadKind,
    /// Its title in the CRM.
    pub title: String,
    /// The customer's text.
    pub comment: Option<String>,
    /// The phone the lead carries, when not the customer's stored one.
    pub phone: Option<String>,
    /// Empty the cart in the same transaction (an order).
    pub clear_cart: bool,
    /// How many cart lines are left afterwards, for the menu shown then.
    pub cart_left: usize,
}

/// Something a step does beyond writing to the store, carried out in order
/// after the writes commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a message.
    Send(Reply),
    /// Send a message whose loss does not matter (a failure is ignored).
    SendIfYouCan(Reply),
    /// Replace the text and keyboard of `message`, or send them anew when
    /// there is no message or it cannot be edited (too old, a photo).
    Show {
        /// The message to edit.
        message: Option<MessageId>,
        /// HTML, already cut to fit.
        text: String,
        /// The keyboard.
        markup: InlineKeyboardMarkup,
    },
    /// A photo with a caption; `fallback` is sent as text when Telegram
    /// refuses the photo.
    Photo {
        /// Where Telegram fetches it.
        url: Url,
        /// The caption, cut to fit.
        caption: String,
        /// The keyboard.
        markup: InlineKeyboardMarkup,
        /// The text sent instead.
        fallback: String,
    },
    /// Answer the button press with this short text.
    Toast(String),
    /// Wake the outbox worker: a lead waits for it.
    WakeOutbox,
    /// Record a lead (with the chat's move to the menu), offer it to the
    /// CRM and hand the outcome to [`lead::told`].
    Submit(Submission),
    /// Ask the CRM that created the lead for its status and hand the answer
    /// to [`status::result`].
    LeadStatus(Box<LeadRow>),
}

/// What a step does: writes committed together, then effects in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// The store writes.
    pub writes: Vec<Write>,
    /// The effects.
    pub effects: Vec<Effect>,
}

impl Outcome {
    /// Nothing to do.
    pub fn none() -> Self {
        Self::default()
    }

    /// Moves the chat to `state`.
    pub fn state(mut self, state: &State) -> Self {
        self.writes.push(Write::State(state.to_json()));
        self
    }

    /// Adds a store write.
    pub fn write(mut self, write: Write) -> Self {
        self.writes.push(write);
        self
    }

    /// Adds an effect.
    pub fn then(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }

    /// Appends another outcome's writes and effects.
    pub fn and(mut self, other: Outcome) -> Self {
        self.writes.extend(other.writes);
        self.effects.extend(other.effects);
        self
    }

    /// The state this outcome moves the chat to, if it does (for tests).
    #[cfg(test)]
    pub fn next_state(&self) -> Option<State> {
        self.writes.iter().rev().find_map(|w| match w {
            Write::State(json) => Some(State::from_json(json)),
            _ => None,
        })
    }

    /// The texts this outcome sends, shows or toasts, in order (for tests).
    #[cfg(test)]
    pub fn texts(&self) -> Vec<&str> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(r) | Effect::SendIfYouCan(r) => Some(r.text.as_str()),
                Effect::Show { text, .. } => Some(text.as_str()),
                Effect::Photo { caption, .. } => Some(caption.as_str()),
                Effect::Toast(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// A message with text `id`.
pub fn say(view: &View<'_>, id: &str, args: &[(&str, Arg<'_>)]) -> Effect {
    Effect::Send(Reply {
        text: view.html(id, args),
        markup: None,
    })
}

/// A message with text `id` and a keyboard.
pub fn say_with(
    view: &View<'_>,
    id: &str,
    args: &[(&str, Arg<'_>)],
    markup: ReplyMarkup,
) -> Effect {
    Effect::Send(Reply {
        text: view.html(id, args),
        markup: Some(markup),
    })
}

/// A message with text `id` that takes the reply keyboard away.
pub fn say_and_remove_keyboard(view: &View<'_>, id: &str, args: &[(&str, Arg<'_>)]) -> Effect {
    say_with(
        view,
        id,
        args,
        ReplyMarkup::KeyboardRemove(KeyboardRemove::new()),
    )
}

/// The main menu under text `id`; `cart_len` lines in the cart.
pub fn menu(view: &View<'_>, cart_len: usize, id: &str, args: &[(&str, Arg<'_>)]) -> Effect {
    let markup = view.keys().menu(view.shop, cart_len);
    say_with(view, id, args, ReplyMarkup::InlineKeyboard(markup))
}

/// `DD.MM.YYYY` of a Unix time in milliseconds, UTC.
pub fn date(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%d.%m.%Y")
            .to_string(),
        // Out of jiff's range (±9999 years): not a time this shop wrote.
        Err(_) => "—".into(),
    }
}

/// A line's sum.
pub fn sum(price: &Money, quantity: u32) -> Money {
    Money {
        minor_units: price.minor_units.saturating_mul(i64::from(quantity)),
        scale: price.scale,
        currency: price.currency.clone(),
    }
}

/// The cart's total; lines in another currency than the first are added to
/// nothing (a CRM's catalog has one currency; this only guards the sum).
pub fn total(items: &[CartItem]) -> Option<Money> {
    let first = items.first()?;
    let minor_units = items
        .iter()
        .filter(|i| i.price.currency == first.price.currency && i.price.scale == first.price.scale)
        .map(|i| sum(&i.price, i.quantity).minor_units)
        .fold(0i64, i64::saturating_add);
    Some(Money {
        minor_units,
        scale: first.price.scale,
        currency: first.price.currency.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::line;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "01.01.1970");
        assert_eq!(date(1_795_305_600_000), "22.11.2026");
        assert_eq!(date(951_782_400_000), "29.02.2000");
    }

    #[test]
    fn totals_are_exact() {
        let t = total(&[line("a", 129_950, 2, "k"), line("b", 1, 3, "k")])
            .unwrap_or_else(|| panic!("no total"));
        assert_eq!(t.minor_units, 259_903);
        assert!(total(&[]).is_none());
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A view and chats for the flows' unit tests: the real texts (Ukrainian,
    //! the default) and keyboards, no network, no store.

    use super::*;
    use switchboard_store::TelegramUser;

    /// What a test view borrows.
    pub struct Fixture {
        pub texts: Texts,
        pub codec: Codec,
        pub shop: ShopSettings,
        pub country: CountryCode,
        pub tariff: Option<Tariff>,
    }

    impl Fixture {
        pub fn new() -> Self {
            Self {
                texts: Texts::new(Locale::Uk),
                codec: Codec::new(b"flow tests"),
                shop: ShopSettings::default(),
                country: CountryCode::UKRAINE,
                tariff: None,
            }
        }

        pub fn view(&self) -> View<'_> {
            View {
                texts: &self.texts,
                codec: &self.codec,
                shop: &self.shop,
                country: &self.country,
                tariff: self.tariff.as_ref(),
                delivery_text: None,
                locale: Locale::Uk,
            }
        }
    }

    /// A known customer in `state` with an empty cart, plugin `keycrm` active.
    pub fn chat(state: State) -> Chat {
        Chat {
            customer: Customer {
                telegram: TelegramUser {
                    user_id: 7,
                    chat_id: 7,
                    first_name: "Олена".into(),
                    last_name: None,
                    username: Some("olena".into()),
                    language: Some("uk".into()),
                },
                full_name: None,
                phone: None,
                email: None,
            },
            state,
            cart: Vec::new(),
            plugin_id: Some("keycrm".into()),
            already_changed: Vec::new(),
        }
    }

    /// A cart line of `plugin`.
    pub fn line(id: &str, minor: i64, quantity: u32, plugin: &str) -> CartItem {
        CartItem {
            product_id: id.into(),
            name: format!("Товар {id}"),
            sku: None,
            price: Money {
                minor_units: minor,
                scale: 2,
                currency: "UAH".into(),
            },
            image_url: None,
            quantity,
            plugin_id: Some(plugin.into()),
        }
    }

    /// Order `id` of customer `user_id`, numbered `crm_id` by the CRM.
    pub fn order(id: i64, user_id: i64, crm_id: Option<&str>) -> LeadRow {
        LeadRow {
            id,
            chat_id: user_id,
            user_id,
            kind: LeadType::Order,
            lead: switchboard_crm::Lead {
                idempotency_key: format!("tg-{user_id}-c{id}"),
                kind: LeadKind::Order(Vec::new()),
                contact: switchboard_crm::Contact {
                    full_name: "Олена".into(),
                    phone: None,
                    email: None,
                    telegram_user_id: Some(user_id),
                    telegram_username: None,
                },
                title: "Замовлення".into(),
                comment: None,
                source: "telegram:@shop".into(),
            },
            state: switchboard_store::LeadState::Delivered,
            attempts: 1,
            next_attempt_at: 0,
            last_error: None,
            plugin_id: "keycrm".into(),
            plugin_version: "1.0.0".into(),
            crm_id: crm_id.map(str::to_string),
            crm_url: None,
            status_name: None,
            status_final: None,
            created_at: 1_795_305_600_000,
            plugin_faults: 0,
            followup: switchboard_store::FollowUp::None,
        }
    }

    /// Whether one of `texts` contains `part`.
    pub fn has(texts: &[&str], part: &str) -> bool {
        texts.iter().any(|t| t.contains(part))
    }

    /// The callback actions of an inline keyboard's buttons.
    pub fn actions(codec: &Codec, markup: &InlineKeyboardMarkup) -> Vec<crate::callback::Action> {
        markup
            .inline_keyboard
            .iter()
            .flatten()
            .filter_map(|b| match &b.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(data) => {
                    codec.decode(data).ok()
                }
                _ => None,
            })
            .collect()
    }
}
