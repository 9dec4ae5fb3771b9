//! From the header's tensors to validated rows: one tensor per feature (`[N]` or
//! `[N, 1]`, named after it) or, for an all-numeric model, one `[N, F]` tensor in the
//! metadata's feature order. Shapes are checked against the model (batch limit, widths)
//! before any element is read; every value then goes through the schema's validation,
//! so ranges, categories and missing values mean what they mean for `/predict`.

use super::wire::{self, DataType, Header, Tensor, input, show_shape};
use crate::api::MAX_BATCH;
use crate::manifest::{FeatureType, Manifest, Task};
use crate::schema::{FieldProblem, Row, Schema};

/// An output of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Out {
    Label,
    Probabilities,
    Value,
}

impl Out {
    pub fn name(self) -> &'static str {
        match self {
            Out::Label => "label",
            Out::Probabilities => "probabilities",
            Out::Value => "value",
        }
    }

    pub fn all(task: Task) -> &'static [Out] {
        match task {
            Task::Classification => &[Out::Label, Out::Probabilities],
            Task::Regression => &[Out::Value],
        }
    }
}

/// Why a request is refused (status 400).
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// The request's form (message names the tensor).
    Bad(String),
    /// Values the schema refuses: `(message, problem)`; the problem's field is
    /// `rows[i].feature`, for the request's event.
    Invalid(Vec<(String, FieldProblem)>),
}

impl From<String> for Refusal {
    fn from(s: String) -> Self {
        Refusal::Bad(s)
    }
}

/// A request ready to predict.
#[derive(Debug)]
pub struct Request<'a> {
    pub id: Option<&'a str>,
    pub rows: Vec<Row>,
    /// The outputs to return, each with whether it goes as binary data.
    pub outputs: Vec<(Out, bool)>,
}

pub fn parse<'a>(
    m: &Manifest,
    schema: &Schema,
    header: Header<'a>,
) -> Result<Request<'a>, Refusal> {
    let outputs = outputs(m.task, &header)?;
    let by_feature = header
        .inputs
        .iter()
        .any(|t| schema.index_of(t.name).is_some());
    let rows = if by_feature {
        by_features(m, schema, &header.inputs)?
    } else if let [t] = &header.inputs[..]
        && t.shape.len() == 2
    {
        matrix(m, schema, t)?
    } else {
        let t = &header.inputs[0];
        return Err(Refusal::Bad(format!(
            "{}: {}; the inputs are one tensor per feature (see GET /v2/models/{}) or, for a \
             model whose features are all numeric, one [N, F] tensor",
            input(t.name),
            schema.unknown_feature(t.name),
            m.name
        )));
    };
    Ok(Request {
        id: header.id,
        rows,
        outputs,
    })
}

fn outputs(task: Task, header: &Header) -> Result<Vec<(Out, bool)>, String> {
    let all = Out::all(task);
    let Some(requested) = &header.outputs else {
        return Ok(all
            .iter()
            .map(|o| (*o, header.binary_data_output))
            .collect());
    };
    let mut out: Vec<(Out, bool)> = Vec::new();
    for (name, binary) in requested {
        let Some(o) = all.iter().find(|o| o.name() == *name) else {
            let names: Vec<&str> = all.iter().map(|o| o.name()).collect();
            return Err(format!(
                "unknown output '{}'; this model's outputs are {}",
                super::cut(name, 128),
                names.join(", ")
            ));
        };
        if out.iter().any(|(x, _)| x == o) {
            return Err(format!("output '{name}' requested more than once"));
        }
        out.push((*o, binary.unwrap_or(header.binary_data_output)));
    }
    Ok(out)
}

/// The batch size a shape gives, within 1..=MAX_BATCH.
fn batch(t: &Tensor, n: u64) -> Result<usize, String> {
    if n == 0 {
        return Err(format!(
            "{}: the batch is empty (shape {})",
            input(t.name),
            show_shape(&t.shape)
        ));
    }
    if n > MAX_BATCH as u64 {
        return Err(format!(
            "{}: a batch of {n} rows exceeds the maximum of {MAX_BATCH}",
            input(t.name)
        ));
    }
    Ok(n as usize)
}

fn is_category(m: &Manifest, f: usize) -> bool {
    m.features[f].kind == FeatureType::Category
}

fn datatype_fits(m: &Manifest, schema: &Schema, t: &Tensor, f: usize) -> Result<(), String> {
    let dt = t.datatype;
    if is_category(m, f) {
        if dt != DataType::Bytes {
            return Err(format!(
                "{}: datatype {} does not fit a category feature; send BYTES (one of: {})",
                input(t.name),
                dt.name(),
                super::cut(&schema.categories(f).join(", "), 256)
            ));
        }
    } else if !dt.is_numeric() {
        return Err(format!(
            "{}: datatype {} does not fit a numeric feature; send FP64, FP32 or an integer type",
            input(t.name),
            dt.name()
        ));
    }
    Ok(())
}

/// `""` stands for a missing value in a BYTES tensor unless it is a category.
fn empty_is_missing(schema: &Schema, f: usize) -> bool {
    !schema.categories(f).iter().any(String::is_empty)
}

fn by_features(m: &Manifest, schema: &Schema, inputs: &[Tensor]) -> Result<Vec<Row>, Refusal> {
    let mut features = Vec::with_capacity(inputs.len());
    let mut n: Option<(usize, &str)> = None;
    for t in inputs {
        let Some(f) = schema.index_of(t.name) else {
            return Err(Refusal::Bad(format!(
                "{}: {}",
                input(t.name),
                schema.unknown_feature(t.name)
            )));
        };
        if features.contains(&f) {
            return Err(Refusal::Bad(format!(
                "{}: given more than once",
                input(t.name)
            )));
        }
        let rows = match t.shape[..] {
            [rows] | [rows, 1] => batch(t, rows)?,
            _ => {
                return Err(Refusal::Bad(format!(
                    "{}: shape {} is not [N] or [N, 1] (one value per row)",
                    input(t.name),
                    show_shape(&t.shape)
                )));
            }
        };
        match n {
            Some((n, first)) if n != rows => {
                return Err(Refusal::Bad(format!(
                    "{}: {rows} rows, but {} has {n}",
                    input(t.name),
                    input(first)
                )));
            }
            _ => n = Some((rows, t.name)),
        }
        datatype_fits(m, schema, t, f)?;
        features.push(f);
    }
    let missing: Vec<&str> = m
        .features
        .iter()
        .enumerate()
        .filter(|(i, f)| f.required && !features.contains(i))
        .map(|(_, f)| f.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::Bad(format!(
            "missing input{} for required feature{}: {}",
            if missing.len() == 1 { "" } else { "s" },
            if missing.len() == 1 { "" } else { "s" },
            super::cut(&missing.join(", "), 512)
        )));
    }
    let n = n.map_or(0, |(n, _)| n);
    let mut columns = Vec::with_capacity(inputs.len());
    let mut problems = Vec::new();
    for (t, &f) in inputs.iter().zip(&features) {
        match wire::elements(t, empty_is_missing(schema, f)) {
            Ok(values) => columns.push(values),
            Err((row, problem)) => {
                problems.push(problem_at(t.name, row, None, schema.name(f), problem))
            }
        }
    }
    if !problems.is_empty() {
        return Err(Refusal::Invalid(problems));
    }
    let mut rows = Vec::with_capacity(n);
    for r in 0..n {
        let values = inputs
            .iter()
            .zip(&columns)
            .map(|(t, c)| (t.name, c[r].clone()));
        match schema.validate_with(values, String::new) {
            Ok(row) => rows.push(row),
            Err(p) => problems.extend(
                p.into_iter()
                    .map(|p| problem_at(&p.field, r, None, &p.field, p.problem.clone())),
            ),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(Refusal::Invalid(problems))
    }
}

fn matrix(m: &Manifest, schema: &Schema, t: &Tensor) -> Result<Vec<Row>, Refusal> {
    let categories: Vec<&str> = (0..schema.len())
        .filter(|&f| is_category(m, f))
        .map(|f| schema.name(f))
        .collect();
    if !categories.is_empty() {
        return Err(Refusal::Bad(format!(
            "{}: is not a feature, and one [N, F] tensor is accepted only when every feature is \
             numeric; this model has category features ({}): send one tensor per feature",
            input(t.name),
            super::cut(&categories.join(", "), 256)
        )));
    }
    let (rows, width) = match t.shape[..] {
        [rows, width] => (rows, width),
        _ => {
            return Err(Refusal::Bad(format!(
                "{}: shape {} is not [N, F]",
                input(t.name),
                show_shape(&t.shape)
            )));
        }
    };
    if width != schema.len() as u64 {
        return Err(Refusal::Bad(format!(
            "{}: shape {} has {width} columns; the model has {} features (in the order of \
             GET /v2/models/{} inputs)",
            input(t.name),
            show_shape(&t.shape),
            schema.len(),
            m.name
        )));
    }
    let n = batch(t, rows)?;
    if !t.datatype.is_numeric() {
        return Err(Refusal::Bad(format!(
            "{}: datatype {} does not fit numeric features; send FP64, FP32 or an integer type",
            input(t.name),
            t.datatype.name()
        )));
    }
    let f = schema.len();
    let values = wire::elements(t, false).map_err(|(i, problem)| {
        Refusal::Invalid(vec![problem_at(
            t.name,
            i / f,
            Some(i % f),
            schema.name(i % f),
            problem,
        )])
    })?;
    let mut rows = Vec::with_capacity(n);
    let mut problems = Vec::new();
    for r in 0..n {
        let row = (0..f).map(|j| (schema.name(j), values[r * f + j].clone()));
        match schema.validate_with(row, String::new) {
            Ok(row) => rows.push(row),
            Err(p) => problems.extend(p.into_iter().map(|p| {
                let column = schema.index_of(&p.field);
                problem_at(t.name, r, column, &p.field, p.problem.clone())
            })),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(Refusal::Invalid(problems))
    }
}

/// `input 'NAME' row R[ column C ('FEATURE')]: problem`, and the event's field problem.
fn problem_at(
    tensor: &str,
    row: usize,
    column: Option<usize>,
    feature: &str,
    problem: String,
) -> (String, FieldProblem) {
    let at = match column {
        Some(c) => format!(
            "{} row {row} column {c} ('{}')",
            input(tensor),
            super::cut(feature, 128)
        ),
        None => format!("{} row {row}", input(tensor)),
    };
    let p = FieldProblem::new(format!("rows[{row}].{feature}"), problem);
    (format!("{at}: {}", p.problem), p)
}
