//! Request extractors that fail with problem+json: JSON bodies and query
//! strings name the field at fault, unknown path ids are 404s, and `Auth`
//! resolves the bearer token to who is asking.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use futures::StreamExt;
use rapport_core::model::agent::Principal;
use rapport_core::model::ids::AgentId;
use rapport_core::ports::store::StoreError;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::credentials::hash_token;
use crate::error::{ApiError, FieldProblem};

/// A JSON body. Refuses other media types (415), oversize bodies (413),
/// malformed JSON (400) and fields of the wrong shape (422, naming them).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| mime.trim().to_ascii_lowercase())
            .is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(state.json_body_limit)
            } else if crate::error::is_body_timeout(&rejection) {
                ApiError::RequestTimeout
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The `Content-Length` a request declares, if any.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// How much more of a refused body is read (and dropped) before the answer,
/// so a client still sending sees the answer rather than a reset
/// connection. The body timeout bounds the time it takes.
pub const DRAIN_LIMIT: usize = 1024 * 1024;

/// Reads and drops up to [`DRAIN_LIMIT`] more bytes of a body.
pub async fn drain<S, E>(chunks: &mut S)
where
    S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut dropped = 0;
    while dropped < DRAIN_LIMIT {
        match chunks.next().await {
            Some(Ok(chunk)) => dropped += chunk.len(),
            _ => return,
        }
    }
}

/// Reads a whole raw body (not JSON) of at most `limit` bytes: 413 beyond
/// (without keeping any of it when `Content-Length` says so already), 408
/// when it does not arrive in time. Never holds more than `limit` bytes.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut chunks = body.into_data_stream();
    if declared_length(headers).is_some_and(|length| length > limit as u64) {
        drain(&mut chunks).await;
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut read = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|err| {
            if crate::error::is_body_timeout(&err) {
                ApiError::RequestTimeout
            } else {
                ApiError::BadRequest(format!("the body could not be read: {err}"))
            }
        })?;
        if read.len() + chunk.len() > limit {
            drain(&mut chunks).await;
            return Err(ApiError::PayloadTooLarge(limit));
        }
        read.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(read))
}

/// Deserialises a JSON object, turning serde's error into a field problem.
/// Every body is an object: serde would also take a struct from an array
/// of its fields in order, which the API does not offer.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.trim_ascii_start().first() == Some(&b'[') {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    if has_escaped_nul(bytes) {
        return Err(nul_problem(bytes));
    }
    let mut json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| ApiError::BadRequest(format!("the body is not valid JSON: {err}")))?;
    whole_numbers(&mut json);
    serde_path_to_error::deserialize(json).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        ApiError::Validation(vec![field_problem(
            &path,
            &without_position(&inner.to_string()),
        )])
    })
}

/// Writes every number that is a whole number as an integer: JSON does not
/// tell `1.0` from `1` (JSON Schema's `integer` takes both), serde's
/// integer fields take only the second.
fn whole_numbers(value: &mut serde_json::Value) {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= EXACT
            {
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Whether a JSON text holds the escape `\u0000` (raw NUL bytes are not
/// valid JSON). PostgreSQL can store U+0000 neither in text nor in JSON, so
/// it is refused on every backend alike, before anything is read.
fn has_escaped_nul(bytes: &[u8]) -> bool {
    let mut backslashes = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if b == b'u' && backslashes % 2 == 1 && bytes[i + 1..].starts_with(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// A 422 naming where the NUL character is (found on the slow path only).
fn nul_problem(bytes: &[u8]) -> ApiError {
    fn find(value: &serde_json::Value, path: String) -> Option<String> {
        match value {
            serde_json::Value::String(text) => text.contains('\0').then_some(path),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| find(v, format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k.contains('\0') {
                    Some(at)
                } else {
                    find(v, at)
                }
            }),
            _ => None,
        }
    }
    let field = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|value| find(&value, String::new()))
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| "body".to_owned());
    ApiError::field(&field, "may not contain the NUL character (U+0000)")
}

/// For `#[serde(deserialize_with)]` on a nested struct field: serde's derive
/// takes a struct from an array of its fields in order as well as from an
/// object, and the API offers only the object (`"email": [null, null]` is
/// refused, as a top-level array is by [`parse_json`]). Errors keep their
/// path: the object's fields are read from the same map access.
pub mod object {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor, value::MapAccessDeserializer};

    struct Object<T>(T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct ObjectVisitor<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
                type Value = Object<T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                    T::deserialize(MapAccessDeserializer::new(map)).map(Object)
                }
            }
            deserializer.deserialize_map(ObjectVisitor(PhantomData))
        }
    }

    /// A struct, from an object only.
    pub fn required<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        Object::deserialize(deserializer).map(|o| o.0)
    }

    /// An optional struct, from an object or `null` (with `#[serde(default)]`
    /// for a field left out).
    pub fn optional<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        Option::<Object<T>>::deserialize(deserializer).map(|o| o.map(|o| o.0))
    }

    /// A list of structs, each from an object.
    pub fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Vec<T>, D::Error> {
        Vec::<Object<T>>::deserialize(deserializer).map(|v| v.into_iter().map(|o| o.0).collect())
    }
}

/// A query string, with the parameter at fault named on error. A parameter
/// given empty (`?sort=`) is the same as one left out, as forms send them.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        // U+0000 is refused everywhere (see `has_escaped_nul`), escaped
        // JSON inside a parameter (`filter=`) included.
        if let Some((name, _)) = form_urlencoded::parse(query.as_bytes())
            .find(|(_, value)| value.contains('\0') || has_escaped_nul(value.as_bytes()))
        {
            return Err(ApiError::field(
                &name,
                "may not contain the NUL character (U+0000)",
            ));
        }
        let given: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                form_urlencoded::parse(query.as_bytes()).filter(|(_, value)| !value.is_empty()),
            )
            .finish();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(given.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                ApiError::Validation(vec![field_problem(&path, &err.into_inner().to_string())])
            })
    }
}

/// Path parameters; anything that does not parse names nothing here: 404.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.path().contains("%00") {
            return Err(ApiError::NotFound("no such resource".into()));
        }
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|_| ApiError::NotFound("no such resource".into()))
    }
}

/// The team member a request acts for: by bearer token (scripts), or by
/// the Inbox's sign-in cookie. A cookie-signed request that changes
/// anything must carry `X-Rapport-CSRF: 1`, which another site's page
/// cannot add.
pub struct Auth(pub Principal);

/// The Inbox's sign-in cookie.
pub const SESSION_COOKIE: &str = "rapport_session";
/// The header a cookie-signed change must carry.
pub const CSRF_HEADER: &str = "x-rapport-csrf";

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer(parts) {
            return match state.store.authenticate_token(hash_token(token)).await {
                Ok(principal) => Ok(Auth(principal)),
                Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
                Err(other) => Err(other.into()),
            };
        }
        let Some(session) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::Unauthorized);
        };
        let principal = match state
            .store
            .agent_session(hash_token(session), state.clock.now())
            .await
        {
            Ok(principal) => principal,
            Err(StoreError::NotFound) => return Err(ApiError::Unauthorized),
            Err(other) => return Err(other.into()),
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let vouched = parts.headers.get(CSRF_HEADER).is_some_and(|v| v == "1");
        if !safe && !vouched {
            return Err(ApiError::Forbidden(format!(
                "send the {CSRF_HEADER}: 1 header with changes"
            )));
        }
        Ok(Auth(principal))
    }
}

/// Who a message is sent as: yourself, or (owners and admins only)
/// another team member named by `from_agent_id`.
pub fn sender(principal: &Principal, from_agent_id: Option<AgentId>) -> Result<AgentId, ApiError> {
    match from_agent_id {
        Some(other) if other != principal.agent_id && !principal.role.can_manage_team() => {
            Err(ApiError::Forbidden(
                "only owners and admins send as another team member (from_agent_id)".into(),
            ))
        }
        Some(agent) => Ok(agent),
        None => Ok(principal.agent_id),
    }
}

/// The bearer token of the `Authorization` header, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// A cookie's value, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Names the field serde complained about: its path (which for an unknown
/// field already ends in the field), or for a missing field the field itself.
fn field_problem(path: &str, message: &str) -> FieldProblem {
    let root = matches!(path, "." | "");
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    let field = match (missing, unknown) {
        (Some(name), _) if root => name.to_owned(),
        (Some(name), _) => format!("{path}.{name}"),
        (None, Some(name)) if root => name.to_owned(),
        _ if root => "body".to_owned(),
        _ => path.to_owned(),
    };
    FieldProblem::new(field, message)
}

/// serde_json appends " at line 1 column 9"; the field name says more.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        #[serde(default, deserialize_with = "object::optional")]
        inner: Option<Inner>,
        #[serde(default, deserialize_with = "object::list")]
        items: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn problem(json: &str) -> ApiError {
        parse_json::<Body>(json.as_bytes()).unwrap_err()
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(fields) => fields.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn wrong_types_missing_and_unknown_fields_are_named() {
        assert_eq!(fields(problem(r#"{"name": 5}"#)), ["name"]);
        assert_eq!(fields(problem(r#"{}"#)), ["name"]);
        assert_eq!(fields(problem(r#"{"name": "a", "nmae": 1}"#)), ["nmae"]);
        assert_eq!(
            fields(problem(r#"{"name": "a", "inner": {"count": -1}}"#)),
            ["inner.count"]
        );
        assert_eq!(
            fields(problem(r#"{"name": "a", "inner": {}}"#)),
            ["inner.count"]
        );
    }

    #[test]
    fn a_body_is_an_object_not_an_array_of_its_fields() {
        assert_eq!(fields(problem(r#" ["a", null]"#)), ["body"]);
        // Nor is a nested one, alone or in a list.
        assert_eq!(fields(problem(r#"{"name": "a", "inner": [1]}"#)), ["inner"]);
        assert_eq!(
            fields(problem(r#"{"name": "a", "items": [{"count": 1}, [2]]}"#)),
            ["items[1]"]
        );
        let body: Body =
            parse_json(br#"{"name": "a", "inner": null, "items": [{"count": 1}]}"#).unwrap();
        assert!(body.inner.is_none());
        assert_eq!(body.items.len(), 1);
        assert_eq!(
            fields(problem(r#"{"name": "a", "items": [{"count": "x"}]}"#)),
            ["items[0].count"]
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Query {
        sort: Option<String>,
        limit: Option<u32>,
    }

    async fn query(uri: &str) -> Result<Query, ApiError> {
        let (mut parts, ()) = axum::http::Request::get(uri).body(()).unwrap().into_parts();
        ApiQuery::<Query>::from_request_parts(&mut parts, &())
            .await
            .map(|ApiQuery(q)| q)
    }

    #[tokio::test]
    async fn an_empty_query_parameter_is_one_left_out() {
        let empty = query("/x?sort=&limit=").await.unwrap();
        assert_eq!(
            empty,
            Query {
                sort: None,
                limit: None
            }
        );
        let given = query("/x?sort=name&limit=5").await.unwrap();
        assert_eq!(given.sort.as_deref(), Some("name"));
        assert!(matches!(
            query("/x?limit=many").await,
            Err(ApiError::Validation(_))
        ));
    }

    #[test]
    fn the_nul_character_is_refused_where_it_is() {
        assert_eq!(fields(problem(r#"{"name": "a\u0000b"}"#)), ["name"]);
        assert_eq!(
            fields(problem(r#"{"name": "a", "inner": {"count": "\u0000"}}"#)),
            ["inner.count"]
        );
        // An escaped backslash before "u0000" is plain text.
        assert!(!has_escaped_nul(br#"{"name": "a\\u0000"}"#));
        assert!(has_escaped_nul(br#"{"name": "a\\\u0000"}"#));
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(problem(r#"{"name": "#), ApiError::BadRequest(_)));
        assert!(matches!(
            problem(r#"{"name": "a"} trailing"#),
            ApiError::BadRequest(_)
        ));
    }
}
