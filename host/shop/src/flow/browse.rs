//! Browsing the catalog: pages, search, a product's card.
//!
//! Each step gets the catalog snapshot the runner loaded, or `None` when the
//! catalog could not be loaded (the CRM is down and nothing is cached); the
//! customer then hears so instead of waiting.

use super::*;
use crate::callback::ProductKey;
use crate::catalog::Snapshot;
use crate::keyboards::PER_PAGE;
use crate::state::State;
use switchboard_telegram::text::{CAPTION_MAX_UTF16, escape_html};

/// How many products a search lists.
pub const SEARCH_LIMIT: usize = 20;

/// The customer hears the catalog cannot be shown now.
pub fn unavailable(view: &View<'_>) -> Outcome {
    Outcome::none().then(say(view, "error-generic", &[]))
}

/// The Search button: ask what to look for.
pub fn ask_search(view: &View<'_>) -> Outcome {
    Outcome::none().then(say(view, "search-prompt", &[]))
}

/// The Search button's step: wait for the query.
pub fn start_search(view: &View<'_>) -> Outcome {
    Outcome::none()
        .state(&State::Searching)
        .and(ask_search(view))
}

/// Catalog page `page` (0-based, clamped to the last), shown in place of
/// `message` when there is one.
pub fn page(
    view: &View<'_>,
    snapshot: Option<&Snapshot>,
    page: usize,
    message: Option<MessageId>,
) -> Outcome {
    let Some(snapshot) = snapshot else {
        return unavailable(view);
    };
    if snapshot.is_empty() {
        return Outcome::none().then(say(view, "catalog-empty", &[]));
    }
    let pages = snapshot.pages(PER_PAGE);
    let page = page.min(pages - 1);
    let mut text = view.html(
        "catalog-header",
        &[
            ("page", (page as i64 + 1).into()),
            ("pages", (pages as i64).into()),
        ],
    );
    if snapshot.is_stale() {
        let when = date(snapshot.fetched_at_ms());
        text = format!(
            "{}\n\n{text}",
            view.html("catalog-stale", &[("time", when.as_str().into())])
        );
    }
    Outcome::none().then(Effect::Show {
        message,
        text,
        markup: view.keys().catalog(snapshot, page),
    })
}

/// The search results for `query` (the chat moves back to the menu).
pub fn search(view: &View<'_>, snapshot: Option<&Snapshot>, query: &str) -> Outcome {
    let moved = Outcome::none().state(&State::Menu);
    let Some(snapshot) = snapshot else {
        return moved.and(unavailable(view));
    };
    let found = snapshot.search(query, SEARCH_LIMIT);
    let markup = ReplyMarkup::InlineKeyboard(view.keys().results(&found));
    let reply = if found.is_empty() {
        say_with(
            view,
            "search-no-results",
            &[("query", query.into())],
            markup,
        )
    } else {
        say_with(
            view,
            "search-results",
            &[
                ("query", query.into()),
                ("count", (found.len() as i64).into()),
            ],
            markup,
        )
    };
    moved.then(reply)
}

/// A product's card: a photo with a caption when it has a picture, text
/// otherwise. A product no longer in the catalog is said so, with the page
/// it was listed on.
pub fn product(
    view: &View<'_>,
    snapshot: Option<&Snapshot>,
    key: ProductKey,
    from_page: u32,
) -> Outcome {
    let Some(snapshot) = snapshot else {
        return unavailable(view);
    };
    let Some(product) = snapshot.find(&key) else {
        return Outcome::none()
            .then(say(view, "product-unavailable", &[]))
            .and(page(view, Some(snapshot), from_page as usize, None));
    };
    let mut lines = vec![format!("<b>{}</b>", escape_html(&product.name))];
    let price = view.money(&product.price);
    lines.push(view.html("product-price", &[("price", price.as_str().into())]));
    if let Some(sku) = &product.sku {
        lines.push(view.html("product-sku", &[("sku", sku.as_str().into())]));
    }
    match product.stock {
        Some(i64::MIN..=0) => lines.push(view.html("product-out-of-stock", &[])),
        Some(qty) => lines.push(view.html("product-in-stock-qty", &[("qty", qty.into())])),
        None => {}
    }
    let header = lines.join("\n");
    let markup = view.keys().product(key, &product.name, from_page);
    let full = match product.description.as_deref().map(escape_html) {
        Some(description) if !description.is_empty() => format!("{header}\n\n{description}"),
        _ => header,
    };
    let text = fit_utf16(&full, MESSAGE_MAX_UTF16);
    let picture = product
        .image_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok());
    let effect = match picture {
        // A caption holds 1,024 characters; the description is cut to fit.
        Some(url) => Effect::Photo {
            url,
            caption: fit_utf16(&full, CAPTION_MAX_UTF16),
            markup,
            fallback: text,
        },
        None => Effect::Send(Reply {
            text,
            markup: Some(ReplyMarkup::InlineKeyboard(markup)),
        }),
    };
    Outcome::none().then(effect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::Action;
    use crate::flow::testing::{Fixture, actions, has};
    use switchboard_crm::Product;

    fn product_named(id: &str, name: &str) -> Product {
        Product {
            id: id.into(),
            name: name.into(),
            variant_name: None,
            sku: Some(format!("SKU-{id}")),
            price: Money {
                minor_units: 125_050,
                scale: 2,
                currency: "UAH".into(),
            },
            stock: Some(3),
            description: Some("Опис <з тегом>".into()),
            image_url: None,
        }
    }

    fn snapshot(n: usize) -> Snapshot {
        let products = (0..n)
            .map(|i| product_named(&i.to_string(), &format!("Чашка {i}")))
            .collect();
        Snapshot::new("keycrm", products, switchboard_store::now_ms())
    }

    #[test]
    fn pages_are_clamped_and_edit_the_message_they_came_from() {
        let f = Fixture::new();
        let s = snapshot(PER_PAGE * 2 + 1);
        let out = page(&f.view(), Some(&s), 99, Some(MessageId(5)));
        let [
            Effect::Show {
                message,
                text,
                markup,
            },
        ] = out.effects.as_slice()
        else {
            panic!("{:?}", out.effects)
        };
        assert_eq!(*message, Some(MessageId(5)));
        assert!(text.contains("3"), "the last of three pages: {text}");
        let products = actions(&f.codec, markup)
            .into_iter()
            .filter(|a| matches!(a, Action::Product { from_page: 2, .. }))
            .count();
        assert_eq!(products, 1);
        assert!(out.writes.is_empty());
    }

    #[test]
    fn no_catalog_is_said_rather_than_shown_empty() {
        let f = Fixture::new();
        let down = page(&f.view(), None, 0, None);
        let empty = page(&f.view(), Some(&snapshot(0)), 0, None);
        assert_eq!(down.texts(), unavailable(&f.view()).texts());
        assert_ne!(down.texts(), empty.texts());
    }

    #[test]
    fn search_moves_to_the_menu_and_lists_matches() {
        let f = Fixture::new();
        let s = snapshot(30);
        let out = search(&f.view(), Some(&s), "чашка 1");
        assert_eq!(out.next_state(), Some(State::Menu));
        let Some(Effect::Send(Reply {
            markup: Some(ReplyMarkup::InlineKeyboard(markup)),
            ..
        })) = out.effects.first()
        else {
            panic!("{:?}", out.effects)
        };
        let found = actions(&f.codec, markup)
            .into_iter()
            .filter(|a| matches!(a, Action::Product { .. }))
            .count();
        assert!((1..=SEARCH_LIMIT).contains(&found), "{found}");
        let none = search(&f.view(), Some(&s), "велосипед");
        assert!(has(&none.texts(), "велосипед"));
    }

    #[test]
    fn a_card_escapes_html_and_a_picture_falls_back_to_text() {
        let f = Fixture::new();
        let mut p = product_named("x", "Ложка <b>");
        p.image_url = Some("https://example.com/x.jpg".into());
        let s = Snapshot::new("keycrm", vec![p], switchboard_store::now_ms());
        let out = product(&f.view(), Some(&s), ProductKey::of("x"), 0);
        let [
            Effect::Photo {
                caption, fallback, ..
            },
        ] = out.effects.as_slice()
        else {
            panic!("{:?}", out.effects)
        };
        assert!(caption.contains("Ложка &lt;b&gt;"), "{caption}");
        assert!(fallback.contains("Опис &lt;з тегом&gt;"), "{fallback}");
        let gone = product(&f.view(), Some(&s), ProductKey::of("y"), 0);
        assert_eq!(gone.effects.len(), 2, "a word, then the page");
    }
}
