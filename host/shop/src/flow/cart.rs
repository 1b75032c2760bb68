//! The cart: adding from the catalog, changing quantities, clearing, and
//! the view with its total.
//!
//! A line remembers the plugin whose catalog it came from. After the CRM is
//! swapped, lines of the old catalog cannot be ordered (their ids mean
//! nothing to the new CRM): the first step that shows or orders the cart
//! takes them out and says how many.

use super::*;
use crate::callback::ProductKey;
use crate::catalog::Snapshot;
use crate::flow::checkout;

/// The lines that can be ordered now, and the outcome of taking out lines
/// of another plugin's catalog than the active one (empty when there are
/// none, or no plugin is active).
pub fn orderable(view: &View<'_>, chat: &Chat) -> (Vec<CartItem>, Outcome) {
    let Some(active) = chat.plugin_id.as_deref() else {
        return (chat.cart.clone(), Outcome::none());
    };
    let foreign = |i: &CartItem| i.plugin_id.as_deref().is_some_and(|p| p != active);
    let dropped = chat.cart.iter().filter(|i| foreign(i)).count();
    if dropped == 0 {
        return (chat.cart.clone(), Outcome::none());
    }
    let kept = chat.cart.iter().filter(|i| !foreign(i)).cloned().collect();
    let count = i64::try_from(dropped).unwrap_or(i64::MAX);
    let out = Outcome::none()
        .write(Write::CartDropForeign {
            plugin_id: active.to_string(),
        })
        .then(say(view, "cart-lines-dropped", &[("count", count.into())]));
    (kept, out)
}

/// The cart's lines as HTML, one a line with its sum.
pub fn lines_html(view: &View<'_>, items: &[CartItem]) -> String {
    let lines: Vec<String> = items
        .iter()
        .map(|i| {
            let line_sum = view.money(&sum(&i.price, i.quantity));
            view.html(
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

/// The cart `items` in place of `message` (or as a new message).
pub fn render(view: &View<'_>, items: &[CartItem], message: Option<MessageId>) -> Effect {
    let markup = view.keys().cart(items);
    let Some(total) = total(items) else {
        return Effect::Show {
            message,
            text: view.html("cart-empty", &[]),
            markup,
        };
    };
    let total = view.money(&total);
    let text = format!(
        "{}\n\n{}\n\n{}",
        view.html("cart-title", &[]),
        lines_html(view, items),
        view.html("cart-total", &[("total", total.as_str().into())])
    );
    Effect::Show {
        message,
        text: fit_utf16(&text, MESSAGE_MAX_UTF16),
        markup,
    }
}

/// The cart, in place of `message` when the press came from one.
pub fn show(view: &View<'_>, chat: &Chat, message: Option<MessageId>) -> Outcome {
    let (items, out) = orderable(view, chat);
    out.then(render(view, &items, message))
}

/// The cart line a product of `snapshot` makes, or the outcome when it
/// cannot be added (no catalog, or the product is gone).
fn line_of(
    view: &View<'_>,
    snapshot: Option<&Snapshot>,
    key: ProductKey,
) -> Result<CartItem, Outcome> {
    let Some(snapshot) = snapshot else {
        return Err(crate::flow::browse::unavailable(view));
    };
    let Some(product) = snapshot.find(&key) else {
        return Err(Outcome::none().then(Effect::Toast(view.plain("toast-button-stale", &[]))));
    };
    Ok(CartItem {
        product_id: product.id.clone(),
        name: product.name.clone(),
        sku: product.sku.clone(),
        price: product.price.clone(),
        image_url: product.image_url.clone(),
        quantity: 1,
        plugin_id: Some(snapshot.plugin_id().to_string()),
    })
}

/// The cart after `line` is added (one more of an existing line).
fn with_line(cart: &[CartItem], line: &CartItem) -> Vec<CartItem> {
    let mut cart = cart.to_vec();
    match cart.iter_mut().find(|i| i.product_id == line.product_id) {
        Some(existing) => existing.quantity = existing.quantity.saturating_add(line.quantity),
        None => cart.push(line.clone()),
    }
    cart
}

/// "Add to cart": one more, said with a toast naming the product.
pub fn add(view: &View<'_>, snapshot: Option<&Snapshot>, key: ProductKey) -> Outcome {
    let line = match line_of(view, snapshot, key) {
        Ok(line) => line,
        Err(out) => return out,
    };
    // A callback answer holds at most 200 characters.
    let name = switchboard_telegram::text::truncate_chars(&line.name, 120);
    let toast = view.plain("toast-added-to-cart", &[("name", name.as_ref().into())]);
    Outcome::none()
        .write(Write::CartAdd(line))
        .then(Effect::Toast(toast))
}

/// "Order now": add, then check out.
pub fn order_now(
    view: &View<'_>,
    chat: &Chat,
    snapshot: Option<&Snapshot>,
    key: ProductKey,
) -> Outcome {
    let line = match line_of(view, snapshot, key) {
        Ok(line) => line,
        Err(out) => return out,
    };
    let after = match chat.already_changed.contains(&line.product_id) {
        // Seen again after a crash: the unit is in the cart already.
        true => chat.clone(),
        false => Chat {
            cart: with_line(&chat.cart, &line),
            ..chat.clone()
        },
    };
    Outcome::none()
        .write(Write::CartAdd(line))
        .and(checkout::start(view, &after))
}

/// −, + or 🗑 on a line: its quantity changes by `delta` (a line reaching
/// zero goes), and the cart is shown again in place.
pub fn change(
    view: &View<'_>,
    chat: &Chat,
    key: ProductKey,
    delta: i64,
    message: Option<MessageId>,
) -> Outcome {
    let Some(item) = chat
        .cart
        .iter()
        .find(|i| ProductKey::of(&i.product_id) == key)
    else {
        // Gone already (another press, another device): the cart as it is.
        return show(view, chat, message);
    };
    let write = Write::CartChange {
        product_id: item.product_id.clone(),
        delta,
    };
    if chat.already_changed.contains(&item.product_id) {
        // Seen again after a crash: the change is in the cart already (the
        // store will not make it twice), so the cart is shown as it is.
        return Outcome::none().write(write).and(show(view, chat, message));
    }
    let mut cart = chat.cart.clone();
    let next = i64::from(item.quantity).saturating_add(delta);
    match u32::try_from(next) {
        Ok(quantity) if quantity > 0 => {
            for line in cart.iter_mut().filter(|i| i.product_id == item.product_id) {
                line.quantity = quantity;
            }
        }
        _ => cart.retain(|i| i.product_id != item.product_id),
    }
    let after = Chat {
        cart,
        ..chat.clone()
    };
    Outcome::none()
        .write(write)
        .and(show(view, &after, message))
}

/// "Clear the cart".
pub fn clear(view: &View<'_>, message: Option<MessageId>) -> Outcome {
    Outcome::none()
        .write(Write::CartClear)
        .then(render(view, &[], message))
        .then(Effect::Toast(view.plain("toast-cart-cleared", &[])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::Action;
    use crate::flow::testing::{Fixture, actions, chat, has, line};
    use crate::state::State;

    #[test]
    fn lines_of_a_swapped_out_catalog_are_dropped_and_counted() {
        let f = Fixture::new();
        let mut c = chat(State::Menu);
        c.cart = vec![
            line("a", 1000, 1, "amocrm"),
            line("b", 250, 2, "keycrm"),
            line("c", 10, 1, "amocrm"),
        ];
        let (kept, out) = orderable(&f.view(), &c);
        assert_eq!(kept.len(), 1);
        assert_eq!(
            out.writes,
            vec![Write::CartDropForeign {
                plugin_id: "keycrm".into()
            }]
        );
        assert!(has(&out.texts(), "2"), "{:?}", out.texts());
        // Nothing to drop, or no plugin to judge by: no write, no word.
        c.plugin_id = None;
        assert_eq!(orderable(&f.view(), &c).1, Outcome::none());
    }

    #[test]
    fn the_view_totals_exactly_and_offers_checkout() {
        let f = Fixture::new();
        let mut c = chat(State::Menu);
        c.cart = vec![line("a", 1999, 3, "keycrm"), line("b", 1, 1, "keycrm")];
        let out = show(&f.view(), &c, None);
        let [Effect::Show { text, markup, .. }] = out.effects.as_slice() else {
            panic!("{:?}", out.effects)
        };
        assert!(text.contains("59,98"), "{text}");
        assert!(actions(&f.codec, markup).contains(&Action::Checkout));
        let empty = show(&f.view(), &chat(State::Menu), None);
        let [Effect::Show { markup, .. }] = empty.effects.as_slice() else {
            panic!()
        };
        assert!(!actions(&f.codec, markup).contains(&Action::Checkout));
    }

    #[test]
    fn minus_on_the_last_unit_removes_the_line_from_what_is_shown() {
        let f = Fixture::new();
        let mut c = chat(State::Menu);
        c.cart = vec![line("a", 100, 1, "keycrm"), line("b", 100, 4, "keycrm")];
        let out = change(&f.view(), &c, ProductKey::of("a"), -1, Some(MessageId(3)));
        assert_eq!(
            out.writes,
            vec![Write::CartChange {
                product_id: "a".into(),
                delta: -1
            }]
        );
        let [Effect::Show { text, message, .. }] = out.effects.as_slice() else {
            panic!("{:?}", out.effects)
        };
        assert_eq!(*message, Some(MessageId(3)));
        assert!(
            !text.contains("Товар a") && text.contains("Товар b"),
            "{text}"
        );
        // A line that is not there writes nothing.
        let none = change(&f.view(), &c, ProductKey::of("zzz"), 1, None);
        assert!(none.writes.is_empty());
    }

    #[test]
    fn a_change_seen_again_after_a_crash_is_shown_once() {
        let f = Fixture::new();
        let mut c = chat(State::Menu);
        // The press took the line from 2 to 1 before the crash.
        c.cart = vec![line("a", 100, 1, "keycrm")];
        c.already_changed = vec!["a".into()];
        let out = change(&f.view(), &c, ProductKey::of("a"), -1, None);
        let [Effect::Show { text, .. }] = out.effects.as_slice() else {
            panic!("{:?}", out.effects)
        };
        assert!(text.contains("Товар a"), "the line is still there: {text}");
        let s = Snapshot::new(
            "keycrm",
            vec![switchboard_crm::Product {
                id: "a".into(),
                name: "Товар a".into(),
                variant_name: None,
                sku: None,
                price: line("a", 100, 1, "keycrm").price,
                description: None,
                image_url: None,
                stock: None,
            }],
            0,
        );
        c.customer.phone = Some("+380501234567".into());
        let again = order_now(&f.view(), &c, Some(&s), ProductKey::of("a"));
        assert!(
            again.texts().iter().any(|t| t.contains("1,00")),
            "one unit, not two: {:?}",
            again.texts()
        );
    }

    #[test]
    fn adding_without_a_catalog_or_a_product_writes_nothing() {
        let f = Fixture::new();
        assert!(add(&f.view(), None, ProductKey::of("a")).writes.is_empty());
        let s = Snapshot::new("keycrm", Vec::new(), 0);
        let gone = add(&f.view(), Some(&s), ProductKey::of("a"));
        assert!(gone.writes.is_empty());
        assert!(matches!(gone.effects.as_slice(), [Effect::Toast(_)]));
    }
}
