//! An order's status: choose one of the recent orders or type its number;
//! the status comes from the CRM that created the lead (not the active one,
//! which may have been swapped since), or, when it cannot answer, the last
//! status known.

use super::*;
use crate::state::State;
use switchboard_store::LeadState;

/// How many orders a typed number is looked up among.
pub const LOOKUP_ORDERS: i64 = 1000;

/// A lead's status in words: the CRM's name for it, or where it stands
/// with us.
pub fn label(view: &View<'_>, o: &LeadRow) -> String {
    match (&o.status_name, o.state) {
        (Some(name), _) => name.clone(),
        (None, LeadState::Pending) => view.plain("order-status-pending", &[]),
        (None, LeadState::Dead) => view.plain("order-status-failed", &[]),
        (None, LeadState::Dropped) => view.plain("order-status-cancelled", &[]),
        (None, LeadState::Delivered) => view.plain("order-status-received", &[]),
    }
}

/// `/status` and the Status button: a button per recent order, and wait
/// for a typed number.
pub fn choose(view: &View<'_>, chat: &Chat, orders: &[LeadRow]) -> Outcome {
    if orders.is_empty() {
        return Outcome::none().then(menu(view, chat.cart.len(), "status-no-orders", &[]));
    }
    let markup = ReplyMarkup::InlineKeyboard(view.keys().orders(orders, date));
    Outcome::none()
        .state(&State::Status)
        .then(say_with(view, "status-choose", &[], markup))
}

/// A typed order number: the CRM's number, or ours (`#12`) for an order
/// the CRM has not numbered yet. `orders` are the customer's.
pub fn by_number(view: &View<'_>, chat: &Chat, text: &str, orders: &[LeadRow]) -> Outcome {
    let wanted = text.trim().trim_start_matches(['#', '№']).trim();
    let found = orders.iter().find(|o| {
        o.crm_id.as_deref() == Some(wanted)
            || wanted
                .parse::<i64>()
                .is_ok_and(|n| o.crm_id.is_none() && n == o.id)
    });
    match found {
        Some(order) => of(view, chat, order.id, Some(order)),
        None => Outcome::none().then(say(view, "status-unknown", &[("number", wanted.into())])),
    }
}

/// The status of lead `order` (`row` as stored, if any). A lead of another
/// customer is as unknown as a missing one, even behind a signed button.
pub fn of(view: &View<'_>, chat: &Chat, order: i64, row: Option<&LeadRow>) -> Outcome {
    let Some(row) = row.filter(|r| r.user_id == chat.user_id()) else {
        let number = format!("#{order}");
        return Outcome::none().then(say(
            view,
            "status-unknown",
            &[("number", number.as_str().into())],
        ));
    };
    let moved = Outcome::none().state(&State::Menu);
    if row.crm_id.is_none() {
        return moved.and(result(view, row, None, chat.cart.len()));
    }
    moved.then(Effect::LeadStatus(Box::new(row.clone())))
}

/// Tells a lead's status: `answer` is the CRM's (name, final), `None` when
/// it has no number there yet or could not be asked.
pub fn result(
    view: &View<'_>,
    row: &LeadRow,
    answer: Option<(&str, bool)>,
    cart_len: usize,
) -> Outcome {
    let number = row.crm_id.clone().unwrap_or_else(|| format!("#{}", row.id));
    let known = label(view, row);
    let (name, is_final) = match answer {
        Some((name, is_final)) => (name, is_final),
        // The CRM is unreachable: the last known status, said as such.
        None => (known.as_str(), row.status_final.unwrap_or(false)),
    };
    let id = if is_final && row.crm_id.is_some() {
        "status-result-final"
    } else {
        "status-result-progress"
    };
    Outcome::none().then(menu(
        view,
        cart_len,
        id,
        &[("number", number.as_str().into()), ("status", name.into())],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::Action;
    use crate::flow::testing::{Fixture, actions, chat, has, order};

    #[test]
    fn choosing_lists_a_button_per_order_or_says_there_are_none() {
        let f = Fixture::new();
        let orders = [order(2, 7, Some("K-2")), order(1, 7, None)];
        let out = choose(&f.view(), &chat(State::Menu), &orders);
        assert_eq!(out.next_state(), Some(State::Status));
        let [
            Effect::Send(Reply {
                markup: Some(ReplyMarkup::InlineKeyboard(m)),
                ..
            }),
        ] = out.effects.as_slice()
        else {
            panic!("{:?}", out.effects)
        };
        let acts = actions(&f.codec, m);
        assert!(acts.contains(&Action::OrderStatus { order: 2 }));
        assert!(acts.contains(&Action::OrderStatus { order: 1 }));
        let none = choose(&f.view(), &chat(State::Menu), &[]);
        assert!(none.writes.is_empty());
    }

    #[test]
    fn a_typed_number_matches_the_crm_number_or_ours_before_numbering() {
        let f = Fixture::new();
        let c = chat(State::Status);
        let orders = [order(5, 7, Some("1001")), order(6, 7, None)];
        let by_crm = by_number(&f.view(), &c, "№1001", &orders);
        assert!(matches!(by_crm.effects.as_slice(), [Effect::LeadStatus(r)] if r.id == 5));
        // Our own number only names an order the CRM has not numbered.
        let ours = by_number(&f.view(), &c, "#6", &orders);
        assert!(has(&ours.texts(), "#6"), "{:?}", ours.texts());
        let not_ours = by_number(&f.view(), &c, "5", &orders);
        assert!(
            not_ours.writes.is_empty(),
            "unknown: {:?}",
            not_ours.texts()
        );
    }

    #[test]
    fn another_customers_order_is_unknown_even_behind_a_signed_button() {
        let f = Fixture::new();
        let theirs = order(9, 8, Some("K-9"));
        let out = of(&f.view(), &chat(State::Menu), 9, Some(&theirs));
        assert!(out.writes.is_empty());
        assert!(
            !out.effects
                .iter()
                .any(|e| matches!(e, Effect::LeadStatus(_)))
        );
        assert!(has(&out.texts(), "#9"));
    }

    #[test]
    fn the_crm_answer_or_the_last_known_status_is_told() {
        let f = Fixture::new();
        let mut row = order(5, 7, Some("K-5"));
        row.status_name = Some("Відправлено".into());
        let fresh = result(&f.view(), &row, Some(("Доставлено", true)), 0);
        assert!(has(&fresh.texts(), "Доставлено"));
        let stale = result(&f.view(), &row, None, 0);
        assert!(has(&stale.texts(), "Відправлено"));
        assert_ne!(fresh.texts(), stale.texts());
    }
}
