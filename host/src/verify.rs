//! The packaging gate: every reference row of a bundle through the packaged component
//! itself (typed export, fresh instance per batch), compared with what the user's own
//! pipeline answered (`reference.json`). Nothing built from a bundle is used unverified.

use pipeline::reference::Reference;
use wasmtime::Result;

use crate::runtime::Runtime;
use crate::typed::{self, PredictError};

/// What the check found.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub rows: usize,
    /// The largest difference over all rows (probability or scaled value), and where.
    pub worst: Option<Difference>,
    /// Rows outside the tolerance.
    pub failures: usize,
}

#[derive(Debug, Clone)]
pub struct Difference {
    pub row: usize,
    pub origin: String,
    /// Size of the difference in the tolerance's own unit (≤ 1e-5 passes).
    pub size: f64,
    pub description: String,
}

impl Verdict {
    pub fn new() -> Self {
        Verdict {
            rows: 0,
            worst: None,
            failures: 0,
        }
    }

    pub fn passed(&self) -> bool {
        self.failures == 0 && self.rows > 0
    }

    /// Counts one checked row: its difference (in the tolerance's unit) and what it was,
    /// or why it failed (`size`: how far off, infinite when it cannot be measured).
    pub fn record(
        &mut self,
        row: usize,
        origin: &str,
        outcome: Result<(f64, String), (f64, String)>,
    ) {
        self.rows += 1;
        let (size, description) = match outcome {
            Ok(d) => d,
            Err(d) => {
                self.failures += 1;
                d
            }
        };
        if self.worst.as_ref().is_none_or(|w| size > w.size) {
            self.worst = Some(Difference {
                row,
                origin: origin.to_string(),
                size,
                description,
            });
        }
    }

    /// `record` of a check that gives the difference, or a message when the row fails.
    pub fn record_check(
        &mut self,
        row: usize,
        origin: &str,
        check: std::result::Result<f64, String>,
        within: &str,
    ) {
        self.record(
            row,
            origin,
            check
                .map(|d| (d, within.to_string()))
                .map_err(|m| (f64::INFINITY, m)),
        );
    }
}

impl Default for Verdict {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} reference rows, {} outside tolerance",
            self.rows, self.failures
        )?;
        if let Some(w) = &self.worst {
            write!(
                f,
                "; worst: row {} ({}): {} (difference {:.3e})",
                w.row, w.origin, w.description, w.size
            )?;
        }
        Ok(())
    }
}

/// Runs every row of `reference` through `runtime`'s typed `predict`, in batches of the
/// component's maximum, and compares each answer with the reference.
pub async fn verify(runtime: &Runtime, reference: &Reference) -> Result<Verdict> {
    let meta = runtime.metadata().await?;
    let mut verdict = Verdict::new();
    let batch = (meta.max_batch as usize).max(1);
    for (chunk_index, rows) in reference.rows.chunks(batch).enumerate() {
        let instances = rows
            .iter()
            .map(|r| typed::instance(&r.features))
            .collect::<Result<Vec<_>, String>>()
            .map_err(wasmtime::Error::msg)?;
        let predictions = match runtime.predict(&instances).await? {
            Ok(p) => p,
            Err(PredictError::InvalidInput(problems)) => {
                let first = problems
                    .first()
                    .map_or(String::new(), |p| format!("{}: {}", p.field, p.problem));
                wasmtime::bail!(
                    "the component refused reference rows {}..{} as invalid input ({} problems; first: {first})",
                    chunk_index * batch,
                    chunk_index * batch + rows.len(),
                    problems.len()
                );
            }
            Err(PredictError::Internal(e)) => wasmtime::bail!("the component failed: {e}"),
        };
        if predictions.len() != rows.len() {
            wasmtime::bail!(
                "the component answered {} predictions for {} rows",
                predictions.len(),
                rows.len()
            );
        }
        for (i, (p, row)) in predictions.iter().zip(rows).enumerate() {
            let index = chunk_index * batch + i;
            let got = typed::pipeline_prediction(p, &meta.labels);
            let outcome = row
                .check(&got, &reference.labels)
                .map(|size| (size, "within tolerance".to_string()))
                .map_err(|m| (m.size, m.description));
            verdict.record(index, &row.origin, outcome);
        }
    }
    Ok(verdict)
}
