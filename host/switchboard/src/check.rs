//! `switchboard plugin check`: the conformance suite of the `crm` contract.
//!
//! The plugin runs in the real sandbox against a simulated CRM on loopback
//! (`--against keycrm-sim|amocrm-sim|bitrix24-sim|webhook-sim`), which lets the check
//! break the CRM on purpose. Against a real CRM (`--against <url>`, with the
//! plugin's `--config`), only the read-only requirements run. Each
//! requirement prints PASS, FAIL (with the reason) or SKIP (why).

use std::collections::HashSet;
use std::time::{Duration, Instant};

#[cfg(feature = "simulators")]
use switchboard_sim::amocrm::{AmoCrmConfig, AmoCrmSim};
#[cfg(feature = "simulators")]
use switchboard_sim::bitrix24::{Bitrix24Config, Bitrix24Sim};
#[cfg(feature = "simulators")]
use switchboard_sim::webhook::{WebhookConfig, WebhookSim};
#[cfg(feature = "simulators")]
use switchboard_sim::{Fault, KeyCrmConfig, KeyCrmSim};

#[cfg(feature = "simulators")]
use switchboard_crm::{Contact, Lead, LeadKind, LineItem, Money};
use switchboard_crm::{CrmError, Operations};
use switchboard_plugin_runtime::settings::PluginSettings;
use switchboard_plugin_runtime::{CallError, LoadedPlugin, Runtime};

/// Products in a simulated catalog: not a multiple of the page sizes used.
const CATALOG: usize = 23;
/// The deadline plugins get during the check.
const DEADLINE: Duration = Duration::from_secs(3);

/// Where the plugin under check talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Against {
    /// A simulator started for the check.
    Sim(SimKind),
    /// A real CRM: the operator's `--config` points the plugin at it.
    Url(String),
}

/// The simulators the check can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimKind {
    /// KeyCRM.
    KeyCrm,
    /// amoCRM (Kommo).
    AmoCrm,
    /// Bitrix24.
    Bitrix24,
    /// A generic JSON webhook (catalog document + lead endpoint).
    Webhook,
}

impl std::str::FromStr for Against {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "keycrm-sim" => Ok(Self::Sim(SimKind::KeyCrm)),
            "amocrm-sim" => Ok(Self::Sim(SimKind::AmoCrm)),
            "bitrix24-sim" => Ok(Self::Sim(SimKind::Bitrix24)),
            "webhook-sim" => Ok(Self::Sim(SimKind::Webhook)),
            url if url.starts_with("https://") || url.starts_with("http://") => {
                Ok(Self::Url(url.to_string()))
            }
            other => Err(format!(
                "`{other}`: expected keycrm-sim, amocrm-sim, bitrix24-sim, webhook-sim or a CRM's URL"
            )),
        }
    }
}

/// How one requirement went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "outcome", content = "detail")]
pub enum Outcome {
    /// Met.
    Pass(String),
    /// Not met, and why.
    Fail(String),
    /// Not checked, and why.
    Skip(String),
}

/// One line of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// The requirement.
    pub requirement: &'static str,
    /// How it went.
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[cfg(feature = "simulators")]
/// A running simulator.
enum Sim {
    KeyCrm(KeyCrmSim),
    AmoCrm(AmoCrmSim),
    Bitrix24(Bitrix24Sim),
    Webhook(WebhookSim),
}

#[cfg(feature = "simulators")]
impl Sim {
    async fn start(kind: SimKind) -> std::io::Result<Self> {
        Ok(match kind {
            SimKind::KeyCrm => {
                Self::KeyCrm(KeyCrmSim::start(KeyCrmConfig::with_catalog(CATALOG)).await?)
            }
            SimKind::AmoCrm => {
                Self::AmoCrm(AmoCrmSim::start(AmoCrmConfig::with_catalog(CATALOG)).await?)
            }
            SimKind::Bitrix24 => {
                Self::Bitrix24(Bitrix24Sim::start(Bitrix24Config::with_catalog(CATALOG)).await?)
            }
            SimKind::Webhook => {
                Self::Webhook(WebhookSim::start(WebhookConfig::with_catalog(CATALOG)).await?)
            }
        })
    }

    /// Points the plugin at the simulator, with good credentials or not.
    fn configure(&self, settings: &mut PluginSettings, good: bool) {
        let (addr, pairs): (String, Vec<(&str, String)>) = match self {
            Self::KeyCrm(s) => (
                s.addr().to_string(),
                vec![
                    ("base_url", s.base_url()),
                    (
                        "api_key",
                        if good { "test-key" } else { "wrong-key" }.into(),
                    ),
                    ("source_id", "1".into()),
                ],
            ),
            Self::AmoCrm(s) => (
                s.addr().to_string(),
                vec![
                    ("base_url", s.base_url()),
                    (
                        "token",
                        if good {
                            "amo-test-token"
                        } else {
                            "wrong-token"
                        }
                        .into(),
                    ),
                ],
            ),
            Self::Bitrix24(s) => (
                s.addr().to_string(),
                vec![(
                    "webhook_url",
                    if good {
                        s.webhook_url()
                    } else {
                        format!("{}/rest/1/wrong-code/", s.base_url())
                    },
                )],
            ),
            Self::Webhook(s) => (
                s.addr().to_string(),
                vec![
                    ("catalog_url", s.catalog_url()),
                    ("lead_url", s.lead_url()),
                    (
                        "auth_header",
                        if good {
                            s.auth_header().unwrap_or_default()
                        } else {
                            "Bearer wrong-token".into()
                        },
                    ),
                ],
            ),
        };
        settings.allowed_hosts = Some(vec![addr]);
        settings.allow_http_loopback = true;
        for (k, v) in pairs {
            // Good credentials fill in what the operator's --config left out;
            // bad ones replace whatever is there.
            if good {
                settings.config.entry(k.to_string()).or_insert(v);
            } else {
                settings.config.insert(k.to_string(), v);
            }
        }
    }

    fn inject(&self, fault: Fault) {
        match self {
            Self::KeyCrm(s) => s.inject(fault, Some(1)),
            Self::AmoCrm(s) => s.inject(fault, Some(1)),
            Self::Bitrix24(s) => s.inject(fault, Some(1)),
            Self::Webhook(s) => s.inject(fault, Some(1)),
        }
    }

    fn clear(&self) {
        match self {
            Self::KeyCrm(s) => s.clear_faults(),
            Self::AmoCrm(s) => s.clear_faults(),
            Self::Bitrix24(s) => s.clear_faults(),
            Self::Webhook(s) => s.clear_faults(),
        }
    }

    fn leads(&self) -> usize {
        match self {
            Self::KeyCrm(s) => s.cards().len(),
            Self::AmoCrm(s) => s.leads().len(),
            Self::Bitrix24(s) => s.leads().len(),
            Self::Webhook(s) => s.leads().len(),
        }
    }
}

/// Without the `simulators` feature there is nothing to start.
#[cfg(not(feature = "simulators"))]
enum Sim {}

#[cfg(not(feature = "simulators"))]
impl Sim {
    async fn start(_: SimKind) -> std::io::Result<Self> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "this build has no simulators (it was built without the `simulators` feature)",
        ))
    }

    fn configure(&self, _: &mut PluginSettings, _: bool) {
        match *self {}
    }
}

#[cfg(feature = "simulators")]
fn sample_lead(key: &str) -> Lead {
    let uah = |minor_units| Money {
        minor_units,
        scale: 2,
        currency: "UAH".into(),
    };
    Lead {
        idempotency_key: key.into(),
        kind: LeadKind::Order(vec![LineItem {
            product_id: "1".into(),
            name: "Conformance item".into(),
            sku: Some("CHK-1".into()),
            quantity: 2,
            unit_price: uah(12_950),
            image_url: None,
        }]),
        contact: Contact {
            full_name: "Check Customer".into(),
            phone: Some("+380501234567".into()),
            email: None,
            telegram_user_id: Some(1),
            telegram_username: Some("check".into()),
        },
        title: "Conformance check".into(),
        comment: Some("switchboard plugin check".into()),
        source: "telegram:@check".into(),
    }
}

fn pass(detail: impl Into<String>) -> Outcome {
    Outcome::Pass(detail.into())
}

fn fail(detail: impl Into<String>) -> Outcome {
    Outcome::Fail(detail.into())
}

/// Runs the suite; the findings in order.
pub async fn run(
    runtime: &std::sync::Arc<Runtime>,
    mut settings: PluginSettings,
    against: &Against,
) -> Result<Vec<Finding>, switchboard_plugin_runtime::LoadError> {
    settings.timeout = DEADLINE;
    let sim = match against {
        Against::Sim(kind) => Some(Sim::start(*kind).await.map_err(|e| {
            switchboard_plugin_runtime::LoadError::Config {
                key: "--against".into(),
                reason: format!("cannot start the simulator: {e}"),
            }
        })?),
        Against::Url(_) => None,
    };
    if let Some(sim) = &sim {
        sim.configure(&mut settings, true);
    }
    let plugin = LoadedPlugin::load(runtime, &settings, None).await?;
    let mut findings = Vec::new();
    let mut note = |requirement, outcome| {
        findings.push(Finding {
            requirement,
            outcome,
        })
    };

    // info
    let info = plugin.call_info().await;
    let ops = match &info {
        Ok(i) if i.id != plugin.manifest.id => {
            note(
                "info",
                fail(format!(
                    "info().id is `{}`, the manifest says `{}`",
                    i.id, plugin.manifest.id
                )),
            );
            i.operations
        }
        Ok(i) if i.version.trim().is_empty() => {
            note("info", fail("info().version is empty"));
            i.operations
        }
        Ok(i) => {
            note(
                "info",
                pass(format!(
                    "{} {}, operations {:?}",
                    i.id,
                    i.version,
                    crate::json::operations(i.operations)
                )),
            );
            i.operations
        }
        Err(e) => {
            note("info", fail(e.to_string()));
            Operations::empty()
        }
    };

    // pagination and money
    let started = Instant::now();
    let products = plugin.list_all_products(7, 1000).await;
    let first_id = match &products {
        Ok(items) => {
            let ids: HashSet<&str> = items.iter().map(|p| p.id.as_str()).collect();
            let expected = sim.as_ref().map(|_| CATALOG);
            if ids.len() != items.len() {
                note(
                    "pagination",
                    fail(format!(
                        "{} products but {} distinct ids: a page repeated",
                        items.len(),
                        ids.len()
                    )),
                );
            } else if expected.is_some_and(|n| n != items.len()) {
                note(
                    "pagination",
                    fail(format!(
                        "{} products over pages of 7; the CRM has {CATALOG}",
                        items.len()
                    )),
                );
            } else {
                note(
                    "pagination",
                    pass(format!(
                        "{} products over pages of 7 in {} ms",
                        items.len(),
                        started.elapsed().as_millis()
                    )),
                );
            }
            let bad: Vec<String> = items
                .iter()
                .filter(|p| {
                    p.price.scale > 6
                        || p.price.minor_units < 0
                        || p.price.currency.len() != 3
                        || !p.price.currency.bytes().all(|b| b.is_ascii_uppercase())
                })
                .map(|p| {
                    format!(
                        "{} ({} scale {} {})",
                        p.id, p.price.minor_units, p.price.scale, p.price.currency
                    )
                })
                .take(3)
                .collect();
            if bad.is_empty() {
                note(
                    "money",
                    pass("every price: minor units ≥ 0, scale ≤ 6, an ISO 4217 code"),
                );
            } else {
                note("money", fail(format!("bad prices: {}", bad.join(", "))));
            }
            items.first().map(|p| p.id.clone())
        }
        Err(e) => {
            note("pagination", fail(e.to_string()));
            note("money", Outcome::Skip("no products to look at".into()));
            None
        }
    };

    // get-product
    if !ops.contains(Operations::GET_PRODUCT) {
        note(
            "get-product",
            Outcome::Skip("not claimed in info().operations".into()),
        );
    } else if let Some(id) = &first_id {
        let found = plugin.get_product(id).await;
        let missing = plugin.get_product("switchboard-check-no-such-id").await;
        match (found, missing) {
            (
                Ok(p),
                Err(CallError::Crm {
                    error: CrmError::NotFound(_),
                    ..
                }),
            ) if &p.id == id => note(
                "get-product",
                pass("finds a listed product; an unknown id is not-found"),
            ),
            (Ok(p), _) if &p.id != id => {
                note("get-product", fail(format!("asked for {id}, got {}", p.id)))
            }
            (Ok(_), other) => note(
                "get-product",
                fail(format!("an unknown id gave {other:?}, not not-found")),
            ),
            (Err(e), _) => note("get-product", fail(e.to_string())),
        }
    }

    let Some(sim) = sim else {
        for requirement in ["create-lead", "idempotency", "errors", "deadline"] {
            note(requirement, Outcome::Skip("needs a simulator (--against keycrm-sim|amocrm-sim|bitrix24-sim|webhook-sim); a check does not write to a real CRM".into()));
        }
        return Ok(findings);
    };

    with_simulator(runtime, &settings, &plugin, ops, &sim, &mut findings).await;
    Ok(findings)
}

/// The requirements that need the CRM's side: leads created, faults
/// injected, a slow CRM.
#[cfg(feature = "simulators")]
async fn with_simulator(
    runtime: &std::sync::Arc<Runtime>,
    settings: &PluginSettings,
    plugin: &LoadedPlugin,
    ops: Operations,
    sim: &Sim,
    findings: &mut Vec<Finding>,
) {
    let mut note = |requirement, outcome| {
        findings.push(Finding {
            requirement,
            outcome,
        })
    };
    // create-lead
    let before = sim.leads();
    match plugin.create_lead(&sample_lead("check-create-1")).await {
        Ok(r) if r.id.trim().is_empty() => {
            note("create-lead", fail("the lead ref has an empty id"))
        }
        Ok(r) if sim.leads() != before + 1 => note(
            "create-lead",
            fail(format!(
                "returned {} but the CRM holds {} new leads",
                r.id,
                sim.leads() - before
            )),
        ),
        Ok(r) => {
            if ops.contains(Operations::LEAD_STATUS) {
                match plugin.lead_status(&r.id).await {
                    Ok(s) => note(
                        "create-lead",
                        pass(format!("lead {} created, status `{}`", r.id, s.name)),
                    ),
                    Err(e) => note(
                        "create-lead",
                        fail(format!("lead {} created but lead-status failed: {e}", r.id)),
                    ),
                }
            } else {
                note("create-lead", pass(format!("lead {} created", r.id)));
            }
        }
        Err(e) => note("create-lead", fail(e.to_string())),
    }

    // idempotency: the CRM applies the create, the answer is lost, the host retries.
    if !ops.contains(Operations::IDEMPOTENT_CREATE) {
        note(
            "idempotency",
            Outcome::Skip(
                "idempotent-create not claimed: a lost answer can duplicate a lead".into(),
            ),
        );
    } else {
        let before = sim.leads();
        let lead = sample_lead("check-idem-1");
        sim.inject(Fault::ApplyThenDrop);
        let first = plugin.create_lead(&lead).await;
        sim.clear();
        let retry = plugin
            .create_lead_attempt(&lead, 2, switchboard_store::now_ms() - 1000)
            .await;
        let added = sim.leads() - before;
        match (first, retry) {
            (Err(_), Ok(r)) if added == 1 => note(
                "idempotency",
                pass(format!(
                    "the retry found lead {}; one lead in the CRM",
                    r.id
                )),
            ),
            (Ok(_), _) => note(
                "idempotency",
                fail("the first attempt succeeded although the connection dropped"),
            ),
            (_, Err(e)) => note("idempotency", fail(format!("the retry failed: {e}"))),
            (_, Ok(_)) => note(
                "idempotency",
                fail(format!("{added} leads in the CRM after a retry of one")),
            ),
        }
    }

    // errors
    let mut wrong = Vec::new();
    let expect = |name: &str,
                  result: Result<switchboard_crm::ProductPage, CallError>,
                  ok: fn(&CrmError) -> bool,
                  wrong: &mut Vec<String>| {
        match result {
            Err(CallError::Crm { error, .. }) if ok(&error) => {}
            other => wrong.push(format!(
                "{name} gave {}",
                match other {
                    Ok(_) => "a page".to_string(),
                    Err(e) => e.to_string(),
                }
            )),
        }
    };
    for (name, fault, ok) in [
        (
            "HTTP 500",
            Fault::ServerError(500),
            (|e: &CrmError| matches!(e, CrmError::Unavailable(_))) as fn(&CrmError) -> bool,
        ),
        ("HTTP 503", Fault::ServerError(503), |e| {
            matches!(e, CrmError::Unavailable(_) | CrmError::RateLimited(_))
        }),
        (
            "429 with Retry-After 3",
            Fault::RateLimited {
                retry_after_secs: 3,
            },
            |e| matches!(e, CrmError::RateLimited(s) if *s >= 1),
        ),
        ("malformed JSON", Fault::MalformedJson, |e| {
            matches!(e, CrmError::Unavailable(_))
        }),
        ("a dropped connection", Fault::DropConnection, |e| {
            matches!(e, CrmError::Unavailable(_))
        }),
    ] {
        sim.inject(fault);
        let result = plugin.list_products(None, 7).await;
        sim.clear();
        expect(name, result, ok, &mut wrong);
    }
    let mut bad_settings = settings.clone();
    sim.configure(&mut bad_settings, false);
    match LoadedPlugin::load(runtime, &bad_settings, None).await {
        Ok(p) => expect(
            "wrong credentials",
            p.list_products(None, 7).await,
            |e| matches!(e, CrmError::Unauthorized(_)),
            &mut wrong,
        ),
        Err(e) => wrong.push(format!("could not load with wrong credentials: {e}")),
    }
    if wrong.is_empty() {
        note(
            "errors",
            pass(
                "500, 503, 429, malformed JSON, a dropped connection and bad credentials map to their crm-error cases, with no trap",
            ),
        );
    } else {
        note("errors", fail(wrong.join("; ")));
    }

    // deadline
    sim.inject(Fault::Slow(DEADLINE + Duration::from_secs(2)));
    let started = Instant::now();
    let result = plugin.list_products(None, 7).await;
    let took = started.elapsed();
    sim.clear();
    match result {
        Err(
            CallError::Crm {
                error: CrmError::Unavailable(_),
                ..
            }
            | CallError::Timeout { .. },
        ) if took <= DEADLINE + Duration::from_secs(1) => note(
            "deadline",
            pass(format!(
                "a CRM slower than the {} s deadline failed after {} ms",
                DEADLINE.as_secs(),
                took.as_millis()
            )),
        ),
        other => note(
            "deadline",
            fail(format!("after {} ms: {other:?}", took.as_millis())),
        ),
    }
}

#[cfg(not(feature = "simulators"))]
async fn with_simulator(
    _: &std::sync::Arc<Runtime>,
    _: &PluginSettings,
    _: &LoadedPlugin,
    _: Operations,
    sim: &Sim,
    _: &mut Vec<Finding>,
) {
    match *sim {}
}
