//! The customer dialogue: one update in, replies out, state stored.
//!
//! Every step reads the chat's state from the store, acts, and stores the
//! next state; a confirmed lead is written together with that state change
//! before the customer is told anything. CRM calls go through the active
//! plugin with its deadline, so a slow CRM only delays the chat waiting for
//! it.

use std::sync::Arc;
use std::time::Duration;

use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageTextSetters, SendMessageSetters, SendPhotoSetters,
};
use teloxide::prelude::Requester;
use teloxide::types::{
    CallbackQuery, ChatId, InlineKeyboardMarkup, InputFile, KeyboardRemove, Message, MessageId,
    ParseMode, ReplyMarkup, Update, UpdateKind, User,
};

use crate::callback::{Action, Codec, Field, MenuItem, ProductKey};
use crate::catalog::{Catalog, CatalogError, Snapshot};
use crate::delivery::Tariff;
use crate::keyboards::{Keys, PER_PAGE};
use crate::phone::{self, CountryCode};
use crate::route::{Input, Step, route};
use crate::settings::ShopSettings;
use crate::state::{EditField, State};
use switchboard_crm::{Contact, Lead, LeadKind, LeadType, LineItem, Money};
use switchboard_plugin_runtime::Registry;
use switchboard_store::{
    CartItem, ContactField, Customer, LeadRow, LeadState, NewLead, Settle, Store, TelegramUser,
};
use switchboard_telegram::client::{Client, redact, with_retries};
use switchboard_telegram::i18n::{Arg, Locale, Texts};
use switchboard_telegram::text::{
    CAPTION_MAX_UTF16, MESSAGE_MAX_UTF16, escape_html, fit_utf16, format_money,
};

/// The longest a customer waits for the CRM to take a lead before being
/// told it will be confirmed later.
const CRM_WAIT: Duration = Duration::from_secs(15);
/// How long the outbox worker leaves a lead alone while the dialogue offers
/// it to the CRM (past `CRM_WAIT`, so the two never send it at once).
const INLINE_LEASE: Duration = Duration::from_secs(45);
/// How many orders the status and profile views list.
const RECENT_ORDERS: i64 = 10;
/// The longest text accepted as feedback, a question or a profile value.
const MAX_INPUT_CHARS: usize = 3000;

/// What every handler needs.
pub struct Dialogue {
    /// The Bot API client.
    pub bot: Client,
    /// The store.
    pub store: Store,
    /// The CRM plugins.
    pub registry: Arc<Registry>,
    /// The catalog cache.
    pub catalog: Catalog,
    /// Customer-facing texts.
    pub texts: Arc<Texts>,
    /// Signs inline-button data.
    pub codec: Codec,
    /// The shop's links and settings.
    pub shop: ShopSettings,
    /// The home country of typed phone numbers.
    pub country: CountryCode,
    /// The delivery tariff, when configured.
    pub tariff: Option<Tariff>,
    /// Shown for delivery when there is no tariff.
    pub delivery_text: Option<String>,
    /// The bot token, only to redact it from errors.
    pub token: String,
    /// The bot's username, for lead sources.
    pub bot_username: String,
    /// Telegram's flood limits on what the bot sends.
    pub outgoing: Arc<switchboard_telegram::outgoing::Outgoing>,
    /// Wakes the outbox worker when a lead is left to it.
    pub outbox: Arc<tokio::sync::Notify>,
    /// The outbox's retry policy, for the first attempt's outcome too.
    pub retry: switchboard_outbox::RetryPolicy,
}

/// One chat's context while handling an update.
struct Ctx<'a> {
    d: &'a Dialogue,
    chat: ChatId,
    /// The Telegram update being handled; stored with every state change,
    /// so the same update seen again knows its step already ran.
    update_id: i64,
    /// The message or button press being handled: the same after a
    /// redelivery, so a replayed confirmation does not make a second lead
    /// and a replayed "add" does not add twice.
    trigger: String,
    locale: Locale,
    customer: Customer,
    /// The chat's state when the update arrived.
    state: State,
    /// The stored state was written by this very update: it is being seen
    /// again (replayed from the inbox after a crash, or redelivered to the
    /// webhook) and its step must not run twice.
    replayed: bool,
}

impl Dialogue {
    /// Handles one update. Never fails: problems are logged and, where the
    /// customer is waiting, answered with a polite message.
    pub async fn handle(&self, update: Update) {
        let update_id = i64::from(update.id.0);
        // Kept for the apology below: the update itself is consumed.
        let waiting = update
            .chat()
            .filter(|c| c.is_private())
            .map(|c| c.id)
            .zip(update.from().map(|u| self.locale_for(u)));
        let result = match update.kind {
            UpdateKind::Message(message) => self.on_message(message, update_id).await,
            UpdateKind::CallbackQuery(query) => self.on_callback(query, update_id).await,
            other => {
                tracing::debug!(kind = ?std::mem::discriminant(&other), "update ignored");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %redact(&e.to_string(), &self.token), "update handling failed");
            // The store failed, so the step did not happen (or not wholly):
            // the customer hears so and can try again, instead of waiting
            // for nothing.
            if let (HandleError::Store(_), Some((chat, locale))) = (&e, waiting) {
                let text = self.texts.html(locale, "error-generic", &[]);
                if let Err(e) = self.send_html(chat, text, None).await {
                    tracing::warn!(error = %redact(&e.to_string(), &self.token), "the apology for a failed step was not sent");
                }
            }
        }
    }

    /// Sends an HTML message within Telegram's flood limits, retrying what
    /// Telegram did not take (see [`with_retries`]).
    async fn send_html(
        &self,
        chat: ChatId,
        text: String,
        markup: Option<ReplyMarkup>,
    ) -> Result<Message, teloxide::RequestError> {
        let mut request = self
            .bot
            .send_message(chat, text)
            .parse_mode(ParseMode::Html);
        if let Some(markup) = markup {
            request = request.reply_markup(markup);
        }
        self.outgoing.acquire(chat.0).await;
        with_retries(|| request.clone(), &self.token).await
    }

    fn locale_for(&self, user: &User) -> Locale {
        match self.shop.language.as_deref().and_then(Locale::parse) {
            Some(forced) => forced,
            None => self.texts.locale_for(user.language_code.as_deref()),
        }
    }

    async fn ctx(
        &self,
        user: &User,
        chat: ChatId,
        update_id: i64,
        trigger: String,
    ) -> Result<Ctx<'_>, HandleError> {
        let telegram = TelegramUser {
            user_id: i64::try_from(user.id.0).unwrap_or(i64::MAX),
            chat_id: chat.0,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            username: user.username.clone(),
            language: user.language_code.clone(),
        };
        // One read for the customer and the chat's step; a write only when
        // Telegram's data changed.
        let (known, stored) = self.store.chat(telegram.user_id, chat.0).await?;
        let customer = match known {
            Some(known) if known.telegram == telegram => known,
            _ => self.store.upsert_customer(&telegram).await?,
        };
        let replayed = stored.as_ref().and_then(|s| s.update_id) == Some(update_id);
        let state = stored
            .map(|s| State::from_json(&s.state))
            .unwrap_or_default();
        Ok(Ctx {
            d: self,
            chat,
            update_id,
            trigger,
            locale: self.locale_for(user),
            customer,
            state,
            replayed,
        })
    }

    async fn on_message(&self, message: Message, update_id: i64) -> Result<(), HandleError> {
        let Some(user) = message.from.clone() else {
            return Ok(());
        };
        if !message.chat.is_private() {
            return Ok(());
        }
        let ctx = self
            .ctx(
                &user,
                message.chat.id,
                update_id,
                format!("m{}", message.id.0),
            )
            .await?;
        if ctx.replayed {
            return ctx.resume().await;
        }
        let cancel = self.texts.get(ctx.locale, "btn-cancel", &[]);
        let input = if let Some(contact) = message.contact() {
            Input::Contact {
                number: &contact.phone_number,
                own: contact.user_id.is_some_and(|id| id == user.id),
            }
        } else if let Some(location) = message.location() {
            Input::Location {
                lat: location.latitude,
                lon: location.longitude,
            }
        } else if let Some(text) = message.text() {
            Input::of_text(text, &cancel)
        } else {
            Input::Other
        };
        let cut: String;
        let input = match input {
            Input::Text(text) if text.chars().nth(MAX_INPUT_CHARS).is_some() => {
                cut = text.chars().take(MAX_INPUT_CHARS).collect();
                if matches!(ctx.state, State::Feedback | State::Menu) {
                    // Said before the confirmation, so the customer knows
                    // what the shop will get.
                    tracing::info!(chat = ctx.chat.0, "an oversized message was cut");
                    ctx.send(
                        "input-truncated",
                        &[("max", (MAX_INPUT_CHARS as i64).into())],
                        None,
                    )
                    .await?;
                }
                Input::Text(&cut)
            }
            other => other,
        };
        let step = route(&ctx.state, input, &self.country);
        ctx.run(step).await
    }

    async fn on_callback(&self, query: CallbackQuery, update_id: i64) -> Result<(), HandleError> {
        let Some(message) = query.message.as_ref() else {
            let answer = self.bot.answer_callback_query(query.id.clone()).await;
            self.log_answer_failure(answer);
            return Ok(());
        };
        let chat = message.chat().id;
        // Only a text message can be edited into another view; a product
        // card with a photo is answered with a new message instead.
        let editable = match message {
            teloxide::types::MaybeInaccessibleMessage::Regular(m) => m.text().is_some(),
            teloxide::types::MaybeInaccessibleMessage::Inaccessible(_) => false,
        };
        let message_id = editable.then(|| message.id());
        let ctx = self
            .ctx(&query.from, chat, update_id, format!("c{}", query.id.0))
            .await?;
        if ctx.replayed {
            let answer = self.bot.answer_callback_query(query.id.clone()).await;
            self.log_answer_failure(answer);
            return ctx.resume().await;
        }
        let action = query
            .data
            .as_deref()
            .ok_or(())
            .and_then(|data| self.codec.decode(data).map_err(|_| ()));
        let Ok(action) = action else {
            tracing::info!(chat = chat.0, "stale or tampered button pressed");
            let answer = self
                .bot
                .answer_callback_query(query.id.clone())
                .text(self.texts.get(ctx.locale, "toast-button-stale", &[]))
                .await;
            self.log_answer_failure(answer);
            ctx.send("button-stale", &[], None).await?;
            return ctx.menu("menu-title", &[]).await;
        };
        let toast = ctx.on_action(action, message_id).await;
        let mut answer = self.bot.answer_callback_query(query.id.clone());
        if let Ok(Some(text)) = &toast {
            answer = answer.text(text.clone());
        }
        self.log_answer_failure(answer.await);
        toast.map(|_| ())
    }

    /// An unanswered callback only leaves a spinner on the customer's
    /// button; it must not stop the reply itself.
    fn log_answer_failure<T>(&self, result: Result<T, teloxide::RequestError>) {
        if let Err(e) = result {
            tracing::info!(error = %redact(&e.to_string(), &self.token), "answerCallbackQuery failed");
        }
    }
}

/// What adding a product to the cart did.
enum Added {
    /// Added; the product's name.
    Yes(String),
    /// The product is no longer in the catalog.
    Gone,
    /// The catalog could not be loaded (the customer was told).
    NoCatalog,
}

/// Why a step failed (logged; the customer gets a generic apology where it
/// makes sense).
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The Bot API refused or failed.
    #[error("telegram: {0}")]
    Telegram(#[from] teloxide::RequestError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] switchboard_store::StoreError),
}

/// What a customer is told about a lead of `kind` (as stored): when the
/// CRM took it, when it is left to the outbox, and when it failed.
fn lead_texts(kind: LeadType) -> (&'static str, &'static str, &'static str) {
    match kind {
        LeadType::Order => ("order-sent", "order-pending", "order-failed"),
        LeadType::Question => ("question-sent", "question-sent", "error-generic"),
        LeadType::Feedback => ("feedback-thanks", "feedback-thanks", "error-generic"),
    }
}

/// `DD.MM.YYYY` of a Unix time in milliseconds, UTC.
fn date(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%d.%m.%Y")
            .to_string(),
        // Out of jiff's range (±9999 years): not a time this shop wrote.
        Err(_) => "—".into(),
    }
}

fn sum(price: &Money, quantity: u32) -> Money {
    Money {
        minor_units: price.minor_units.saturating_mul(i64::from(quantity)),
        scale: price.scale,
        currency: price.currency.clone(),
    }
}

/// The cart's total; lines in another currency than the first are added to
/// nothing (a CRM's catalog has one currency; this only guards the sum).
fn total(items: &[CartItem]) -> Option<Money> {
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

fn valid_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
        && text.len() <= 254
}

impl Ctx<'_> {
    fn user_id(&self) -> i64 {
        self.customer.telegram.user_id
    }

    fn keys(&self) -> Keys<'_> {
        Keys {
            texts: &self.d.texts,
            locale: self.locale,
            codec: &self.d.codec,
        }
    }

    fn html(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        fit_utf16(&self.d.texts.html(self.locale, id, args), MESSAGE_MAX_UTF16)
    }

    /// A lead's title in the CRM, in the business's language (the CRM's
    /// users are the shop's staff, not the customer).
    fn crm_title(&self, kind: LeadType) -> String {
        let id = match kind {
            LeadType::Order => "crm-title-order",
            LeadType::Feedback => "crm-title-feedback",
            LeadType::Question => "crm-title-question",
        };
        self.d.texts.get(self.d.texts.default_locale(), id, &[])
    }

    fn plain(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.d.texts.get(self.locale, id, args)
    }

    fn money(&self, m: &Money) -> String {
        format_money(m, self.locale)
    }

    async fn set_state(&self, state: &State) -> Result<(), HandleError> {
        self.d
            .store
            .set_dialogue_step(self.chat.0, &state.to_json(), self.update_id)
            .await?;
        Ok(())
    }

    /// The idempotency key of a lead this update confirms.
    fn lead_key(&self) -> String {
        format!("tg-{}-{}", self.chat.0, self.trigger)
    }

    /// Answers an update whose step already ran (its first handling was cut
    /// short by a crash, or Telegram delivered it again): instead of running
    /// the step twice, the customer is shown where the chat stands now —
    /// what became of the lead it confirmed, or the current step's prompt.
    async fn resume(&self) -> Result<(), HandleError> {
        tracing::info!(
            chat = self.chat.0,
            update = self.update_id,
            "update seen again after its step was stored; showing where the chat stands"
        );
        if let Some(lead) = self.d.store.lead_by_key(&self.lead_key()).await? {
            return self.tell_known_lead(&lead).await;
        }
        match self.state.clone() {
            State::Menu => self.menu("menu-title", &[]).await,
            State::Searching => self.ask_search().await,
            State::AskPhone => self.ask_phone().await,
            State::ConfirmOrder { phone } => self.confirm_order(&phone).await,
            State::Feedback => self.ask_feedback().await,
            State::ConfirmQuestion { text } => self.ask_question(&text).await,
            State::EditProfile { field } => self.ask_profile(field).await,
            State::Status => self.status_choose().await,
            State::Delivery => self.ask_location().await,
        }
    }

    /// Tells the customer where a recorded lead stands (its confirmation
    /// was seen again, and the first answer may never have gone out).
    async fn tell_known_lead(&self, row: &LeadRow) -> Result<(), HandleError> {
        let (sent, pending, failed) = lead_texts(row.kind);
        match (row.state, row.crm_id.as_deref()) {
            (LeadState::Delivered, Some(crm_id)) => {
                self.remove_keyboard(sent, &[("number", crm_id.into())])
                    .await?;
            }
            (LeadState::Dead | LeadState::Dropped, _) => {
                self.remove_keyboard(failed, &[]).await?;
            }
            _ => {
                self.d.outbox.notify_one();
                let number = format!("#{}", row.id);
                self.remove_keyboard(pending, &[("number", number.as_str().into())])
                    .await?;
            }
        }
        self.menu("menu-title", &[]).await
    }

    async fn send_raw(
        &self,
        text: String,
        markup: Option<ReplyMarkup>,
    ) -> Result<Message, HandleError> {
        Ok(self.d.send_html(self.chat, text, markup).await?)
    }

    async fn send(
        &self,
        id: &str,
        args: &[(&str, Arg<'_>)],
        markup: Option<ReplyMarkup>,
    ) -> Result<Message, HandleError> {
        self.send_raw(self.html(id, args), markup).await
    }

    /// Replaces an inline message's text and keyboard, or sends a new one
    /// when it cannot be edited (too old, or a photo).
    async fn show(
        &self,
        message: Option<MessageId>,
        text: String,
        markup: InlineKeyboardMarkup,
    ) -> Result<(), HandleError> {
        if let Some(id) = message {
            let edit = self
                .d
                .bot
                .edit_message_text(self.chat, id, text.clone())
                .parse_mode(ParseMode::Html)
                .reply_markup(markup.clone())
                .await;
            match edit {
                Ok(_) => return Ok(()),
                Err(teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)) => {
                    return Ok(());
                }
                Err(_) => {}
            }
        }
        self.send_raw(text, Some(ReplyMarkup::InlineKeyboard(markup)))
            .await?;
        Ok(())
    }

    async fn menu(&self, id: &str, args: &[(&str, Arg<'_>)]) -> Result<(), HandleError> {
        let cart = self.d.store.cart(self.chat.0).await?;
        let markup = self.keys().menu(&self.d.shop, cart.len());
        self.send(id, args, Some(ReplyMarkup::InlineKeyboard(markup)))
            .await?;
        Ok(())
    }

    async fn remove_keyboard(&self, id: &str, args: &[(&str, Arg<'_>)]) -> Result<(), HandleError> {
        self.send(
            id,
            args,
            Some(ReplyMarkup::KeyboardRemove(KeyboardRemove::new())),
        )
        .await?;
        Ok(())
    }

    async fn hint(&self) -> Result<(), HandleError> {
        self.send("hint-unexpected", &[], None).await?;
        Ok(())
    }

    // --- commands and text ---------------------------------------------

    /// Carries out the step [`route`] chose for a message.
    async fn run(&self, step: Step) -> Result<(), HandleError> {
        match step {
            Step::Start => {
                self.set_state(&State::Menu).await?;
                let name = self.customer.telegram.first_name.clone();
                self.menu("greeting", &[("name", name.as_str().into())])
                    .await
            }
            Step::Catalog => {
                self.set_state(&State::Menu).await?;
                self.catalog_page(0, None, false).await
            }
            Step::Cart => self.cart(None).await,
            Step::StatusChoose => self.status_choose().await,
            Step::Help => {
                self.send("help", &[], None).await?;
                Ok(())
            }
            Step::Cancel => {
                self.set_state(&State::Menu).await?;
                self.remove_keyboard("cancel-done", &[]).await?;
                self.menu("menu-title", &[]).await
            }
            Step::Stop => {
                self.d.store.clear_dialogue(self.chat.0).await?;
                self.remove_keyboard("stop-goodbye", &[]).await
            }
            Step::Hint => self.hint().await,
            Step::Search(text) => {
                self.set_state(&State::Menu).await?;
                self.search(&text).await
            }
            Step::ConfirmOrder(phone) => self.confirm_order(&phone).await,
            Step::InvalidPhone => {
                self.send("checkout-invalid-phone", &[], None).await?;
                Ok(())
            }
            Step::ForeignContact => {
                self.send("checkout-foreign-contact", &[], None).await?;
                Ok(())
            }
            Step::Feedback(text) => {
                self.submit(
                    LeadKind::Feedback,
                    &self.crm_title(LeadType::Feedback),
                    Some(text),
                    None,
                    false,
                )
                .await
            }
            Step::SaveProfile(field, text) => self.save_profile(field, &text).await,
            Step::StatusByNumber(text) => self.status_by_number(&text).await,
            Step::AskQuestion(text) => {
                self.set_state(&State::ConfirmQuestion { text: text.clone() })
                    .await?;
                self.ask_question(&text).await
            }
            Step::Delivery { lat, lon } => self.on_location(lat, lon).await,
        }
    }

    async fn on_location(&self, lat: f64, lon: f64) -> Result<(), HandleError> {
        self.set_state(&State::Menu).await?;
        let Some(tariff) = &self.d.tariff else {
            return self.delivery_flat().await;
        };
        let estimate = tariff.estimate(lat, lon);
        let distance =
            switchboard_telegram::text::format_distance_km(estimate.distance_km, self.locale);
        match &estimate.price {
            Some(price) => {
                let price = self.money(price);
                self.remove_keyboard(
                    "delivery-estimate",
                    &[
                        ("distance", distance.as_str().into()),
                        ("price", price.as_str().into()),
                    ],
                )
                .await?;
            }
            None => {
                self.remove_keyboard(
                    "delivery-outside",
                    &[("distance", distance.as_str().into())],
                )
                .await?;
            }
        }
        self.menu("menu-title", &[]).await
    }

    async fn delivery_flat(&self) -> Result<(), HandleError> {
        let text = self.d.delivery_text.clone().unwrap_or_default();
        self.remove_keyboard("delivery-flat", &[("text", text.as_str().into())])
            .await?;
        self.menu("menu-title", &[]).await
    }

    // --- buttons ----------------------------------------------------------

    /// Acts on a button; returns a short toast for the button press.
    async fn on_action(
        &self,
        action: Action,
        here: Option<MessageId>,
    ) -> Result<Option<String>, HandleError> {
        match action {
            Action::Menu(MenuItem::Catalog) => self.catalog_page(0, None, false).await?,
            Action::Menu(MenuItem::Profile) => self.profile().await?,
            Action::Menu(MenuItem::Delivery) => {
                if self.d.tariff.is_none() {
                    self.delivery_flat().await?;
                } else {
                    self.set_state(&State::Delivery).await?;
                    self.ask_location().await?;
                }
            }
            Action::Menu(MenuItem::Feedback) => {
                self.set_state(&State::Feedback).await?;
                self.ask_feedback().await?;
            }
            Action::Menu(MenuItem::Cart) => self.cart(None).await?,
            Action::Menu(MenuItem::Status) => self.status_choose().await?,
            Action::Menu(MenuItem::Help) => {
                self.send("help", &[], None).await?;
            }
            Action::CatalogPage { page } => self.catalog_page(page as usize, here, false).await?,
            Action::CatalogRefresh => self.catalog_page(0, here, true).await?,
            Action::CatalogSearch => {
                self.set_state(&State::Searching).await?;
                self.ask_search().await?;
            }
            Action::Product { key, from_page } => self.product(key, from_page).await?,
            Action::AddToCart { key } => {
                return Ok(match self.add_to_cart(key).await? {
                    Added::Yes(name) => Some(self.added_toast(&name)),
                    Added::Gone => Some(self.plain("toast-button-stale", &[])),
                    Added::NoCatalog => None,
                });
            }
            Action::OrderNow { key } => match self.add_to_cart(key).await? {
                Added::Yes(_) => self.checkout().await?,
                Added::Gone => return Ok(Some(self.plain("toast-button-stale", &[]))),
                // The customer was already told the catalog is unavailable.
                Added::NoCatalog => {}
            },
            Action::CartInc { key } => self.cart_change(key, 1, here).await?,
            Action::CartDec { key } => self.cart_change(key, -1, here).await?,
            Action::CartRemove { key } => self.cart_change(key, -i64::from(u32::MAX), here).await?,
            Action::CartClear => {
                self.d.store.cart_clear(self.chat.0).await?;
                self.cart(here).await?;
                return Ok(Some(self.plain("toast-cart-cleared", &[])));
            }
            Action::Checkout => self.checkout().await?,
            Action::ConfirmOrder => self.place_order().await?,
            Action::CancelOrder => {
                self.set_state(&State::Menu).await?;
                self.remove_keyboard("order-cancelled", &[]).await?;
                self.menu("menu-title", &[]).await?;
            }
            Action::ConfirmQuestion => {
                let State::ConfirmQuestion { text } = self.state.clone() else {
                    return Ok(Some(self.plain("toast-button-stale", &[])));
                };
                self.submit(
                    LeadKind::Question,
                    &self.crm_title(LeadType::Question),
                    Some(text),
                    None,
                    false,
                )
                .await?;
            }
            Action::CancelQuestion => {
                self.set_state(&State::Menu).await?;
                self.menu("question-cancelled", &[]).await?;
            }
            Action::OrderStatus { order } => self.status_of(order).await?,
            Action::ProfileEdit(field) => {
                let field = match field {
                    Field::Phone => EditField::Phone,
                    Field::Email => EditField::Email,
                    Field::Name => EditField::Name,
                };
                self.set_state(&State::EditProfile { field }).await?;
                self.ask_profile(field).await?;
            }
            Action::Back => {
                self.set_state(&State::Menu).await?;
                self.menu("menu-title", &[]).await?;
            }
            Action::Noop => {}
        }
        Ok(None)
    }

    // --- prompts: what a step asks for, shown again by `resume` ------------

    async fn ask_search(&self) -> Result<(), HandleError> {
        self.send("search-prompt", &[], None).await?;
        Ok(())
    }

    async fn ask_phone(&self) -> Result<(), HandleError> {
        let markup = ReplyMarkup::Keyboard(self.keys().share_phone());
        self.send("checkout-ask-phone", &[], Some(markup)).await?;
        Ok(())
    }

    async fn ask_feedback(&self) -> Result<(), HandleError> {
        self.send("feedback-prompt", &[], None).await?;
        Ok(())
    }

    async fn ask_question(&self, text: &str) -> Result<(), HandleError> {
        let markup = ReplyMarkup::InlineKeyboard(self.keys().confirm_question());
        self.send("question-confirm", &[("text", text.into())], Some(markup))
            .await?;
        Ok(())
    }

    async fn ask_profile(&self, field: EditField) -> Result<(), HandleError> {
        let prompt = match field {
            EditField::Phone => "profile-ask-phone",
            EditField::Email => "profile-ask-email",
            EditField::Name => "profile-ask-name",
        };
        let markup =
            (field == EditField::Phone).then(|| ReplyMarkup::Keyboard(self.keys().share_phone()));
        self.send(prompt, &[], markup).await?;
        Ok(())
    }

    async fn ask_location(&self) -> Result<(), HandleError> {
        let markup = ReplyMarkup::Keyboard(self.keys().share_location());
        self.send("delivery-ask-location", &[], Some(markup))
            .await?;
        Ok(())
    }

    // --- catalog ------------------------------------------------------------

    async fn snapshot(&self, refresh: bool) -> Result<Option<Arc<Snapshot>>, HandleError> {
        let result = if refresh {
            self.d.catalog.refresh().await
        } else {
            self.d.catalog.get().await
        };
        match result {
            Ok(snapshot) => Ok(Some(snapshot)),
            Err(CatalogError::Store(e)) => Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "catalog unavailable");
                self.send("error-generic", &[], None).await?;
                Ok(None)
            }
        }
    }

    async fn catalog_page(
        &self,
        page: usize,
        message: Option<MessageId>,
        refresh: bool,
    ) -> Result<(), HandleError> {
        let Some(snapshot) = self.snapshot(refresh).await? else {
            return Ok(());
        };
        if snapshot.is_empty() {
            self.send("catalog-empty", &[], None).await?;
            return Ok(());
        }
        let pages = snapshot.pages(PER_PAGE);
        let page = page.min(pages - 1);
        let mut text = self.html(
            "catalog-header",
            &[
                ("page", (page as i64 + 1).into()),
                ("pages", (pages as i64).into()),
            ],
        );
        if snapshot.is_stale() {
            let when = date(snapshot.fetched_at_ms());
            text = format!(
                "{}\n\n{text}",
                self.html("catalog-stale", &[("time", when.as_str().into())])
            );
        }
        self.show(message, text, self.keys().catalog(&snapshot, page))
            .await
    }

    async fn search(&self, query: &str) -> Result<(), HandleError> {
        let Some(snapshot) = self.snapshot(false).await? else {
            return Ok(());
        };
        let found = snapshot.search(query, 20);
        if found.is_empty() {
            let markup = self.keys().results(&[]);
            self.send(
                "search-no-results",
                &[("query", query.into())],
                Some(ReplyMarkup::InlineKeyboard(markup)),
            )
            .await?;
            return Ok(());
        }
        let markup = self.keys().results(&found);
        self.send(
            "search-results",
            &[
                ("query", query.into()),
                ("count", (found.len() as i64).into()),
            ],
            Some(ReplyMarkup::InlineKeyboard(markup)),
        )
        .await?;
        Ok(())
    }

    async fn product(&self, key: ProductKey, from_page: u32) -> Result<(), HandleError> {
        let Some(snapshot) = self.snapshot(false).await? else {
            return Ok(());
        };
        let Some(product) = snapshot.find(&key) else {
            self.send("product-unavailable", &[], None).await?;
            return self.catalog_page(from_page as usize, None, false).await;
        };
        let mut lines = vec![format!("<b>{}</b>", escape_html(&product.name))];
        let price = self.money(&product.price);
        lines.push(self.html("product-price", &[("price", price.as_str().into())]));
        if let Some(sku) = &product.sku {
            lines.push(self.html("product-sku", &[("sku", sku.as_str().into())]));
        }
        match product.stock {
            Some(0) | Some(i64::MIN..=-1) => lines.push(self.html("product-out-of-stock", &[])),
            Some(qty) => lines.push(self.html("product-in-stock-qty", &[("qty", qty.into())])),
            None => {}
        }
        let header = lines.join("\n");
        let markup = self.keys().product(key, &product.name, from_page);
        let description = product
            .description
            .as_deref()
            .map(escape_html)
            .unwrap_or_default();
        let full = if description.is_empty() {
            header.clone()
        } else {
            format!("{header}\n\n{description}")
        };
        if let Some(url) = product
            .image_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
        {
            // A caption holds 1,024 characters; the description is cut to fit.
            let caption = fit_utf16(&full, CAPTION_MAX_UTF16);
            self.d.outgoing.acquire(self.chat.0).await;
            let sent = self
                .d
                .bot
                .send_photo(self.chat, InputFile::url(url))
                .caption(caption)
                .parse_mode(ParseMode::Html)
                .reply_markup(markup.clone())
                .await;
            match sent {
                Ok(_) => return Ok(()),
                Err(e) => {
                    tracing::info!(error = %redact(&e.to_string(), &self.d.token), "product photo refused; sending text")
                }
            }
        }
        self.send_raw(
            fit_utf16(&full, MESSAGE_MAX_UTF16),
            Some(ReplyMarkup::InlineKeyboard(markup)),
        )
        .await?;
        Ok(())
    }

    // --- cart -------------------------------------------------------------------

    async fn add_to_cart(&self, key: ProductKey) -> Result<Added, HandleError> {
        let Some(snapshot) = self.snapshot(false).await? else {
            return Ok(Added::NoCatalog);
        };
        let Some(product) = snapshot.find(&key) else {
            return Ok(Added::Gone);
        };
        self.d
            .store
            .cart_add(
                self.chat.0,
                &CartItem {
                    product_id: product.id.clone(),
                    name: product.name.clone(),
                    sku: product.sku.clone(),
                    price: product.price.clone(),
                    image_url: product.image_url.clone(),
                    quantity: 1,
                    plugin_id: Some(snapshot.plugin_id().to_string()),
                },
                &self.trigger,
            )
            .await?;
        Ok(Added::Yes(product.name.clone()))
    }

    fn added_toast(&self, name: &str) -> String {
        // A callback answer holds at most 200 characters.
        let name = switchboard_telegram::text::truncate_chars(name, 120);
        self.plain("toast-added-to-cart", &[("name", name.as_ref().into())])
    }

    async fn cart_change(
        &self,
        key: ProductKey,
        delta: i64,
        message: Option<MessageId>,
    ) -> Result<(), HandleError> {
        let items = self.d.store.cart(self.chat.0).await?;
        if let Some(item) = items.iter().find(|i| ProductKey::of(&i.product_id) == key) {
            self.d
                .store
                .cart_change(self.chat.0, &item.product_id, delta, &self.trigger)
                .await?;
        }
        self.cart(message).await
    }

    fn cart_text(&self, items: &[CartItem]) -> String {
        let lines: Vec<String> = items
            .iter()
            .map(|i| {
                let line_sum = self.money(&sum(&i.price, i.quantity));
                self.html(
                    "cart-line",
                    &[
                        ("name", i.name.as_str().into()),
                        ("qty", i64::from(i.quantity).into()),
                        ("sum", line_sum.as_str().into()),
                    ],
                )
            })
            .collect();
        lines.join("\n")
    }

    /// The cart's lines that can still be ordered: lines from another
    /// plugin's catalog than the active one (the CRM was swapped since they
    /// were added) are taken out, and the customer is told how many.
    async fn orderable_cart(&self) -> Result<Vec<CartItem>, HandleError> {
        Ok(self.orderable_cart_changed().await?.0)
    }

    /// [`Self::orderable_cart`], and whether lines were just taken out.
    /// The cart is read once; only a cart that holds foreign lines costs a
    /// write.
    async fn orderable_cart_changed(&self) -> Result<(Vec<CartItem>, bool), HandleError> {
        let mut items = self.d.store.cart(self.chat.0).await?;
        let Ok(plugin) = self.d.registry.active() else {
            return Ok((items, false));
        };
        let foreign = |i: &CartItem| i.plugin_id.as_deref().is_some_and(|p| p != plugin.id());
        if !items.iter().any(foreign) {
            return Ok((items, false));
        }
        let dropped = self
            .d
            .store
            .cart_drop_foreign(self.chat.0, plugin.id())
            .await?;
        items.retain(|i| !foreign(i));
        tracing::info!(chat = self.chat.0, dropped, plugin = %plugin.id(), "cart lines from another CRM's catalog removed");
        let count = i64::try_from(dropped).unwrap_or(i64::MAX);
        self.send("cart-lines-dropped", &[("count", count.into())], None)
            .await?;
        Ok((items, true))
    }

    async fn cart(&self, message: Option<MessageId>) -> Result<(), HandleError> {
        let items = self.orderable_cart().await?;
        let markup = self.keys().cart(&items);
        let Some(total) = total(&items) else {
            return self
                .show(message, self.html("cart-empty", &[]), markup)
                .await;
        };
        let total = self.money(&total);
        let text = format!(
            "{}\n\n{}\n\n{}",
            self.html("cart-title", &[]),
            self.cart_text(&items),
            self.html("cart-total", &[("total", total.as_str().into())])
        );
        self.show(message, fit_utf16(&text, MESSAGE_MAX_UTF16), markup)
            .await
    }

    // --- checkout -------------------------------------------------------

    async fn checkout(&self) -> Result<(), HandleError> {
        if self.orderable_cart().await?.is_empty() {
            return self.cart(None).await;
        }
        if let Some(phone) = self.customer.phone.clone() {
            return self.confirm_order(&phone).await;
        }
        self.set_state(&State::AskPhone).await?;
        self.ask_phone().await
    }

    async fn confirm_order(&self, phone: &str) -> Result<(), HandleError> {
        // The number is kept even when the cart turns out empty, so the
        // customer is not asked for it again on their next order.
        if self.customer.phone.as_deref() != Some(phone) {
            self.d
                .store
                .set_contact(self.user_id(), ContactField::Phone, Some(phone))
                .await?;
        }
        let items = self.orderable_cart().await?;
        let Some(total) = total(&items) else {
            self.set_state(&State::Menu).await?;
            return self.cart(None).await;
        };
        self.set_state(&State::ConfirmOrder {
            phone: phone.to_string(),
        })
        .await?;
        // The reply keyboard goes away before the summary with its inline buttons.
        self.remove_keyboard("checkout-phone-ok", &[]).await.ok();
        let items_html = self.cart_text(&items);
        let total = self.money(&total);
        let name = self.customer.display_name();
        let markup = self.keys().confirm_order();
        self.send(
            "checkout-summary",
            &[
                ("items", Arg::Html(&items_html)),
                ("total", total.as_str().into()),
                ("phone", phone.into()),
                ("name", name.as_str().into()),
            ],
            Some(ReplyMarkup::InlineKeyboard(markup)),
        )
        .await?;
        Ok(())
    }

    async fn place_order(&self) -> Result<(), HandleError> {
        let State::ConfirmOrder { phone } = self.state.clone() else {
            self.send("button-stale", &[], None).await?;
            return self.menu("menu-title", &[]).await;
        };
        let (items, changed) = self.orderable_cart_changed().await?;
        // The summary the customer confirmed listed lines that are gone: they
        // see the cart as it is now instead of an order they did not confirm.
        if items.is_empty() || changed {
            self.set_state(&State::Menu).await?;
            return self.cart(None).await;
        }
        let lines = items
            .iter()
            .map(|i| LineItem {
                product_id: i.product_id.clone(),
                name: i.name.clone(),
                sku: i.sku.clone(),
                quantity: i.quantity,
                unit_price: i.price.clone(),
                image_url: i.image_url.clone(),
            })
            .collect();
        self.submit(
            LeadKind::Order(lines),
            &self.crm_title(LeadType::Order),
            None,
            Some(phone),
            true,
        )
        .await
    }

    /// Records a lead durably (with the move to the menu and, for orders, the
    /// emptied cart), then offers it to the CRM and tells the customer what
    /// happened.
    async fn submit(
        &self,
        kind: LeadKind,
        title: &str,
        comment: Option<String>,
        phone: Option<String>,
        clear_cart: bool,
    ) -> Result<(), HandleError> {
        let plugin = match self.d.registry.active() {
            Ok(plugin) => Some(plugin),
            Err(e) => {
                tracing::error!(error = %e, "no CRM plugin to take a lead; it stays in the outbox");
                None
            }
        };
        let key = self.lead_key();
        let lead = Lead {
            idempotency_key: key,
            kind,
            contact: Contact {
                full_name: self.customer.display_name(),
                phone: phone.or_else(|| self.customer.phone.clone()),
                email: self.customer.email.clone(),
                telegram_user_id: Some(self.user_id()),
                telegram_username: self.customer.telegram.username.clone(),
            },
            title: title.to_string(),
            comment,
            source: format!("telegram:@{}", self.d.bot_username),
        };
        let now = switchboard_store::now_ms();
        let new = NewLead {
            chat_id: self.chat.0,
            user_id: self.user_id(),
            lead: lead.clone(),
            plugin_id: plugin
                .as_ref()
                .map(|p| p.id().to_string())
                .unwrap_or_default(),
            plugin_version: plugin
                .as_ref()
                .map(|p| p.info.version.clone())
                .unwrap_or_default(),
            claimed_until: plugin
                .as_ref()
                .map(|_| now + INLINE_LEASE.as_millis() as i64),
            update_id: Some(self.update_id),
        };
        let (id, recorded) = self
            .d
            .store
            .record_lead_once(&new, Some(&State::Menu.to_json()), clear_cart)
            .await?;
        let (sent, pending, failed) = lead_texts(lead.kind.lead_type());
        if !recorded {
            // A redelivered confirmation whose first handling did not get
            // to store the next state.
            tracing::info!(
                lead = id,
                "confirmation seen again; the lead is already recorded"
            );
            return match self.d.store.lead(id).await? {
                Some(row) => self.tell_known_lead(&row).await,
                None => self.menu("menu-title", &[]).await,
            };
        }
        let Some(plugin) = plugin else {
            self.d.outbox.notify_one();
            self.remove_keyboard(pending, &[("number", format!("#{id}").as_str().into())])
                .await?;
            return self.menu("menu-title", &[]).await;
        };
        let result = match tokio::time::timeout(CRM_WAIT, plugin.create_lead(&lead)).await {
            Ok(result) => result,
            Err(_) => Err(switchboard_plugin_runtime::CallError::Timeout {
                plugin: plugin.id().to_string(),
                operation: "create-lead",
                timeout_ms: CRM_WAIT.as_millis() as u64,
            }),
        };
        let outcome =
            switchboard_outbox::judge(&result, 0, 0, &self.d.retry, switchboard_store::now_ms());
        // Told right below, so no follow-up is owed.
        self.d.store.settle(id, &outcome, false).await?;
        match &outcome {
            Settle::Delivered { crm_id, .. } => {
                self.remove_keyboard(sent, &[("number", crm_id.as_str().into())])
                    .await?;
            }
            Settle::Dead { error } => {
                tracing::error!(lead = id, error = %error, "ALERT the CRM refused a lead; dead-lettered");
                self.remove_keyboard(failed, &[]).await?;
            }
            Settle::Retry { error, .. } | Settle::Postpone { reason: error, .. } => {
                tracing::warn!(lead = id, error = %error, "the CRM did not take a lead now; the outbox will retry");
                self.d.outbox.notify_one();
                self.remove_keyboard(pending, &[("number", format!("#{id}").as_str().into())])
                    .await?;
            }
        }
        self.menu("menu-title", &[]).await
    }

    // --- profile and status -------------------------------------------

    async fn profile(&self) -> Result<(), HandleError> {
        let not_set = self.plain("profile-not-set", &[]);
        let c = &self.customer;
        let name = c.display_name();
        let mut text = self.html(
            "profile-view",
            &[
                ("id", c.telegram.user_id.to_string().as_str().into()),
                ("name", name.as_str().into()),
                ("phone", c.phone.as_deref().unwrap_or(&not_set).into()),
                ("email", c.email.as_deref().unwrap_or(&not_set).into()),
            ],
        );
        let orders = self
            .d
            .store
            .leads_of(self.user_id(), LeadType::Order, RECENT_ORDERS)
            .await?;
        if orders.is_empty() {
            text.push_str("\n\n");
            text.push_str(&self.html("profile-no-orders", &[]));
        } else {
            text.push_str("\n\n");
            text.push_str(&self.html("profile-orders-title", &[]));
            for o in &orders {
                let number = o.crm_id.clone().unwrap_or_else(|| format!("#{}", o.id));
                let status = self.status_label(o);
                text.push('\n');
                text.push_str(&self.html(
                    "profile-order-line",
                    &[
                        ("number", number.as_str().into()),
                        ("date", date(o.created_at).as_str().into()),
                        ("status", status.as_str().into()),
                    ],
                ));
            }
        }
        let markup = self.keys().profile();
        self.send_raw(
            fit_utf16(&text, MESSAGE_MAX_UTF16),
            Some(ReplyMarkup::InlineKeyboard(markup)),
        )
        .await?;
        Ok(())
    }

    fn status_label(&self, o: &LeadRow) -> String {
        match (&o.status_name, o.state) {
            (Some(name), _) => name.clone(),
            (None, LeadState::Pending) => self.plain("order-status-pending", &[]),
            (None, LeadState::Dead) => self.plain("order-status-failed", &[]),
            (None, LeadState::Dropped) => self.plain("order-status-cancelled", &[]),
            (None, LeadState::Delivered) => self.plain("order-status-received", &[]),
        }
    }

    async fn save_profile(&self, field: EditField, text: &str) -> Result<(), HandleError> {
        let (column, value) = match field {
            EditField::Phone => match phone::normalize(text, &self.d.country) {
                Ok(p) => (ContactField::Phone, p.as_str().to_string()),
                Err(_) => {
                    self.send("checkout-invalid-phone", &[], None).await?;
                    return Ok(());
                }
            },
            EditField::Email if valid_email(text) => (ContactField::Email, text.to_string()),
            EditField::Email => {
                self.send("profile-invalid-email", &[], None).await?;
                return Ok(());
            }
            EditField::Name => (ContactField::FullName, text.chars().take(200).collect()),
        };
        self.d
            .store
            .set_contact(self.user_id(), column, Some(&value))
            .await?;
        self.set_state(&State::Menu).await?;
        self.remove_keyboard("profile-saved", &[]).await?;
        let customer = self.d.store.customer(self.user_id()).await?;
        let ctx = Ctx {
            d: self.d,
            chat: self.chat,
            update_id: self.update_id,
            trigger: self.trigger.clone(),
            locale: self.locale,
            customer: customer.unwrap_or_else(|| self.customer.clone()),
            state: State::Menu,
            replayed: false,
        };
        ctx.profile().await
    }

    async fn status_choose(&self) -> Result<(), HandleError> {
        let orders = self
            .d
            .store
            .leads_of(self.user_id(), LeadType::Order, RECENT_ORDERS)
            .await?;
        if orders.is_empty() {
            return self.menu("status-no-orders", &[]).await;
        }
        self.set_state(&State::Status).await?;
        let markup = self.keys().orders(&orders, date);
        self.send(
            "status-choose",
            &[],
            Some(ReplyMarkup::InlineKeyboard(markup)),
        )
        .await?;
        Ok(())
    }

    async fn status_by_number(&self, text: &str) -> Result<(), HandleError> {
        let wanted = text.trim().trim_start_matches(['#', '№']).trim();
        let orders = self
            .d
            .store
            .leads_of(self.user_id(), LeadType::Order, 1000)
            .await?;
        let found = orders.iter().find(|o| {
            o.crm_id.as_deref() == Some(wanted)
                || wanted
                    .parse::<i64>()
                    .is_ok_and(|n| o.crm_id.is_none() && n == o.id)
        });
        match found {
            Some(order) => self.status_of(order.id).await,
            None => {
                self.send("status-unknown", &[("number", wanted.into())], None)
                    .await?;
                Ok(())
            }
        }
    }

    async fn status_of(&self, order: i64) -> Result<(), HandleError> {
        let row = self.d.store.lead(order).await?;
        // A signed button is still checked against its owner.
        let Some(row) = row.filter(|r| r.user_id == self.user_id()) else {
            self.send(
                "status-unknown",
                &[("number", format!("#{order}").as_str().into())],
                None,
            )
            .await?;
            return Ok(());
        };
        self.set_state(&State::Menu).await?;
        let Some(crm_id) = row.crm_id.clone() else {
            let status = self.status_label(&row);
            let number = format!("#{}", row.id);
            return self
                .menu(
                    "status-result-progress",
                    &[
                        ("number", number.as_str().into()),
                        ("status", status.as_str().into()),
                    ],
                )
                .await;
        };
        // Only the CRM that created the lead knows it: after a swap, the
        // active plugin's CRM has never heard of this id (or, worse, has
        // another lead with the same id). Without that plugin loaded, the
        // last known status is all there is.
        let status = match self.d.registry.for_id(&row.plugin_id) {
            Some(plugin) => plugin.lead_status(&crm_id).await.ok(),
            None => None,
        };
        let (name, is_final) = match status {
            Some(s) => {
                self.d
                    .store
                    .set_lead_status(row.id, &s.name, s.is_final)
                    .await?;
                (s.name, s.is_final)
            }
            // The CRM is unreachable: the last known status, said as such.
            None => (self.status_label(&row), row.status_final.unwrap_or(false)),
        };
        let id = if is_final {
            "status-result-final"
        } else {
            "status-result-progress"
        };
        self.menu(
            id,
            &[
                ("number", crm_id.as_str().into()),
                ("status", name.as_str().into()),
            ],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "01.01.1970");
        assert_eq!(date(1_795_305_600_000), "22.11.2026");
        assert_eq!(date(951_782_400_000), "29.02.2000");
    }

    #[test]
    fn totals_are_exact() {
        let item = |minor, qty| CartItem {
            product_id: format!("{minor}"),
            name: "x".into(),
            sku: None,
            price: Money {
                minor_units: minor,
                scale: 2,
                currency: "UAH".into(),
            },
            image_url: None,
            quantity: qty,
            plugin_id: None,
        };
        let t = total(&[item(129_950, 2), item(1, 3)]).unwrap_or_else(|| panic!("no total"));
        assert_eq!(t.minor_units, 259_903);
        assert!(total(&[]).is_none());
    }

    #[test]
    fn emails_are_checked_loosely_but_sanely() {
        assert!(valid_email("olena@example.com"));
        assert!(!valid_email("olena@example"));
        assert!(!valid_email("olena example.com"));
        assert!(!valid_email("@example.com"));
    }
}
