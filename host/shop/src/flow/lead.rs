//! Feedback, questions, and telling the customer what became of a lead.
//!
//! Feedback is sent as typed; free text in the menu is offered as a
//! question first (it may have been a mistyped command). Both become leads
//! ([`Effect::Submit`]); the runner records and offers them to the CRM and
//! calls [`told`] with what happened.

use super::*;
use crate::state::State;
use switchboard_store::LeadState;

/// The Feedback button: wait for the text.
pub fn start_feedback(view: &View<'_>) -> Outcome {
    Outcome::none()
        .state(&State::Feedback)
        .and(ask_feedback(view))
}

/// Ask for the feedback text.
pub fn ask_feedback(view: &View<'_>) -> Outcome {
    Outcome::none().then(say(view, "feedback-prompt", &[]))
}

/// The feedback text: it goes to the CRM.
pub fn feedback(view: &View<'_>, chat: &Chat, text: String) -> Outcome {
    Outcome::none().then(Effect::Submit(Submission {
        kind: LeadKind::Feedback,
        title: view.crm_title(LeadType::Feedback),
        comment: Some(text),
        phone: None,
        clear_cart: false,
        cart_left: chat.cart.len(),
    }))
}

/// Free text in the menu: offer to send it as a question.
pub fn offer_question(view: &View<'_>, text: &str) -> Outcome {
    Outcome::none()
        .state(&State::ConfirmQuestion {
            text: text.to_string(),
        })
        .and(ask_question(view, text))
}

/// "Send this as a question?" with the text.
pub fn ask_question(view: &View<'_>, text: &str) -> Outcome {
    let markup = ReplyMarkup::InlineKeyboard(view.keys().confirm_question());
    Outcome::none().then(say_with(
        view,
        "question-confirm",
        &[("text", text.into())],
        markup,
    ))
}

/// "Send": the question goes to the CRM.
pub fn send_question(view: &View<'_>, chat: &Chat) -> Outcome {
    let State::ConfirmQuestion { text } = &chat.state else {
        return Outcome::none().then(Effect::Toast(view.plain("toast-button-stale", &[])));
    };
    Outcome::none().then(Effect::Submit(Submission {
        kind: LeadKind::Question,
        title: view.crm_title(LeadType::Question),
        comment: Some(text.clone()),
        phone: None,
        clear_cart: false,
        cart_left: chat.cart.len(),
    }))
}

/// "Cancel" on the question.
pub fn cancel_question(view: &View<'_>, chat: &Chat) -> Outcome {
    Outcome::none()
        .state(&State::Menu)
        .then(menu(view, chat.cart.len(), "question-cancelled", &[]))
}

/// What became of a lead the customer just confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// The CRM took it under this number.
    Delivered(String),
    /// Left to the outbox (no plugin, a CRM outage, in doubt); our number.
    Pending(i64),
    /// The CRM refused it for good.
    Failed,
}

impl News {
    /// What a stored lead's row says.
    pub fn of(row: &LeadRow) -> Self {
        match (row.state, row.crm_id.as_deref()) {
            (LeadState::Delivered, Some(crm_id)) => Self::Delivered(crm_id.to_string()),
            (LeadState::Dead | LeadState::Dropped, _) => Self::Failed,
            _ => Self::Pending(row.id),
        }
    }
}

/// The texts for a lead of `kind`: when the CRM took it, when it is left
/// to the outbox, and when it failed.
fn texts_of(kind: LeadType) -> (&'static str, &'static str, &'static str) {
    match kind {
        LeadType::Order => ("order-sent", "order-pending", "order-failed"),
        LeadType::Question => ("question-sent", "question-sent", "error-generic"),
        LeadType::Feedback => ("feedback-thanks", "feedback-thanks", "error-generic"),
    }
}

/// Tells the customer what became of their lead, then the menu (the cart
/// has `cart_len` lines now).
pub fn told(view: &View<'_>, kind: LeadType, news: &News, cart_len: usize) -> Outcome {
    let (sent, pending, failed) = texts_of(kind);
    let out = match news {
        News::Delivered(crm_id) => Outcome::none().then(say_and_remove_keyboard(
            view,
            sent,
            &[("number", crm_id.as_str().into())],
        )),
        News::Failed => Outcome::none().then(say_and_remove_keyboard(view, failed, &[])),
        News::Pending(id) => {
            let number = format!("#{id}");
            Outcome::none()
                .then(Effect::WakeOutbox)
                .then(say_and_remove_keyboard(
                    view,
                    pending,
                    &[("number", number.as_str().into())],
                ))
        }
    };
    out.then(menu(view, cart_len, "menu-title", &[]))
}

/// A lead recorded earlier, seen again through its confirmation (the
/// first answer may never have gone out).
pub fn known(view: &View<'_>, row: &LeadRow, cart_len: usize) -> Outcome {
    told(view, row.kind, &News::of(row), cart_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::{Fixture, chat, has};

    #[test]
    fn feedback_goes_to_the_crm_as_typed_with_the_business_title() {
        let f = Fixture::new();
        let out = feedback(&f.view(), &chat(State::Feedback), "Дякую!".into());
        let [Effect::Submit(s)] = out.effects.as_slice() else {
            panic!("{:?}", out.effects)
        };
        assert_eq!(s.kind, LeadKind::Feedback);
        assert_eq!(s.comment.as_deref(), Some("Дякую!"));
        assert!(!s.clear_cart);
    }

    #[test]
    fn a_question_is_offered_then_sent_only_from_its_own_step() {
        let f = Fixture::new();
        let offered = offer_question(&f.view(), "Чи є XL?");
        assert_eq!(
            offered.next_state(),
            Some(State::ConfirmQuestion {
                text: "Чи є XL?".into()
            })
        );
        let sent = send_question(
            &f.view(),
            &chat(State::ConfirmQuestion {
                text: "Чи є XL?".into(),
            }),
        );
        assert!(
            matches!(sent.effects.as_slice(), [Effect::Submit(s)] if s.kind == LeadKind::Question)
        );
        let stale = send_question(&f.view(), &chat(State::Menu));
        assert!(matches!(stale.effects.as_slice(), [Effect::Toast(_)]));
    }

    #[test]
    fn each_outcome_is_told_with_its_number_and_a_pending_one_wakes_the_outbox() {
        let f = Fixture::new();
        let v = f.view();
        let delivered = told(&v, LeadType::Order, &News::Delivered("K-77".into()), 0);
        assert!(has(&delivered.texts(), "K-77"), "{:?}", delivered.texts());
        assert!(!delivered.effects.contains(&Effect::WakeOutbox));
        let pending = told(&v, LeadType::Order, &News::Pending(12), 0);
        assert_ne!(pending.texts()[0], delivered.texts()[0]);
        assert!(pending.effects.contains(&Effect::WakeOutbox));
        let failed = told(&v, LeadType::Order, &News::Failed, 0);
        assert_ne!(failed.texts()[0], pending.texts()[0]);
        for out in [delivered, pending, failed] {
            assert!(out.writes.is_empty());
        }
    }
}
