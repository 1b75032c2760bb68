//! A lead as plain text for a manager: the comment, the order lines with
//! exact totals, the Telegram contact, the source and the idempotency key.
//!
//! CRMs without structured order lines on a lead (amoCRM, Bitrix24 leads)
//! get this as a note or comment; the key line lets a manager (and a
//! plugin's duplicate check) recognise a retried lead.

use crate::{Contact, Lead, LeadKind, LineItem, Money, money};

/// The marker line carrying the idempotency key.
pub const KEY_MARKER: &str = "Switchboard key:";

/// `"1299.50 UAH"`.
pub fn money_text(amount: &Money) -> String {
    format!("{} {}", money::to_decimal_string(amount), amount.currency)
}

/// One order line: `"Футболка, SKU TS-1: 2 × 1299.50 UAH = 2599.00 UAH"`.
pub fn order_line(item: &LineItem) -> String {
    let mut text = item.name.clone();
    if let Some(sku) = item.sku.as_deref().filter(|s| !s.trim().is_empty()) {
        text.push_str(&format!(", SKU {sku}"));
    }
    text.push_str(&format!(
        ": {} × {}",
        item.quantity,
        money_text(&item.unit_price)
    ));
    if let Some(subtotal) = money::times(&item.unit_price, item.quantity) {
        text.push_str(&format!(" = {}", money_text(&subtotal)));
    }
    text
}

/// The exact order total; `None` for mixed currencies or an overflow.
pub fn order_total(items: &[LineItem]) -> Option<Money> {
    let subtotals: Option<Vec<Money>> = items
        .iter()
        .map(|item| money::times(&item.unit_price, item.quantity))
        .collect();
    money::sum(subtotals?.iter())
}

/// `"Telegram: @olena (id 42)"`, when the contact has either.
pub fn telegram_line(contact: &Contact) -> Option<String> {
    match (&contact.telegram_username, contact.telegram_user_id) {
        (Some(username), Some(id)) => Some(format!("Telegram: @{username} (id {id})")),
        (Some(username), None) => Some(format!("Telegram: @{username}")),
        (None, Some(id)) => Some(format!("Telegram: id {id}")),
        (None, None) => None,
    }
}

/// The whole lead as text, one fact a line, ending with the key line.
pub fn summary(lead: &Lead) -> String {
    let mut lines = Vec::new();
    if let Some(comment) = lead
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        lines.push(comment.to_string());
    }
    match &lead.kind {
        LeadKind::Order(items) => {
            lines.push("Order:".into());
            lines.extend(items.iter().map(|item| format!("- {}", order_line(item))));
            match order_total(items) {
                Some(total) => lines.push(format!("Total: {}", money_text(&total))),
                None => lines.push("Total: mixed currencies, see the lines".into()),
            }
        }
        LeadKind::Feedback => lines.push("Type: feedback".into()),
        LeadKind::Question => lines.push("Type: question".into()),
    }
    lines.extend(telegram_line(&lead.contact));
    lines.push(format!("Source: {}", lead.source));
    lines.push(key_line(&lead.idempotency_key));
    lines.join("\n")
}

/// `"Switchboard key: <key>"`.
pub fn key_line(key: &str) -> String {
    format!("{KEY_MARKER} {key}")
}

/// Whether `text` has the key line for exactly `key` (not a longer key that
/// starts with it).
pub fn has_key_line(text: &str, key: &str) -> bool {
    let wanted = key_line(key);
    text.lines().any(|line| line.trim() == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uah(minor_units: i64) -> Money {
        Money {
            minor_units,
            scale: 2,
            currency: "UAH".into(),
        }
    }

    fn item(name: &str, sku: Option<&str>, quantity: u32, price: i64) -> LineItem {
        LineItem {
            product_id: "1".into(),
            name: name.into(),
            sku: sku.map(String::from),
            quantity,
            unit_price: uah(price),
            image_url: None,
        }
    }

    fn lead(kind: LeadKind) -> Lead {
        Lead {
            idempotency_key: "tg-1".into(),
            kind,
            contact: Contact {
                full_name: "Олена".into(),
                phone: None,
                email: None,
                telegram_user_id: Some(42),
                telegram_username: Some("olena".into()),
            },
            title: "Order".into(),
            comment: Some(" Нова пошта 5 ".into()),
            source: "telegram".into(),
        }
    }

    #[test]
    fn an_order_lists_lines_and_the_exact_total() {
        let text = summary(&lead(LeadKind::Order(vec![
            item("Футболка", Some("TS-1"), 2, 129_950),
            item("Чашка", None, 1, 25_000),
        ])));
        assert_eq!(
            text,
            "Нова пошта 5\nOrder:\n\
             - Футболка, SKU TS-1: 2 × 1299.50 UAH = 2599.00 UAH\n\
             - Чашка: 1 × 250.00 UAH = 250.00 UAH\n\
             Total: 2849.00 UAH\nTelegram: @olena (id 42)\nSource: telegram\nSwitchboard key: tg-1"
        );
        assert!(has_key_line(&text, "tg-1"));
        assert!(!has_key_line(&text, "tg-"));
    }

    #[test]
    fn feedback_says_its_type() {
        let text = summary(&lead(LeadKind::Feedback));
        assert!(text.contains("Type: feedback"), "{text}");
        assert!(!text.contains("Total"));
    }
}
