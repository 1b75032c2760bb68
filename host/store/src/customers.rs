//! Customers: who wrote to the bot, and the contact details they gave.

use super::*;

/// A Telegram user as the update describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramUser {
    /// The user id.
    pub user_id: i64,
    /// Their private chat with the bot.
    pub chat_id: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: Option<String>,
    /// Username without `@`.
    pub username: Option<String>,
    /// The client's language code.
    pub language: Option<String>,
}

/// A customer on file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// What Telegram says.
    pub telegram: TelegramUser,
    /// The name the customer gave for orders, if they changed it.
    pub full_name: Option<String>,
    /// Their phone in E.164.
    pub phone: Option<String>,
    /// Their e-mail.
    pub email: Option<String>,
}

impl Customer {
    /// The name to put on leads.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.full_name {
            return name.clone();
        }
        match &self.telegram.last_name {
            Some(last) => format!("{} {last}", self.telegram.first_name),
            None => self.telegram.first_name.clone(),
        }
    }
}

/// A customer field the customer can edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    /// `full_name`.
    FullName,
    /// `phone`.
    Phone,
    /// `email`.
    Email,
}

impl ContactField {
    fn column(self) -> &'static str {
        match self {
            Self::FullName => "full_name",
            Self::Phone => "phone",
            Self::Email => "email",
        }
    }
}

/// The columns [`customer_row`] reads, from `customers` as `c`.
const CUSTOMER_COLUMNS: &str = "c.user_id, c.chat_id, c.first_name, c.last_name, c.username,
    c.language, c.full_name, c.phone, c.email";

/// A chat as an update finds it ([`Store::chat`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatNow {
    /// The customer, if known.
    pub customer: Option<Customer>,
    /// The chat's stored dialogue step, if any.
    pub dialogue: Option<StoredDialogue>,
    /// The chat's cart, in the order lines were added.
    pub cart: Vec<crate::CartItem>,
    /// For each line of `cart`, the message or button press that last
    /// changed it (see [`Store::cart_add`]).
    pub changed_by: Vec<Option<String>>,
}

impl ChatNow {
    /// The products whose cart line `trigger` already changed: the update
    /// is seen again after a crash, its cart change is in, and showing the
    /// cart must not apply it a second time.
    pub fn lines_changed_by(&self, trigger: &str) -> Vec<String> {
        self.cart
            .iter()
            .zip(&self.changed_by)
            .filter(|(_, by)| by.as_deref() == Some(trigger))
            .map(|(line, _)| line.product_id.clone())
            .collect()
    }
}

fn customer_row(r: &AnyRow) -> Result<Customer, StoreError> {
    Ok(Customer {
        telegram: TelegramUser {
            user_id: r.try_get("user_id")?,
            chat_id: r.try_get("chat_id")?,
            first_name: r.try_get("first_name")?,
            last_name: r.try_get("last_name")?,
            username: r.try_get("username")?,
            language: r.try_get("language")?,
        },
        full_name: r.try_get("full_name")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
    })
}

impl Store {
    /// Records what Telegram says about a user (new or changed), keeping
    /// what the customer told us, and returns the customer.
    pub async fn upsert_customer(&self, user: &TelegramUser) -> Result<Customer, StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO customers (user_id, chat_id, first_name, last_name, username, language, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (user_id) DO UPDATE SET
                chat_id = excluded.chat_id, first_name = excluded.first_name,
                last_name = excluded.last_name, username = excluded.username,
                language = excluded.language, updated_at = excluded.updated_at",
        )
        .bind(user.user_id)
        .bind(user.chat_id)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.username)
        .bind(&user.language)
        .bind(now)
        .bind(now)
        .execute(&mut *self.writer.acquire().await?)
        .await?;
        self.customer(user.user_id)
            .await?
            .ok_or_else(|| corrupt("customer")("vanished right after it was written".into()))
    }

    /// The customer with this Telegram user id.
    pub async fn customer(&self, user_id: i64) -> Result<Option<Customer>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(customer_row).transpose()
    }

    /// A chat as an update finds it, in one read: the customer, if known,
    /// the chat's stored dialogue step, if any, and its cart.
    pub async fn chat(&self, user_id: i64, chat_id: i64) -> Result<ChatNow, StoreError> {
        // One row per cart line (one row for an empty cart): the customer
        // and the step repeat, which costs less than a second round trip.
        let rows = sqlx::query(&format!(
            "SELECT {CUSTOMER_COLUMNS}, d.state, d.update_id, ci.product_id, ci.name, ci.sku,
                ci.price_minor, ci.price_scale, ci.currency, ci.image_url, ci.quantity, ci.plugin_id,
                ci.changed_by
             FROM (SELECT 1 AS here) AS one
             LEFT JOIN customers c ON c.user_id = $1
             LEFT JOIN dialogues d ON d.chat_id = $2
             LEFT JOIN cart_items ci ON ci.chat_id = $2
             ORDER BY ci.added_at, ci.product_id"
        ))
        .bind(user_id)
        .bind(chat_id)
        .fetch_all(&mut *self.chat_reader.acquire().await?)
        .await?;
        let Some(first) = rows.first() else {
            return Err(corrupt("chat")("the one-row select returned none".into()));
        };
        let customer = match first.try_get::<Option<i64>, _>("user_id")? {
            Some(_) => Some(customer_row(first)?),
            None => None,
        };
        let dialogue = match first.try_get::<Option<String>, _>("state")? {
            Some(state) => Some(StoredDialogue {
                state,
                update_id: first.try_get("update_id")?,
            }),
            None => None,
        };
        let mut cart = Vec::new();
        let mut changed_by = Vec::new();
        for row in &rows {
            if row.try_get::<Option<String>, _>("product_id")?.is_some() {
                cart.push(crate::carts::cart_item(row)?);
                changed_by.push(row.try_get("changed_by")?);
            }
        }
        Ok(ChatNow {
            customer,
            dialogue,
            cart,
            changed_by,
        })
    }

    /// Sets (or clears) one field the customer gave us.
    pub async fn set_contact(
        &self,
        user_id: i64,
        field: ContactField,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        set_contact(&mut *self.writer.acquire().await?, user_id, field, value).await
    }
}

/// Sets (or clears) one field the customer gave us, on `conn`.
pub(crate) async fn set_contact(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    field: ContactField,
    value: Option<&str>,
) -> Result<(), StoreError> {
    // The column name comes from a closed enum, never from input.
    let sql = format!(
        "UPDATE customers SET {} = $1, updated_at = $2 WHERE user_id = $3",
        field.column()
    );
    sqlx::query(&sql)
        .bind(value)
        .bind(now_ms())
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}
