//! Results directories that appear whole or not at all (issue 12).
//!
//! A run writes into a staging directory beside its destination (`.<name>.partial-<pid>`,
//! on the same file system, so the final step is a `rename`) and [`OutDir::commit`] moves it
//! into place once everything was written. A run that fails half-way drops its [`OutDir`],
//! which deletes the staging directory: the destination keeps whatever it held before.
//!
//! An explicit `--out` that exists and is not empty is refused unless `--overwrite` is given;
//! then the old directory is replaced as a whole at commit (moved aside, the new one renamed
//! in, the old one deleted), never merged with the new files.

use std::ffi::OsString;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::RunError;

/// `--out DIR` and `--overwrite`, shared by every command that writes a results directory.
#[derive(clap::Args, Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutArgs {
    /// Output directory (default: results/<command>-<timestamp>). Written to a temporary
    /// directory beside it and renamed into place when the run succeeds.
    #[arg(long = "out", value_name = "DIR")]
    #[serde(rename = "out")]
    pub dir: Option<PathBuf>,
    /// Replace an existing, non-empty --out directory (refused otherwise).
    #[arg(long)]
    pub overwrite: bool,
}

impl OutArgs {
    /// `--out DIR`, no `--overwrite`.
    pub fn at(dir: impl Into<PathBuf>) -> OutArgs {
        OutArgs {
            dir: Some(dir.into()),
            overwrite: false,
        }
    }

    /// Creates the staging directory for this run: for `--out DIR`, beside `DIR` (refusing a
    /// non-empty `DIR` without `--overwrite`); else for a fresh `results/<name>-<timestamp>`.
    pub fn create(&self, name: &str) -> Result<OutDir, RunError> {
        match &self.dir {
            Some(d) => OutDir::stage(d.clone(), self.overwrite),
            None => OutDir::stage(
                crate::output::new_run_dir_name(Path::new("results"), name),
                false,
            ),
        }
    }
}

/// A results directory being written: dereferences to the staging path (write there), and
/// [`OutDir::commit`] puts it in place.
#[derive(Debug)]
pub struct OutDir {
    dest: PathBuf,
    staging: PathBuf,
    replace: bool,
    committed: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `parent/.<file name>.<tag>-<pid>` (hidden, same directory as `dest`).
fn sibling(dest: &Path, tag: &str) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(dest.file_name().unwrap_or(dest.as_os_str()));
    name.push(format!(".{tag}-{}", std::process::id()));
    dest.with_file_name(name)
}

impl OutDir {
    fn stage(dest: PathBuf, overwrite: bool) -> Result<OutDir, RunError> {
        // `dest` names a directory; `with_file_name` needs a last component that is a name.
        let dest = if dest.file_name().is_none() {
            std::path::absolute(&dest).map_err(io(&dest))?
        } else {
            dest
        };
        let replace = match std::fs::read_dir(&dest) {
            Ok(mut entries) => {
                if entries.next().is_some() && !overwrite {
                    return Err(RunError::BadArgument {
                        flag: "--out",
                        value: dest.display().to_string(),
                        expected: "a new or empty directory (it exists and is not empty; add --overwrite to replace it)",
                    });
                }
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(io(&dest)(e)),
        };
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let staging = sibling(&dest, "partial");
        if staging.exists() {
            // Left by an earlier process with the same pid that was killed.
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        std::fs::create_dir(&staging).map_err(io(&staging))?;
        Ok(OutDir {
            dest,
            staging,
            replace,
            committed: false,
        })
    }

    /// Where the run's files go until [`OutDir::commit`].
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Where the directory will be after [`OutDir::commit`].
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Moves the finished directory into place (replacing an existing one as a whole) and
    /// returns its path.
    pub fn commit(mut self) -> Result<PathBuf, RunError> {
        let old = sibling(&self.dest, "old");
        let had_old = self.replace && self.dest.exists();
        if had_old {
            std::fs::rename(&self.dest, &old).map_err(io(&self.dest))?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.dest) {
            if had_old {
                // Put the old directory back: nothing already stored is lost.
                let _ = std::fs::rename(&old, &self.dest);
            }
            return Err(io(&self.dest)(e));
        }
        self.committed = true;
        if had_old {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        Ok(self.dest.clone())
    }
}

impl Deref for OutDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.staging
    }
}

impl AsRef<Path> for OutDir {
    fn as_ref(&self) -> &Path {
        &self.staging
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            // A failed run: its partial files go; the destination is untouched.
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("evictlab-outdir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_new_directory_appears_only_at_commit() {
        let root = tmp("new");
        let dest = root.join("run");
        let out = OutArgs::at(&dest).create("x").unwrap();
        std::fs::write(out.join("a.csv"), "a\n").unwrap();
        assert!(!dest.exists());
        assert_eq!(out.commit().unwrap(), dest);
        assert_eq!(std::fs::read_to_string(dest.join("a.csv")).unwrap(), "a\n");
        assert_eq!(
            std::fs::read_dir(&root).unwrap().count(),
            1,
            "no staging left"
        );
    }

    #[test]
    fn a_failed_run_leaves_the_old_directory_as_it_was() {
        let root = tmp("fail");
        let dest = root.join("run");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old.csv"), "old\n").unwrap();
        let err = OutArgs::at(&dest).create("x").unwrap_err().to_string();
        assert!(err.contains("--overwrite") && err.contains("run"), "{err}");
        let out = OutArgs {
            dir: Some(dest.clone()),
            overwrite: true,
        }
        .create("x")
        .unwrap();
        std::fs::write(out.join("new.csv"), "new\n").unwrap();
        drop(out); // the run failed
        assert_eq!(
            std::fs::read_to_string(dest.join("old.csv")).unwrap(),
            "old\n"
        );
        assert_eq!(
            std::fs::read_dir(&root).unwrap().count(),
            1,
            "no staging left"
        );
    }

    #[test]
    fn overwrite_replaces_the_directory_as_a_whole() {
        let root = tmp("over");
        let dest = root.join("run");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old.csv"), "old\n").unwrap();
        let out = OutArgs {
            dir: Some(dest.clone()),
            overwrite: true,
        }
        .create("x")
        .unwrap();
        std::fs::write(out.join("new.csv"), "new\n").unwrap();
        out.commit().unwrap();
        assert!(!dest.join("old.csv").exists());
        assert!(dest.join("new.csv").exists());
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
        // An empty directory needs no --overwrite.
        let empty = root.join("empty");
        std::fs::create_dir(&empty).unwrap();
        OutArgs::at(&empty).create("x").unwrap().commit().unwrap();
    }
}
