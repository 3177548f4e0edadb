//! Rows for device channel fields. The first row whose types contain the channel type
//! wins; a row with no types applies to every channel type. A list names a type only
//! for behaviour of its own: a type that behaves like a listed one is `like` it in the
//! catalog, and takes its rows.
//!
//! The rows live in one module per concern and are joined into one table, in the order
//! of [`PARTS`]. Order decides only between rows of one field that name the same type, or
//! that both apply to every type; such rows stay in one module (a test checks it), so the
//! order of the modules changes no mapping.

mod access;
mod climate;
mod displays;
mod energy;
mod lights;
mod maintenance;
mod partner;
mod security;
mod sensors;
mod shading;
mod water;

use crate::tree::table::FieldRow;

/// The parts of the table, in table order.
const PARTS: &[&[FieldRow]] = &[
    maintenance::ROWS,
    lights::ROWS,
    climate::ROWS,
    shading::ROWS,
    security::ROWS,
    water::ROWS,
    access::ROWS,
    energy::ROWS,
    sensors::ROWS,
    displays::ROWS,
    partner::ROWS,
];

/// The number of rows of all parts.
const fn count(parts: &[&[FieldRow]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// The parts joined, at compile time: the table stays one static slice (found by
/// pointer in [`crate::tree::table`]), with nothing to build at run time.
const fn join<const N: usize>(parts: &[&[FieldRow]]) -> [FieldRow; N] {
    let mut out = [FieldRow::new(&[], "", "", ""); N];
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

static ROWS: [FieldRow; count(PARTS)] = join(PARTS);

/// Rows for device channel fields.
pub static CHANNEL_ROWS: &[FieldRow] = &ROWS;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_whose_order_matters_share_a_module() {
        // Two rows of one field in different modules: they must not both apply to every
        // type, nor name a type in common, or the module order would pick between them.
        for (i, a_part) in PARTS.iter().enumerate() {
            for b_part in &PARTS[i + 1..] {
                for a in a_part.iter() {
                    for b in b_part.iter().filter(|b| b.field == a.field) {
                        let both_generic = a.types.is_empty() && b.types.is_empty();
                        let shared = a.types.iter().any(|t| b.types.contains(t));
                        assert!(
                            !both_generic && !shared,
                            "{}: rows in two modules apply to one type",
                            a.field
                        );
                    }
                }
            }
        }
        assert_eq!(
            CHANNEL_ROWS.len(),
            PARTS.iter().map(|p| p.len()).sum::<usize>()
        );
    }
}
