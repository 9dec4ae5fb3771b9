//! The function a bundle makes, whatever its `kind`: what the guest holds after
//! `load-bundle` and what the host checks natively before packaging. Each kind keeps its
//! own routes, wire format and event contents; this only dispatches on the manifest's
//! `kind` (models/README.md).

use crate::api::ApiError;
use crate::bundle::{self, Bundle};
use crate::drift::Baselines;
use crate::events::{self, EventContext, InputLogging, Outcome};
#[cfg(feature = "networks")]
use crate::filetype::{FileTypeService, manifest::KIND as FILE_TYPE};
#[cfg(feature = "networks")]
use crate::image::{ImageService, manifest::KIND as IMAGE};
use crate::manifest;
use crate::service::{self, InstanceInfo, LoadError, Response, Route, Service};
#[cfg(feature = "networks")]
use crate::text::{TextService, manifest::KIND as TEXT};

// One per process, in a static: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Function {
    /// `kind: "tabular"`: schema, column programs, our estimators.
    Tabular(Service),
    #[cfg(feature = "networks")]
    /// `kind: "file-type"`: magika's detector on raw bytes (tract).
    FileType(Box<FileTypeService>),
    #[cfg(feature = "networks")]
    /// `kind: "text"`: a sentence embedder (tokenizer + tract + pooling).
    Text(Box<TextService>),
    #[cfg(feature = "networks")]
    /// `kind: "image"`: an image classifier (decode + Pillow's preprocessing + tract).
    Image(Box<ImageService>),
}

impl Function {
    /// Loads a bundle of any kind this build serves; every check of the kind's own
    /// loader runs here, once (at packaging, in the snapshot).
    pub fn load(bundle: &Bundle) -> Result<Self, LoadError> {
        let kind = manifest::kind_of(bundle.require(bundle::MANIFEST)?)?;
        match kind.as_str() {
            #[cfg(feature = "networks")]
            FILE_TYPE => Ok(Function::FileType(Box::new(FileTypeService::load(bundle)?))),
            #[cfg(feature = "networks")]
            TEXT => Ok(Function::Text(Box::new(TextService::load(bundle)?))),
            #[cfg(feature = "networks")]
            IMAGE => Ok(Function::Image(Box::new(ImageService::load(bundle)?))),
            _ => Ok(Function::Tabular(Service::load(bundle)?)),
        }
    }

    /// The bundle as the guest must receive it: the same files, except a network, which
    /// is handed over in its NNEF form (the guest reads no ONNX).
    #[cfg(feature = "onnx")]
    pub fn guest_files(bundle: &Bundle) -> Result<Bundle, LoadError> {
        match manifest::kind_of(bundle.require(bundle::MANIFEST)?)?.as_str() {
            FILE_TYPE => crate::filetype::with_nnef(bundle),
            TEXT => crate::text::with_nnef(bundle),
            IMAGE => crate::image::with_nnef(bundle),
            _ => Ok(bundle.clone()),
        }
    }

    // Without the network kinds, `Tabular` is the only variant.
    #[allow(unreachable_patterns)]
    pub fn tabular(&self) -> Option<&Service> {
        match self {
            Function::Tabular(s) => Some(s),
            _ => None,
        }
    }

    #[cfg(feature = "networks")]
    pub fn file_type(&self) -> Option<&FileTypeService> {
        match self {
            Function::FileType(s) => Some(s),
            _ => None,
        }
    }

    #[cfg(feature = "networks")]
    pub fn text(&self) -> Option<&TextService> {
        match self {
            Function::Text(s) => Some(s),
            _ => None,
        }
    }

    #[cfg(feature = "networks")]
    pub fn image(&self) -> Option<&ImageService> {
        match self {
            Function::Image(s) => Some(s),
            _ => None,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Function::Tabular(s) => &s.manifest().name,
            #[cfg(feature = "networks")]
            Function::FileType(s) => &s.manifest().name,
            #[cfg(feature = "networks")]
            Function::Text(s) => &s.manifest().name,
            #[cfg(feature = "networks")]
            Function::Image(s) => &s.manifest().name,
        }
    }

    pub fn version(&self) -> &str {
        match self {
            Function::Tabular(s) => &s.manifest().version,
            #[cfg(feature = "networks")]
            Function::FileType(s) => &s.manifest().version,
            #[cfg(feature = "networks")]
            Function::Text(s) => &s.manifest().version,
            #[cfg(feature = "networks")]
            Function::Image(s) => &s.manifest().version,
        }
    }

    /// Class names of `Prediction::Class::label` in this function's answers and events.
    pub fn labels(&self) -> &[String] {
        match self {
            Function::Tabular(s) => &s.manifest().labels,
            #[cfg(feature = "networks")]
            Function::FileType(s) => s.labels(),
            #[cfg(feature = "networks")]
            Function::Image(s) => s.labels(),
            #[cfg(feature = "networks")]
            Function::Text(_) => &[],
        }
    }

    /// Picks the route for a request head (before the body is read), or the error that
    /// answers it.
    pub fn route(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
    ) -> Result<Route, ApiError> {
        match self {
            Function::Tabular(_) => service::route(method, path, content_type),
            #[cfg(feature = "networks")]
            Function::FileType(s) => s.route(method, path),
            #[cfg(feature = "networks")]
            Function::Text(s) => s.route(method, path, content_type),
            #[cfg(feature = "networks")]
            Function::Image(s) => s.route(method, path, content_type),
        }
    }

    pub fn respond_with_outcome(
        &self,
        route: Route,
        body: &[u8],
        instance: InstanceInfo,
    ) -> (Response, Outcome) {
        match self {
            Function::Tabular(s) => s.respond_with_outcome(route, body, instance),
            #[cfg(feature = "networks")]
            Function::FileType(s) => s.respond_with_outcome(route, body, instance),
            #[cfg(feature = "networks")]
            Function::Text(s) => s.respond_with_outcome(route, body, instance),
            #[cfg(feature = "networks")]
            Function::Image(s) => s.respond_with_outcome(route, body, instance),
        }
    }

    pub fn respond(&self, route: Route, body: &[u8], instance: InstanceInfo) -> Response {
        self.respond_with_outcome(route, body, instance).0
    }

    /// Route and answer in one step, for callers that hold the whole body already.
    pub fn handle(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Response {
        match self.route(method, path, content_type) {
            Ok(r) => self.respond(r, body, InstanceInfo::default()),
            Err(e) => e.into(),
        }
    }

    /// The `/metadata` document.
    pub fn metadata_json(&self) -> Vec<u8> {
        self.respond(Route::Metadata, b"", InstanceInfo::default())
            .body
    }

    /// The JSON line that records one request (see `events`). Events of the network kinds
    /// carry each input's summary (`InputSummary`: sizes, brightness, token counts), where
    /// it falls against the bundle's drift baselines (`bins`, `ranks`) and, for
    /// classifiers, the answer (label, confidence); never the content.
    #[allow(clippy::too_many_arguments)]
    pub fn event_line(
        &self,
        outcome: &Outcome,
        route: &str,
        status: u16,
        request_id: &str,
        ts_unix_ms: u64,
        latency_us: u64,
        logging: InputLogging,
    ) -> String {
        let tabular = self.tabular();
        // Raw values name their category by the schema; a network kind's summaries are
        // numbers, never the content, and always bucketed.
        let categories = |f: usize| tabular.map_or(&[][..], |s| s.schema().categories(f));
        let logging = if tabular.is_some() {
            logging
        } else {
            InputLogging::Buckets
        };
        let cx = EventContext {
            ts_unix_ms,
            request_id,
            route,
            status,
            latency_us,
            model: self.name(),
            version: self.version(),
            labels: self.labels(),
            categories: &categories,
        };
        events::event_line(&cx, outcome, self.baselines(), logging)
    }

    /// What events bucket inputs against: a tabular bundle's feature and prediction
    /// baselines, a network kind's summary baselines (`drift` in its manifest).
    pub fn baselines(&self) -> &Baselines {
        match self {
            Function::Tabular(s) => s.baselines(),
            #[cfg(feature = "networks")]
            Function::FileType(s) => s.baselines(),
            #[cfg(feature = "networks")]
            Function::Text(s) => s.baselines(),
            #[cfg(feature = "networks")]
            Function::Image(s) => s.baselines(),
        }
    }
}
