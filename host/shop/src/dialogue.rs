//! The runner: one update in, replies out, state stored.
//!
//! It loads what a step reads (the chat with its customer, state and cart
//! in one query; the catalog; the customer's orders), asks the flow what to
//! do ([`crate::flow`], pure), commits the step's writes together, and then
//! carries out its effects in order: messages, edits, photos, toasts, and
//! the two that need I/O and come back to a flow — offering a lead to the
//! CRM and asking the CRM for a lead's status. A confirmed lead is written
//! together with the chat's move to the menu before the customer is told
//! anything. CRM calls go through the plugin with its deadline, so a slow
//! CRM only delays the chat waiting for it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageTextSetters, SendMessageSetters, SendPhotoSetters,
};
use teloxide::prelude::Requester;
use teloxide::types::{
    CallbackQuery, CallbackQueryId, ChatId, InputFile, Message, MessageId, ParseMode, ReplyMarkup,
    Update, UpdateKind, User,
};

use crate::callback::{Action, Codec, MenuItem};
use crate::catalog::{Catalog, CatalogError, Snapshot};
use crate::delivery::Tariff;
use crate::flow::{
    self, Chat, Effect, Outcome, RECENT_ORDERS, Submission, View, browse, cart, checkout, delivery,
    lead, menu, profile, status,
};
use crate::phone::CountryCode;
use crate::route::{Input, Step, route};
use crate::settings::ShopSettings;
use crate::state::State;
use switchboard_crm::{Contact, Lead};
use switchboard_plugin_runtime::Registry;
use switchboard_store::{LeadRow, NewLead, Settle, Store, TelegramUser};
use switchboard_telegram::client::{Client, redact, with_retries};
use switchboard_telegram::i18n::{Locale, Texts};

/// The longest a customer waits for the CRM to take a lead before being
/// told it will be confirmed later.
const CRM_WAIT: Duration = Duration::from_secs(15);
/// How long the outbox worker leaves a lead alone while the dialogue offers
/// it to the CRM (past `CRM_WAIT`, so the two never send it at once).
const INLINE_LEASE: Duration = Duration::from_secs(45);
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

/// One update's turn: the chat as it was found.
struct Turn {
    chat_id: ChatId,
    /// The Telegram update being handled; stored with every state change,
    /// so the same update seen again knows its step already ran.
    update_id: i64,
    /// The message or button press being handled: the same after a
    /// redelivery, so a replayed confirmation does not make a second lead
    /// and a replayed "add" does not add twice.
    trigger: String,
    locale: Locale,
    chat: Chat,
    /// The stored state was written by this very update: it is being seen
    /// again (replayed from the inbox after a crash, or redelivered to the
    /// webhook) and its step must not run twice.
    replayed: bool,
}

impl Turn {
    /// The idempotency key of a lead this update confirms.
    fn lead_key(&self) -> String {
        format!("tg-{}-{}", self.chat_id.0, self.trigger)
    }
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

    fn view(&self, locale: Locale) -> View<'_> {
        View {
            texts: &self.texts,
            codec: &self.codec,
            shop: &self.shop,
            country: &self.country,
            tariff: self.tariff.as_ref(),
            delivery_text: self.delivery_text.as_deref(),
            locale,
        }
    }

    /// The chat as the update finds it.
    async fn turn(
        &self,
        user: &User,
        chat_id: ChatId,
        update_id: i64,
        trigger: String,
    ) -> Result<Turn, HandleError> {
        let telegram = TelegramUser {
            user_id: i64::try_from(user.id.0).unwrap_or(i64::MAX),
            chat_id: chat_id.0,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            username: user.username.clone(),
            language: user.language_code.clone(),
        };
        // One read for the customer, the chat's step and its cart; a write
        // only when Telegram's data changed.
        let now = self.store.chat(telegram.user_id, chat_id.0).await?;
        let already_changed = now.lines_changed_by(&trigger);
        let customer = match now.customer {
            Some(known) if known.telegram == telegram => known,
            _ => self.store.upsert_customer(&telegram).await?,
        };
        let replayed = now.dialogue.as_ref().and_then(|s| s.update_id) == Some(update_id);
        let state = now
            .dialogue
            .map(|s| State::from_json(&s.state))
            .unwrap_or_default();
        Ok(Turn {
            chat_id,
            update_id,
            trigger,
            locale: self.locale_for(user),
            chat: Chat {
                customer,
                state,
                already_changed,
                cart: now.cart,
                plugin_id: self.registry.active().ok().map(|p| p.id().to_string()),
            },
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
        let t = self
            .turn(
                &user,
                message.chat.id,
                update_id,
                format!("m{}", message.id.0),
            )
            .await?;
        let view = self.view(t.locale);
        if t.replayed {
            let out = self.resume(&t, &view).await?;
            return self.carry_out(&t, &view, out, &mut None).await;
        }
        let cancel = self.texts.get(t.locale, "btn-cancel", &[]);
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
        let mut notice = Outcome::none();
        let cut: String;
        let input = match input {
            Input::Text(text) if text.chars().nth(MAX_INPUT_CHARS).is_some() => {
                cut = text.chars().take(MAX_INPUT_CHARS).collect();
                if matches!(t.chat.state, State::Feedback | State::Menu) {
                    // Said before the confirmation, so the customer knows
                    // what the shop will get.
                    tracing::info!(chat = t.chat_id.0, "an oversized message was cut");
                    notice = notice.then(flow::say(
                        &view,
                        "input-truncated",
                        &[("max", (MAX_INPUT_CHARS as i64).into())],
                    ));
                }
                Input::Text(&cut)
            }
            other => other,
        };
        let step = route(&t.chat.state, input, &self.country);
        let out = notice.and(self.on_step(&t, &view, step).await?);
        self.carry_out(&t, &view, out, &mut None).await
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
        let here = editable.then(|| message.id());
        let t = match self
            .turn(&query.from, chat, update_id, format!("c{}", query.id.0))
            .await
        {
            Ok(t) => t,
            Err(e) => {
                // The spinner stops even when the step cannot run.
                let answer = self.bot.answer_callback_query(query.id.clone()).await;
                self.log_answer_failure(answer);
                return Err(e);
            }
        };
        let view = self.view(t.locale);
        // Answered where the outcome's toast is met, or at the end without
        // text; a press seen again is answered at once, as its step ran.
        let mut pending = Some(query.id.clone());
        let decided = if t.replayed {
            self.answer(&mut pending, None).await;
            self.resume(&t, &view).await
        } else {
            match query.data.as_deref().map(|data| self.codec.decode(data)) {
                Some(Ok(action)) => self.on_action(&t, &view, action, here).await,
                _ => {
                    tracing::info!(chat = chat.0, "stale or tampered button pressed");
                    Ok(menu::stale_button(&view, &t.chat))
                }
            }
        };
        let result = match decided {
            Ok(out) => self.carry_out(&t, &view, out, &mut pending).await,
            Err(e) => Err(e),
        };
        self.answer(&mut pending, None).await;
        result
    }

    /// Answers a button press (once: `pending` is emptied), with a toast.
    async fn answer(&self, pending: &mut Option<CallbackQueryId>, text: Option<String>) {
        let Some(id) = pending.take() else {
            return;
        };
        let mut answer = self.bot.answer_callback_query(id);
        if let Some(text) = text {
            answer = answer.text(text);
        }
        self.log_answer_failure(answer.await);
    }

    /// An unanswered callback only leaves a spinner on the customer's
    /// button; it must not stop the reply itself.
    fn log_answer_failure<T>(&self, result: Result<T, teloxide::RequestError>) {
        if let Err(e) = result {
            tracing::info!(error = %redact(&e.to_string(), &self.token), "answerCallbackQuery failed");
        }
    }

    // --- facts a step reads ----------------------------------------------

    /// The catalog, or `None` when it cannot be loaded (logged; the flow
    /// tells the customer).
    async fn snapshot(&self, refresh: bool) -> Result<Option<Arc<Snapshot>>, HandleError> {
        let result = if refresh {
            self.catalog.refresh().await
        } else {
            self.catalog.get().await
        };
        match result {
            Ok(snapshot) => Ok(Some(snapshot)),
            Err(CatalogError::Store(e)) => Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "catalog unavailable");
                Ok(None)
            }
        }
    }

    /// The customer's most recent orders, newest first.
    async fn orders(&self, t: &Turn, limit: i64) -> Result<Vec<LeadRow>, HandleError> {
        Ok(self
            .store
            .leads_of(t.chat.user_id(), switchboard_crm::LeadType::Order, limit)
            .await?)
    }

    // --- deciding: facts in, the flow's outcome out --------------------------

    /// An update whose step already ran: what became of the lead it
    /// confirmed, or the current step's prompt again.
    async fn resume(&self, t: &Turn, view: &View<'_>) -> Result<Outcome, HandleError> {
        tracing::info!(
            chat = t.chat_id.0,
            update = t.update_id,
            "update seen again after its step was stored; showing where the chat stands"
        );
        if let Some(row) = self.store.lead_by_key(&t.lead_key()).await? {
            return Ok(lead::known(view, &row, t.chat.cart.len()));
        }
        let orders = match t.chat.state {
            State::Status => self.orders(t, RECENT_ORDERS).await?,
            _ => Vec::new(),
        };
        Ok(menu::resume(view, &t.chat, &orders))
    }

    /// The step [`route`] chose for a message.
    async fn on_step(&self, t: &Turn, view: &View<'_>, step: Step) -> Result<Outcome, HandleError> {
        let chat = &t.chat;
        Ok(match step {
            Step::Start => menu::start(view, chat),
            Step::Catalog => {
                let snapshot = self.snapshot(false).await?;
                Outcome::none().state(&State::Menu).and(browse::page(
                    view,
                    snapshot.as_deref(),
                    0,
                    None,
                ))
            }
            Step::Cart => cart::show(view, chat, None),
            Step::StatusChoose => status::choose(view, chat, &self.orders(t, RECENT_ORDERS).await?),
            Step::Help => menu::help(view),
            Step::Cancel => menu::cancel(view, chat),
            Step::Stop => menu::stop(view),
            Step::Hint => menu::hint(view),
            Step::Search(text) => {
                let snapshot = self.snapshot(false).await?;
                browse::search(view, snapshot.as_deref(), &text)
            }
            Step::ConfirmOrder(phone) => checkout::confirm(view, chat, &phone),
            Step::InvalidPhone => {
                Outcome::none().then(flow::say(view, "checkout-invalid-phone", &[]))
            }
            Step::ForeignContact => {
                Outcome::none().then(flow::say(view, "checkout-foreign-contact", &[]))
            }
            Step::Feedback(text) => lead::feedback(view, chat, text),
            Step::SaveProfile(field, text) => profile::save(
                view,
                chat,
                field,
                &text,
                &self.orders(t, RECENT_ORDERS).await?,
            ),
            Step::StatusByNumber(text) => status::by_number(
                view,
                chat,
                &text,
                &self.orders(t, status::LOOKUP_ORDERS).await?,
            ),
            Step::AskQuestion(text) => lead::offer_question(view, &text),
            Step::Delivery { lat, lon } => delivery::located(view, chat, lat, lon),
        })
    }

    /// A button press.
    async fn on_action(
        &self,
        t: &Turn,
        view: &View<'_>,
        action: Action,
        here: Option<MessageId>,
    ) -> Result<Outcome, HandleError> {
        let chat = &t.chat;
        Ok(match action {
            Action::Menu(MenuItem::Catalog) => {
                browse::page(view, self.snapshot(false).await?.as_deref(), 0, None)
            }
            Action::Menu(MenuItem::Profile) => {
                profile::show(view, &chat.customer, &self.orders(t, RECENT_ORDERS).await?)
            }
            Action::Menu(MenuItem::Delivery) => delivery::start(view, chat),
            Action::Menu(MenuItem::Feedback) => lead::start_feedback(view),
            Action::Menu(MenuItem::Cart) => cart::show(view, chat, None),
            Action::Menu(MenuItem::Status) => {
                status::choose(view, chat, &self.orders(t, RECENT_ORDERS).await?)
            }
            Action::Menu(MenuItem::Help) => menu::help(view),
            Action::CatalogPage { page } => browse::page(
                view,
                self.snapshot(false).await?.as_deref(),
                page as usize,
                here,
            ),
            Action::CatalogRefresh => {
                browse::page(view, self.snapshot(true).await?.as_deref(), 0, here)
            }
            Action::CatalogSearch => browse::start_search(view),
            Action::Product { key, from_page } => {
                browse::product(view, self.snapshot(false).await?.as_deref(), key, from_page)
            }
            Action::AddToCart { key } => {
                cart::add(view, self.snapshot(false).await?.as_deref(), key)
            }
            Action::OrderNow { key } => {
                cart::order_now(view, chat, self.snapshot(false).await?.as_deref(), key)
            }
            Action::CartInc { key } => cart::change(view, chat, key, 1, here),
            Action::CartDec { key } => cart::change(view, chat, key, -1, here),
            Action::CartRemove { key } => cart::change(view, chat, key, -i64::from(u32::MAX), here),
            Action::CartClear => cart::clear(view, here),
            Action::Checkout => checkout::start(view, chat),
            Action::ConfirmOrder => checkout::place(view, chat),
            Action::CancelOrder => checkout::cancel(view, chat),
            Action::ConfirmQuestion => lead::send_question(view, chat),
            Action::CancelQuestion => lead::cancel_question(view, chat),
            Action::OrderStatus { order } => {
                let row = self.store.lead(order).await?;
                status::of(view, chat, order, row.as_ref())
            }
            Action::ProfileEdit(field) => profile::edit(view, field),
            Action::Back => menu::back(view, chat),
            Action::Noop => Outcome::none(),
        })
    }

    // --- carrying out ------------------------------------------------------

    /// Commits an outcome's writes together, then carries out its effects
    /// in order; the effects that come back to a flow (a lead, a status)
    /// have theirs carried out in their place. A toast answers the button
    /// press `pending` where it is met.
    async fn carry_out(
        &self,
        t: &Turn,
        view: &View<'_>,
        out: Outcome,
        pending: &mut Option<CallbackQueryId>,
    ) -> Result<(), HandleError> {
        let chat = t.chat_id;
        self.store
            .apply(chat.0, t.update_id, &t.trigger, &out.writes)
            .await?;
        let mut effects: VecDeque<Effect> = out.effects.into();
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::Send(reply) => {
                    self.send_html(chat, reply.text, reply.markup).await?;
                }
                Effect::SendIfYouCan(reply) => {
                    if let Err(e) = self.send_html(chat, reply.text, reply.markup).await {
                        tracing::info!(error = %redact(&e.to_string(), &self.token), "a courtesy message was not sent");
                    }
                }
                Effect::Show {
                    message,
                    text,
                    markup,
                } => self.show(chat, message, text, markup).await?,
                Effect::Photo {
                    url,
                    caption,
                    markup,
                    fallback,
                } => {
                    self.outgoing.acquire(chat.0).await;
                    let sent = self
                        .bot
                        .send_photo(chat, InputFile::url(url))
                        .caption(caption)
                        .parse_mode(ParseMode::Html)
                        .reply_markup(markup.clone())
                        .await;
                    if let Err(e) = sent {
                        tracing::info!(error = %redact(&e.to_string(), &self.token), "product photo refused; sending text");
                        self.send_html(chat, fallback, Some(ReplyMarkup::InlineKeyboard(markup)))
                            .await?;
                    }
                }
                Effect::Toast(text) => self.answer(pending, Some(text)).await,
                Effect::WakeOutbox => self.outbox.notify_one(),
                // The two effects that do I/O come back to a flow, whose
                // outcome is carried out in their place.
                Effect::Submit(submission) => {
                    let next = self.submit(t, view, submission).await?;
                    self.follow(t, next, &mut effects).await?;
                }
                Effect::LeadStatus(row) => {
                    let next = self.lead_status(t, view, *row).await?;
                    self.follow(t, next, &mut effects).await?;
                }
            }
        }
        Ok(())
    }

    /// Commits a follow-up outcome's writes and puts its effects first in
    /// line.
    async fn follow(
        &self,
        t: &Turn,
        next: Outcome,
        effects: &mut VecDeque<Effect>,
    ) -> Result<(), HandleError> {
        self.store
            .apply(t.chat_id.0, t.update_id, &t.trigger, &next.writes)
            .await?;
        for e in next.effects.into_iter().rev() {
            effects.push_front(e);
        }
        Ok(())
    }

    /// Replaces an inline message's text and keyboard, or sends a new one
    /// when it cannot be edited (too old, or a photo).
    async fn show(
        &self,
        chat: ChatId,
        message: Option<MessageId>,
        text: String,
        markup: teloxide::types::InlineKeyboardMarkup,
    ) -> Result<(), HandleError> {
        if let Some(id) = message {
            let edit = self
                .bot
                .edit_message_text(chat, id, text.clone())
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
        self.send_html(chat, text, Some(ReplyMarkup::InlineKeyboard(markup)))
            .await?;
        Ok(())
    }

    /// Records a lead durably (with the move to the menu and, for orders,
    /// the emptied cart), then offers it to the CRM; returns what the flow
    /// says about the outcome.
    async fn submit(
        &self,
        t: &Turn,
        view: &View<'_>,
        s: Submission,
    ) -> Result<Outcome, HandleError> {
        let plugin = match self.registry.active() {
            Ok(plugin) => Some(plugin),
            Err(e) => {
                tracing::error!(error = %e, "no CRM plugin to take a lead; it stays in the outbox");
                None
            }
        };
        let customer = &t.chat.customer;
        let kind = s.kind.lead_type();
        let lead = Lead {
            idempotency_key: t.lead_key(),
            kind: s.kind,
            contact: Contact {
                full_name: customer.display_name(),
                phone: s.phone.or_else(|| customer.phone.clone()),
                email: customer.email.clone(),
                telegram_user_id: Some(t.chat.user_id()),
                telegram_username: customer.telegram.username.clone(),
            },
            title: s.title,
            comment: s.comment,
            source: format!("telegram:@{}", self.bot_username),
        };
        let now = switchboard_store::now_ms();
        let new = NewLead {
            chat_id: t.chat_id.0,
            user_id: t.chat.user_id(),
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
            update_id: Some(t.update_id),
        };
        let (id, recorded) = self
            .store
            .record_lead_once(&new, Some(&State::Menu.to_json()), s.clear_cart)
            .await?;
        if !recorded {
            // A redelivered confirmation whose first handling did not get
            // to store the next state.
            tracing::info!(
                lead = id,
                "confirmation seen again; the lead is already recorded"
            );
            // Nothing was cleared by this call: the cart is as it was read.
            let cart_len = t.chat.cart.len();
            return Ok(match self.store.lead(id).await? {
                Some(row) => lead::known(view, &row, cart_len),
                None => Outcome::none().then(flow::menu(view, cart_len, "menu-title", &[])),
            });
        }
        let Some(plugin) = plugin else {
            return Ok(lead::told(
                view,
                kind,
                &lead::News::Pending(id),
                s.cart_left,
            ));
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
            switchboard_outbox::judge(&result, 0, 0, &self.retry, switchboard_store::now_ms());
        // Told right below, so no follow-up is owed.
        self.store.settle(id, &outcome, false).await?;
        let news = match &outcome {
            Settle::Delivered { crm_id, .. } => lead::News::Delivered(crm_id.clone()),
            Settle::Dead { error } => {
                tracing::error!(lead = id, error = %error, "ALERT the CRM refused a lead; dead-lettered");
                lead::News::Failed
            }
            Settle::Retry { error, .. } | Settle::Postpone { reason: error, .. } => {
                tracing::warn!(lead = id, error = %error, "the CRM did not take a lead now; the outbox will retry");
                lead::News::Pending(id)
            }
        };
        Ok(lead::told(view, kind, &news, s.cart_left))
    }

    /// Asks the CRM that created a lead for its status (only that CRM knows
    /// it: after a swap, the active plugin's CRM has never heard of this id,
    /// or has another lead with the same id), keeps the answer, and returns
    /// what the flow says. Without that plugin, or when its CRM cannot
    /// answer, the last known status is told.
    async fn lead_status(
        &self,
        t: &Turn,
        view: &View<'_>,
        row: LeadRow,
    ) -> Result<Outcome, HandleError> {
        let answer = match (self.registry.for_id(&row.plugin_id), row.crm_id.as_deref()) {
            (Some(plugin), Some(crm_id)) => plugin.lead_status(crm_id).await.ok(),
            _ => None,
        };
        if let Some(s) = &answer {
            self.store
                .set_lead_status(row.id, &s.name, s.is_final)
                .await?;
        }
        Ok(status::result(
            view,
            &row,
            answer.as_ref().map(|s| (s.name.as_str(), s.is_final)),
            t.chat.cart.len(),
        ))
    }
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
