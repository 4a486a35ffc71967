//! Markdown for reports: an aligned table builder and a [`Report`] that collects headings,
//! paragraphs, tables and figures and writes `report.md`.
//!
//! Output is deterministic (no dates, no environment), uses GitHub-flavoured markdown
//! tables, and pads columns so the file also reads well as plain text. Cell text is escaped
//! (`|` → `\|`, newlines → spaces); paragraph text is written as given, so callers can use
//! inline markdown (`**bold**`, `` `code` ``). Numbers are formatted with [`crate::format`].

use std::path::{Path, PathBuf};

use crate::chart::{RenderedChart, create_dir, write_atomic};
use crate::error::ReportError;

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Text columns.
    #[default]
    Left,
    /// Number columns.
    Right,
    /// Short flags and marks.
    Center,
}

/// A markdown table: column titles with alignments, then rows of already formatted cells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns and no rows.
    pub fn new<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = (S, Align)>,
        S: Into<String>,
    {
        Table {
            columns: columns.into_iter().map(|(s, a)| (s.into(), a)).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; it must have exactly one cell per column.
    pub fn push_row<I, S>(&mut self, cells: I) -> Result<&mut Self, ReportError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let row: Vec<String> = cells.into_iter().map(Into::into).collect();
        if row.len() != self.columns.len() {
            return Err(ReportError::RowWidth {
                columns: self
                    .columns
                    .iter()
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                row: self.rows.len(),
                expected: self.columns.len(),
                got: row.len(),
            });
        }
        self.rows.push(row);
        Ok(self)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as markdown, columns padded to equal width, ending with a newline.
    pub fn to_markdown(&self) -> String {
        let cols = self.columns.len();
        if cols == 0 {
            return String::new();
        }
        let head: Vec<String> = self.columns.iter().map(|(c, _)| escape_cell(c)).collect();
        let body: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| escape_cell(c)).collect())
            .collect();
        let width = |s: &str| s.chars().count();
        let widths: Vec<usize> = (0..cols)
            .map(|i| {
                body.iter()
                    .map(|r| width(&r[i]))
                    .chain([width(&head[i]), 3])
                    .max()
                    .unwrap_or(3)
            })
            .collect();
        let pad = |s: &str, w: usize, a: Align| {
            let n = w.saturating_sub(width(s));
            match a {
                Align::Left => format!("{s}{}", " ".repeat(n)),
                Align::Right => format!("{}{s}", " ".repeat(n)),
                Align::Center => {
                    let l = n / 2;
                    format!("{}{s}{}", " ".repeat(l), " ".repeat(n - l))
                }
            }
        };
        let line = |cells: &[String]| {
            let inner: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| pad(c, widths[i], self.columns[i].1))
                .collect();
            format!("| {} |\n", inner.join(" | "))
        };
        let mut out = line(&head);
        let rule: Vec<String> = (0..cols)
            .map(|i| {
                let w = widths[i];
                match self.columns[i].1 {
                    Align::Left => format!(":{}", "-".repeat(w - 1)),
                    Align::Right => format!("{}:", "-".repeat(w - 1)),
                    Align::Center => format!(":{}:", "-".repeat(w - 2)),
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for r in &body {
            out.push_str(&line(r));
        }
        out
    }
}

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// One block of a report.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    /// Literal markdown.
    Text(String),
    /// A figure; paths are made relative to the report's directory when it is written.
    Figure {
        png: PathBuf,
        svg: Option<PathBuf>,
        alt: String,
        notes: Vec<String>,
    },
}

/// A markdown report, built block by block and written as one file.
///
/// ```
/// use evictlab_reports::{Align, Report, Table, format};
/// let mut t = Table::new([("policy", Align::Left), ("hit ratio", Align::Right)]);
/// t.push_row(["sieve", &format::percent(0.8312, 1)]).unwrap();
/// let mut r = Report::new("Hit rates");
/// r.paragraph("SIEVE wins at every size.").table(&t);
/// assert!(r.to_markdown(std::path::Path::new(".")).contains("| sieve  |     83.1% |"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    blocks: Vec<Block>,
    figures: usize,
}

impl Report {
    /// A report starting with `# title`.
    pub fn new(title: impl AsRef<str>) -> Self {
        let mut r = Report::default();
        r.heading(1, title);
        r
    }

    /// A heading; `level` is clamped to 1..=6.
    pub fn heading(&mut self, level: u8, text: impl AsRef<str>) -> &mut Self {
        let level = level.clamp(1, 6) as usize;
        let text = text.as_ref().replace(['\r', '\n'], " ");
        self.blocks.push(Block::Text(format!(
            "{} {}\n",
            "#".repeat(level),
            text.trim()
        )));
        self
    }

    /// A paragraph of markdown text.
    pub fn paragraph(&mut self, text: impl AsRef<str>) -> &mut Self {
        let t = text.as_ref().trim_end();
        if !t.is_empty() {
            self.blocks.push(Block::Text(format!("{t}\n")));
        }
        self
    }

    /// A bullet list, one item per element.
    pub fn bullets<I, S>(&mut self, items: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let s: String = items
            .into_iter()
            .map(|i| format!("- {}\n", i.as_ref().replace(['\r', '\n'], " ")))
            .collect();
        if !s.is_empty() {
            self.blocks.push(Block::Text(s));
        }
        self
    }

    /// A numbered list.
    pub fn numbered<I, S>(&mut self, items: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let s: String = items
            .into_iter()
            .enumerate()
            .map(|(k, i)| format!("{}. {}\n", k + 1, i.as_ref().replace(['\r', '\n'], " ")))
            .collect();
        if !s.is_empty() {
            self.blocks.push(Block::Text(s));
        }
        self
    }

    /// A table (nothing is added for a table without columns).
    pub fn table(&mut self, table: &Table) -> &mut Self {
        let md = table.to_markdown();
        if !md.is_empty() {
            self.blocks.push(Block::Text(md));
        }
        self
    }

    /// A fenced code block (commands to reproduce a run, config snippets).
    pub fn code(&mut self, lang: &str, text: impl AsRef<str>) -> &mut Self {
        let body = text.as_ref().trim_end_matches('\n');
        // A fence longer than any backtick run inside the text.
        let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        self.blocks
            .push(Block::Text(format!("{fence}{lang}\n{body}\n{fence}\n")));
        self
    }

    /// A block quote, for caveats and warnings.
    pub fn note(&mut self, text: impl AsRef<str>) -> &mut Self {
        let s: String = text
            .as_ref()
            .trim_end()
            .lines()
            .map(|l| format!("> {l}\n"))
            .collect();
        if !s.is_empty() {
            self.blocks.push(Block::Text(s));
        }
        self
    }

    /// Literal markdown, added as its own block.
    pub fn raw(&mut self, markdown: impl Into<String>) -> &mut Self {
        let mut m: String = markdown.into();
        if !m.ends_with('\n') {
            m.push('\n');
        }
        self.blocks.push(Block::Text(m));
        self
    }

    /// A rendered chart as a numbered figure: the PNG inline, a link to the SVG, and any
    /// data the chart left out (its notes). `alt` defaults to the chart's title when empty.
    pub fn chart(&mut self, chart: &RenderedChart, alt: impl AsRef<str>) -> &mut Self {
        let alt = if alt.as_ref().is_empty() {
            chart.title.clone()
        } else {
            alt.as_ref().to_string()
        };
        self.blocks.push(Block::Figure {
            png: chart.png.clone(),
            svg: Some(chart.svg.clone()),
            alt,
            notes: chart.notes.iter().map(ToString::to_string).collect(),
        });
        self.figures += 1;
        self
    }

    /// Any image (made elsewhere) as a numbered figure.
    pub fn image(&mut self, png: impl Into<PathBuf>, alt: impl AsRef<str>) -> &mut Self {
        self.blocks.push(Block::Figure {
            png: png.into(),
            svg: None,
            alt: alt.as_ref().to_string(),
            notes: Vec::new(),
        });
        self.figures += 1;
        self
    }

    /// The markdown text, with figure paths relative to `base_dir` (the directory the file
    /// will be in). Paths outside `base_dir` are written as given.
    pub fn to_markdown(&self, base_dir: &Path) -> String {
        let mut out = String::new();
        let mut fig = 0;
        for b in &self.blocks {
            if !out.is_empty() {
                out.push('\n');
            }
            match b {
                Block::Text(t) => out.push_str(t),
                Block::Figure {
                    png,
                    svg,
                    alt,
                    notes,
                } => {
                    fig += 1;
                    let alt_one_line = alt.replace(['\r', '\n'], " ");
                    let alt_escaped = alt_one_line.replace('[', "\\[").replace(']', "\\]");
                    out.push_str(&format!("![{alt_escaped}]({})\n\n", link(base_dir, png)));
                    let mut caption = format!("*Figure {fig}: {alt_one_line}*");
                    if let Some(svg) = svg {
                        caption.push_str(&format!(" ([SVG]({}))", link(base_dir, svg)));
                    }
                    out.push_str(&caption);
                    out.push('\n');
                    if !notes.is_empty() {
                        out.push('\n');
                        out.push_str(&format!("> Not shown in figure {fig}:\n"));
                        for n in notes {
                            out.push_str(&format!("> - {n}\n"));
                        }
                    }
                }
            }
        }
        out
    }

    /// Writes `<dir>/report.md` (creating `dir`) and returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, ReportError> {
        let path = dir.join("report.md");
        self.write_as(&path)?;
        Ok(path)
    }

    /// Writes the report to `path` (e.g. `tuning-report.md`), figure links relative to
    /// `path`'s directory.
    pub fn write_as(&self, path: &Path) -> Result<(), ReportError> {
        let dir = path.parent().unwrap_or(Path::new(""));
        if !dir.as_os_str().is_empty() {
            create_dir(dir)?;
        }
        write_atomic(path, self.to_markdown(dir).as_bytes())
    }
}

/// `target` relative to `base` with `/` separators when it lies under `base`.
fn link(base: &Path, target: &Path) -> String {
    let s = match target.strip_prefix(base) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => target.to_string_lossy().into_owned(),
    };
    if s.contains([' ', '(', ')', '<', '>']) {
        format!("<{}>", s.replace('<', "%3C").replace('>', "%3E"))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{PlotNote, SkipReason};
    use crate::format;

    #[test]
    fn table_aligns_pads_and_escapes() {
        let mut t = Table::new([
            ("policy", Align::Left),
            ("hit ratio", Align::Right),
            ("ok", Align::Center),
        ]);
        t.push_row(["allkeys-lru", &format::percent(0.8312, 1), "✓"])
            .unwrap()
            .push_row(["a|b", &format::percent_plus_minus(0.9, 0.012, 1), ""])
            .unwrap();
        let expected = "\
| policy      |   hit ratio | ok  |
| :---------- | ----------: | :-: |
| allkeys-lru |       83.1% |  ✓  |
| a\\|b        | 90.0 ± 1.2% |     |
";
        assert_eq!(t.to_markdown(), expected);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn wrong_row_width_names_the_table_and_row() {
        let mut t = Table::new([("a", Align::Left), ("b", Align::Right)]);
        t.push_row(["1", "2"]).unwrap();
        let e = t.push_row(["only one"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "table with columns [a, b]: row 1 has 1 cells, expected 2"
        );
        assert_eq!(t.len(), 1, "the bad row is not added");
    }

    #[test]
    fn report_blocks_figures_and_relative_links() {
        let dir = tempfile::tempdir().unwrap();
        let chart = RenderedChart {
            title: "Miss ratio [all policies]".into(),
            png: dir.path().join("plots").join("mr.png"),
            svg: dir.path().join("plots").join("mr.svg"),
            notes: vec![PlotNote {
                series: "lfu".into(),
                count: 2,
                reason: SkipReason::NonFinite,
            }],
        };
        let mut t = Table::new([("x", Align::Right)]);
        t.push_row(["1"]).unwrap();
        let mut r = Report::new("Run 42");
        r.heading(2, "Hit rates")
            .paragraph("Text with **bold**.")
            .chart(&chart, "")
            .bullets(["one", "two"])
            .numbered(["first"])
            .table(&t)
            .code("sh", "cargo run --release --bin experiment")
            .note("Extrapolated\nfrom 1 GiB.")
            .image("/elsewhere/x.png", "external");
        let path = r.write(dir.path()).unwrap();
        assert_eq!(path, dir.path().join("report.md"));
        let md = std::fs::read_to_string(&path).unwrap();
        let expected = "\
# Run 42

## Hit rates

Text with **bold**.

![Miss ratio \\[all policies\\]](plots/mr.png)

*Figure 1: Miss ratio [all policies]* ([SVG](plots/mr.svg))

> Not shown in figure 1:
> - \"lfu\": 2 × non-finite value (NaN or infinity), not plotted

- one
- two

1. first

|   x |
| --: |
|   1 |

```sh
cargo run --release --bin experiment
```

> Extrapolated
> from 1 GiB.

![external](/elsewhere/x.png)

*Figure 2: external*
";
        assert_eq!(md, expected);
        // Deterministic: writing again gives the same bytes.
        let again = dir.path().join("again.md");
        r.write_as(&again).unwrap();
        assert_eq!(std::fs::read(&again).unwrap(), md.as_bytes());
    }

    #[test]
    fn code_fence_outgrows_backticks_and_links_with_spaces_are_wrapped() {
        let mut r = Report::default();
        r.code("", "a ``` b");
        let md = r.to_markdown(Path::new("."));
        assert!(md.starts_with("````\na ``` b\n````\n"), "{md}");
        assert_eq!(
            link(Path::new("/r"), Path::new("/r/my plots/a.png")),
            "<my plots/a.png>"
        );
    }
}
