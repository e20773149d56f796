//! The columns of one head in a multi-head student's outputs: a network whose last layer
//! holds several heads' outputs side by side (`[batch, total]`, head h in the columns
//! `offset..offset + width`) is read and written head by head through these.

use std::ops::Range;

/// Copies the `columns` of each row of `src` `[batch, total]` into `dst` `[batch, width]`
/// (width = the columns' length).
///
/// # Panics
/// If the sizes disagree (a bug in the caller: heads are laid out from the config).
pub fn gather(src: &[f32], total: usize, columns: Range<usize>, dst: &mut [f32]) {
    let width = columns.len();
    assert_eq!(
        src.len() / total * width,
        dst.len(),
        "gather: sizes disagree"
    );
    for (row, out) in src.chunks_exact(total).zip(dst.chunks_exact_mut(width)) {
        out.copy_from_slice(&row[columns.clone()]);
    }
}

/// Writes `src` `[batch, width]` into the `columns` of each row of `dst` `[batch, total]`,
/// leaving the other columns as they are.
///
/// # Panics
/// If the sizes disagree (a bug in the caller).
pub fn scatter(src: &[f32], total: usize, columns: Range<usize>, dst: &mut [f32]) {
    let width = columns.len();
    assert_eq!(
        dst.len() / total * width,
        src.len(),
        "scatter: sizes disagree"
    );
    for (row, out) in src.chunks_exact(width).zip(dst.chunks_exact_mut(total)) {
        out[columns.clone()].copy_from_slice(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two rows of 4 columns; the head of columns 1..3 is (1, 2) and (5, 6), by hand.
    #[test]
    fn gather_and_scatter_move_one_heads_columns() {
        let all = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let mut head = [0.0; 4];
        gather(&all, 4, 1..3, &mut head);
        assert_eq!(head, [1.0, 2.0, 5.0, 6.0]);
        let mut back = [9.0; 8];
        scatter(&head, 4, 1..3, &mut back);
        assert_eq!(back, [9.0, 1.0, 2.0, 9.0, 9.0, 5.0, 6.0, 9.0]);
    }
}
