//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `/openapi.json`. A copy is committed as `openapi.json` at the repository root; a test
//! fails when the two differ.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorEnvelope};
use crate::native::users;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "Roster's native admin API (seed 002). Authenticate with a secret key: `Authorization: Bearer sk_live_…`.",
    ),
    paths(users::list, users::create, users::get, users::update, users::delete),
    components(schemas(
        users::UserBody, users::UserList, users::ListMeta, users::CreateUser, users::UpdateUser,
        ErrorEnvelope, ErrorBody
    )),
    modifiers(&SecuritySchemes),
    tags((name = "users", description = "Users of the caller's workspace")),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The document as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
