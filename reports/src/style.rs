//! Colours, marker shapes and line styles.
//!
//! Series `i` on a chart gets colour `PALETTE[i % 20]` and marker `MARKERS[i % 7]`. Because 20
//! and 7 are coprime, the (colour, marker) pair repeats only after 140 series, so even when
//! two colours look alike (colour-blind readers, grey-scale print) the markers tell series
//! apart. The first ten colours are the Tableau 10 / matplotlib `tab10` set, chosen for
//! distinctness on white; the next ten are darker or paler companions from Tableau's
//! `tab20b`/`tab20` sets, so sixteen and more series stay distinguishable. Line charts
//! draw automatically coloured solid lines of series 20–39 dashed and 40–59 dotted.

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub(crate) fn plotters(self) -> plotters::style::RGBColor {
        plotters::style::RGBColor(self.0, self.1, self.2)
    }
}

/// Near-black, for text and for reference curves such as Belady's bound.
pub const INK: Rgb = Rgb(0x22, 0x22, 0x22);
/// Grey for secondary text, phase boundaries and threshold lines.
pub const MUTED: Rgb = Rgb(0x66, 0x66, 0x66);

/// The series palette (20 colours; see the module docs for the order's rationale).
pub const PALETTE: [Rgb; 20] = [
    Rgb(0x1F, 0x77, 0xB4), // blue
    Rgb(0xFF, 0x7F, 0x0E), // orange
    Rgb(0x2C, 0xA0, 0x2C), // green
    Rgb(0xD6, 0x27, 0x28), // red
    Rgb(0x94, 0x67, 0xBD), // purple
    Rgb(0x8C, 0x56, 0x4B), // brown
    Rgb(0xE3, 0x77, 0xC2), // pink
    Rgb(0x7F, 0x7F, 0x7F), // grey
    Rgb(0xBC, 0xBD, 0x22), // olive
    Rgb(0x17, 0xBE, 0xCF), // cyan
    Rgb(0x39, 0x3B, 0x79), // indigo
    Rgb(0x63, 0x79, 0x39), // dark olive
    Rgb(0x8C, 0x6D, 0x31), // ochre
    Rgb(0x84, 0x3C, 0x39), // maroon
    Rgb(0x7B, 0x41, 0x73), // plum
    Rgb(0x00, 0x80, 0x80), // teal
    Rgb(0xE7, 0xBA, 0x52), // gold
    Rgb(0x22, 0x22, 0x22), // near-black
    Rgb(0xFF, 0x98, 0x96), // salmon
    Rgb(0x98, 0xDF, 0x8A), // light green
];

/// The colour for the `i`-th series.
pub fn series_color(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

/// Shapes drawn at data points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkerShape {
    /// Filled circle.
    Circle,
    /// Filled square.
    Square,
    /// Filled triangle pointing up.
    TriangleUp,
    /// Filled diamond.
    Diamond,
    /// Diagonal cross (×).
    Cross,
    /// Upright cross (+).
    Plus,
    /// Filled triangle pointing down.
    TriangleDown,
}

/// The marker cycle (7 shapes; coprime with the 20-colour palette).
pub const MARKERS: [MarkerShape; 7] = [
    MarkerShape::Circle,
    MarkerShape::Square,
    MarkerShape::TriangleUp,
    MarkerShape::Diamond,
    MarkerShape::Cross,
    MarkerShape::Plus,
    MarkerShape::TriangleDown,
];

/// The marker for the `i`-th series.
pub fn series_marker(i: usize) -> MarkerShape {
    MARKERS[i % MARKERS.len()]
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SeriesStyle {
    /// A solid line through the points (isolated single points get a marker so they show).
    #[default]
    Line,
    /// Markers only, no line (measurements, scatter).
    Markers,
    /// A solid line with markers; on long series markers are thinned to at most
    /// [`MAX_LINE_MARKERS`] evenly spaced points so they do not smear into a band.
    LineMarkers,
    /// A dashed line (models, bounds, reference curves).
    Dashed,
    /// A dotted line.
    Dotted,
}

/// Most markers drawn along one `LineMarkers` series.
pub const MAX_LINE_MARKERS: usize = 40;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn sixteen_distinct_colours_and_many_distinct_looks() {
        let colours: HashSet<Rgb> = (0..16).map(series_color).collect();
        assert_eq!(colours.len(), 16);
        let all: HashSet<Rgb> = PALETTE.iter().copied().collect();
        assert_eq!(all.len(), PALETTE.len());
        let looks: HashSet<(Rgb, MarkerShape)> = (0..140)
            .map(|i| (series_color(i), series_marker(i)))
            .collect();
        assert_eq!(
            looks.len(),
            140,
            "colour/marker pairs must not repeat before 140"
        );
    }

    #[test]
    fn palette_colours_are_visible_on_white() {
        // Relative luminance below 0.8 keeps a 2 px line visible on a white background.
        for c in PALETTE {
            let lum = (0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64) / 255.0;
            assert!(lum < 0.8, "{c:?} too pale ({lum:.2})");
        }
    }
}
