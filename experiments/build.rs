//! Records the commit of the checkout the lab is built from, for `metadata.json`'s
//! `git_commit` (`EVICTLAB_GIT_COMMIT`: `<sha>`, `<sha>-dirty`, or empty outside a git
//! checkout).
//!
//! Recorded at build time, not asked of `git` when an experiment runs: the commit that
//! matters is the one the binary was built from, not whichever repository the user's
//! working directory happens to be in; and the two `git` processes cost every run
//! 2.5–6.5 ms (measured in and outside a checkout), ~2 % of a 5 M-request replay. The build
//! script re-runs when HEAD, the branch refs or the index move, or when any tracked
//! top-level file or directory of the workspace changes, so a rebuilt binary never reports
//! a stale commit or a stale `-dirty`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(root: &Path, args: &[&str]) -> Option<String> {
    // `--no-optional-locks`: `status` must not refresh (rewrite) the index, which this
    // script watches — that would make every build re-run it.
    let out = Command::new("git")
        .arg("--no-optional-locks")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn watch(path: &Path) {
    // A missing path would make cargo re-run the script on every build.
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest
        .parent()
        .expect("experiments/ sits in the workspace root");
    let Some(head) = git(root, &["rev-parse", "HEAD"]) else {
        println!("cargo:rustc-env=EVICTLAB_GIT_COMMIT=");
        return;
    };
    if let Some(paths) = git(
        root,
        &[
            "rev-parse",
            "--git-path",
            "HEAD",
            "--git-path",
            "index",
            "--git-path",
            "packed-refs",
            "--git-path",
            "refs/heads",
        ],
    ) {
        for p in paths.lines() {
            watch(&root.join(p));
        }
    }
    if let Some(entries) = git(root, &["ls-tree", "--name-only", "HEAD"]) {
        for e in entries.lines() {
            watch(&root.join(e));
        }
    }
    let dirty = git(root, &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.trim().is_empty());
    println!(
        "cargo:rustc-env=EVICTLAB_GIT_COMMIT={}{}",
        head.trim(),
        if dirty { "-dirty" } else { "" }
    );
}
