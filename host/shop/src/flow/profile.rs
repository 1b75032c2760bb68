//! The profile: what the shop knows about the customer, their recent
//! orders, and editing the phone, e-mail and name on orders.

use super::*;
use crate::callback::Field;
use crate::flow::status;
use crate::phone;
use crate::state::{EditField, State};
use switchboard_store::ContactField;

/// The longest name kept on orders, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The profile with the customer's `orders` (newest first).
pub fn show(view: &View<'_>, customer: &Customer, orders: &[LeadRow]) -> Outcome {
    let not_set = view.plain("profile-not-set", &[]);
    let name = customer.display_name();
    let mut text = view.html(
        "profile-view",
        &[
            ("id", customer.telegram.user_id.to_string().as_str().into()),
            ("name", name.as_str().into()),
            (
                "phone",
                customer.phone.as_deref().unwrap_or(&not_set).into(),
            ),
            (
                "email",
                customer.email.as_deref().unwrap_or(&not_set).into(),
            ),
        ],
    );
    text.push_str("\n\n");
    if orders.is_empty() {
        text.push_str(&view.html("profile-no-orders", &[]));
    } else {
        text.push_str(&view.html("profile-orders-title", &[]));
        for o in orders {
            let number = o.crm_id.clone().unwrap_or_else(|| format!("#{}", o.id));
            let status = status::label(view, o);
            text.push('\n');
            text.push_str(&view.html(
                "profile-order-line",
                &[
                    ("number", number.as_str().into()),
                    ("date", date(o.created_at).as_str().into()),
                    ("status", status.as_str().into()),
                ],
            ));
        }
    }
    Outcome::none().then(Effect::Send(Reply {
        text: fit_utf16(&text, MESSAGE_MAX_UTF16),
        markup: Some(ReplyMarkup::InlineKeyboard(view.keys().profile())),
    }))
}

/// Ask for a new value of `field` (a phone with the share-contact keyboard).
pub fn ask(view: &View<'_>, field: EditField) -> Outcome {
    let prompt = match field {
        EditField::Phone => "profile-ask-phone",
        EditField::Email => "profile-ask-email",
        EditField::Name => "profile-ask-name",
    };
    let effect = match field {
        EditField::Phone => say_with(
            view,
            prompt,
            &[],
            ReplyMarkup::Keyboard(view.keys().share_phone()),
        ),
        EditField::Email | EditField::Name => say(view, prompt, &[]),
    };
    Outcome::none().then(effect)
}

/// An "edit" button: wait for the new value.
pub fn edit(view: &View<'_>, field: Field) -> Outcome {
    let field = match field {
        Field::Phone => EditField::Phone,
        Field::Email => EditField::Email,
        Field::Name => EditField::Name,
    };
    Outcome::none()
        .state(&State::EditProfile { field })
        .and(ask(view, field))
}

/// The new value typed (or a phone shared) for `field`: checked, kept, and
/// the profile shown again with it. `orders` are for that view.
pub fn save(
    view: &View<'_>,
    chat: &Chat,
    field: EditField,
    text: &str,
    orders: &[LeadRow],
) -> Outcome {
    let mut customer = chat.customer.clone();
    let (column, value) = match field {
        EditField::Phone => match phone::normalize(text, view.country) {
            Ok(p) => {
                let p = p.into_string();
                customer.phone = Some(p.clone());
                (ContactField::Phone, p)
            }
            Err(_) => return Outcome::none().then(say(view, "checkout-invalid-phone", &[])),
        },
        EditField::Email if valid_email(text) => {
            customer.email = Some(text.to_string());
            (ContactField::Email, text.to_string())
        }
        EditField::Email => {
            return Outcome::none().then(say(view, "profile-invalid-email", &[]));
        }
        EditField::Name => {
            let name: String = text.chars().take(MAX_NAME_CHARS).collect();
            customer.full_name = Some(name.clone());
            (ContactField::FullName, name)
        }
    };
    Outcome::none()
        .write(Write::Contact {
            user_id: chat.user_id(),
            field: column,
            value,
        })
        .state(&State::Menu)
        .then(say_and_remove_keyboard(view, "profile-saved", &[]))
        .and(show(view, &customer, orders))
}

/// A loose but sane e-mail check: something@domain.tld, no spaces.
pub fn valid_email(text: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::{Fixture, chat, has};

    #[test]
    fn emails_are_checked_loosely_but_sanely() {
        for ok in ["a@b.co", "first.last+tag@example.com.ua"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a@b",
            "@b.co",
            "a@.co",
            "a@b.",
            "a b@c.de",
            "no-at.example",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(!valid_email(&format!("{}@example.com", "x".repeat(250))));
    }

    #[test]
    fn a_saved_value_is_written_and_shown_in_the_profile_at_once() {
        let f = Fixture::new();
        let c = chat(State::EditProfile {
            field: EditField::Email,
        });
        let out = save(&f.view(), &c, EditField::Email, "olena@example.com", &[]);
        assert_eq!(
            out.writes,
            vec![
                Write::Contact {
                    user_id: 7,
                    field: ContactField::Email,
                    value: "olena@example.com".into()
                },
                Write::State(State::Menu.to_json())
            ]
        );
        assert!(has(&out.texts(), "olena@example.com"), "{:?}", out.texts());
    }

    #[test]
    fn a_typed_phone_is_normalized_and_a_bad_value_keeps_the_step() {
        let f = Fixture::new();
        let c = chat(State::EditProfile {
            field: EditField::Phone,
        });
        let out = save(&f.view(), &c, EditField::Phone, "050 123 45 67", &[]);
        assert!(out.writes.contains(&Write::Contact {
            user_id: 7,
            field: ContactField::Phone,
            value: "+380501234567".into()
        }));
        for (field, text) in [(EditField::Phone, "123"), (EditField::Email, "nope")] {
            let bad = save(&f.view(), &c, field, text, &[]);
            assert!(bad.writes.is_empty(), "{text}");
            assert_eq!(bad.effects.len(), 1);
        }
    }

    #[test]
    fn a_long_name_is_cut() {
        let f = Fixture::new();
        let c = chat(State::EditProfile {
            field: EditField::Name,
        });
        let out = save(&f.view(), &c, EditField::Name, &"я".repeat(500), &[]);
        let Some(Write::Contact { value, .. }) = out.writes.first() else {
            panic!("{:?}", out.writes)
        };
        assert_eq!(value.chars().count(), MAX_NAME_CHARS);
    }
}
