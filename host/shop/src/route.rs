//! What a message means where the chat stands: a pure function from the
//! chat's [`State`] and the message ([`Input`]) to the [`Step`] the dialogue
//! takes. No store, no network: the whole routing table is unit-tested
//! below, and `dialogue` only carries steps out.
//!
//! Button presses carry their meaning in their signed data
//! ([`crate::callback::Action`]) and do not pass through here.

use crate::phone::{self, CountryCode};
use crate::state::{EditField, State};

/// A message in a private chat, reduced to what routing needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Input<'a> {
    /// `/name` (without the slash or a `@bot` suffix), or the reply
    /// keyboard's Cancel button, which is `/cancel`.
    Command(&'a str),
    /// Typed text, trimmed.
    Text(&'a str),
    /// A shared contact; `own` when it is the sender's own.
    Contact {
        /// The number as Telegram sends it.
        number: &'a str,
        /// Whether the contact is the sender's.
        own: bool,
    },
    /// A shared location.
    Location {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
    /// Anything else: a sticker, a photo, a voice message.
    Other,
}

impl<'a> Input<'a> {
    /// The input of a message's text: a command, the Cancel button (its
    /// label in the customer's language is `cancel_label`), or text.
    pub fn of_text(text: &'a str, cancel_label: &str) -> Self {
        let text = text.trim();
        if let Some(command) = text.strip_prefix('/') {
            return Self::Command(command.split(['@', ' ']).next().unwrap_or_default());
        }
        if text == cancel_label {
            return Self::Command("cancel");
        }
        Self::Text(text)
    }
}

/// What the dialogue does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `/start`: greet and show the menu.
    Start,
    /// The first catalog page.
    Catalog,
    /// The cart.
    Cart,
    /// Ask which order's status.
    StatusChoose,
    /// The help text.
    Help,
    /// Back to the menu, reply keyboard removed.
    Cancel,
    /// Forget the chat's dialogue.
    Stop,
    /// Say what the bot expects here.
    Hint,
    /// Search the catalog for this.
    Search(String),
    /// Show the order summary with this phone (E.164).
    ConfirmOrder(String),
    /// The typed or shared number is not a phone number.
    InvalidPhone,
    /// A contact that is not the customer's own.
    ForeignContact,
    /// Send this as feedback.
    Feedback(String),
    /// Save this as the profile field (checked by the step).
    SaveProfile(EditField, String),
    /// Look up the order with this number.
    StatusByNumber(String),
    /// Offer to send this text as a question.
    AskQuestion(String),
    /// Estimate delivery to this place.
    Delivery {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
}

/// The step a message takes in `state`. `country` is the shop's default
/// for phone numbers typed without one.
pub fn route(state: &State, input: Input<'_>, country: &CountryCode) -> Step {
    match input {
        Input::Command(command) => match command {
            "start" => Step::Start,
            "catalog" => Step::Catalog,
            "cart" => Step::Cart,
            "status" => Step::StatusChoose,
            "help" => Step::Help,
            "cancel" => Step::Cancel,
            "stop" => Step::Stop,
            _ => Step::Hint,
        },
        Input::Text(text) => on_text(state, text, country),
        Input::Contact { number, own } => on_contact(state, number, own, country),
        Input::Location { lat, lon } if *state == State::Delivery => Step::Delivery { lat, lon },
        Input::Location { .. } | Input::Other => Step::Hint,
    }
}

fn on_text(state: &State, text: &str, country: &CountryCode) -> Step {
    let phone = || match phone::normalize(text, country) {
        Ok(phone) => Some(phone.into_string()),
        Err(_) => None,
    };
    match state {
        State::Searching => Step::Search(text.to_string()),
        State::AskPhone => phone().map_or(Step::InvalidPhone, Step::ConfirmOrder),
        // A typed number at the confirmation step replaces the one given;
        // anything else gets the hint.
        State::ConfirmOrder { .. } => phone().map_or(Step::Hint, Step::ConfirmOrder),
        State::Feedback => Step::Feedback(text.to_string()),
        State::EditProfile { field } => Step::SaveProfile(*field, text.to_string()),
        State::Status => Step::StatusByNumber(text.to_string()),
        State::Delivery | State::ConfirmQuestion { .. } => Step::Hint,
        State::Menu => Step::AskQuestion(text.to_string()),
    }
}

fn on_contact(state: &State, number: &str, own: bool, country: &CountryCode) -> Step {
    let editing_phone = *state
        == State::EditProfile {
            field: EditField::Phone,
        };
    // At the confirmation step a number sent again replaces the one given:
    // the summary is shown anew. This is also what a contact replayed after
    // a crash meets (its first handling moved the state on, but the summary
    // may never have gone out).
    let confirming = matches!(state, State::ConfirmOrder { .. });
    if *state != State::AskPhone && !editing_phone && !confirming {
        return Step::Hint;
    }
    if !own {
        return Step::ForeignContact;
    }
    let Ok(phone) = phone::from_contact(number, country) else {
        return Step::InvalidPhone;
    };
    if editing_phone {
        Step::SaveProfile(EditField::Phone, phone.into_string())
    } else {
        Step::ConfirmOrder(phone.into_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UA: &CountryCode = &CountryCode::UKRAINE;

    fn every_state() -> Vec<State> {
        vec![
            State::Menu,
            State::Searching,
            State::AskPhone,
            State::ConfirmOrder {
                phone: "+380501234567".into(),
            },
            State::Feedback,
            State::ConfirmQuestion { text: "?".into() },
            State::EditProfile {
                field: EditField::Email,
            },
            State::EditProfile {
                field: EditField::Phone,
            },
            State::Status,
            State::Delivery,
        ]
    }

    #[test]
    fn commands_mean_the_same_in_every_state() {
        for state in every_state() {
            let at = |c| route(&state, Input::Command(c), UA);
            assert_eq!(at("start"), Step::Start, "{state:?}");
            assert_eq!(at("catalog"), Step::Catalog);
            assert_eq!(at("cart"), Step::Cart);
            assert_eq!(at("status"), Step::StatusChoose);
            assert_eq!(at("help"), Step::Help);
            assert_eq!(at("cancel"), Step::Cancel);
            assert_eq!(at("stop"), Step::Stop);
            assert_eq!(at("unknown"), Step::Hint);
        }
    }

    #[test]
    fn text_is_read_by_what_the_step_waits_for() {
        let text = |state: State, t| route(&state, Input::Text(t), UA);
        assert_eq!(
            text(State::Menu, "є чай?"),
            Step::AskQuestion("є чай?".into())
        );
        assert_eq!(text(State::Searching, "чай"), Step::Search("чай".into()));
        assert_eq!(
            text(State::Feedback, "дякую"),
            Step::Feedback("дякую".into())
        );
        assert_eq!(
            text(State::Status, "#12"),
            Step::StatusByNumber("#12".into())
        );
        assert_eq!(
            text(
                State::EditProfile {
                    field: EditField::Email
                },
                "a@b.ua"
            ),
            Step::SaveProfile(EditField::Email, "a@b.ua".into())
        );
        assert_eq!(
            text(State::AskPhone, "050 123 45 67"),
            Step::ConfirmOrder("+380501234567".into())
        );
        assert_eq!(text(State::AskPhone, "ні"), Step::InvalidPhone);
        let confirming = State::ConfirmOrder {
            phone: "+380501234567".into(),
        };
        assert_eq!(
            text(confirming.clone(), "0671112233"),
            Step::ConfirmOrder("+380671112233".into())
        );
        assert_eq!(text(confirming, "так"), Step::Hint);
        assert_eq!(text(State::Delivery, "Київ"), Step::Hint);
        assert_eq!(
            text(State::ConfirmQuestion { text: "?".into() }, "ще"),
            Step::Hint
        );
    }

    #[test]
    fn contacts_count_only_where_a_number_is_wanted_and_only_ones_own() {
        let contact = |state: &State, own| {
            route(
                state,
                Input::Contact {
                    number: "380501234567",
                    own,
                },
                UA,
            )
        };
        assert_eq!(
            contact(&State::AskPhone, true),
            Step::ConfirmOrder("+380501234567".into())
        );
        assert_eq!(contact(&State::AskPhone, false), Step::ForeignContact);
        let editing = State::EditProfile {
            field: EditField::Phone,
        };
        assert_eq!(
            contact(&editing, true),
            Step::SaveProfile(EditField::Phone, "+380501234567".into())
        );
        // Replayed or sent again at the confirmation: the summary anew.
        let confirming = State::ConfirmOrder {
            phone: "+380671112233".into(),
        };
        assert_eq!(
            contact(&confirming, true),
            Step::ConfirmOrder("+380501234567".into())
        );
        for state in [State::Menu, State::Feedback, State::Status, State::Delivery] {
            assert_eq!(contact(&state, true), Step::Hint, "{state:?}");
        }
        let bad = Input::Contact {
            number: "12",
            own: true,
        };
        assert_eq!(route(&State::AskPhone, bad, UA), Step::InvalidPhone);
    }

    #[test]
    fn locations_count_only_when_delivery_asked_for_one() {
        let here = Input::Location {
            lat: 50.45,
            lon: 30.52,
        };
        assert_eq!(
            route(&State::Delivery, here, UA),
            Step::Delivery {
                lat: 50.45,
                lon: 30.52
            }
        );
        assert_eq!(route(&State::Menu, here, UA), Step::Hint);
        assert_eq!(route(&State::Menu, Input::Other, UA), Step::Hint);
    }

    #[test]
    fn text_input_tells_commands_and_the_cancel_button_apart() {
        assert_eq!(
            Input::of_text(" /start ", "❌ Скасувати"),
            Input::Command("start")
        );
        assert_eq!(
            Input::of_text("/cart@shop_bot", "x"),
            Input::Command("cart")
        );
        assert_eq!(Input::of_text("/status 12", "x"), Input::Command("status"));
        assert_eq!(
            Input::of_text("❌ Скасувати", "❌ Скасувати"),
            Input::Command("cancel")
        );
        assert_eq!(Input::of_text("  чай ", "x"), Input::Text("чай"));
    }
}
