//! The event-time bounds implied by a scan's pushed-down filters, used to skip whole files.
//! It only ever narrows what is read when a conjunct certainly holds, so a filter it does not
//! understand just reads more; the filters themselves are re-applied above the scan.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};

/// Half-open `[from, to)` in Unix milliseconds; None = unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TsRange {
    /// Inclusive lower bound.
    pub from: Option<i64>,
    /// Exclusive upper bound.
    pub to: Option<i64>,
}

impl TsRange {
    /// Whether `ts` is inside.
    pub fn contains(&self, ts: i64) -> bool {
        self.from.is_none_or(|f| ts >= f) && self.to.is_none_or(|t| ts < t)
    }

    fn lower(&mut self, from: i64) {
        self.from = Some(self.from.map_or(from, |f| f.max(from)));
    }

    fn upper(&mut self, to: i64) {
        self.to = Some(self.to.map_or(to, |t| t.min(to)));
    }
}

/// The bounds on column `column` that every filter (a conjunction) implies.
pub fn ts_range(filters: &[Expr], column: &str) -> TsRange {
    let mut range = TsRange::default();
    for filter in filters {
        visit(filter, column, &mut range);
    }
    range
}

fn visit(expr: &Expr, column: &str, range: &mut TsRange) {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else {
        return;
    };
    if *op == Operator::And {
        visit(left, column, range);
        visit(right, column, range);
        return;
    }
    // Normalise to `column <op> value`.
    let (op, value) = match (is_column(left, column), is_column(right, column)) {
        (true, false) => (*op, millis(right)),
        (false, true) => match op.swap() {
            Some(swapped) => (swapped, millis(left)),
            None => return,
        },
        _ => return,
    };
    let Some((floor, ceil)) = value else { return };
    // Stored times are whole milliseconds: floor for lower bounds, ceil for a strict upper.
    match op {
        Operator::Eq => {
            range.lower(floor);
            range.upper(floor.saturating_add(1));
        }
        Operator::Gt => range.lower(floor.saturating_add(1)),
        Operator::GtEq => range.lower(floor),
        Operator::Lt => range.upper(ceil),
        Operator::LtEq => range.upper(floor.saturating_add(1)),
        _ => {}
    }
}

fn is_column(expr: &Expr, column: &str) -> bool {
    matches!(expr, Expr::Column(c) if c.name == column)
}

/// A timestamp literal as (floor, ceil) whole milliseconds.
fn millis(expr: &Expr) -> Option<(i64, i64)> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    let (v, per_ms) = match value {
        ScalarValue::TimestampMillisecond(Some(v), _) => return Some((*v, *v)),
        ScalarValue::TimestampSecond(Some(v), _) => {
            let ms = v.checked_mul(1000)?;
            return Some((ms, ms));
        }
        ScalarValue::TimestampMicrosecond(Some(v), _) => (*v, 1000),
        ScalarValue::TimestampNanosecond(Some(v), _) => (*v, 1_000_000),
        _ => return None,
    };
    let floor = v.div_euclid(per_ms);
    let ceil = floor + i64::from(v.rem_euclid(per_ms) != 0);
    Some((floor, ceil))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    fn ts(v: i64) -> Expr {
        lit(ScalarValue::TimestampMillisecond(
            Some(v),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn conjunctions_and_swapped_sides_narrow_the_range() {
        let filters = vec![
            col("ts").gt_eq(ts(100)).and(col("user_id").eq(lit(5u64))),
            ts(200).gt(col("ts")),
        ];
        assert_eq!(
            ts_range(&filters, "ts"),
            TsRange {
                from: Some(100),
                to: Some(200)
            }
        );
    }

    #[test]
    fn disjunctions_and_other_columns_do_not_narrow() {
        let filters = vec![col("ts").gt(ts(5)).or(col("ts").lt(ts(1)))];
        assert_eq!(ts_range(&filters, "ts"), TsRange::default());
        let r = ts_range(&[col("ts").lt_eq(ts(9)), col("ts").eq(ts(3))], "ts");
        assert_eq!((r.from, r.to), (Some(3), Some(4)));
        assert!(r.contains(3) && !r.contains(4));
    }
}
