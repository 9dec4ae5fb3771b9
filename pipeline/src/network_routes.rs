//! The routes every network kind (image, text, file-type) answers alike: `/health`,
//! `/metadata`, `/` and `/v2` from what the kind says of itself, and its own `/predict`.

use crate::api::ApiError;
use crate::events::Outcome;
use crate::routes;
use crate::service::{InstanceInfo, Response, Route};
use crate::v2::V2Model;

/// What a network kind gives the shared routes: its name and version (through its V2
/// model), its `/metadata` document and its `/predict`.
pub trait NetworkFunction: V2Model {
    /// `GET /metadata`'s body, rendered at load.
    fn metadata_document(&self) -> &[u8];
    /// The kind's `/predict` for a route its `route` picked; `None` for a route the kind
    /// never picks (`/openapi.json`, another kind's `/predict`).
    fn predict(
        &self,
        route: Route,
        body: &[u8],
        instance: InstanceInfo,
    ) -> Option<(Response, Outcome)>;
}

/// The answer to `route`, and what the request's event records.
pub fn respond<F: NetworkFunction>(
    function: &F,
    route: Route,
    body: &[u8],
    instance: InstanceInfo,
) -> (Response, Outcome) {
    let (name, version) = (function.name(), function.version());
    let response = match route {
        Route::Health => routes::health(name, version, instance),
        Route::Metadata => Response::json(200, function.metadata_document().to_vec()),
        Route::Index => routes::index(name, version),
        Route::V2(r) => {
            return crate::v2::respond_for(function, &r, body, instance.max_body_bytes);
        }
        other => match function.predict(other, body, instance) {
            Some(answer) => return answer,
            None => ApiError::not_found("").into(),
        },
    };
    (response, Outcome::default())
}
