//! The catalog the dialogue browses: the whole product list of the active
//! CRM plugin, cached in memory and persisted in the store.
//!
//! [`Catalog::get`] serves the cached [`Snapshot`] while it is younger than
//! the TTL and was loaded through the plugin that is active now; otherwise
//! it reloads every page from the CRM. Reloads are single-flight: however
//! many chats ask at once, one reload runs and the others share its outcome,
//! while readers of a fresh snapshot never wait (it sits in an `ArcSwap`).
//! A reload runs in its own task, so a chat that gives up waiting does not
//! cancel it for the others.
//!
//! When a reload fails (the CRM is down, the plugin traps), the last good
//! copy of the same plugin id is served, marked stale: the one in memory,
//! else the one persisted in the store by an earlier process. The CRM is not
//! asked again before the retry back-off has passed, unless
//! [`Catalog::refresh`] is called. Only when there is no copy at all is the
//! failure an error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use crate::callback::ProductKey;
use switchboard_crm::Product;
use switchboard_plugin_runtime::{CallError, LoadedPlugin, Registry};
use switchboard_store::{Store, StoreError, now_ms};

/// How long a failed reload is not retried by [`Catalog::get`], unless set
/// with [`Catalog::with_retry_after`].
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Products asked for per `list-products` call.
pub const PAGE_SIZE: u32 = 50;

/// The most `list-products` calls of one reload; guards against a cursor
/// that never ends, not a limit on real catalogs (500,000 products).
pub const MAX_PAGES: usize = 10_000;

/// Why no catalog can be shown.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No CRM plugin is active.
    #[error("no catalog: {0}")]
    NoPlugin(#[source] CallError),
    /// The reload failed and no earlier copy of the catalog is kept.
    #[error("the catalog could not be loaded and no earlier copy is kept: {reason}")]
    Unavailable {
        /// Why the reload failed.
        reason: String,
    },
    /// The reload failed and the persisted copy could not be read.
    #[error("the catalog could not be loaded, nor its saved copy read: {0}")]
    Store(#[from] StoreError),
}

/// A product name and SKU in lower case, for [`Snapshot::search`].
struct Folded {
    name: String,
    sku: Option<String>,
}

/// The products of one load, indexed; shared by a snapshot and the stale
/// copies made of it.
struct Data {
    plugin_id: String,
    fetched_at_ms: i64,
    products: Vec<Product>,
    index: HashMap<ProductKey, usize>,
    folded: Vec<Folded>,
}

/// Product ids a load returned more than once.
struct Duplicates {
    count: usize,
    first: String,
}

impl Data {
    /// Indexes `products`, keeping the first of each id.
    fn build(
        plugin_id: &str,
        products: Vec<Product>,
        fetched_at_ms: i64,
    ) -> (Self, Option<Duplicates>) {
        let mut kept = Vec::with_capacity(products.len());
        let mut index = HashMap::with_capacity(products.len());
        let mut duplicates: Option<Duplicates> = None;
        for product in products {
            let key = ProductKey::of(&product.id);
            if let Some(&first) = index.get(&key) {
                let first: &Product = &kept[first];
                if first.id == product.id {
                    match duplicates.as_mut() {
                        Some(d) => d.count += 1,
                        None => {
                            duplicates = Some(Duplicates {
                                count: 1,
                                first: product.id,
                            });
                        }
                    }
                    continue;
                }
                // Two ids with one 64-bit key: keep the product browsable,
                // only `find` by key reaches the first.
                tracing::warn!(
                    plugin = %plugin_id,
                    first = %first.id,
                    second = %product.id,
                    "two catalog product ids share a product key"
                );
            } else {
                index.insert(key, kept.len());
            }
            kept.push(product);
        }
        let folded = kept
            .iter()
            .map(|p| Folded {
                name: p.name.to_lowercase(),
                sku: p.sku.as_deref().map(str::to_lowercase),
            })
            .collect();
        let data = Self {
            plugin_id: plugin_id.to_string(),
            fetched_at_ms,
            products: kept,
            index,
            folded,
        };
        (data, duplicates)
    }
}

fn warn_duplicates(plugin_id: &str, duplicates: Option<Duplicates>) {
    if let Some(d) = duplicates {
        tracing::warn!(
            plugin = %plugin_id,
            duplicates = d.count,
            first = %d.first,
            "the catalog repeats product ids; the first of each is kept"
        );
    }
}

/// An immutable, complete catalog.
pub struct Snapshot {
    data: Arc<Data>,
    /// The plugin this snapshot was served for. A `Weak` keeps the
    /// allocation, so its address cannot be reused by a later plugin.
    source: Weak<LoadedPlugin>,
    digest: String,
    stale: Option<String>,
    /// When a fresh snapshot expires, or a stale one may be retried; `None`
    /// for never.
    until: Option<Instant>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("plugin_id", &self.data.plugin_id)
            .field("products", &self.data.products.len())
            .field("fetched_at_ms", &self.data.fetched_at_ms)
            .field("stale", &self.stale)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// A fresh snapshot of `products` that no plugin loaded (for tools and
    /// tests); a [`Catalog`] never serves it. Repeated ids keep the first.
    pub fn new(plugin_id: &str, products: Vec<Product>, fetched_at_ms: i64) -> Self {
        let (data, duplicates) = Data::build(plugin_id, products, fetched_at_ms);
        warn_duplicates(plugin_id, duplicates);
        Self {
            data: Arc::new(data),
            source: Weak::new(),
            digest: String::new(),
            stale: None,
            until: None,
        }
    }

    /// The products, in the CRM's order.
    pub fn products(&self) -> &[Product] {
        &self.data.products
    }

    /// How many products.
    pub fn len(&self) -> usize {
        self.data.products.len()
    }

    /// True when the catalog has no products.
    pub fn is_empty(&self) -> bool {
        self.data.products.is_empty()
    }

    /// The id of the plugin the products came from.
    pub fn plugin_id(&self) -> &str {
        &self.data.plugin_id
    }

    /// When the products were fetched from the CRM, in Unix milliseconds.
    pub fn fetched_at_ms(&self) -> i64 {
        self.data.fetched_at_ms
    }

    /// True when this copy is served because a reload failed.
    pub fn is_stale(&self) -> bool {
        self.stale.is_some()
    }

    /// Why the reload failed, when the copy is stale (for logs).
    pub fn stale_reason(&self) -> Option<&str> {
        self.stale.as_deref()
    }

    /// How many pages of `per_page` products (at least 1, even when empty;
    /// `per_page` 0 counts as 1).
    pub fn pages(&self, per_page: usize) -> usize {
        self.len().div_ceil(per_page.max(1)).max(1)
    }

    /// The products of 0-based page `page`; a page past the end gives the
    /// last page.
    pub fn page(&self, page: usize, per_page: usize) -> &[Product] {
        let per_page = per_page.max(1);
        let page = page.min(self.pages(per_page) - 1);
        let start = page.saturating_mul(per_page).min(self.len());
        let end = start.saturating_add(per_page).min(self.len());
        &self.data.products[start..end]
    }

    /// The product with this key.
    pub fn find(&self, key: &ProductKey) -> Option<&Product> {
        self.position(key).map(|i| &self.data.products[i])
    }

    /// The 0-based position of the product with this key, in catalog order.
    pub fn position(&self, key: &ProductKey) -> Option<usize> {
        self.data.index.get(key).copied()
    }

    /// At most `limit` products, in catalog order, whose name or SKU
    /// contains every whitespace-separated word of `query`, ignoring case
    /// (Unicode lower case). An empty query finds nothing.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Product> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() || limit == 0 {
            return Vec::new();
        }
        self.data
            .folded
            .iter()
            .zip(&self.data.products)
            .filter(|(folded, _)| {
                words.iter().all(|word| {
                    folded.name.contains(word.as_str())
                        || folded.sku.as_deref().is_some_and(|sku| sku.contains(word))
                })
            })
            .map(|(_, product)| product)
            .take(limit)
            .collect()
    }

    /// True when this snapshot was served for `plugin` (the same loaded
    /// instance, hence the same id, digest and settings).
    fn is_for(&self, plugin: &Arc<LoadedPlugin>) -> bool {
        std::ptr::eq(self.source.as_ptr(), Arc::as_ptr(plugin))
            && self.data.plugin_id == plugin.id()
            && self.digest == plugin.digest
    }

    /// True while the snapshot may be served without asking the CRM.
    fn is_current(&self, now: Instant) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// A reload that failed with no copy to serve, remembered so that callers
/// within the back-off are answered without asking the CRM.
struct Failure {
    source: Weak<LoadedPlugin>,
    reason: String,
    retry_at: Option<Instant>,
}

impl Failure {
    fn is_for(&self, plugin: &Arc<LoadedPlugin>) -> bool {
        std::ptr::eq(self.source.as_ptr(), Arc::as_ptr(plugin))
    }
}

/// What a caller waiting for the reload lock wants.
#[derive(Clone, Copy)]
enum Want {
    /// A current snapshot; reload only if there is none.
    Current,
    /// A reload, unless one ended while this caller waited.
    Reload,
}

struct Inner {
    registry: Arc<Registry>,
    store: Store,
    ttl: Duration,
    retry_after: Duration,
    current: ArcSwapOption<Snapshot>,
    /// Reload attempts ended so far; a waiter that sees it move shares the
    /// outcome instead of reloading again.
    attempts: AtomicU64,
    /// Held for the whole of a reload: one at a time.
    reloading: tokio::sync::Mutex<Option<Failure>>,
    /// Keeps saves in reload order once the reload lock is released.
    saving: tokio::sync::Mutex<()>,
}

/// The catalog cache of the active CRM plugin. Clones share the cache.
#[derive(Clone)]
pub struct Catalog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("ttl", &self.inner.ttl)
            .field("retry_after", &self.inner.retry_after)
            .field("current", &self.inner.current.load())
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// A cache of the catalog of `registry`'s active plugin, reloaded when
    /// older than `ttl`, persisted in `store`. A failed reload is retried
    /// after [`DEFAULT_RETRY_AFTER`].
    pub fn new(registry: Arc<Registry>, store: Store, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry,
                store,
                ttl,
                retry_after: DEFAULT_RETRY_AFTER,
                current: ArcSwapOption::empty(),
                attempts: AtomicU64::new(0),
                reloading: tokio::sync::Mutex::new(None),
                saving: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Sets how long [`Catalog::get`] waits after a failed reload before it
    /// asks the CRM again. Call it before the cache is shared.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.retry_after = retry_after,
            None => tracing::warn!("Catalog::with_retry_after on a shared cache is ignored"),
        }
        self
    }

    /// A complete catalog: the cached one while it is younger than the TTL
    /// and was loaded through the plugin that is active now (after a runtime
    /// swap the next call reloads from the new CRM), else a fresh one from
    /// the active plugin. If the reload fails (CRM down, plugin trap), the
    /// last good copy of the same plugin id (in memory, else the one
    /// persisted in the store) is returned marked stale, and the CRM is not
    /// asked again before the retry back-off; only when there is no copy is
    /// it an error.
    pub async fn get(&self) -> Result<Arc<Snapshot>, CatalogError> {
        let active = self.active()?;
        if let Some(snapshot) = self.inner.current.load_full()
            && snapshot.is_for(&active)
            && snapshot.is_current(Instant::now())
        {
            return Ok(snapshot);
        }
        self.reload(active, Want::Current).await
    }

    /// Like [`Catalog::get`], but reloads first even when the cached copy
    /// is current or a failure is being backed off (the Refresh button).
    /// Callers that press it while a reload runs share that reload.
    pub async fn refresh(&self) -> Result<Arc<Snapshot>, CatalogError> {
        let active = self.active()?;
        self.reload(active, Want::Reload).await
    }

    fn active(&self) -> Result<Arc<LoadedPlugin>, CatalogError> {
        self.inner.registry.active().map_err(CatalogError::NoPlugin)
    }

    async fn reload(
        &self,
        active: Arc<LoadedPlugin>,
        want: Want,
    ) -> Result<Arc<Snapshot>, CatalogError> {
        let seen = self.inner.attempts.load(Ordering::SeqCst);
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move { inner.reload(active, want, seen).await })
            .await
            .unwrap_or_else(|e| {
                Err(CatalogError::Unavailable {
                    reason: format!("the reload task ended abnormally: {e}"),
                })
            })
    }
}

impl Inner {
    async fn reload(
        &self,
        active: Arc<LoadedPlugin>,
        want: Want,
        seen: u64,
    ) -> Result<Arc<Snapshot>, CatalogError> {
        let mut failure = self.reloading.lock().await;
        let current = self.current.load_full().filter(|s| s.is_for(&active));
        let failed = failure.as_ref().filter(|f| f.is_for(&active));
        if self.attempts.load(Ordering::SeqCst) != seen {
            // A reload for this plugin ended while we waited: its outcome
            // is as new as ours would be.
            if let Some(snapshot) = current {
                return Ok(snapshot);
            }
            if let Some(f) = failed {
                return Err(CatalogError::Unavailable {
                    reason: f.reason.clone(),
                });
            }
        }
        if let Want::Current = want {
            let now = Instant::now();
            if let Some(snapshot) = current.filter(|s| s.is_current(now)) {
                return Ok(snapshot);
            }
            if let Some(f) = failed.filter(|f| f.retry_at.is_none_or(|at| now < at)) {
                return Err(CatalogError::Unavailable {
                    reason: f.reason.clone(),
                });
            }
        }

        let started = Instant::now();
        let products = match active.list_all_products(PAGE_SIZE, MAX_PAGES).await {
            Ok(products) => products,
            Err(e) => {
                let reason = e.to_string();
                let result = self.fall_back(&active, &reason).await;
                match &result {
                    Ok(stale) => {
                        self.current.store(Some(Arc::clone(stale)));
                        *failure = None;
                    }
                    Err(_) => {
                        *failure = Some(Failure {
                            source: Arc::downgrade(&active),
                            reason,
                            retry_at: Instant::now().checked_add(self.retry_after),
                        });
                    }
                }
                self.attempts.fetch_add(1, Ordering::SeqCst);
                return result;
            }
        };
        let (data, duplicates) = Data::build(active.id(), products, now_ms());
        warn_duplicates(active.id(), duplicates);
        tracing::info!(
            plugin = %active.id(),
            version = %active.info.version,
            products = data.products.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "catalog loaded"
        );
        let snapshot = Arc::new(Snapshot {
            data: Arc::new(data),
            source: Arc::downgrade(&active),
            digest: active.digest.clone(),
            stale: None,
            until: Instant::now().checked_add(self.ttl),
        });
        self.current.store(Some(Arc::clone(&snapshot)));
        *failure = None;
        self.attempts.fetch_add(1, Ordering::SeqCst);
        // Waiters may go as soon as the snapshot is published; the save
        // lock, taken before the reload lock is released, keeps saves in
        // reload order.
        let saving = self.saving.lock().await;
        drop(failure);
        self.persist(&snapshot).await;
        drop(saving);
        Ok(snapshot)
    }

    /// The last good copy for `active` after a failed reload, marked stale.
    async fn fall_back(
        &self,
        active: &Arc<LoadedPlugin>,
        reason: &str,
    ) -> Result<Arc<Snapshot>, CatalogError> {
        let in_memory = self
            .current
            .load_full()
            .filter(|s| s.data.plugin_id == active.id())
            .map(|s| Arc::clone(&s.data));
        let (data, from) = match in_memory {
            Some(data) => (data, "memory"),
            None => match self.persisted(active.id()).await {
                Ok(Some(data)) => (Arc::new(data), "store"),
                Ok(None) => {
                    tracing::warn!(
                        plugin = %active.id(),
                        reason = %reason,
                        "the catalog could not be loaded and no copy is kept"
                    );
                    return Err(CatalogError::Unavailable {
                        reason: reason.to_string(),
                    });
                }
                Err(e) => {
                    tracing::warn!(
                        plugin = %active.id(),
                        reason = %reason,
                        error = %e,
                        "the catalog could not be loaded, nor its saved copy read"
                    );
                    return Err(CatalogError::Store(e));
                }
            },
        };
        tracing::warn!(
            plugin = %active.id(),
            reason = %reason,
            from,
            products = data.products.len(),
            fetched_at_ms = data.fetched_at_ms,
            "the catalog could not be loaded; serving the last good copy"
        );
        Ok(Arc::new(Snapshot {
            data,
            source: Arc::downgrade(active),
            digest: active.digest.clone(),
            stale: Some(reason.to_string()),
            until: Instant::now().checked_add(self.retry_after),
        }))
    }

    /// The copy of `plugin_id`'s catalog an earlier reload saved; one that
    /// cannot be parsed is logged and treated as absent.
    async fn persisted(&self, plugin_id: &str) -> Result<Option<Data>, StoreError> {
        let Some((text, fetched_at_ms)) = self.store.catalog(plugin_id).await? else {
            return Ok(None);
        };
        match parse_products(&text) {
            Ok(products) => {
                let (data, duplicates) = Data::build(plugin_id, products, fetched_at_ms);
                warn_duplicates(plugin_id, duplicates);
                Ok(Some(data))
            }
            Err(reason) => {
                tracing::warn!(
                    plugin = %plugin_id,
                    reason = %reason,
                    "the saved catalog cannot be read; ignoring it"
                );
                Ok(None)
            }
        }
    }

    /// Saves a freshly loaded catalog; a failure only costs the fallback
    /// after a restart, so it is logged, not returned.
    async fn persist(&self, snapshot: &Snapshot) {
        let json = switchboard_store::persisted::encode_products(snapshot.products());
        if let Err(e) = self
            .store
            .save_catalog(snapshot.plugin_id(), &json, snapshot.fetched_at_ms())
            .await
        {
            tracing::warn!(
                plugin = %snapshot.plugin_id(),
                error = %e,
                "the catalog could not be saved"
            );
        }
    }
}

/// The products of a saved catalog.
fn parse_products(text: &str) -> Result<Vec<Product>, String> {
    switchboard_store::persisted::decode_products(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_crm::Money;

    fn product(id: &str, name: &str, sku: Option<&str>) -> Product {
        Product {
            id: id.into(),
            name: name.into(),
            variant_name: None,
            sku: sku.map(String::from),
            price: Money {
                minor_units: 129_950,
                scale: 2,
                currency: "UAH".into(),
            },
            description: None,
            image_url: None,
            stock: Some(3),
        }
    }

    fn numbered(n: usize) -> Snapshot {
        let products = (0..n)
            .map(|i| product(&i.to_string(), &format!("Item {i}"), None))
            .collect();
        Snapshot::new("keycrm", products, 1_000)
    }

    fn ids(products: &[Product]) -> Vec<&str> {
        products.iter().map(|p| p.id.as_str()).collect()
    }

    #[test]
    fn pages_count_the_last_partial_page_and_never_drop_below_one() {
        assert_eq!(numbered(0).pages(10), 1);
        assert_eq!(numbered(1).pages(10), 1);
        assert_eq!(numbered(10).pages(10), 1);
        assert_eq!(numbered(11).pages(10), 2);
        assert_eq!(numbered(230).pages(8), 29);
        assert_eq!(numbered(3).pages(0), 3, "per_page 0 counts as 1");
    }

    #[test]
    fn pages_are_sliced_in_order_and_clamped_to_the_last() {
        let s = numbered(23);
        assert_eq!(
            ids(s.page(0, 10)),
            ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
        );
        assert_eq!(s.page(1, 10)[0].id, "10");
        assert_eq!(ids(s.page(2, 10)), ["20", "21", "22"]);
        assert_eq!(
            ids(s.page(3, 10)),
            ["20", "21", "22"],
            "past the end: last page"
        );
        assert_eq!(ids(s.page(usize::MAX, 10)), ["20", "21", "22"]);
        assert_eq!(ids(s.page(usize::MAX, usize::MAX)).len(), 23);
        assert_eq!(ids(s.page(5, 0)), ["5"]);
        let empty = numbered(0);
        assert!(empty.is_empty());
        assert!(empty.page(0, 10).is_empty());
        assert!(empty.page(7, 10).is_empty());
    }

    #[test]
    fn finds_products_by_key_and_keeps_the_first_of_a_repeated_id() {
        let s = Snapshot::new(
            "keycrm",
            vec![
                product("a", "Чашка", None),
                product("b", "Футболка", None),
                product("a", "Чашка (копія)", None),
                product("c", "Светр", None),
            ],
            5,
        );
        assert_eq!(s.len(), 3);
        assert_eq!(ids(s.products()), ["a", "b", "c"]);
        assert_eq!(
            s.find(&ProductKey::of("a")).map(|p| p.name.as_str()),
            Some("Чашка")
        );
        assert_eq!(s.position(&ProductKey::of("c")), Some(2));
        assert_eq!(
            s.find(&ProductKey::of("c")).map(|p| p.id.as_str()),
            Some("c")
        );
        assert_eq!(s.find(&ProductKey::of("zz")), None);
        assert_eq!(s.position(&ProductKey::of("zz")), None);
        assert_eq!(s.plugin_id(), "keycrm");
        assert_eq!(s.fetched_at_ms(), 5);
        assert!(!s.is_stale());
        assert_eq!(s.stale_reason(), None);
    }

    #[test]
    fn search_ignores_case_needs_every_word_and_keeps_catalog_order() {
        let s = Snapshot::new(
            "keycrm",
            vec![
                product("1", "Футболка бавовняна «Карпати», M", Some("TS-KRP-M")),
                product("2", "Чашка «Карпати»", Some("CUP-KRP")),
                product("3", "ФУТБОЛКА «Говерла», L", Some("TS-HVR-L")),
                product("4", "Світшот", None),
            ],
            0,
        );
        let found = |q: &str, limit: usize| -> Vec<String> {
            s.search(q, limit).iter().map(|p| p.id.clone()).collect()
        };
        assert_eq!(found("футболка", 10), ["1", "3"]);
        assert_eq!(found("ФутБолка", 10), ["1", "3"]);
        assert_eq!(
            found("футболка карпати", 10),
            ["1"],
            "every word must match"
        );
        assert_eq!(found("  карпати   ", 10), ["1", "2"]);
        assert_eq!(found("ts-hvr", 10), ["3"], "by SKU, ignoring case");
        assert_eq!(
            found("чашка krp", 10),
            ["2"],
            "one word by name, one by SKU"
        );
        assert_eq!(found("футболка", 1), ["1"], "limit keeps the first");
        assert_eq!(found("футболка", 0), Vec::<String>::new());
        assert_eq!(found("", 10), Vec::<String>::new());
        assert_eq!(found(" \t ", 10), Vec::<String>::new());
        assert_eq!(found("светр", 10), Vec::<String>::new());
        assert_eq!(found("світшот xl", 10), Vec::<String>::new());
    }

    #[test]
    fn saved_catalogs_parse_back_exactly_and_refuse_garbage() {
        let products = vec![
            product("1", "Чашка", Some("CUP")),
            Product {
                price: Money {
                    minor_units: -5,
                    scale: 3,
                    currency: "USD".into(),
                },
                stock: None,
                ..product("2", "Знижка", None)
            },
        ];
        let text = switchboard_store::persisted::encode_products(&products);
        assert_eq!(parse_products(&text), Ok(products));
        assert!(parse_products("{\"id\": 1}").is_err());
        assert!(parse_products("[{\"id\": \"1\"}]").is_err_and(|e| e.starts_with("[0]")));
        assert!(parse_products("[").is_err());
    }
}
