//! The paginated envelope and KeyCRM's error replies.

use serde_json::{Map, Value, json};

use super::record::{RecordedRequest, encode};

pub(crate) use crate::money::money;
pub(crate) use crate::reply::Reply;

/// KeyCRM's (Laravel's) error bodies.
impl Reply {
    /// `{"message": message}` with `status`.
    pub(crate) fn message(status: u16, message: impl Into<String>) -> Self {
        Self::json(status, &json!({ "message": message.into() }))
    }

    /// A Laravel validation error (422): `message` is the first error, followed by
    /// "(and N more errors)" when there are more, and `errors` maps each field to its messages.
    pub(crate) fn validation(errors: &[(String, String)]) -> Self {
        let mut fields = Map::new();
        for (field, message) in errors {
            let entry = fields
                .entry(field.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(messages) = entry {
                messages.push(Value::from(message.clone()));
            }
        }
        let first = errors
            .first()
            .map_or("The given data was invalid.", |(_, m)| m);
        let message = match errors.len() {
            0 | 1 => first.to_owned(),
            2 => format!("{first} (and 1 more error)"),
            n => format!("{first} (and {} more errors)", n - 1),
        };
        Self::json(422, &json!({ "message": message, "errors": fields }))
    }
}

/// The `limit` and `page` of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) limit: usize,
    pub(crate) page: usize,
}

/// Reads `limit` (1..=50, default 15) and `page` (default 1) as KeyCRM validates them.
pub(crate) fn page_params(request: &RecordedRequest) -> Result<Page, Reply> {
    let mut errors = Vec::new();
    let limit = match blank_to_none(request.query_param("limit")) {
        None => 15,
        Some(raw) => match raw.parse::<i64>() {
            Ok(v) if v < 1 => {
                errors.push(field_error("limit", "The limit field must be at least 1."));
                15
            }
            Ok(v) if v > 50 => {
                errors.push(field_error(
                    "limit",
                    "The limit field must not be greater than 50.",
                ));
                15
            }
            Ok(v) => usize::try_from(v).unwrap_or(15),
            Err(_) => {
                errors.push(field_error("limit", "The limit field must be an integer."));
                15
            }
        },
    };
    let page = match blank_to_none(request.query_param("page")) {
        None => 1,
        Some(raw) => match raw.parse::<i64>() {
            // Laravel's paginator treats pages below 1 as the first page.
            Ok(v) => usize::try_from(v.max(1)).unwrap_or(usize::MAX),
            Err(_) => {
                errors.push(field_error("page", "The page field must be an integer."));
                1
            }
        },
    };
    if errors.is_empty() {
        Ok(Page { limit, page })
    } else {
        Err(Reply::validation(&errors))
    }
}

/// A `(field, message)` validation error.
pub(crate) fn field_error(field: &str, message: &str) -> (String, String) {
    (field.to_owned(), message.to_owned())
}

/// Laravel turns empty query values into null.
fn blank_to_none(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The paginated envelope of the spec for `items` (already filtered and sorted).
///
/// The page URLs keep the request's other query parameters, as Laravel's
/// `withQueryString()` does, so following `next_page_url` keeps `limit` and filters.
/// Only the items on the requested page are rendered.
pub(crate) fn paginate<T>(
    origin: &str,
    request: &RecordedRequest,
    page: Page,
    items: &[T],
    render: impl Fn(&T) -> Value,
) -> Value {
    let total = items.len();
    let last_page = total.div_ceil(page.limit).max(1);
    let start = page.limit.saturating_mul(page.page - 1).min(total);
    let data: Vec<Value> = items
        .iter()
        .skip(start)
        .take(page.limit)
        .map(render)
        .collect();
    let url = |n: usize| page_url(origin, request, n);
    json!({
        "total": total,
        "current_page": page.page,
        "per_page": page.limit,
        "data": data,
        "first_page_url": url(1),
        "last_page_url": url(last_page),
        "next_page_url": (page.page < last_page).then(|| url(page.page + 1)),
    })
}

fn page_url(origin: &str, request: &RecordedRequest, page: usize) -> String {
    let mut query: Vec<String> = request
        .query
        .iter()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    query.push(format!("page={page}"));
    format!("{origin}{}?{}", request.path, query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path_and_query: &str) -> RecordedRequest {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        RecordedRequest {
            method: "GET".to_owned(),
            path: path.to_owned(),
            query: super::super::record::parse_query(query),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn it_validates_limit_and_page() {
        assert_eq!(
            page_params(&get("/v1/offers")),
            Ok(Page { limit: 15, page: 1 })
        );
        assert_eq!(
            page_params(&get("/v1/offers?limit=50&page=3")),
            Ok(Page { limit: 50, page: 3 })
        );
        assert_eq!(
            page_params(&get("/v1/offers?limit=&page=0")),
            Ok(Page { limit: 15, page: 1 })
        );
        for bad in ["limit=51", "limit=0", "limit=abc", "page=x"] {
            let reply = page_params(&get(&format!("/v1/offers?{bad}")))
                .expect_err("an invalid parameter must be refused");
            assert_eq!(reply.status, 422, "{bad}");
        }
    }

    #[test]
    fn it_builds_the_laravel_validation_message() {
        let reply = Reply::validation(&[
            field_error("contact", "The contact field is required."),
            field_error("source_id", "The selected source id is invalid."),
            field_error(
                "products.0.price",
                "The products.0.price field must be a number.",
            ),
        ]);
        let body: Value = serde_json::from_slice(&reply.body).expect("valid JSON");
        assert_eq!(
            body["message"],
            "The contact field is required. (and 2 more errors)"
        );
        assert_eq!(
            body["errors"]["source_id"][0],
            "The selected source id is invalid."
        );
    }

    #[test]
    fn it_paginates_with_the_query_kept() {
        let request = get("/v1/offers?limit=2&filter%5Bsku%5D=a&page=2");
        let items: Vec<i64> = (1..=5).collect();
        let envelope = paginate(
            "http://127.0.0.1:1",
            &request,
            Page { limit: 2, page: 2 },
            &items,
            |n| Value::from(*n),
        );
        assert_eq!(envelope["total"], 5);
        assert_eq!(envelope["data"], json!([3, 4]));
        assert_eq!(
            envelope["next_page_url"],
            "http://127.0.0.1:1/v1/offers?limit=2&filter%5Bsku%5D=a&page=3"
        );
        assert_eq!(
            envelope["last_page_url"],
            "http://127.0.0.1:1/v1/offers?limit=2&filter%5Bsku%5D=a&page=3"
        );
    }
}
