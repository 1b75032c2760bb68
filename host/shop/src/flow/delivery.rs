//! Delivery: an estimate from the customer's location and the shop's
//! distance tariff, or the shop's own delivery text when it has no tariff.

use super::*;
use crate::state::State;
use switchboard_telegram::text::format_distance_km;

/// The reply keyboard asking for a location.
pub fn ask_location(view: &View<'_>) -> Outcome {
    let markup = ReplyMarkup::Keyboard(view.keys().share_location());
    Outcome::none().then(say_with(view, "delivery-ask-location", &[], markup))
}

/// The Delivery button: ask for a location, or say the flat terms.
pub fn start(view: &View<'_>, chat: &Chat) -> Outcome {
    if view.tariff.is_none() {
        return flat(view, chat);
    }
    Outcome::none()
        .state(&State::Delivery)
        .and(ask_location(view))
}

/// The shop's delivery text (no tariff).
fn flat(view: &View<'_>, chat: &Chat) -> Outcome {
    let text = view.delivery_text.unwrap_or_default();
    Outcome::none()
        .then(say_and_remove_keyboard(
            view,
            "delivery-flat",
            &[("text", text.into())],
        ))
        .then(menu(view, chat.cart.len(), "menu-title", &[]))
}

/// A location shared at the delivery step: distance and price, or "outside
/// the area".
pub fn located(view: &View<'_>, chat: &Chat, lat: f64, lon: f64) -> Outcome {
    let moved = Outcome::none().state(&State::Menu);
    let Some(tariff) = view.tariff else {
        return moved.and(flat(view, chat));
    };
    let estimate = tariff.estimate(lat, lon);
    let distance = format_distance_km(estimate.distance_km, view.locale);
    let said = match &estimate.price {
        Some(price) => {
            let price = view.money(price);
            say_and_remove_keyboard(
                view,
                "delivery-estimate",
                &[
                    ("distance", distance.as_str().into()),
                    ("price", price.as_str().into()),
                ],
            )
        }
        None => say_and_remove_keyboard(
            view,
            "delivery-outside",
            &[("distance", distance.as_str().into())],
        ),
    };
    moved
        .then(said)
        .then(menu(view, chat.cart.len(), "menu-title", &[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Band;
    use crate::flow::testing::{Fixture, chat, has};

    fn kyiv() -> Tariff {
        Tariff::new(
            (50.45, 30.52),
            vec![Band {
                up_to_km: 10.0,
                price: Money {
                    minor_units: 6000,
                    scale: 2,
                    currency: "UAH".into(),
                },
            }],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn without_a_tariff_the_flat_text_is_said_and_no_location_asked() {
        let f = Fixture::new();
        let mut v = f.view();
        v.delivery_text = Some("Нова пошта по Україні");
        let out = start(&v, &chat(State::Menu));
        assert!(out.writes.is_empty());
        assert!(
            has(&out.texts(), "Нова пошта по Україні"),
            "{:?}",
            out.texts()
        );
    }

    #[test]
    fn a_location_inside_the_area_is_priced_and_outside_is_said() {
        let mut f = Fixture::new();
        f.tariff = Some(kyiv());
        let v = f.view();
        assert_eq!(
            start(&v, &chat(State::Menu)).next_state(),
            Some(State::Delivery)
        );
        let near = located(&v, &chat(State::Delivery), 50.46, 30.52);
        assert_eq!(near.next_state(), Some(State::Menu));
        assert!(has(&near.texts(), "60"), "{:?}", near.texts());
        let far = located(&v, &chat(State::Delivery), 49.84, 24.03);
        assert!(!has(&far.texts(), "60,00"), "{:?}", far.texts());
        assert_ne!(near.texts()[0], far.texts()[0]);
    }
}
