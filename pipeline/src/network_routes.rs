//! The routes every network kind (image, text, file-type) answers alike: `/health`,
//! `/metadata`, `/` and `/v2` from what the kind says of itself, and its own `/predict`.

use crate::api::ApiError;
use crate::events::Outcome;
use crate::routes;
use crate::service::{InstanceInfo, Response, Route};
use crate::v2::V2Model;

/// The answer to `route`, and what the request's event records: `model` names the
/// function (and answers `/v2`), `metadata` is its `/metadata` document, and `predict`
/// answers any other route — `None` for one the kind never picks (`/openapi.json`,
/// another kind's `/predict`).
pub fn respond(
    model: &impl V2Model,
    metadata: &[u8],
    route: Route,
    body: &[u8],
    instance: InstanceInfo,
    predict: impl FnOnce(Route) -> Option<(Response, Outcome)>,
) -> (Response, Outcome) {
    let (name, version) = (model.name(), model.version());
    let response = match route {
        Route::Health => routes::health(name, version, instance),
        Route::Metadata => Response::json(200, metadata.to_vec()),
        Route::Index => routes::index(name, version),
        Route::V2(r) => {
            return crate::v2::respond_for(model, &r, body, instance.max_body_bytes);
        }
        other => match predict(other) {
            Some(answer) => return answer,
            None => ApiError::not_found("").into(),
        },
    };
    (response, Outcome::default())
}
