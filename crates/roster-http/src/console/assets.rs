//! The console's static files, embedded in the binary: its style sheet, its script and the
//! vendored htmx (2.0.11, BSD Zero Clause licence, `assets/htmx.min.js` as published on
//! npm).

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Changes with every build of a new version, so a browser never keeps an old file.
const VERSION: &str = env!("CARGO_PKG_VERSION");

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/console.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/htmx.min.js"),
    ),
];

/// The address of an embedded file, with the version that busts caches.
pub fn href(name: &str) -> String {
    format!("/console/assets/{name}?v={VERSION}")
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (CONTENT_TYPE, *content_type),
                (CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => super::error_page(
            StatusCode::NOT_FOUND,
            "There is no such file in the console.".to_owned(),
        ),
    }
}
