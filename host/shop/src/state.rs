//! Where a chat is in the dialogue. Stored as JSON after every step, so a
//! restart continues where the customer was.

use serde::{Deserialize, Serialize};

/// A profile field being edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EditField {
    /// The phone number.
    Phone,
    /// The e-mail address.
    Email,
    /// The name on orders.
    Name,
}

/// The dialogue state of one chat.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state")]
pub enum State {
    /// The main menu; free text becomes a question to the shop.
    #[default]
    Menu,
    /// Waiting for a search query.
    Searching,
    /// Checkout: waiting for the customer's own contact or a typed number.
    AskPhone,
    /// Checkout: the summary is shown, waiting for Confirm.
    ConfirmOrder {
        /// The phone the order will carry (E.164).
        phone: String,
    },
    /// Waiting for the feedback text.
    Feedback,
    /// Free text typed in the menu, waiting for "send as a question?".
    ConfirmQuestion {
        /// The text.
        text: String,
    },
    /// Waiting for a new profile value.
    EditProfile {
        /// Which one.
        field: EditField,
    },
    /// Waiting for an order number (or a button press).
    Status,
    /// Waiting for a location.
    Delivery,
}

impl State {
    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"state\":\"Menu\"}".into())
    }

    /// The stored form read back; anything unreadable (a state from an
    /// older version) is the menu.
    pub fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_ones_fall_back_to_the_menu() {
        for state in [
            State::Menu,
            State::ConfirmOrder {
                phone: "+380501234567".into(),
            },
            State::ConfirmQuestion {
                text: "Чи є XL?".into(),
            },
            State::EditProfile {
                field: EditField::Email,
            },
        ] {
            assert_eq!(State::from_json(&state.to_json()), state);
        }
        assert_eq!(State::from_json("{\"state\":\"Gone\"}"), State::Menu);
        assert_eq!(State::from_json("garbage"), State::Menu);
    }
}
