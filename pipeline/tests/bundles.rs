//! Every discovered bundle against its own oracle (`reference.json`, the user's sklearn
//! pipeline's outputs, written by `mlfn-pack`): preprocessing bit for bit, predictions
//! within the documented tolerances, in one batch and one row at a time.

mod common;

use pipeline::Row;
use pipeline::reference::check;

#[test]
fn every_bundle_reproduces_its_reference() {
    let mut summary = Vec::new();
    for dir in common::bundle_dirs() {
        let case = common::load(&dir);
        let reference = common::reference(&dir);
        let s = &case.service;
        let m = s.manifest();
        assert_eq!(
            (&reference.model, &reference.labels, reference.task),
            (&m.name, &m.labels, m.task),
            "{}",
            case.name
        );
        assert!(
            !reference.rows.is_empty(),
            "{}: no reference rows",
            case.name
        );
        let rows: Vec<Row> = reference
            .rows
            .iter()
            .map(|r| {
                s.schema()
                    .validate_json(&r.features, "")
                    .unwrap_or_else(|p| panic!("{} {}: {p:?}", case.name, r.origin))
            })
            .collect();

        // Preprocessing: the user's `transformed`, every bit (NaN is written as null, so
        // any NaN matches NaN); the batch goes column by column, a row alone row by row,
        // and the two agree bit for bit.
        let width = m.preprocessing.width;
        let x = s.transform(&rows);
        for ((r, row), got) in reference.rows.iter().zip(&rows).zip(x.chunks_exact(width)) {
            let alone = s.transform(std::slice::from_ref(row));
            assert!(
                alone
                    .iter()
                    .zip(got)
                    .all(|(a, g)| a.to_bits() == g.to_bits()),
                "{} {}: alone {alone:?}, in the batch {got:?}",
                case.name,
                r.origin
            );
            for (j, (g, w)) in got.iter().zip(&r.transformed).enumerate() {
                assert!(
                    g.to_bits() == w.to_bits() || g.is_nan() && w.is_nan(),
                    "{} {}: column {j} is {g:e} ({:#x}), sklearn {w:e} ({:#x}): {:?}",
                    case.name,
                    r.origin,
                    g.to_bits(),
                    w.to_bits(),
                    m.preprocessing.columns[j]
                );
            }
        }

        // Predictions: batch, then each row alone (which must agree with the batch).
        let batch = s.predict(&rows).unwrap();
        let mut worst = 0.0f64;
        for (i, (p, r)) in batch.iter().zip(&reference.rows).enumerate() {
            let diff = check(p, &r.expected, &m.labels)
                .unwrap_or_else(|e| panic!("{} {}: {e}", case.name, r.origin));
            worst = worst.max(diff);
            let alone = s.predict(std::slice::from_ref(&rows[i])).unwrap();
            assert_eq!(
                alone[0], *p,
                "{} {}: alone vs in the batch",
                case.name, r.origin
            );
        }
        summary.push(format!(
            "{:32} {:>5} rows  max |diff| {worst:.1e}  {}",
            case.name,
            rows.len(),
            s.model().estimator_name()
        ));
    }
    eprintln!("{}", summary.join("\n"));
}
