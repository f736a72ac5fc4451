//! The responses any operation of a kind may give (401 without
//! credentials, 400/408/413/415/422 for a JSON body, 422 for a bad query,
//! 404 for an unknown id, 429 from the widget's limits), kept once under
//! `components/responses` and added to each operation they apply to.

use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::{
    Components, ContentBuilder, HeaderBuilder, Ref, RefOr, Required, Response, ResponseBuilder,
    Schema, Type,
};

use super::BEARER;

/// A response every operation of some kind may give, kept once under
/// `components/responses` and referred to from each operation.
struct Common {
    status: &'static str,
    name: &'static str,
    description: &'static str,
    /// A header the response carries, with its description.
    header: Option<(&'static str, &'static str)>,
}

const BAD_REQUEST: Common = Common {
    status: "400",
    name: "BadRequest",
    description: "The body is not valid JSON",
    header: None,
};
const UNAUTHORIZED: Common = Common {
    status: "401",
    name: "Unauthorized",
    description: "No credentials, or ones that are unknown, revoked or expired",
    header: Some(("WWW-Authenticate", "`Bearer`")),
};
const FORBIDDEN: Common = Common {
    status: "403",
    name: "Forbidden",
    description: "Not allowed to the caller's role, or a change signed with the Inbox's cookie without the `X-Rapport-CSRF: 1` header",
    header: None,
};
const NOT_FOUND: Common = Common {
    status: "404",
    name: "NotFound",
    description: "Nothing with that id in this workspace",
    header: None,
};
const REQUEST_TIMEOUT: Common = Common {
    status: "408",
    name: "RequestTimeout",
    description: "The body did not arrive within the server's body timeout",
    header: None,
};
const PAYLOAD_TOO_LARGE: Common = Common {
    status: "413",
    name: "PayloadTooLarge",
    description: "The body is larger than the server accepts",
    header: None,
};
const UNSUPPORTED_MEDIA_TYPE: Common = Common {
    status: "415",
    name: "UnsupportedMediaType",
    description: "The body is not sent as `application/json`",
    header: None,
};
const VALIDATION: Common = Common {
    status: "422",
    name: "ValidationFailed",
    description: "Fields or query parameters that are wrong, each named in `errors`",
    header: None,
};
const TOO_MANY_REQUESTS: Common = Common {
    status: "429",
    name: "TooManyRequests",
    description: "Over a rate limit; try again after `Retry-After` seconds",
    header: Some(("Retry-After", "Seconds to wait before trying again")),
};

const COMMON: [Common; 9] = [
    BAD_REQUEST,
    UNAUTHORIZED,
    FORBIDDEN,
    NOT_FOUND,
    REQUEST_TIMEOUT,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION,
    TOO_MANY_REQUESTS,
];

impl Common {
    fn response(&self) -> Response {
        let mut response = ResponseBuilder::new()
            .description(self.description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
        if let Some((name, description)) = self.header {
            let schema = match name {
                "Retry-After" => Schema::from(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                ),
                _ => Schema::from(utoipa::openapi::ObjectBuilder::new().schema_type(Type::String)),
            };
            response = response.header(
                name,
                HeaderBuilder::new()
                    .schema(Some(schema))
                    .description(Some(description))
                    .build(),
            );
        }
        response.build()
    }

    fn reference(&self) -> RefOr<Response> {
        RefOr::Ref(Ref::new(format!("#/components/responses/{}", self.name)))
    }
}

/// Keeps each common response once under `components/responses`.
pub(super) fn add_components(components: &mut Components) {
    for common in &COMMON {
        components
            .responses
            .insert(common.name.to_owned(), common.response().into());
    }
}

/// The schemes an operation accepts (empty for a public one).
pub(super) fn schemes(operation: &Operation) -> Vec<String> {
    let Ok(security) = serde_json::to_value(&operation.security) else {
        return Vec::new();
    };
    security
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|requirement| requirement.as_object())
        .flat_map(|requirement| requirement.keys().cloned())
        .collect()
}

pub(super) fn add_common_responses(operation: &mut Operation, method: HttpMethod, widget: bool) {
    let schemes = schemes(operation);
    let params = operation.parameters.iter_mut().flatten();
    let (mut query, mut path) = (false, false);
    for param in params {
        if let RefOr::T(param) = param {
            match param.parameter_in {
                ParameterIn::Query => {
                    query = true;
                    // `extract::ApiQuery` takes `?name=` as left out. utoipa
                    // has no field for this standard keyword.
                    if !matches!(param.required, Required::True) {
                        param
                            .extensions
                            .get_or_insert_with(Default::default)
                            .insert("allowEmptyValue".to_owned(), true.into());
                    }
                }
                ParameterIn::Path => path = true,
                _ => {}
            }
        }
    }
    let body_types: Vec<String> = match &operation.request_body {
        Some(RefOr::T(body)) => body.content.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let json_body = body_types.iter().any(|t| t == "application/json");

    let mut add = |common: &Common| {
        operation
            .responses
            .responses
            .entry(common.status.to_owned())
            .or_insert_with(|| common.reference());
    };
    if !schemes.is_empty() {
        add(&UNAUTHORIZED);
    }
    // A cookie-signed change needs the CSRF header (`extract::Auth`).
    if schemes.iter().any(|s| s == BEARER) && !matches!(method, HttpMethod::Get) {
        add(&FORBIDDEN);
    }
    if json_body {
        add(&BAD_REQUEST);
        add(&UNSUPPORTED_MEDIA_TYPE);
        add(&VALIDATION);
    }
    if !body_types.is_empty() {
        add(&REQUEST_TIMEOUT);
        add(&PAYLOAD_TOO_LARGE);
    }
    if query {
        add(&VALIDATION);
    }
    if path {
        add(&NOT_FOUND);
    }
    if widget {
        add(&TOO_MANY_REQUESTS);
    }
}
