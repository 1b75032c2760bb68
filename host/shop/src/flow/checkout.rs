//! Checkout: the phone number, the summary, the confirmation.
//!
//! The number is asked once and kept on the customer; the summary lists
//! exactly the lines that will be ordered, and Confirm orders only what the
//! customer saw: a cart that changed in between is shown again instead.

use super::*;
use crate::flow::cart;
use crate::state::State;
use switchboard_crm::LineItem;
use switchboard_store::ContactField;

/// The reply keyboard asking for the customer's own number.
pub fn ask_phone(view: &View<'_>) -> Outcome {
    let markup = ReplyMarkup::Keyboard(view.keys().share_phone());
    Outcome::none().then(say_with(view, "checkout-ask-phone", &[], markup))
}

/// "Checkout": the summary with the known number, or ask for one. An empty
/// cart is shown instead.
pub fn start(view: &View<'_>, chat: &Chat) -> Outcome {
    let (items, dropped) = cart::orderable(view, chat);
    if items.is_empty() {
        return dropped.then(cart::render(view, &[], None));
    }
    let after = Chat {
        cart: items,
        ..chat.clone()
    };
    match chat.customer.phone.as_deref() {
        Some(phone) => dropped.and(confirm(view, &after, phone)),
        None => dropped.state(&State::AskPhone).and(ask_phone(view)),
    }
}

/// The customer gave `phone` (E.164): keep it on the customer, and show
/// the summary to confirm.
pub fn confirm(view: &View<'_>, chat: &Chat, phone: &str) -> Outcome {
    // The number is kept even when the cart turns out empty, so the
    // customer is not asked for it again on their next order.
    let mut out = Outcome::none();
    if chat.customer.phone.as_deref() != Some(phone) {
        out = out.write(Write::Contact {
            user_id: chat.user_id(),
            field: ContactField::Phone,
            value: phone.to_string(),
        });
    }
    let (items, dropped) = cart::orderable(view, chat);
    let out = out.and(dropped);
    let Some(total) = total(&items) else {
        return out
            .state(&State::Menu)
            .then(cart::render(view, &items, None));
    };
    let items_html = cart::lines_html(view, &items);
    let total = view.money(&total);
    let name = chat.customer.display_name();
    let markup = ReplyMarkup::InlineKeyboard(view.keys().confirm_order());
    out.state(&State::ConfirmOrder {
        phone: phone.to_string(),
    })
    // The reply keyboard goes away before the summary with its inline
    // buttons; if that message is lost, the summary still matters.
    .then(Effect::SendIfYouCan(Reply {
        text: view.html("checkout-phone-ok", &[]),
        markup: Some(ReplyMarkup::KeyboardRemove(KeyboardRemove::new())),
    }))
    .then(say_with(
        view,
        "checkout-summary",
        &[
            ("items", Arg::Html(&items_html)),
            ("total", total.as_str().into()),
            ("phone", phone.into()),
            ("name", name.as_str().into()),
        ],
        markup,
    ))
}

/// "Confirm": the order goes to the CRM, exactly as summarized.
pub fn place(view: &View<'_>, chat: &Chat) -> Outcome {
    let State::ConfirmOrder { phone } = &chat.state else {
        return Outcome::none()
            .then(say(view, "button-stale", &[]))
            .then(menu(view, chat.cart.len(), "menu-title", &[]));
    };
    let (items, dropped) = cart::orderable(view, chat);
    // The summary the customer confirmed listed lines that are gone: they
    // see the cart as it is now instead of an order they did not confirm.
    if items.is_empty() || dropped != Outcome::none() {
        return dropped
            .state(&State::Menu)
            .then(cart::render(view, &items, None));
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
    Outcome::none().then(Effect::Submit(Submission {
        kind: LeadKind::Order(lines),
        title: view.crm_title(LeadType::Order),
        comment: None,
        phone: Some(phone.clone()),
        clear_cart: true,
        cart_left: 0,
    }))
}

/// "Cancel" on the summary.
pub fn cancel(view: &View<'_>, chat: &Chat) -> Outcome {
    Outcome::none()
        .state(&State::Menu)
        .then(say_and_remove_keyboard(view, "order-cancelled", &[]))
        .then(menu(view, chat.cart.len(), "menu-title", &[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::{Fixture, chat, has, line};

    #[test]
    fn a_known_number_goes_straight_to_the_summary_and_is_not_rewritten() {
        let f = Fixture::new();
        let mut c = chat(State::Menu);
        c.customer.phone = Some("+380501234567".into());
        c.cart = vec![line("a", 1000, 2, "keycrm")];
        let out = start(&f.view(), &c);
        assert_eq!(
            out.writes,
            vec![Write::State(
                State::ConfirmOrder {
                    phone: "+380501234567".into()
                }
                .to_json()
            )]
        );
        assert!(has(&out.texts(), "+380501234567"), "{:?}", out.texts());
        assert!(has(&out.texts(), "20,00"), "{:?}", out.texts());
    }

    #[test]
    fn without_a_number_the_customer_is_asked_for_it() {
        let f = Fixture::new();
        let mut c = chat(State::Menu);
        c.cart = vec![line("a", 1000, 1, "keycrm")];
        let out = start(&f.view(), &c);
        assert_eq!(out.next_state(), Some(State::AskPhone));
        let [
            Effect::Send(Reply {
                markup: Some(ReplyMarkup::Keyboard(_)),
                ..
            }),
        ] = out.effects.as_slice()
        else {
            panic!("{:?}", out.effects)
        };
    }

    #[test]
    fn an_empty_cart_is_shown_instead_of_a_checkout() {
        let f = Fixture::new();
        let out = start(&f.view(), &chat(State::Menu));
        assert!(out.writes.is_empty());
        assert!(matches!(out.effects.as_slice(), [Effect::Show { .. }]));
    }

    #[test]
    fn a_new_number_is_kept_even_when_the_cart_is_empty() {
        let f = Fixture::new();
        let out = confirm(&f.view(), &chat(State::AskPhone), "+380671112233");
        assert!(out.writes.contains(&Write::Contact {
            user_id: 7,
            field: ContactField::Phone,
            value: "+380671112233".into()
        }));
        assert_eq!(out.next_state(), Some(State::Menu));
    }

    #[test]
    fn confirm_orders_exactly_the_summarized_lines() {
        let f = Fixture::new();
        let mut c = chat(State::ConfirmOrder {
            phone: "+380501234567".into(),
        });
        c.cart = vec![line("a", 1000, 2, "keycrm")];
        let out = place(&f.view(), &c);
        assert!(
            out.writes.is_empty(),
            "the lead's transaction moves the chat"
        );
        let [Effect::Submit(s)] = out.effects.as_slice() else {
            panic!("{:?}", out.effects)
        };
        let LeadKind::Order(lines) = &s.kind else {
            panic!("{:?}", s.kind)
        };
        assert_eq!((lines.len(), lines[0].quantity), (1, 2));
        assert_eq!(s.phone.as_deref(), Some("+380501234567"));
        assert!(s.clear_cart);
        assert_eq!(s.title, "Замовлення з Telegram");
    }

    #[test]
    fn a_cart_that_changed_since_the_summary_is_shown_instead_of_ordered() {
        let f = Fixture::new();
        let mut c = chat(State::ConfirmOrder {
            phone: "+380501234567".into(),
        });
        c.cart = vec![line("a", 1000, 2, "keycrm"), line("b", 5, 1, "amocrm")];
        let out = place(&f.view(), &c);
        assert!(!out.effects.iter().any(|e| matches!(e, Effect::Submit(_))));
        assert_eq!(out.next_state(), Some(State::Menu));
        // Confirm pressed again after leaving the summary: stale.
        let stale = place(&f.view(), &chat(State::Menu));
        assert!(stale.writes.is_empty());
        assert_eq!(stale.effects.len(), 2);
    }
}
