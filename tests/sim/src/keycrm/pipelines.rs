//! The account's pipelines and their statuses, fixed like a freshly set-up shop.

use serde_json::{Value, json};

/// A pipeline ("воронка").
#[derive(Debug)]
pub(crate) struct PipelineDef {
    pub(crate) id: i64,
    pub(crate) name: &'static str,
}

/// A status of a pipeline.
#[derive(Debug)]
pub(crate) struct StatusDef {
    pub(crate) id: i64,
    pub(crate) pipeline_id: i64,
    pub(crate) title: &'static str,
    pub(crate) alias: &'static str,
    pub(crate) color: &'static str,
    pub(crate) is_final: bool,
}

/// Pipeline 1 is the default one (cards created without `pipeline_id` land there).
pub(crate) const PIPELINES: &[PipelineDef] = &[
    PipelineDef {
        id: 1,
        name: "Замовлення з Telegram",
    },
    PipelineDef {
        id: 2,
        name: "Повернення та обмін",
    },
];

/// Statuses in pipeline order; the first one of a pipeline is where new cards start.
pub(crate) const STATUSES: &[StatusDef] = &[
    StatusDef {
        id: 1,
        pipeline_id: 1,
        title: "Новий",
        alias: "new",
        color: "#4DABF7",
        is_final: false,
    },
    StatusDef {
        id: 2,
        pipeline_id: 1,
        title: "В роботі",
        alias: "in_progress",
        color: "#FFD43B",
        is_final: false,
    },
    StatusDef {
        id: 3,
        pipeline_id: 1,
        title: "Успішно",
        alias: "won",
        color: "#69DB7C",
        is_final: true,
    },
    StatusDef {
        id: 4,
        pipeline_id: 1,
        title: "Відмова",
        alias: "lost",
        color: "#FF6B6B",
        is_final: true,
    },
    StatusDef {
        id: 5,
        pipeline_id: 2,
        title: "Запит",
        alias: "request",
        color: "#4DABF7",
        is_final: false,
    },
    StatusDef {
        id: 6,
        pipeline_id: 2,
        title: "Обробка",
        alias: "processing",
        color: "#FFA94D",
        is_final: false,
    },
    StatusDef {
        id: 7,
        pipeline_id: 2,
        title: "Завершено",
        alias: "completed",
        color: "#69DB7C",
        is_final: true,
    },
];

/// When the account's pipelines were set up.
const SETUP_AT: &str = "2024-01-10 09:00:00";

pub(crate) fn pipeline(id: i64) -> Option<&'static PipelineDef> {
    PIPELINES.iter().find(|p| p.id == id)
}

pub(crate) fn status(id: i64) -> Option<&'static StatusDef> {
    STATUSES.iter().find(|s| s.id == id)
}

pub(crate) fn statuses_of(pipeline_id: i64) -> Vec<&'static StatusDef> {
    STATUSES
        .iter()
        .filter(|s| s.pipeline_id == pipeline_id)
        .collect()
}

/// The `Pipeline` schema.
pub(crate) fn pipeline_json(pipeline: &PipelineDef) -> Value {
    json!({
        "id": pipeline.id,
        "name": pipeline.name,
        "target_type": "lead_pipeline",
        "target_id": null,
        "use_payments": true,
        "lead_type": "request",
    })
}

/// The `PipelineStatuses` schema.
pub(crate) fn status_json(status: &StatusDef, leads_count: usize) -> Value {
    json!({
        "id": status.id,
        "pipeline_id": status.pipeline_id,
        "title": status.title,
        "alias": status.alias,
        "color": status.color,
        "is_final": status.is_final,
        "leads_count": leads_count,
    })
}

/// The status embedded by `include=status`: the `PipelineStatuses` fields plus the
/// `name`, `is_active` and timestamps the card schema lists for it.
pub(crate) fn card_status_json(status: &StatusDef) -> Value {
    json!({
        "id": status.id,
        "pipeline_id": status.pipeline_id,
        "title": status.title,
        "name": status.title,
        "alias": status.alias,
        "color": status.color,
        "is_final": status.is_final,
        "is_active": true,
        "created_at": SETUP_AT,
        "updated_at": SETUP_AT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_starts_every_pipeline_with_a_non_final_status() {
        for pipeline in PIPELINES {
            let statuses = statuses_of(pipeline.id);
            assert!(statuses.len() >= 3, "{}", pipeline.name);
            assert!(!statuses[0].is_final);
            assert!(statuses.iter().any(|s| s.is_final));
        }
    }
}
