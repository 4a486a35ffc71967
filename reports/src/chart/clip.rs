//! Splitting series into drawable polylines: gaps at non-finite points, and clipping to the
//! axis rectangle (plotters itself does not clip lines to the plotting area).
//!
//! Everything here works in "axis space" (log10 of the value on a log axis), where a segment
//! drawn straight on screen is straight, so Liang–Barsky clipping is exact.

/// The visible rectangle in axis space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

impl Rect {
    pub fn contains(&self, (x, y): (f64, f64)) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }
}

/// Liang–Barsky: the part of segment `a`→`b` inside `r`, or `None`. Endpoints inside `r`
/// are returned unchanged (bit for bit), which [`polylines`] relies on to join segments.
pub fn clip_segment(a: (f64, f64), b: (f64, f64), r: Rect) -> Option<((f64, f64), (f64, f64))> {
    let dx = b.0 - a.0;
    let dy = b.1 - a.1;
    let mut t0: f64 = 0.0;
    let mut t1: f64 = 1.0;
    for (p, q) in [
        (-dx, a.0 - r.x0),
        (dx, r.x1 - a.0),
        (-dy, a.1 - r.y0),
        (dy, r.y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                if t > t1 {
                    return None;
                }
                t0 = t0.max(t);
            } else {
                if t < t0 {
                    return None;
                }
                t1 = t1.min(t);
            }
        }
    }
    let p = if t0 == 0.0 {
        a
    } else {
        (a.0 + t0 * dx, a.1 + t0 * dy)
    };
    let q = if t1 == 1.0 {
        b
    } else {
        (a.0 + t1 * dx, a.1 + t1 * dy)
    };
    Some((p, q))
}

/// Polylines through consecutive drawable points (`None` = not drawable, which breaks the
/// line), clipped to `r`. Also returns the indices of isolated drawable points inside `r`
/// (no drawable neighbour), which a line alone would not show.
pub fn polylines(pts: &[Option<(f64, f64)>], r: Rect) -> (Vec<Vec<(f64, f64)>>, Vec<usize>) {
    let mut out = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let flush = |cur: &mut Vec<(f64, f64)>, out: &mut Vec<Vec<(f64, f64)>>| {
        if cur.len() >= 2 {
            out.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    for w in pts.windows(2) {
        match (w[0], w[1]) {
            (Some(a), Some(b)) => match clip_segment(a, b, r) {
                Some((p, q)) => {
                    if cur.last() != Some(&p) {
                        flush(&mut cur, &mut out);
                        cur.push(p);
                    }
                    cur.push(q);
                    if q != b {
                        flush(&mut cur, &mut out);
                    }
                }
                None => flush(&mut cur, &mut out),
            },
            _ => flush(&mut cur, &mut out),
        }
    }
    flush(&mut cur, &mut out);
    let isolated = (0..pts.len())
        .filter(|&i| {
            let me = pts[i].filter(|&p| r.contains(p));
            let prev = i > 0 && pts[i - 1].is_some();
            let next = i + 1 < pts.len() && pts[i + 1].is_some();
            me.is_some() && !prev && !next
        })
        .collect();
    (out, isolated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Rect = Rect {
        x0: 0.0,
        x1: 10.0,
        y0: 0.0,
        y1: 10.0,
    };

    #[test]
    fn segments_inside_outside_and_crossing() {
        assert_eq!(
            clip_segment((1.0, 1.0), (2.0, 2.0), R),
            Some(((1.0, 1.0), (2.0, 2.0)))
        );
        assert_eq!(clip_segment((11.0, 1.0), (12.0, 2.0), R), None);
        // Crossing the top edge at y = 10: from (0,0) to (20,20) → (0,0)..(10,10).
        assert_eq!(
            clip_segment((0.0, 0.0), (20.0, 20.0), R),
            Some(((0.0, 0.0), (10.0, 10.0)))
        );
        // Entering and leaving: (-5,5) → (15,5) keeps 0..10.
        assert_eq!(
            clip_segment((-5.0, 5.0), (15.0, 5.0), R),
            Some(((0.0, 5.0), (10.0, 5.0)))
        );
        // Vertical line outside.
        assert_eq!(clip_segment((-1.0, 0.0), (-1.0, 5.0), R), None);
    }

    #[test]
    fn polylines_break_at_gaps_and_leave_at_edges() {
        let pts = [
            Some((1.0, 1.0)),
            Some((2.0, 2.0)),
            None, // NaN: break
            Some((3.0, 3.0)),
            Some((4.0, 4.0)),
            Some((5.0, 20.0)), // out of the top: the line stops at y = 10
            Some((6.0, 5.0)),  // comes back in
            Some((7.0, 5.0)),
        ];
        let (lines, isolated) = polylines(&pts, R);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0], vec![(1.0, 1.0), (2.0, 2.0)]);
        assert_eq!(lines[1][0], (3.0, 3.0));
        assert_eq!(lines[1][1], (4.0, 4.0));
        let exit = lines[1][2];
        assert!((exit.0 - 4.375).abs() < 1e-12 && exit.1 == 10.0, "{exit:?}");
        assert_eq!(*lines[2].last().unwrap(), (7.0, 5.0));
        assert!(isolated.is_empty());
    }

    #[test]
    fn isolated_points_are_reported() {
        let pts = [
            Some((1.0, 1.0)),
            None,
            Some((3.0, 3.0)),
            Some((4.0, 4.0)),
            None,
            Some((50.0, 1.0)),
        ];
        let (lines, isolated) = polylines(&pts, R);
        assert_eq!(lines, vec![vec![(3.0, 3.0), (4.0, 4.0)]]);
        // Index 5 is isolated but outside the rectangle.
        assert_eq!(isolated, vec![0]);
        let (lines, isolated) = polylines(&[Some((5.0, 5.0))], R);
        assert!(lines.is_empty());
        assert_eq!(isolated, vec![0]);
    }
}
