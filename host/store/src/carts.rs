//! Carts: the lines a customer collected, each tied to the catalog it came from.

use super::*;

/// One line of a cart, with the product as the customer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartItem {
    /// The CRM's product id.
    pub product_id: String,
    /// The name.
    pub name: String,
    /// The SKU.
    pub sku: Option<String>,
    /// The unit price.
    pub price: switchboard_crm::Money,
    /// The picture.
    pub image_url: Option<String>,
    /// How many, at least 1.
    pub quantity: u32,
    /// The plugin whose catalog the product is from (`None` on lines
    /// stored before plugins were recorded).
    pub plugin_id: Option<String>,
}

pub(crate) fn cart_item(r: &AnyRow) -> Result<CartItem, StoreError> {
    let scale: i32 = r.try_get("price_scale")?;
    let quantity: i64 = r.try_get("quantity")?;
    Ok(CartItem {
        product_id: r.try_get("product_id")?,
        name: r.try_get("name")?,
        sku: r.try_get("sku")?,
        price: switchboard_crm::Money {
            minor_units: r.try_get("price_minor")?,
            scale: u8::try_from(scale)
                .map_err(|_| corrupt("cart price")(format!("scale {scale}")))?,
            currency: r.try_get("currency")?,
        },
        image_url: r.try_get("image_url")?,
        quantity: u32::try_from(quantity)
            .map_err(|_| corrupt("cart quantity")(format!("{quantity}")))?,
        plugin_id: r.try_get("plugin_id")?,
    })
}

/// Adds a line or more of it; see [`Store::cart_add`].
pub(crate) async fn add(
    conn: &mut sqlx::AnyConnection,
    chat_id: i64,
    item: &CartItem,
    changed_by: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cart_items (chat_id, product_id, name, sku, price_minor, price_scale, currency, image_url, quantity, added_at, changed_by, plugin_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (chat_id, product_id) DO UPDATE
         SET quantity = cart_items.quantity + excluded.quantity, changed_by = excluded.changed_by
         WHERE cart_items.changed_by IS DISTINCT FROM excluded.changed_by",
    )
    .bind(chat_id)
    .bind(&item.product_id)
    .bind(&item.name)
    .bind(&item.sku)
    .bind(item.price.minor_units)
    .bind(i32::from(item.price.scale))
    .bind(&item.price.currency)
    .bind(&item.image_url)
    .bind(i64::from(item.quantity.max(1)))
    .bind(now_ms())
    .bind(changed_by)
    .bind(&item.plugin_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes out another catalog's lines; see [`Store::cart_drop_foreign`].
pub(crate) async fn drop_foreign(
    conn: &mut sqlx::AnyConnection,
    chat_id: i64,
    plugin_id: &str,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM cart_items WHERE chat_id = $1 AND plugin_id IS NOT NULL AND plugin_id <> $2",
    )
    .bind(chat_id)
    .bind(plugin_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Changes a line's quantity; see [`Store::cart_change`]. Run inside a
/// transaction: the statements belong together.
pub(crate) async fn change(
    conn: &mut sqlx::AnyConnection,
    chat_id: i64,
    product_id: &str,
    delta: i64,
    changed_by: &str,
) -> Result<u32, StoreError> {
    // Write first: in SQLite a transaction that reads before it writes
    // cannot wait for the lock and fails with SQLITE_BUSY instead.
    let removed = sqlx::query(
        "DELETE FROM cart_items WHERE chat_id = $1 AND product_id = $2 AND quantity + $3 <= 0
         AND changed_by IS DISTINCT FROM $4
         RETURNING product_id",
    )
    .bind(chat_id)
    .bind(product_id)
    .bind(delta)
    .bind(changed_by)
    .fetch_optional(&mut *conn)
    .await?;
    if removed.is_some() {
        return Ok(0);
    }
    let changed = sqlx::query(
        "UPDATE cart_items SET quantity = quantity + $1, changed_by = $2
         WHERE chat_id = $3 AND product_id = $4 AND changed_by IS DISTINCT FROM $2
         RETURNING quantity",
    )
    .bind(delta)
    .bind(changed_by)
    .bind(chat_id)
    .bind(product_id)
    .fetch_optional(&mut *conn)
    .await?;
    // Nothing changed: the line is absent, or this press changed it already.
    let row = match changed {
        Some(row) => Some(row),
        None => {
            sqlx::query("SELECT quantity FROM cart_items WHERE chat_id = $1 AND product_id = $2")
                .bind(chat_id)
                .bind(product_id)
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    let next = match row {
        Some(row) => row.try_get::<i64, _>("quantity")?,
        None => 0,
    };
    Ok(u32::try_from(next).unwrap_or(0))
}

/// Empties a chat's cart.
pub(crate) async fn clear(conn: &mut sqlx::AnyConnection, chat_id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM cart_items WHERE chat_id = $1")
        .bind(chat_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The columns [`cart_item`] reads.
pub(crate) const CART_COLUMNS: &str =
    "product_id, name, sku, price_minor, price_scale, currency, image_url, quantity, plugin_id";

impl Store {
    /// The cart of a chat, in the order items were added.
    pub async fn cart(&self, chat_id: i64) -> Result<Vec<CartItem>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CART_COLUMNS} FROM cart_items WHERE chat_id = $1 ORDER BY added_at, product_id"
        ))
        .bind(chat_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(cart_item).collect()
    }

    /// Adds `item.quantity` units of a product (a new line, or more of an
    /// existing one, keeping its price as first seen), on behalf of the
    /// message or button press `changed_by`. The same press seen again (a
    /// replayed update) adds nothing: the line remembers its last change.
    pub async fn cart_add(
        &self,
        chat_id: i64,
        item: &CartItem,
        changed_by: &str,
    ) -> Result<(), StoreError> {
        add(
            &mut *self.writer.acquire().await?,
            chat_id,
            item,
            changed_by,
        )
        .await
    }

    /// Takes out of a chat's cart the lines from another plugin's catalog
    /// than `plugin_id` (after the active CRM was swapped). Returns how many
    /// lines went. Lines with no recorded plugin stay.
    pub async fn cart_drop_foreign(
        &self,
        chat_id: i64,
        plugin_id: &str,
    ) -> Result<u64, StoreError> {
        drop_foreign(&mut *self.writer.acquire().await?, chat_id, plugin_id).await
    }

    /// Changes the quantity of a line by `delta` on behalf of the press
    /// `changed_by`; a line that reaches zero is removed. The same press seen
    /// again changes nothing. Returns the line's quantity afterwards (0 when
    /// removed or absent).
    pub async fn cart_change(
        &self,
        chat_id: i64,
        product_id: &str,
        delta: i64,
        changed_by: &str,
    ) -> Result<u32, StoreError> {
        let mut conn = self.writer.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let next = change(&mut tx, chat_id, product_id, delta, changed_by).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Empties the cart of a chat.
    pub async fn cart_clear(&self, chat_id: i64) -> Result<(), StoreError> {
        clear(&mut *self.writer.acquire().await?, chat_id).await
    }
}
