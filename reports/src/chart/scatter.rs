//! Measurements against a model: each fit is a set of measured points (markers) and the
//! model's curve (dashed line) in the same colour, e.g. measured COW bytes against write
//! rate with the predicted curve, or a small-dataset fit extrapolated to the user's size.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::line::{LineChart, Series};
use super::{ChartSize, Ctx, Draw, PlotNote};
use crate::axis::Axis;
use crate::error::ReportError;
use crate::style::{SeriesStyle, series_color, series_marker};

/// One measured set and the model that should explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFit {
    /// Legend label of the measurements.
    pub name: String,
    /// Measured points, drawn as markers.
    pub measured: Vec<(f64, f64)>,
    /// The model's curve (evaluate it densely enough to look smooth), drawn dashed.
    pub model: Vec<(f64, f64)>,
    /// Legend label of the curve; `None` gives `"<name> (model)"`.
    pub model_name: Option<String>,
}

impl ModelFit {
    /// A fit whose curve is labelled `"<name> (model)"`.
    pub fn new(name: impl Into<String>, measured: Vec<(f64, f64)>, model: Vec<(f64, f64)>) -> Self {
        ModelFit {
            name: name.into(),
            measured,
            model,
            model_name: None,
        }
    }

    /// Sets the curve's legend label.
    #[must_use]
    pub fn with_model_name(mut self, name: impl Into<String>) -> Self {
        self.model_name = Some(name.into());
        self
    }
}

/// Measured points with model curves, one colour per fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterWithModel {
    /// Title drawn on top.
    pub title: String,
    /// Optional smaller second line.
    pub subtitle: Option<String>,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// The fits.
    pub fits: Vec<ModelFit>,
    /// Image size.
    pub size: ChartSize,
}

impl ScatterWithModel {
    /// A chart with no fits yet.
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Self {
        ScatterWithModel {
            title: title.into(),
            subtitle: None,
            x,
            y,
            fits: Vec::new(),
            size: ChartSize::default(),
        }
    }

    /// Sets the subtitle.
    #[must_use]
    pub fn with_subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Adds a fit.
    #[must_use]
    pub fn with_fit(mut self, fit: ModelFit) -> Self {
        self.fits.push(fit);
        self
    }

    /// The equivalent line chart: per fit, a marker series then a dashed series in the same
    /// colour (legend order: measured, model, measured, model, …).
    pub fn to_line_chart(&self) -> LineChart {
        let mut c = LineChart::new(self.title.clone(), self.x.clone(), self.y.clone());
        c.subtitle = self.subtitle.clone();
        c.size = self.size;
        for (i, f) in self.fits.iter().enumerate() {
            let color = series_color(i);
            c.series.push(
                Series::new(f.name.clone(), f.measured.clone(), SeriesStyle::Markers)
                    .with_color(color)
                    .with_marker(series_marker(i)),
            );
            let model_name = f
                .model_name
                .clone()
                .unwrap_or_else(|| format!("{} (model)", f.name));
            c.series.push(
                Series::new(model_name, f.model.clone(), SeriesStyle::Dashed).with_color(color),
            );
        }
        c
    }
}

impl Draw for ScatterWithModel {
    fn title(&self) -> &str {
        &self.title
    }

    fn size(&self) -> ChartSize {
        self.size
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        ctx: &Ctx,
    ) -> Result<Vec<PlotNote>, ReportError> {
        self.to_line_chart().draw(root, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Chart;
    use crate::chart::test_util::png_dimensions;

    fn sample() -> ScatterWithModel {
        // Expected distinct pages touched by w uniform writes over P pages: P(1 - (1-1/P)^w).
        let pages = 1000.0f64;
        let model = |w: f64| pages * (1.0 - (1.0 - 1.0 / pages).powf(w)) * 4096.0;
        let rates = [10.0, 100.0, 1000.0, 10000.0];
        ScatterWithModel::new(
            "COW vs writes",
            Axis::new("writes").log(),
            Axis::bytes("COW"),
        )
        .with_fit(ModelFit::new(
            "uniform",
            rates.iter().map(|&w| (w, model(w) * 1.03)).collect(),
            (0..=40)
                .map(|k| 10f64.powf(1.0 + k as f64 * 0.075))
                .map(|w| (w, model(w)))
                .collect(),
        ))
        .with_fit(
            ModelFit::new(
                "zipf",
                rates.iter().map(|&w| (w, model(w) * 0.5)).collect(),
                vec![],
            )
            .with_model_name("zipf prediction"),
        )
    }

    #[test]
    fn measured_and_model_share_a_colour_and_render() {
        let s = sample();
        let lc = s.to_line_chart();
        assert_eq!(lc.series.len(), 4);
        assert_eq!(lc.series[0].color, lc.series[1].color);
        assert_ne!(lc.series[0].color, lc.series[2].color);
        assert_eq!(lc.series[1].name, "uniform (model)");
        assert_eq!(lc.series[3].name, "zipf prediction");
        let dir = tempfile::tempdir().unwrap();
        let r = s.render(dir.path(), "cow_model").unwrap();
        // The empty model curve is noted, not fatal.
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert_eq!(r.notes[0].series, "zipf prediction");
        assert_eq!(png_dimensions(&std::fs::read(&r.png).unwrap()), (1024, 640));
        let svg = std::fs::read_to_string(&r.svg).unwrap();
        assert!(svg.contains("COW vs writes") && svg.contains("uniform (model)"));
        assert_eq!(s.to_svg().unwrap(), sample().to_svg().unwrap());
        assert_eq!(s.to_png().unwrap(), sample().to_png().unwrap());
    }
}
