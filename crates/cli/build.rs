//! Puts the commit into `iamsweep --version` when built from a git checkout: `0.1.0 (abc1234)`.
//! Without git, or outside a checkout (a source tarball, `cargo install` from a registry), the
//! version is the package's alone; the build never fails for want of git.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let version = env!("CARGO_PKG_VERSION");
    let full = match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => {
            watch_head();
            format!("{version} ({commit})")
        }
        None => version.to_string(),
    };
    println!("cargo:rustc-env=IAMSWEEP_VERSION={full}");
}

/// Reruns this script when the checkout moves to another commit: `HEAD` changes on a checkout,
/// the branch's ref (or `packed-refs`) on a commit. Asked of git rather than assumed at
/// `.git/HEAD`, since in a worktree `.git` is a file pointing elsewhere. Only existing files
/// are named: cargo reruns on every build for a missing one.
fn watch_head() {
    let mut paths = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        paths.push(branch);
    }
    for path in paths {
        if let Some(file) = git(&["rev-parse", "--git-path", &path])
            && Path::new(&file).exists()
        {
            println!("cargo:rerun-if-changed={file}");
        }
    }
}

/// The trimmed output of a successful git command, or `None` (no git, not a checkout).
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_string())
}
