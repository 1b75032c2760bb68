//! The store against real SQLite files and a real PostgreSQL server.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use switchboard_crm::{Contact, Lead, LeadKind, LineItem, Money};
use switchboard_store::{
    Backend, CartItem, ContactField, LeadState, NewLead, Store, TelegramUser, Write, now_ms,
};

fn uah(minor_units: i64) -> Money {
    Money {
        minor_units,
        scale: 2,
        currency: "UAH".into(),
    }
}

fn user(user_id: i64) -> TelegramUser {
    TelegramUser {
        user_id,
        chat_id: user_id,
        first_name: "Олена".into(),
        last_name: Some("Петренко".into()),
        username: Some("olena".into()),
        language: Some("uk".into()),
    }
}

fn item(id: &str, quantity: u32) -> CartItem {
    CartItem {
        product_id: id.into(),
        name: format!("Товар {id}"),
        sku: Some(format!("SKU-{id}")),
        price: uah(12_950),
        image_url: None,
        quantity,
        plugin_id: Some("keycrm".into()),
    }
}

/// An order of two units of one product, not yet tied to an update.
pub(crate) fn order(key: &str, user_id: i64) -> NewLead {
    NewLead {
        chat_id: user_id,
        user_id,
        lead: Lead {
            idempotency_key: key.into(),
            kind: LeadKind::Order(vec![LineItem {
                product_id: "1".into(),
                name: "Товар 1".into(),
                sku: None,
                quantity: 2,
                unit_price: uah(12_950),
                image_url: None,
            }]),
            contact: Contact {
                full_name: "Олена Петренко".into(),
                phone: Some("+380501234567".into()),
                email: None,
                telegram_user_id: Some(user_id),
                telegram_username: Some("olena".into()),
            },
            title: "Замовлення".into(),
            comment: None,
            source: "telegram".into(),
        },
        plugin_id: "keycrm".into(),
        plugin_version: "0.1.0".into(),
        claimed_until: None,
        update_id: None,
    }
}

/// Everything the dialogue and the outbox rely on, on one backend.
async fn exercise(store: &Store) {
    // Customers: Telegram's data is refreshed, the customer's own kept.
    let c = store
        .upsert_customer(&user(7))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.display_name(), "Олена Петренко");
    store
        .set_contact(7, ContactField::Phone, Some("+380501234567"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut renamed = user(7);
    renamed.first_name = "Лена".into();
    let c = store
        .upsert_customer(&renamed)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.telegram.first_name, "Лена");
    assert_eq!(c.phone.as_deref(), Some("+380501234567"));
    assert!(
        store
            .customer(8)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );

    // Dialogue states.
    assert_eq!(store.dialogue(7).await.ok().flatten(), None);
    store
        .set_dialogue(7, r#"{"Browsing":{"page":3}}"#)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .set_dialogue(7, r#"{"Browsing":{"page":4}}"#)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.dialogue(7).await.ok().flatten().as_deref(),
        Some(r#"{"Browsing":{"page":4}}"#)
    );
    // A step's state carries the update that stored it.
    store
        .set_dialogue_step(7, r#"{"Browsing":{"page":5}}"#, 41)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let step = store.dialogue_step(7).await.ok().flatten();
    assert_eq!(step.as_ref().and_then(|s| s.update_id), Some(41));
    // What an update reads first: the customer, the step and the cart, in
    // one go.
    let now = store.chat(7, 7).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        now.customer.map(|c| c.telegram.first_name),
        Some("Лена".into())
    );
    assert_eq!(now.dialogue, step);
    assert!(now.cart.is_empty());
    let now = store.chat(8, 8).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(now.customer.is_none() && now.dialogue.is_none());
    let now = store.chat(7, 8).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(now.customer.is_some() && now.dialogue.is_none());
    store
        .set_dialogue(7, r#"{"Browsing":{"page":4}}"#)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let step = store.dialogue_step(7).await.ok().flatten();
    assert_eq!(step.and_then(|s| s.update_id), None);

    // Carts: adding again sums, changes clamp and remove at zero; the same
    // press seen twice (a replayed update) counts once.
    for (product, quantity, press) in [
        ("a", 1, "c1"),
        ("b", 2, "c2"),
        ("a", 2, "c3"),
        ("a", 2, "c3"),
    ] {
        store
            .cart_add(7, &item(product, quantity), press)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let cart = store.cart(7).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cart.iter()
            .map(|i| (i.product_id.as_str(), i.quantity))
            .collect::<Vec<_>>(),
        [("a", 3), ("b", 2)]
    );
    assert_eq!(cart[0].price, uah(12_950));
    assert_eq!(store.cart_change(7, "b", 1, "c4").await.ok(), Some(3));
    assert_eq!(store.cart_change(7, "b", 1, "c4").await.ok(), Some(3));
    assert_eq!(store.cart_change(7, "a", -1, "c5").await.ok(), Some(2));
    assert_eq!(store.cart_change(7, "a", 1, "c6").await.ok(), Some(3));
    assert_eq!(store.cart_change(7, "b", -5, "c7").await.ok(), Some(0));
    assert_eq!(store.cart_change(7, "b", -5, "c7").await.ok(), Some(0));
    assert_eq!(
        store
            .cart_change(7, "zzz", 1, "c8")
            .await
            .map_err(|e| e.to_string()),
        Ok(0)
    );
    assert_eq!(store.cart(7).await.map(|c| c.len()).ok(), Some(1));
    // The chat's read carries the cart, in the order lines were added.
    let now = store.chat(7, 7).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        now.cart,
        store.cart(7).await.unwrap_or_else(|e| panic!("{e}"))
    );

    // A step's writes commit together, with the update that made them; the
    // same press applied again changes no cart line.
    let step_writes = [
        Write::CartAdd(item("c", 1)),
        Write::CartChange {
            product_id: "a".into(),
            delta: 1,
        },
        Write::Contact {
            user_id: 7,
            field: ContactField::Email,
            value: "olena@example.com".into(),
        },
        Write::State(r#""AskPhone""#.into()),
    ];
    for _ in 0..2 {
        store
            .apply(7, 90, "c90", &step_writes)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let now = store.chat(7, 7).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        now.cart
            .iter()
            .map(|i| (i.product_id.as_str(), i.quantity))
            .collect::<Vec<_>>(),
        [("a", 4), ("c", 1)]
    );
    assert_eq!(
        now.customer.and_then(|c| c.email).as_deref(),
        Some("olena@example.com")
    );
    assert_eq!(now.dialogue.and_then(|d| d.update_id), Some(90));
    // A lone write runs without a transaction, to the same effect.
    let lone = [Write::CartDropForeign {
        plugin_id: "keycrm".into(),
    }];
    store
        .apply(7, 92, "c92", &lone)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.cart(7).await.map(|c| c.len()).ok(), Some(2));
    store
        .apply(7, 93, "c93", &[Write::CartClear, Write::ForgetState])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = store.chat(7, 7).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(now.cart.is_empty() && now.dialogue.is_none());
    store
        .cart_change(7, "b", 1, "c94")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .cart_add(7, &item("a", 1), "c95")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // A confirmed order: lead, next state and empty cart in one transaction.
    let confirmed = NewLead {
        update_id: Some(77),
        ..order("order-1", 7)
    };
    let id = store
        .record_lead(&confirmed, Some(r#""Menu""#), true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let step = store.dialogue_step(7).await.ok().flatten();
    assert_eq!(step.and_then(|s| s.update_id), Some(77));
    let by_key = store.lead_by_key("order-1").await.ok().flatten();
    assert_eq!(by_key.map(|r| r.id), Some(id));
    assert!(store.lead_by_key("order-x").await.ok().flatten().is_none());
    assert!(
        store
            .cart(7)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    assert_eq!(
        store.dialogue(7).await.ok().flatten().as_deref(),
        Some(r#""Menu""#)
    );
    // The same key again is the same lead.
    let again = store
        .record_lead(&order("order-1", 7), None, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, id);
    let row = store
        .lead(id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no lead"));
    assert_eq!(row.state, LeadState::Pending);
    assert_eq!(row.lead, order("order-1", 7).lead);
    assert_eq!(row.kind, switchboard_crm::LeadType::Order);

    // The outbox: due, retried later, delivered, dead.
    let due = store
        .due_leads(now_ms(), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(due.iter().map(|l| l.id).collect::<Vec<_>>(), [id]);
    store
        .mark_retry(id, "unavailable: HTTP 503", now_ms() + 60_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        store
            .due_leads(now_ms(), 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    store
        .mark_delivered(id, "1001", None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let row = store
        .lead(id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no lead"));
    assert_eq!(
        (row.state, row.crm_id.as_deref(), row.attempts),
        (LeadState::Delivered, Some("1001"), 1)
    );
    store
        .set_lead_status(id, "В роботі", false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let second = store
        .record_lead(&order("order-2", 7), None, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .mark_dead(second, "invalid request: HTTP 422")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mine = store
        .leads_of(7, switchboard_crm::LeadType::Order, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mine.iter().map(|l| l.id).collect::<Vec<_>>(), [second, id]);
    assert_eq!(mine[0].state, LeadState::Dead);
    assert_eq!(mine[1].status_name.as_deref(), Some("В роботі"));
    assert_eq!(mine[1].status_final, Some(false));

    // Catalog snapshots and settings.
    store
        .save_catalog("keycrm", "[1,2]", 5)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .save_catalog("keycrm", "[1,2,3]", 6)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.catalog("keycrm").await.ok().flatten(),
        Some(("[1,2,3]".into(), 6))
    );
    assert_eq!(store.setting("offset").await.ok().flatten(), None);
    store
        .set_setting("offset", "42")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.setting("offset").await.ok().flatten().as_deref(),
        Some("42")
    );
}

#[tokio::test]
async fn sqlite_keeps_everything_across_reopening() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
    let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.backend(), Backend::Sqlite);
    exercise(&store).await;
    store.close().await;

    // A restart: migrations are idempotent and the data is all there.
    let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .leads_of(7, switchboard_crm::LeadType::Order, 10)
            .await
            .map(|l| l.len())
            .ok(),
        Some(2)
    );
    assert_eq!(
        store
            .customer(7)
            .await
            .ok()
            .flatten()
            .and_then(|c| c.phone)
            .as_deref(),
        Some("+380501234567")
    );
}

#[tokio::test]
async fn sqlite_in_memory_works_too() {
    let store = Store::open("sqlite::memory:")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    exercise(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_writers_all_land() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("busy.db").display());
    let store = Arc::new(Store::open(&url).await.unwrap_or_else(|e| panic!("{e}")));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.cart_add(i, &item("x", 1), "c1").await?;
            store
                .record_lead(&order(&format!("k-{i}"), i), Some(r#""Menu""#), true)
                .await
        }));
    }
    for task in tasks {
        task.await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("a concurrent write failed: {e}"));
    }
    assert_eq!(
        store.due_leads(now_ms(), 100).await.map(|l| l.len()).ok(),
        Some(40)
    );
}

#[tokio::test]
async fn a_bad_url_names_the_key() {
    let err = Store::open("mysql://localhost/x")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with("config key `storage.url`"), "{err}");
}

/// The test server's URL, starting PostgreSQL when it is down.
async fn postgres() -> String {
    let base = std::env::var("SWITCHBOARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let reachable = || {
        std::net::TcpStream::connect_timeout(
            &"127.0.0.1:5432".parse().unwrap_or_else(|e| panic!("{e}")),
            Duration::from_secs(1),
        )
        .is_ok()
    };
    if !reachable() && base.contains("127.0.0.1:5432") {
        let _ = Command::new("sh")
            .args([
                "-c",
                "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            ])
            .status();
        for _ in 0..60 {
            if reachable() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    assert!(
        reachable(),
        "PostgreSQL is not reachable at {base} and could not be started"
    );
    base
}

/// A PostgreSQL schema of its own, for one test; `drop_schema` removes it.
async fn pg_schema(tag: &str) -> (String, String) {
    let base = postgres().await;
    let schema = format!("sb_test_{tag}_{}_{}", std::process::id(), now_ms());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (
        format!("{base}?options=-c%20search_path%3D{schema}"),
        schema,
    )
}

async fn drop_schema(schema: &str) {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&postgres().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn postgres_does_the_same_in_its_own_schema() {
    let (url, schema) = pg_schema("all").await;
    let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.backend(), Backend::Postgres);
    exercise(&store).await;
    store.close().await;
    drop_schema(&schema).await;
}

/// A question lead with idempotency key `key`.
fn question(key: &str) -> NewLead {
    NewLead {
        lead: Lead {
            idempotency_key: key.into(),
            kind: LeadKind::Question,
            comment: Some("?".into()),
            ..order(key, 1).lead
        },
        ..order(key, 1)
    }
}

/// Two hosts on one empty store: a host starting up releases its own
/// claims from before its restart, never the other host's.
async fn two_hosts(url: &str) {
    let open = |host: &'static str| async move {
        Store::open(url)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .with_host_id(host)
    };
    let (a, b) = (open("host-a").await, open("host-b").await);
    for key in ["k1", "k2"] {
        a.record_lead(&question(key), None, false)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let now = now_ms();
    let far = now + 3_600_000;
    let by_a = a
        .claim_due(now, 1, far)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let by_b = b
        .claim_due(now, 1, far)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((by_a.len(), by_b.len()), (1, 1));
    assert_ne!(by_a[0].id, by_b[0].id, "one lead, one claim");

    // Host B restarts: only its own claim is released.
    assert_eq!(b.release_claims(now).await.ok(), Some(1));
    let again = b
        .claim_due(now, 10, far)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<i64> = again.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![by_b[0].id], "A's lead stays claimed by A");

    // Host A restarts: its claim goes too.
    assert_eq!(a.release_claims(now).await.ok(), Some(1));
    let again = a
        .claim_due(now, 10, far)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        again.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![by_a[0].id]
    );
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn sqlite_hosts_release_only_their_own_claims() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    two_hosts(&format!("sqlite://{}", dir.path().join("s.db").display())).await;
}

#[tokio::test]
async fn postgres_hosts_release_only_their_own_claims() {
    let (url, schema) = pg_schema("claims").await;
    two_hosts(&url).await;
    drop_schema(&schema).await;
}
