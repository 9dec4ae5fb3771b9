//! Kind `image` (in progress): an image classifier as a function. What is here so far is
//! the part that decides the answer before the network: the manifest, the request
//! (raw JPEG/PNG or base64 in JSON, `?top_k=`), and the preprocessing the model was
//! evaluated with — decode (`decode`: header checked before any pixel is decoded),
//! Pillow's `convert('RGB')`, centre crop, Pillow's resampling ported bit for bit
//! (`resize`), normalise to NCHW (`tensor`). The service that runs the network on it is
//! not wired into `Function` yet.

pub mod decode;
pub mod manifest;
pub mod request;
pub mod resize;
pub mod tensor;
