//! Catalog snapshots: the last full catalog of each plugin, served when the
//! CRM is down. Kept as `persisted::encode_products` text.

use super::*;

impl Store {
    /// Stores the full catalog a plugin returned.
    pub async fn save_catalog(
        &self,
        plugin_id: &str,
        products_json: &str,
        fetched_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO catalog_snapshots (plugin_id, products, fetched_at) VALUES ($1, $2, $3)
             ON CONFLICT (plugin_id) DO UPDATE SET products = excluded.products, fetched_at = excluded.fetched_at",
        )
        .bind(plugin_id)
        .bind(products_json)
        .bind(fetched_at)
        .execute(&mut *self.writer.acquire().await?)
        .await?;
        Ok(())
    }

    /// The last full catalog of a plugin and when it was fetched.
    pub async fn catalog(&self, plugin_id: &str) -> Result<Option<(String, i64)>, StoreError> {
        let row =
            sqlx::query("SELECT products, fetched_at FROM catalog_snapshots WHERE plugin_id = $1")
                .bind(plugin_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| -> Result<(String, i64), StoreError> {
            Ok((r.try_get("products")?, r.try_get("fetched_at")?))
        })
        .transpose()
    }
}
