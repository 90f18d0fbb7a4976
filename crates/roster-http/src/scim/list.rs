//! List and search requests (RFC 7644 §3.4.2, §3.4.3; RFC 9865 cursors): their parameters,
//! the projection of `attributes` / `excludedAttributes`, and the `ListResponse`.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use roster_core::{Code, Workspace};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{base_url, ScimBody, ScimCaller, ScimError, ScimJson, ScimType};
use crate::AppState;

/// A resource type that lists and searches make pages of (Users, Groups).
pub trait Listed {
    /// One page as a `ListResponse`.
    fn page<'a>(
        state: &'a AppState,
        workspace: &'a Workspace,
        params: ListParams,
        base: &'a str,
    ) -> impl std::future::Future<Output = Result<ScimJson, ScimError>> + Send + 'a;
}

/// `GET /<Resources>`: a page of `L`, its parameters in the query.
pub async fn list<L: Listed>(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let params = ListParams::from_query(query.as_deref())?;
    let body = L::page(&state, &caller.workspace, params, &base_url(&headers)).await?;
    Ok(body.into_response())
}

/// `POST /<Resources>/.search`: a page of `L`, its parameters in the body.
pub async fn search<L: Listed>(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let params = ListParams::from_body(&body)?;
    let body = L::page(&state, &caller.workspace, params, &base_url(&headers)).await?;
    Ok(body.into_response())
}

pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// A page's size when `count` is not given.
pub const DEFAULT_COUNT: u32 = 100;
/// The largest page (`filter.maxResults`); a larger `count` is cut to it.
pub const MAX_COUNT: u32 = roster_core::query::MAX_QUERY_LIMIT;

/// A list request's parameters.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<u64>,
    pub count: Option<u32>,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
    pub cursor: Option<String>,
}

impl ListParams {
    /// From a query string (names case-insensitive).
    pub fn from_query(query: Option<&str>) -> Result<Self, ScimError> {
        let mut params = Self::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            params.set(&key, Value::String(value.into_owned()))?;
        }
        Ok(params)
    }

    /// From a `SearchRequest` body (`POST …/.search`).
    pub fn from_body(body: &Value) -> Result<Self, ScimError> {
        super::check_schemas(body, SEARCH_SCHEMA)?;
        let mut params = Self::default();
        if let Some(map) = body.as_object() {
            for (key, value) in map {
                if !key.eq_ignore_ascii_case("schemas") {
                    params.set(key, value.clone())?;
                }
            }
        }
        Ok(params)
    }

    fn set(&mut self, key: &str, value: Value) -> Result<(), ScimError> {
        let text = || match &value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(ScimError::bad(
                ScimType::InvalidValue,
                format!("{key} must be a string."),
            )),
        };
        let list = || -> Result<Vec<String>, ScimError> {
            match &value {
                Value::Array(items) => Ok(items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim().to_owned())
                    .collect()),
                _ => Ok(text()?
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()),
            }
        };
        let number = |name: &str| -> Result<i64, ScimError> {
            text()?.trim().parse::<i64>().map_err(|_| {
                ScimError::bad(
                    ScimType::InvalidValue,
                    format!("{name} must be an integer."),
                )
            })
        };
        match key.to_ascii_lowercase().as_str() {
            "filter" => self.filter = Some(text()?).filter(|f| !f.trim().is_empty()),
            // RFC 7644: a startIndex below 1 is 1; a negative count is 0.
            "startindex" => {
                self.start_index = Some(u64::try_from(number("startIndex")?.max(1)).unwrap_or(1))
            }
            "count" => {
                self.count = Some(
                    u32::try_from(number("count")?.clamp(0, i64::from(MAX_COUNT))).unwrap_or(0),
                )
            }
            "sortby" => self.sort_by = Some(text()?).filter(|s| !s.trim().is_empty()),
            "sortorder" => {
                self.descending = match text()?.to_ascii_lowercase().as_str() {
                    "ascending" | "" => false,
                    "descending" => true,
                    _ => {
                        return Err(ScimError::bad(
                            ScimType::InvalidValue,
                            "sortOrder is ascending or descending.",
                        ))
                    }
                }
            }
            "attributes" => self.attributes = list()?,
            "excludedattributes" => self.excluded = list()?,
            "cursor" => self.cursor = Some(text()?),
            _ => {}
        }
        Ok(())
    }

    /// The page size asked for.
    pub fn page_size(&self) -> u32 {
        self.count.unwrap_or(DEFAULT_COUNT)
    }
}

/// `resource` with only the attributes asked for (`id` and `schemas` always stay), or
/// without the excluded ones. Names match case-insensitively; `name.givenName` selects a
/// sub-attribute, a URN-prefixed name an attribute of that schema.
pub fn project(resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(map) = resource else {
        return resource;
    };
    if !attributes.is_empty() {
        let mut kept = Map::new();
        for (key, value) in map {
            if ["id", "schemas"].contains(&key.as_str()) {
                kept.insert(key, value);
                continue;
            }
            if let Some(value) = select(&key, value, attributes) {
                kept.insert(key, value);
            }
        }
        return Value::Object(kept);
    }
    let mut map = map;
    for name in excluded {
        let name = strip_core_urn(name);
        let (top, sub) = match name.split_once('.') {
            Some((top, sub)) => (top, Some(sub)),
            None => (name, None),
        };
        if top.eq_ignore_ascii_case("id") || top.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let Some(key) = map.keys().find(|k| k.eq_ignore_ascii_case(top)).cloned() else {
            continue;
        };
        match sub {
            None => {
                map.remove(&key);
            }
            Some(sub) => {
                if let Some(Value::Object(inner)) = map.get_mut(&key) {
                    inner.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                }
            }
        }
    }
    Value::Object(map)
}

/// The part of attribute `key` (with `value`) that `attributes` ask for.
fn select(key: &str, value: Value, attributes: &[String]) -> Option<Value> {
    let mut subs = Vec::new();
    for wanted in attributes {
        let wanted = strip_core_urn(wanted);
        if wanted.eq_ignore_ascii_case(key) {
            return Some(value);
        }
        if let Some((top, sub)) = wanted.split_once('.') {
            if top.eq_ignore_ascii_case(key) {
                subs.push(sub.to_owned());
            }
        }
        // An extension's attribute: `urn:…:User:department`.
        if key.starts_with("urn:") {
            if let Some(attr) = wanted
                .get(..key.len())
                .filter(|prefix| prefix.eq_ignore_ascii_case(key))
                .and_then(|_| wanted.get(key.len() + 1..))
            {
                subs.push(attr.to_owned());
            }
        }
    }
    if subs.is_empty() {
        return None;
    }
    let keep = |inner: &Map<String, Value>| -> Map<String, Value> {
        inner
            .iter()
            .filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    match value {
        Value::Object(inner) => Some(Value::Object(keep(&inner))),
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(Value::as_object)
                .map(|item| Value::Object(keep(item)))
                .collect(),
        )),
        _ => None,
    }
}

fn strip_core_urn(name: &str) -> &str {
    for schema in [
        super::user_resource::USER_SCHEMA,
        super::groups::GROUP_SCHEMA,
    ] {
        if let Some(rest) = name
            .get(..schema.len())
            .filter(|p| p.eq_ignore_ascii_case(schema))
            .and_then(|_| name.get(schema.len() + 1..))
        {
            return rest;
        }
    }
    name
}

/// A `ListResponse` whose `Resources` are `R` (a list, or a page written as it goes).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<R> {
    schemas: [&'static str; 1],
    pub total_results: u64,
    items_per_page: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
    #[serde(rename = "Resources")]
    pub resources: R,
}

/// A page of resources, each already written as JSON (a page of users is written straight
/// from the rows; see `user_json`).
pub type Page = ListResponse<Vec<Box<RawValue>>>;

/// A `ListResponse`.
pub fn response<R>(
    resources: Vec<R>,
    total: u64,
    start_index: Option<u64>,
    next_cursor: Option<String>,
) -> ListResponse<Vec<R>> {
    let items = resources.len();
    response_of(resources, items, total, start_index, next_cursor)
}

/// A `ListResponse` of `items` resources that `resources` writes.
pub fn response_of<R>(
    resources: R,
    items: usize,
    total: u64,
    start_index: Option<u64>,
    next_cursor: Option<String>,
) -> ListResponse<R> {
    ListResponse {
        schemas: [LIST_SCHEMA],
        total_results: total,
        items_per_page: items,
        start_index,
        next_cursor,
        resources,
    }
}

/// `resource` written as JSON, for a [`Page`].
pub fn raw(resource: &impl Serialize) -> Result<Box<RawValue>, ScimError> {
    serde_json::value::to_raw_value(resource).map_err(|err| {
        roster_core::Error::new(Code::Internal, format!("writing a resource: {err}")).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_keeps_what_was_asked() {
        let user = json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A", "familyName": "B"},
                          "emails": [{"value": "a@b.co", "type": "work"}], "meta": {"version": "W/\"1\""}});
        assert_eq!(
            project(
                user.clone(),
                &[
                    "userName".into(),
                    "NAME.givenName".into(),
                    "emails.value".into()
                ],
                &[]
            ),
            json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A"}, "emails": [{"value": "a@b.co"}]})
        );
        assert_eq!(
            project(
                user,
                &[],
                &["emails".into(), "name.familyName".into(), "id".into()]
            ),
            json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A"}, "meta": {"version": "W/\"1\""}})
        );
    }

    #[test]
    fn counts_and_indexes_are_bounded_as_the_rfc_says() {
        let params =
            ListParams::from_query(Some("count=-4&startIndex=0&SORTORDER=descending")).unwrap();
        assert_eq!(
            (params.count, params.start_index, params.descending),
            (Some(0), Some(1), true)
        );
        let params = ListParams::from_query(Some("count=100000")).unwrap();
        assert_eq!(params.page_size(), MAX_COUNT);
        assert!(ListParams::from_query(Some("count=many")).is_err());
    }
}
