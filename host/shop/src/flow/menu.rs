//! The menu and the commands that work from anywhere: `/start`, `/help`,
//! `/cancel`, `/stop`, Back, a stale button, a hint for unexpected input,
//! and showing a chat where it stands after a replayed update.

use super::*;
use crate::flow::{browse, checkout, delivery, lead, profile, status};
use crate::state::State;

/// `/start`: greet by name and show the menu.
pub fn start(view: &View<'_>, chat: &Chat) -> Outcome {
    let name = chat.customer.telegram.first_name.as_str();
    Outcome::none().state(&State::Menu).then(menu(
        view,
        chat.cart.len(),
        "greeting",
        &[("name", name.into())],
    ))
}

/// `/help` and the Help button.
pub fn help(view: &View<'_>) -> Outcome {
    Outcome::none().then(say(view, "help", &[]))
}

/// `/cancel` or the reply keyboard's Cancel: back to the menu.
pub fn cancel(view: &View<'_>, chat: &Chat) -> Outcome {
    Outcome::none()
        .state(&State::Menu)
        .then(say_and_remove_keyboard(view, "cancel-done", &[]))
        .then(menu(view, chat.cart.len(), "menu-title", &[]))
}

/// `/stop`: forget where the chat stands.
pub fn stop(view: &View<'_>) -> Outcome {
    Outcome::none()
        .write(Write::ForgetState)
        .then(say_and_remove_keyboard(view, "stop-goodbye", &[]))
}

/// The Back button.
pub fn back(view: &View<'_>, chat: &Chat) -> Outcome {
    Outcome::none()
        .state(&State::Menu)
        .then(menu(view, chat.cart.len(), "menu-title", &[]))
}

/// Something the current step did not expect (a sticker, an unknown
/// command).
pub fn hint(view: &View<'_>) -> Outcome {
    Outcome::none().then(say(view, "hint-unexpected", &[]))
}

/// A button whose data is stale or tampered with: a toast, a word, the menu.
pub fn stale_button(view: &View<'_>, chat: &Chat) -> Outcome {
    Outcome::none()
        .then(Effect::Toast(view.plain("toast-button-stale", &[])))
        .then(say(view, "button-stale", &[]))
        .then(menu(view, chat.cart.len(), "menu-title", &[]))
}

/// An update whose step already ran (its first handling was cut short by a
/// crash, or Telegram delivered it again): instead of running the step
/// twice, the customer sees the current step's prompt again. `orders` are
/// the customer's recent orders (read when the chat waits in the status
/// step). A lead the update confirmed is told by [`lead::known`] instead.
pub fn resume(view: &View<'_>, chat: &Chat, orders: &[LeadRow]) -> Outcome {
    match &chat.state {
        State::Menu => Outcome::none().then(menu(view, chat.cart.len(), "menu-title", &[])),
        State::Searching => browse::ask_search(view),
        State::AskPhone => checkout::ask_phone(view),
        State::ConfirmOrder { phone } => checkout::confirm(view, chat, phone),
        State::Feedback => lead::ask_feedback(view),
        State::ConfirmQuestion { text } => lead::ask_question(view, text),
        State::EditProfile { field } => profile::ask(view, *field),
        State::Status => status::choose(view, chat, orders),
        State::Delivery => delivery::ask_location(view),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::{Action, MenuItem};
    use crate::flow::testing::{Fixture, actions, chat, has, line};

    #[test]
    fn start_greets_by_name_and_shows_the_cart_count_in_the_menu() {
        let f = Fixture::new();
        let mut c = chat(State::Searching);
        c.cart = vec![line("a", 100, 1, "keycrm"), line("b", 100, 2, "keycrm")];
        let out = start(&f.view(), &c);
        assert_eq!(out.next_state(), Some(State::Menu));
        assert!(has(&out.texts(), "Олена"), "{:?}", out.texts());
        let Some(Effect::Send(Reply {
            markup: Some(ReplyMarkup::InlineKeyboard(markup)),
            ..
        })) = out.effects.first()
        else {
            panic!("{:?}", out.effects)
        };
        assert!(actions(&f.codec, markup).contains(&Action::Menu(MenuItem::Cart)));
        let labels: Vec<&str> = markup
            .inline_keyboard
            .iter()
            .flatten()
            .map(|b| b.text.as_str())
            .collect();
        assert!(labels.iter().any(|l| l.contains('2')), "{labels:?}");
    }

    #[test]
    fn stop_forgets_the_state_and_writes_nothing_else() {
        let f = Fixture::new();
        let out = stop(&f.view());
        assert_eq!(out.writes, vec![Write::ForgetState]);
        assert_eq!(out.effects.len(), 1);
    }

    #[test]
    fn a_stale_button_is_toasted_explained_and_answered_with_the_menu() {
        let f = Fixture::new();
        let out = stale_button(&f.view(), &chat(State::Menu));
        assert!(out.writes.is_empty());
        assert!(matches!(out.effects.first(), Some(Effect::Toast(_))));
        assert_eq!(out.effects.len(), 3);
    }

    #[test]
    fn resume_repeats_the_prompt_of_every_state_without_writing() {
        let f = Fixture::new();
        for state in [
            State::Menu,
            State::Searching,
            State::AskPhone,
            State::Feedback,
            State::ConfirmQuestion {
                text: "Є XL?".into(),
            },
            State::EditProfile {
                field: crate::state::EditField::Email,
            },
            State::Delivery,
        ] {
            let out = resume(&f.view(), &chat(state.clone()), &[]);
            assert!(out.writes.is_empty(), "{state:?}: {:?}", out.writes);
            assert!(!out.texts().is_empty(), "{state:?}");
        }
        let out = resume(
            &f.view(),
            &chat(State::ConfirmQuestion {
                text: "Є XL?".into(),
            }),
            &[],
        );
        assert!(has(&out.texts(), "Є XL?"));
    }
}
