//! Every discovered bundle against its own oracle (`reference.json`, the user's sklearn
//! pipeline's outputs, written by `mlfn-pack`): preprocessing bit for bit, predictions
//! within the documented tolerances, in one batch and one row at a time.

mod common;

use pipeline::reference::check;
use pipeline::{Cell, Row};

#[test]
fn every_bundle_reproduces_its_reference() {
    let mut summary = Vec::new();
    let mut read_in_place = 0;
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
        // `predict_rows` (numbers in feature order): rows of numbers within range are read
        // in place (`NumberRows`), and answer exactly as the same rows validated one by one.
        let numbers: Vec<f64> = rows
            .iter()
            .filter_map(|row| {
                row.cells
                    .iter()
                    .map(|c| match c {
                        Some(Cell::Number(x)) => Some(*x),
                        _ => None,
                    })
                    .collect::<Option<Vec<f64>>>()
            })
            .flatten()
            .collect();
        if s.schema().numbers_within_range(&numbers).is_some() && !numbers.is_empty() {
            let numeric_rows: Vec<Row> = numbers
                .chunks_exact(s.schema().len())
                .map(|row| s.schema().validate_numbers(row, String::new).unwrap())
                .collect();
            let by_rows = s.predict(&numeric_rows).unwrap();
            let batch = s.predict_rows(&numbers).unwrap().to_predictions();
            assert_eq!(batch, by_rows, "{}", case.name);
            for (row, want) in numbers.chunks_exact(s.schema().len()).zip(&by_rows) {
                assert_eq!(
                    s.predict_rows(row).unwrap().to_predictions(),
                    std::slice::from_ref(want),
                    "{}",
                    case.name
                );
            }
            read_in_place += 1;
        }
        summary.push(format!(
            "{:32} {:>5} rows  max |diff| {worst:.1e}  {}",
            case.name,
            rows.len(),
            s.model().estimator_name()
        ));
    }
    eprintln!("{}", summary.join("\n"));
    assert!(read_in_place > 0, "no bundle's rows were read in place");
}
