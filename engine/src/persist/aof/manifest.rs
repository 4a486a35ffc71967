//! The AOF manifest (`appendonly.aof.manifest`): lines `file <name> seq <n> type <b|i>`
//! naming the base snapshot and the incremental command logs (redis `src/aof.c`
//! `aofLoadManifestFromFile`, `getAofManifestAsString`).

use super::*;

/// The kind of a manifest entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofFileType {
    /// `b`: the base snapshot.
    Base,
    /// `i`: an incremental command log.
    Incr,
    /// `h`: history, waiting for deletion.
    History,
}

/// One manifest line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    /// File name inside the AOF directory.
    pub name: String,
    /// Sequence number.
    pub seq: u64,
    /// Type.
    pub kind: AofFileType,
}

/// The manifest: at most one base, then INCR files in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The entries in file order.
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// Parses the manifest text (`path` is for error messages).
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, AofError> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let bad = || AofError::BadManifest {
                path: path.to_path_buf(),
                line: i + 1,
                text: line.to_string(),
            };
            let w: Vec<&str> = t.split_whitespace().collect();
            let ["file", name, "seq", seq, "type", kind] = w.as_slice() else {
                return Err(bad());
            };
            let seq = seq.parse().map_err(|_| bad())?;
            let kind = match *kind {
                "b" => AofFileType::Base,
                "i" => AofFileType::Incr,
                "h" => AofFileType::History,
                _ => return Err(bad()),
            };
            entries.push(ManifestEntry {
                name: name.to_string(),
                seq,
                kind,
            });
        }
        Ok(Manifest { entries })
    }

    /// The manifest text.
    pub fn to_text(&self) -> String {
        self.entries
            .iter()
            .map(|e| {
                let k = match e.kind {
                    AofFileType::Base => "b",
                    AofFileType::Incr => "i",
                    AofFileType::History => "h",
                };
                format!("file {} seq {} type {k}\n", e.name, e.seq)
            })
            .collect()
    }

    /// The files to load, base first.
    pub fn load_order(&self) -> Vec<&ManifestEntry> {
        let mut v: Vec<&ManifestEntry> = self
            .entries
            .iter()
            .filter(|e| e.kind == AofFileType::Base)
            .collect();
        v.extend(self.entries.iter().filter(|e| e.kind == AofFileType::Incr));
        v
    }
}
