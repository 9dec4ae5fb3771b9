//! The `/predict` request of an image function: the images a body carries and how many
//! classes to list. A body is one image (`Content-Type: image/jpeg` or `image/png`, raw
//! bytes) or JSON `{"instances": [{"image": "<base64>"}, ...]}`; `?top_k=` (1 to the
//! number of classes) overrides the bundle's default. Refusals name the problem.

use base64::Engine as _;
use serde_json::Value;

use crate::api::ApiError;
use crate::schema::{FieldProblem, Problems};

/// Most images one JSON request may carry: each is decoded and run through the network.
pub const MAX_IMAGES: usize = 8;

/// How the body carries the images: decided from the request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// The body is one image file.
    Raw,
    /// `{"instances": [{"image": base64}]}`.
    Json,
}

/// `/predict` of an image function, as routed from the request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRoute {
    pub carrier: Carrier,
    pub top_k: usize,
}

/// The carrier for a Content-Type, or a 415 naming the accepted ones.
pub fn carrier(content_type: Option<&str>) -> Result<Carrier, ApiError> {
    let essence = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("image/jpeg" | "image/png") => Ok(Carrier::Raw),
        Some("application/json") => Ok(Carrier::Json),
        _ => Err(ApiError::unsupported_media_type_of(
            content_type,
            "image/jpeg, image/png or application/json",
        )),
    }
}

/// `top_k` from the query string (`default` when absent), 1 to `classes`.
pub fn top_k(query: Option<&str>, default: usize, classes: usize) -> Result<usize, ApiError> {
    let Some(value) = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("top_k="))
    else {
        return Ok(default.min(classes));
    };
    match value.parse::<usize>() {
        Ok(k) if (1..=classes).contains(&k) => Ok(k),
        _ => Err(ApiError::invalid_input(vec![FieldProblem::new(
            "top_k",
            format!(
                "{:?} is not a whole number from 1 to {classes}",
                crate::schema::truncated(value.to_string(), 32)
            ),
        )])),
    }
}

/// The image files of a JSON body.
pub fn json_images(body: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::malformed_json(&e))?;
    let shape = || {
        ApiError::invalid_input(vec![FieldProblem::new(
            "instances",
            "the body must be {\"instances\": [{\"image\": \"<base64>\"}, ...]}",
        )])
    };
    let Value::Object(mut object) = value else {
        return Err(shape());
    };
    let Some(Value::Array(instances)) = object.remove("instances") else {
        return Err(shape());
    };
    let mut problems = Problems::new();
    for key in object.keys() {
        problems.push(|| FieldProblem::new(key.clone(), "unknown field"));
    }
    if instances.is_empty() || instances.len() > MAX_IMAGES {
        let n = instances.len();
        problems
            .push(|| FieldProblem::new("instances", format!("{n} images; send 1 to {MAX_IMAGES}")));
    }
    let mut images = Vec::with_capacity(instances.len().min(MAX_IMAGES));
    for (i, instance) in instances.iter().enumerate() {
        let field = || format!("instances[{i}].image");
        match instance.get("image").and_then(Value::as_str) {
            None => problems.push(|| FieldProblem::new(field(), "missing: a base64 string")),
            Some(b64) => match base64::engine::general_purpose::STANDARD.decode(b64) {
                Ok(bytes) => images.push(bytes),
                Err(e) => problems.push(|| FieldProblem::new(field(), format!("not base64: {e}"))),
            },
        }
    }
    if problems.is_empty() {
        Ok(images)
    } else {
        Err(ApiError::invalid_problems(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_carrier_follows_the_content_type() {
        assert_eq!(carrier(Some("image/JPEG")).unwrap(), Carrier::Raw);
        assert_eq!(carrier(Some("image/png; q=1")).unwrap(), Carrier::Raw);
        assert_eq!(carrier(Some("application/json")).unwrap(), Carrier::Json);
        let e = carrier(Some("image/gif")).unwrap_err();
        assert_eq!(e.status, 415);
        assert!(e.message.contains("image/jpeg, image/png"), "{}", e.message);
        assert_eq!(carrier(None).unwrap_err().status, 415);
    }

    #[test]
    fn top_k_defaults_and_is_bounded() {
        assert_eq!(top_k(None, 5, 1000).unwrap(), 5);
        assert_eq!(top_k(Some("a=1&top_k=3"), 5, 1000).unwrap(), 3);
        assert_eq!(top_k(Some("top_k=1000"), 5, 1000).unwrap(), 1000);
        for bad in ["top_k=0", "top_k=1001", "top_k=x", "top_k=-1", "top_k="] {
            let e = top_k(Some(bad), 5, 1000).unwrap_err();
            assert_eq!(
                (e.status, e.details[0].field.as_str()),
                (422, "top_k"),
                "{bad}"
            );
        }
    }

    #[test]
    fn json_bodies_name_each_bad_instance() {
        let ok = json_images(br#"{"instances": [{"image": "aGk="}]}"#).unwrap();
        assert_eq!(ok, [b"hi".to_vec()]);
        let e = json_images(br#"{"instances": [{"image": "%%"}, {}], "x": 1}"#).unwrap_err();
        let fields: Vec<&str> = e.details.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["x", "instances[0].image", "instances[1].image"]);
        let nine = format!(
            r#"{{"instances": [{}]}}"#,
            [r#"{"image": ""}"#; 9].join(",")
        );
        assert!(
            json_images(nine.as_bytes()).unwrap_err().details[0]
                .problem
                .contains("9 images")
        );
        assert_eq!(json_images(b"[").unwrap_err().status, 400);
        assert_eq!(json_images(b"[]").unwrap_err().status, 422);
    }
}
