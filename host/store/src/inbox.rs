//! The inbox: received updates kept until they are handled.

use super::*;

/// A received update, as kept in the inbox until it is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxUpdate {
    /// Telegram's update id.
    pub update_id: i64,
    /// Its chat, if any.
    pub chat_id: Option<i64>,
    /// The update as JSON.
    pub body: String,
}

impl Store {
    /// Stores a batch of received updates, and for polling the offset past
    /// them, in one transaction. An update already stored is kept as it was.
    /// Returns the ids that were new (a webhook redelivery of an update
    /// still in the inbox is not handed out twice).
    pub async fn inbox_put(
        &self,
        updates: &[InboxUpdate],
        offset: Option<(&str, i64)>,
    ) -> Result<Vec<i64>, StoreError> {
        let now = now_ms();
        let mut conn = self.writer.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        // Write first (see `cart_change`).
        if let Some((setting, next_offset)) = offset {
            sqlx::query(
                "INSERT INTO settings (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(setting)
            .bind(next_offset.to_string())
            .execute(&mut *tx)
            .await?;
        }
        let mut fresh = Vec::with_capacity(updates.len());
        for update in updates {
            let inserted = sqlx::query(
                "INSERT INTO inbox (update_id, chat_id, body, received_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (update_id) DO NOTHING",
            )
            .bind(update.update_id)
            .bind(update.chat_id)
            .bind(&update.body)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() > 0 {
                fresh.push(update.update_id);
            }
        }
        tx.commit().await?;
        Ok(fresh)
    }

    /// Forgets handled updates.
    pub async fn inbox_done(&self, ids: &[i64]) -> Result<(), StoreError> {
        for chunk in ids.chunks(200) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "DELETE FROM inbox WHERE update_id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *self.writer.acquire().await?).await?;
        }
        Ok(())
    }

    /// Updates received and not yet handled, oldest first.
    pub async fn inbox_pending(&self) -> Result<Vec<InboxUpdate>, StoreError> {
        let rows = sqlx::query("SELECT update_id, chat_id, body FROM inbox ORDER BY update_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(InboxUpdate {
                    update_id: r.try_get("update_id")?,
                    chat_id: r.try_get("chat_id")?,
                    body: r.try_get("body")?,
                })
            })
            .collect()
    }
}
