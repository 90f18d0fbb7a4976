//! `/scim/v2/Bulk` (RFC 7644 §3.7): up to [`MAX_OPERATIONS`] operations in one request
//! of at most `MAX_PAYLOAD_BYTES`, run in order, each exactly as its own request would be
//! (its own core call and transaction, its own audit event). `bulkId:<id>` in a path or a
//! value names the resource an earlier `POST` of the same request made; `failOnErrors`
//! stops the run after that many errors. The request counts once against the rate limit.

use axum::body::to_bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ETAG, HOST, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

use super::{groups, users, ScimBody, ScimCaller, ScimError, ScimType};
use crate::AppState;

pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The most operations one bulk request may hold.
pub const MAX_OPERATIONS: usize = 1_000;

/// One operation of a bulk request.
struct BulkOperation {
    method: String,
    bulk_id: Option<String>,
    path: String,
    version: Option<String>,
    data: Option<Value>,
}

fn read(body: &Value) -> Result<(Vec<Value>, Option<usize>), ScimError> {
    super::check_schemas(body, BULK_REQUEST)?;
    let get = |key: &str| {
        body.as_object()
            .and_then(|b| b.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
            .map(|(_, v)| v)
    };
    let Some(Value::Array(operations)) = get("Operations") else {
        return Err(ScimError::bad(
            ScimType::InvalidValue,
            "A BulkRequest needs an Operations array.",
        ));
    };
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::Request {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            scim_type: Some(ScimType::TooMany),
            detail: format!("A bulk request may hold at most {MAX_OPERATIONS} operations."),
        });
    }
    let fail_on_errors = match get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n > 0)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    ScimError::bad(
                        ScimType::InvalidValue,
                        "failOnErrors is a positive integer.",
                    )
                })?,
        ),
    };
    Ok((operations.clone(), fail_on_errors))
}

fn operation(raw: &Value) -> Result<BulkOperation, ScimError> {
    let text = |key: &str| {
        raw.as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    };
    let method = text("method")
        .map(|m| m.to_ascii_uppercase())
        .filter(|m| ["POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()))
        .ok_or_else(|| {
            ScimError::bad(
                ScimType::InvalidValue,
                "method is POST, PUT, PATCH or DELETE.",
            )
        })?;
    let path =
        text("path").ok_or_else(|| ScimError::bad(ScimType::InvalidValue, "path is required."))?;
    let bulk_id = text("bulkId");
    if method == "POST" && bulk_id.is_none() {
        return Err(ScimError::bad(
            ScimType::InvalidValue,
            "A POST needs a bulkId.",
        ));
    }
    Ok(BulkOperation {
        method,
        bulk_id,
        path,
        version: text("version"),
        data: raw.get("data").cloned(),
    })
}

/// `value` with every `bulkId:<id>` replaced by the id it made; an id not (yet) made is an
/// error.
fn resolve(value: Value, made: &HashMap<String, String>) -> Result<Value, ScimError> {
    Ok(match value {
        Value::String(s) => match s.strip_prefix("bulkId:") {
            Some(id) => Value::String(made.get(id).cloned().ok_or_else(|| ScimError::Request {
                status: StatusCode::CONFLICT,
                scim_type: Some(ScimType::InvalidValue),
                detail: format!("bulkId:{id} names no resource made earlier in this request."),
            })?),
            None => Value::String(s),
        },
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| resolve(i, made))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, resolve(v, made)?)))
                .collect::<Result<Map<_, _>, ScimError>>()?,
        ),
        other => other,
    })
}

pub async fn bulk(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let (operations, fail_on_errors) = read(&body)?;
    let mut made: HashMap<String, String> = HashMap::new();
    let mut results = Vec::with_capacity(operations.len());
    let mut errors = 0;
    for raw in &operations {
        if fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
        let outcome = match operation(raw) {
            Ok(op) => run(&state, &caller, &headers, op, &mut made).await,
            Err(err) => Err((raw.get("method").cloned(), raw.get("bulkId").cloned(), err)),
        };
        match outcome {
            Ok(result) => results.push(result),
            Err((method, bulk_id, err)) => {
                errors += 1;
                let (status, scim_type, detail, _) = err.parts();
                let mut result = json!({
                    "status": status.as_u16().to_string(),
                    "response": super::error_body(status, scim_type, &detail),
                });
                if let Some(method) = method {
                    result["method"] = method;
                }
                if let Some(bulk_id) = bulk_id {
                    result["bulkId"] = bulk_id;
                }
                results.push(result);
            }
        }
    }
    Ok(axum::response::IntoResponse::into_response(
        super::scim_json(&json!({
            "schemas": [BULK_RESPONSE],
            "Operations": results,
        })),
    ))
}

type Failure = (Option<Value>, Option<Value>, ScimError);

/// Run one operation as its own request would run.
async fn run(
    state: &AppState,
    caller: &crate::auth::Caller,
    headers: &HeaderMap,
    op: BulkOperation,
    made: &mut HashMap<String, String>,
) -> Result<Value, Failure> {
    let fail = |err: ScimError| {
        (
            Some(json!(op.method)),
            op.bulk_id.clone().map(Value::String),
            err,
        )
    };
    let path = resolve(Value::String(op.path.clone()), made).map_err(fail)?;
    let path = path.as_str().unwrap_or_default().to_owned();
    let data = op
        .data
        .clone()
        .map(|d| resolve(d, made))
        .transpose()
        .map_err(fail)?;
    if data.is_none() && op.method != "DELETE" {
        return Err(fail(ScimError::bad(
            ScimType::InvalidValue,
            "data is required.",
        )));
    }
    let mut sub_headers = HeaderMap::new();
    if let Some(host) = headers.get(HOST) {
        sub_headers.insert(HOST, host.clone());
    }
    if let Some(version) = op
        .version
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        sub_headers.insert("if-match", version);
    }
    let request = SubRequest {
        state,
        caller,
        headers: sub_headers,
        data: data.unwrap_or(Value::Null),
    };
    let response = request.dispatch(&op.method, &path).await.map_err(fail)?;
    let (result, id) = outcome(&op, response).await;
    if let (Some(bulk_id), Some(id)) = (&op.bulk_id, id) {
        made.insert(bulk_id.clone(), id);
    }
    Ok(result)
}

/// One operation's request, as its handler receives it.
struct SubRequest<'a> {
    state: &'a AppState,
    caller: &'a crate::auth::Caller,
    headers: HeaderMap,
    data: Value,
}

impl SubRequest<'_> {
    /// Run the handler `method` and `path` name.
    async fn dispatch(self, method: &str, path: &str) -> Result<Response, ScimError> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let st = State(self.state.clone());
        let who = ScimCaller(self.caller.clone());
        let (headers, body) = (self.headers, ScimBody(self.data));
        let id = |id: &str| Path(id.to_owned());
        match (method, segments.as_slice()) {
            ("POST", ["Users"]) => users::create(st, who, headers, body).await,
            ("POST", ["Groups"]) => groups::create(st, who, headers, body).await,
            ("PUT", ["Users", u]) => users::replace(st, who, id(u), headers, body).await,
            ("PUT", ["Groups", g]) => groups::replace(st, who, id(g), headers, body).await,
            ("PATCH", ["Users", u]) => {
                users::patch(st, who, id(u), headers, RawQuery(None), body).await
            }
            ("PATCH", ["Groups", g]) => {
                groups::patch(st, who, id(g), headers, RawQuery(None), body).await
            }
            ("DELETE", ["Users", u]) => users::delete(st, who, id(u), headers).await,
            ("DELETE", ["Groups", g]) => groups::delete(st, who, id(g), headers).await,
            _ => Err(ScimError::bad(
                ScimType::InvalidPath,
                format!("{method} {path} is not an operation bulk runs."),
            )),
        }
    }
}

fn header(response: &Response, name: axum::http::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// An operation's entry in the bulk response, and the id of what it made.
async fn outcome(op: &BulkOperation, response: Response) -> (Value, Option<String>) {
    let status = response.status();
    let (location, version) = (header(&response, LOCATION), header(&response, ETAG));
    let body = to_bytes(response.into_body(), super::MAX_PAYLOAD_BYTES * 16)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let mut result = json!({"method": op.method, "status": status.as_u16().to_string()});
    if let Some(bulk_id) = &op.bulk_id {
        result["bulkId"] = json!(bulk_id);
    }
    let location = location.or_else(|| {
        body.as_ref()
            .and_then(|b| b["meta"]["location"].as_str())
            .map(str::to_owned)
    });
    if let Some(location) = location {
        result["location"] = json!(location);
    }
    if let Some(version) = version {
        result["version"] = json!(version);
    }
    let id = body
        .as_ref()
        .and_then(|b| b["id"].as_str())
        .map(str::to_owned);
    (result, id)
}
