//! The account's two pipelines and their statuses, fixed like a freshly set-up shop.

use serde_json::{Value, json};

use super::Ctx;

/// The main pipeline ("Воронка"), where leads land unless `pipeline_id` says otherwise.
pub const MAIN_PIPELINE_ID: i64 = 7_700_001;
/// A second pipeline ("Опт"), so tests can move leads between pipelines.
pub const WHOLESALE_PIPELINE_ID: i64 = 7_700_002;
/// The "incoming leads" status of the main pipeline (`type: 1`); no lead is created there.
pub const UNSORTED_STATUS_ID: i64 = 77_000_010;
/// The first working status of the main pipeline: new leads get it.
pub const FIRST_STATUS_ID: i64 = 77_000_011;
/// The system status "Успешно реализовано" (won), present in every pipeline.
pub const WON_STATUS_ID: i64 = 142;
/// The system status "Закрыто и не реализовано" (lost), present in every pipeline.
pub const LOST_STATUS_ID: i64 = 143;

#[derive(Debug)]
pub(crate) struct PipelineDef {
    pub(crate) id: i64,
    pub(crate) name: &'static str,
    pub(crate) is_main: bool,
}

#[derive(Debug)]
pub(crate) struct StatusDef {
    pub(crate) id: i64,
    pub(crate) name: &'static str,
    pub(crate) color: &'static str,
    /// 1 for the "incoming leads" column, 0 otherwise.
    pub(crate) kind: u8,
}

pub(crate) const PIPELINES: &[PipelineDef] = &[
    PipelineDef {
        id: MAIN_PIPELINE_ID,
        name: "Воронка",
        is_main: true,
    },
    PipelineDef {
        id: WHOLESALE_PIPELINE_ID,
        name: "Опт",
        is_main: false,
    },
];

const MAIN_STATUSES: &[StatusDef] = &[
    StatusDef {
        id: UNSORTED_STATUS_ID,
        name: "Неразобранное",
        color: "#c1c1c1",
        kind: 1,
    },
    StatusDef {
        id: FIRST_STATUS_ID,
        name: "Нове замовлення",
        color: "#99ccff",
        kind: 0,
    },
    StatusDef {
        id: 77_000_012,
        name: "Підтверджено",
        color: "#ffff99",
        kind: 0,
    },
    StatusDef {
        id: 77_000_013,
        name: "Відправлено",
        color: "#ffcc66",
        kind: 0,
    },
];

const WHOLESALE_STATUSES: &[StatusDef] = &[
    StatusDef {
        id: 77_000_021,
        name: "Запит ціни",
        color: "#99ccff",
        kind: 0,
    },
    StatusDef {
        id: 77_000_022,
        name: "Рахунок виставлено",
        color: "#ffcc66",
        kind: 0,
    },
];

/// Every pipeline has these two system statuses, with the same ids.
const CLOSED_STATUSES: &[StatusDef] = &[
    StatusDef {
        id: WON_STATUS_ID,
        name: "Успешно реализовано",
        color: "#CCFF66",
        kind: 0,
    },
    StatusDef {
        id: LOST_STATUS_ID,
        name: "Закрыто и не реализовано",
        color: "#D5D8DB",
        kind: 0,
    },
];

pub(crate) fn pipeline(id: i64) -> Option<&'static PipelineDef> {
    PIPELINES.iter().find(|p| p.id == id)
}

/// The statuses of `pipeline_id` in display order, closed ones last.
pub(crate) fn statuses_of(pipeline_id: i64) -> Vec<&'static StatusDef> {
    let own = match pipeline_id {
        MAIN_PIPELINE_ID => MAIN_STATUSES,
        WHOLESALE_PIPELINE_ID => WHOLESALE_STATUSES,
        _ => return Vec::new(),
    };
    own.iter().chain(CLOSED_STATUSES).collect()
}

/// Whether `status_id` is a status of `pipeline_id`.
pub(crate) fn has_status(pipeline_id: i64, status_id: i64) -> bool {
    statuses_of(pipeline_id).iter().any(|s| s.id == status_id)
}

/// The pipeline an ordinary (non-system) status belongs to.
pub(crate) fn pipeline_of(status_id: i64) -> Option<i64> {
    PIPELINES
        .iter()
        .find(|p| {
            statuses_of(p.id)
                .iter()
                .any(|s| s.id == status_id && !is_closed(s.id))
        })
        .map(|p| p.id)
}

/// The status a new lead gets in `pipeline_id`: the first working one.
pub(crate) fn first_status(pipeline_id: i64) -> i64 {
    statuses_of(pipeline_id)
        .iter()
        .find(|s| s.kind == 0)
        .map_or(FIRST_STATUS_ID, |s| s.id)
}

pub(crate) fn is_closed(status_id: i64) -> bool {
    status_id == WON_STATUS_ID || status_id == LOST_STATUS_ID
}

pub(crate) fn status_json(
    ctx: &Ctx<'_>,
    pipeline_id: i64,
    status: &StatusDef,
    sort: usize,
) -> Value {
    json!({
        "id": status.id,
        "name": status.name,
        "sort": if is_closed(status.id) { 10_000 + (status.id - WON_STATUS_ID) * 1_000 } else { i64::try_from(sort * 10 + 10).unwrap_or(0) },
        "is_editable": !is_closed(status.id) && status.kind == 0,
        "pipeline_id": pipeline_id,
        "color": status.color,
        "type": status.kind,
        "account_id": ctx.account_id,
        "_links": { "self": { "href": format!("{}/api/v4/leads/pipelines/{pipeline_id}/statuses/{}", ctx.origin, status.id) } },
    })
}

pub(crate) fn pipeline_json(ctx: &Ctx<'_>, pipeline: &PipelineDef) -> Value {
    let statuses: Vec<Value> = statuses_of(pipeline.id)
        .iter()
        .enumerate()
        .map(|(i, s)| status_json(ctx, pipeline.id, s, i))
        .collect();
    json!({
        "id": pipeline.id,
        "name": pipeline.name,
        "sort": if pipeline.is_main { 1 } else { 2 },
        "is_main": pipeline.is_main,
        "is_unsorted_on": pipeline.is_main,
        "is_archive": false,
        "account_id": ctx.account_id,
        "_links": { "self": { "href": format!("{}/api/v4/leads/pipelines/{}", ctx.origin, pipeline.id) } },
        "_embedded": { "statuses": statuses },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_puts_system_statuses_in_every_pipeline() {
        for pipeline in PIPELINES {
            assert!(has_status(pipeline.id, WON_STATUS_ID));
            assert!(has_status(pipeline.id, LOST_STATUS_ID));
        }
        assert_eq!(pipeline_of(77_000_022), Some(WHOLESALE_PIPELINE_ID));
        assert_eq!(pipeline_of(WON_STATUS_ID), None);
        assert_eq!(first_status(MAIN_PIPELINE_ID), FIRST_STATUS_ID);
        assert_eq!(first_status(WHOLESALE_PIPELINE_ID), 77_000_021);
    }
}
