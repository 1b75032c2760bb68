//! Routing, authentication, rate limiting and the catalog and pipeline endpoints.
//!
//! The order of checks follows a Laravel application: an unknown route is 404 and a
//! wrong method 405 before anything else, then the throttle, then authentication.

use std::collections::BTreeSet;
use std::time::Instant;

use super::catalog::SimOffer;
use super::json::{Reply, page_params, paginate};
use super::rate_limit::Verdict;
use super::record::RecordedRequest;
use super::{Shared, cards, pipelines};

/// The routes the simulator knows, with the path parameters they carry.
enum Route<'a> {
    Offers,
    Products,
    Product(&'a str),
    ProductOffers(&'a str),
    Pipelines,
    PipelineStatuses(&'a str),
    Cards,
    Card(&'a str),
}

const READ: &[&str] = &["GET", "HEAD"];
const READ_CREATE: &[&str] = &["GET", "HEAD", "POST"];

fn route(api_path: &str) -> Option<(Route<'_>, &'static [&'static str])> {
    let trimmed = api_path.trim_matches('/');
    let segments: Vec<&str> = trimmed.split('/').collect();
    let found = match segments.as_slice() {
        ["offers"] => (Route::Offers, READ),
        ["products"] => (Route::Products, READ),
        ["products", id] => (Route::Product(id), READ),
        ["products", id, "offers"] => (Route::ProductOffers(id), READ),
        ["pipelines"] => (Route::Pipelines, READ),
        ["pipelines", "cards"] => (Route::Cards, READ_CREATE),
        ["pipelines", "cards", id] => (Route::Card(id), READ),
        ["pipelines", id, "statuses"] => (Route::PipelineStatuses(id), READ),
        _ => return None,
    };
    Some(found)
}

/// Answers one request, without any injected fault.
pub(crate) fn handle(shared: &Shared, request: &RecordedRequest) -> Reply {
    let path = request.path.as_str();
    let not_found = || {
        Reply::message(
            404,
            format!(
                "The route {} could not be found.",
                path.trim_start_matches('/')
            ),
        )
    };
    let Some(api_path) = path.strip_prefix("/v1").filter(|p| p.starts_with('/')) else {
        return not_found();
    };
    let Some((route, methods)) = route(api_path) else {
        return not_found();
    };
    if !methods.contains(&request.method.as_str()) {
        return Reply::message(
            405,
            format!(
                "The {} method is not supported for route {}. Supported methods: {}.",
                request.method,
                path.trim_start_matches('/'),
                methods.join(", ")
            ),
        )
        .with_header("allow", methods.join(", "));
    }

    let mut rate_headers = Vec::new();
    if let Some(limiter) = shared.lock().limiter.as_mut() {
        let key = request.header("authorization").unwrap_or_default();
        let limit = limiter.limit().to_string();
        match limiter.check(key, Instant::now()) {
            Verdict::Allowed { remaining } => {
                rate_headers.push(("x-ratelimit-limit".to_owned(), limit));
                rate_headers.push(("x-ratelimit-remaining".to_owned(), remaining.to_string()));
            }
            Verdict::Limited { retry_after_secs } => {
                return too_many_attempts(retry_after_secs, &limit);
            }
        }
    }

    if !authorized(shared, request) {
        return Reply::message(401, "Unauthenticated.");
    }

    let is_post = request.method == "POST";
    let mut reply = match route {
        Route::Offers => list_offers(shared, request),
        Route::Products => list_products(shared, request),
        Route::Product(id) => show_product(shared, id),
        Route::ProductOffers(id) => list_product_offers(shared, request, id),
        Route::Pipelines => list_pipelines(shared, request),
        Route::PipelineStatuses(id) => list_statuses(shared, request, id),
        Route::Cards if is_post => cards::create(shared, request),
        Route::Cards => cards::list(shared, request),
        Route::Card(id) => cards::show(shared, request, id),
    };
    reply.headers.extend(rate_headers);
    reply
}

/// The 429 answer of Laravel's throttle middleware.
pub(crate) fn too_many_attempts(retry_after_secs: u64, limit: &str) -> Reply {
    Reply::message(429, "Too Many Attempts.")
        .with_header("retry-after", retry_after_secs.to_string())
        .with_header("x-ratelimit-limit", limit)
        .with_header("x-ratelimit-remaining", "0")
}

/// Whether the request carries `Authorization: Bearer <api_key>`; the scheme is
/// case-insensitive, as in Laravel's `bearerToken()`.
fn authorized(shared: &Shared, request: &RecordedRequest) -> bool {
    let Some(header) = request.header("authorization") else {
        return false;
    };
    let token = header
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
        .and_then(|_| header.get(7..))
        .map(str::trim);
    !shared.api_key.is_empty() && token == Some(shared.api_key.as_str())
}

/// The associations requested with `include=a,b`, refused with 400 (as Spatie's query
/// builder does) when one is not in `allowed`.
pub(crate) fn includes(
    request: &RecordedRequest,
    allowed: &[&str],
) -> Result<BTreeSet<String>, Reply> {
    let requested: BTreeSet<String> = request
        .query_param("include")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let unknown: Vec<&str> = requested
        .iter()
        .map(String::as_str)
        .filter(|name| !allowed.contains(name))
        .collect();
    if unknown.is_empty() {
        Ok(requested)
    } else {
        Err(Reply::message(
            400,
            format!(
                "Requested include(s) `{}` are not allowed. Allowed include(s) are `{}`.",
                unknown.join(", "),
                allowed.join(", ")
            ),
        ))
    }
}

/// The `filter[name]=value` parameters, refused with 400 when a name is not in `allowed`.
pub(crate) fn filters<'r>(
    request: &'r RecordedRequest,
    allowed: &[&str],
) -> Result<Vec<(&'r str, &'r str)>, Reply> {
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for (key, value) in &request.query {
        let Some(name) = key
            .strip_prefix("filter[")
            .and_then(|rest| rest.strip_suffix(']'))
        else {
            continue;
        };
        if allowed.contains(&name) {
            found.push((name, value.as_str()));
        } else {
            unknown.push(name);
        }
    }
    if unknown.is_empty() {
        Ok(found)
    } else {
        Err(Reply::message(
            400,
            format!(
                "Requested filter(s) `{}` are not allowed. Allowed filter(s) are `{}`.",
                unknown.join(", "),
                allowed.join(", ")
            ),
        ))
    }
}

/// The integers of a comma list such as `1,2`; other entries never match.
pub(crate) fn int_list(value: &str) -> Vec<i64> {
    value
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

/// The entries of a comma list such as `sku1,sku2`.
pub(crate) fn str_list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// `true`/`1` or `false`/`0`; anything else matches nothing.
fn parse_bool(value: &str) -> Option<bool> {
    match value.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn list_offers(shared: &Shared, request: &RecordedRequest) -> Reply {
    let page = match page_params(request) {
        Ok(page) => page,
        Err(reply) => return reply,
    };
    let include_product = match includes(request, &["product"]) {
        Ok(includes) => includes.contains("product"),
        Err(reply) => return reply,
    };
    let filters = match filters(request, &["id", "product_id", "sku", "is_archived"]) {
        Ok(filters) => filters,
        Err(reply) => return reply,
    };
    let descending = match request.query_param("sort").map(str::trim) {
        None | Some("" | "id") => false,
        Some("-id") => true,
        Some(other) => {
            return Reply::message(
                400,
                format!("Requested sort(s) `{other}` is not allowed. Allowed sort(s) are `id`."),
            );
        }
    };
    let mut offers: Vec<&SimOffer> = shared
        .catalog
        .offers()
        .iter()
        .filter(|offer| {
            filters.iter().all(|&(name, value)| match name {
                "id" => int_list(value).contains(&offer.id),
                "product_id" => int_list(value).contains(&offer.product_id),
                "sku" => str_list(value).contains(&offer.sku.as_str()),
                _ => parse_bool(value) == Some(offer.is_archived),
            })
        })
        .collect();
    if descending {
        offers.reverse();
    }
    Reply::json(
        200,
        &paginate(&shared.origin, request, page, &offers, |offer| {
            shared.catalog.offer_json(offer, include_product)
        }),
    )
}

fn list_products(shared: &Shared, request: &RecordedRequest) -> Reply {
    let page = match page_params(request) {
        Ok(page) => page,
        Err(reply) => return reply,
    };
    let filters = match filters(request, &["product_id", "category_id", "is_archived"]) {
        Ok(filters) => filters,
        Err(reply) => return reply,
    };
    // `include=custom_fields` is accepted and ignored: simulated products have none.
    let products: Vec<_> = shared
        .catalog
        .products()
        .iter()
        .filter(|product| {
            filters.iter().all(|&(name, value)| match name {
                "product_id" => int_list(value).contains(&product.id),
                "category_id" => product
                    .category_id
                    .is_some_and(|c| int_list(value).contains(&c)),
                _ => parse_bool(value) == Some(product.is_archived),
            })
        })
        .collect();
    Reply::json(
        200,
        &paginate(&shared.origin, request, page, &products, |product| {
            shared.catalog.product_json(product)
        }),
    )
}

fn show_product(shared: &Shared, id: &str) -> Reply {
    match id.parse().ok().and_then(|id| shared.catalog.product(id)) {
        Some(product) => Reply::json(200, &shared.catalog.product_json(product)),
        None => model_not_found("Product", id),
    }
}

fn list_product_offers(shared: &Shared, request: &RecordedRequest, id: &str) -> Reply {
    let page = match page_params(request) {
        Ok(page) => page,
        Err(reply) => return reply,
    };
    let Some(product) = id.parse().ok().and_then(|id| shared.catalog.product(id)) else {
        return model_not_found("Product", id);
    };
    let offers: Vec<&SimOffer> = shared
        .catalog
        .offers()
        .iter()
        .filter(|offer| offer.product_id == product.id)
        .collect();
    Reply::json(
        200,
        &paginate(&shared.origin, request, page, &offers, |offer| {
            shared.catalog.offer_json(offer, false)
        }),
    )
}

fn list_pipelines(shared: &Shared, request: &RecordedRequest) -> Reply {
    match page_params(request) {
        Ok(page) => Reply::json(
            200,
            &paginate(
                &shared.origin,
                request,
                page,
                pipelines::PIPELINES,
                pipelines::pipeline_json,
            ),
        ),
        Err(reply) => reply,
    }
}

fn list_statuses(shared: &Shared, request: &RecordedRequest, id: &str) -> Reply {
    let page = match page_params(request) {
        Ok(page) => page,
        Err(reply) => return reply,
    };
    let Some(pipeline) = id.parse().ok().and_then(pipelines::pipeline) else {
        return model_not_found("Pipeline", id);
    };
    let statuses = pipelines::statuses_of(pipeline.id);
    let counts: Vec<(i64, usize)> = {
        let state = shared.lock();
        statuses
            .iter()
            .map(|s| (s.id, state.cards.count_in_status(s.id)))
            .collect()
    };
    Reply::json(
        200,
        &paginate(&shared.origin, request, page, &statuses, |status| {
            let count = counts
                .iter()
                .find(|(id, _)| *id == status.id)
                .map_or(0, |(_, n)| *n);
            pipelines::status_json(status, count)
        }),
    )
}

/// Laravel's answer for a missing model.
pub(crate) fn model_not_found(model: &str, id: &str) -> Reply {
    Reply::message(
        404,
        format!("No query results for model [App\\Models\\{model}] {id}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_routes_known_paths() {
        assert!(matches!(route("/offers"), Some((Route::Offers, READ))));
        assert!(matches!(route("/offers/"), Some((Route::Offers, _))));
        assert!(matches!(
            route("/pipelines/cards"),
            Some((Route::Cards, READ_CREATE))
        ));
        assert!(matches!(
            route("/pipelines/cards/12"),
            Some((Route::Card("12"), _))
        ));
        assert!(matches!(
            route("/pipelines/1/statuses"),
            Some((Route::PipelineStatuses("1"), _))
        ));
        assert!(route("/orders").is_none());
        assert!(route("/offers/stocks/x").is_none());
    }

    #[test]
    fn it_parses_comma_lists() {
        assert_eq!(int_list("1, 2,x,3"), vec![1, 2, 3]);
        assert_eq!(str_list("a, b,,c"), vec!["a", "b", "c"]);
    }
}
