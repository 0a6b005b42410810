//! Installs the machine-level things the project needs, each only when missing: Debian
//! packages for Tauri/WebKitGTK and the headless tests, the wasm32 target, and the cargo tools
//! (trunk, wasm-bindgen-cli of the lockfile's version, tauri-driver).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::run_cmd;

const APT_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "build-essential",
    "pkg-config",
    "curl",
    "wget",
    "file",
    "libxdo-dev",
    "libssl-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "python3-venv",
    // The Open311 conformance test validates answers with these (tests/open311/validate.py).
    "python3-jsonschema",
    "python3-yaml",
    // The basemap's labels are drawn with glyphs built from these.
    "fonts-noto-core",
    // The gateway's second backend: the tests make throwaway clusters with its initdb, and
    // several instances run behind nginx.
    "postgresql",
    "nginx-light",
];

/// trunk 0.21.14 is the newest that builds with Rust 1.95.
const TRUNK_VERSION: &str = "0.21.14";
const TAURI_DRIVER_VERSION: &str = "2.1.0";

pub fn setup(root: &Path) -> Result<()> {
    apt_packages()?;
    wasm_target()?;
    let wasm_bindgen = lockfile_version(root, "wasm-bindgen")?;
    check_trunk_toml(root, &wasm_bindgen)?;
    cargo_tool("trunk", TRUNK_VERSION, &["--locked"])?;
    // Without --locked: its lockfile names a webpki-roots release the registry does not serve.
    cargo_tool("wasm-bindgen-cli", &wasm_bindgen, &[])?;
    cargo_tool("tauri-driver", TAURI_DRIVER_VERSION, &["--locked"])?;
    npm_package(root, "binaryen", BINARYEN_VERSION)?;
    axe_core(root)?;
    crate::basemap::build(root)?;
    Ok(())
}

/// Binaryen's wasm-opt, which trunk runs on the release WASM (`data-wasm-opt` in
/// `ui/index.html`; `[tools] wasm_opt` in `ui/Trunk.toml` names its version). From npm, not
/// Debian: Debian 12's binaryen 108 rewrites `externref` to `anyref`, and the app then shows
/// a blank page without an error.
const BINARYEN_VERSION: &str = "132.0.0";

/// The accessibility engine the end-to-end tests run inside the app (Deque's axe-core).
const AXE_CORE_VERSION: &str = "4.11.0";

/// Installs axe-core from npm into `target/tools/npm`; the end-to-end tests inject its
/// `axe.min.js` into the app's pages through WebDriver.
pub fn axe_core(root: &Path) -> Result<()> {
    npm_package(root, "axe-core", AXE_CORE_VERSION).map(drop)
}

/// `name@version` from npm in `target/tools/npm`, installed when missing; its folder.
pub fn npm_package(root: &Path, name: &str, version: &str) -> Result<PathBuf> {
    let npm = root.join("target/tools/npm");
    let package = npm.join("node_modules").join(name);
    let installed = std::fs::read_to_string(package.join("package.json"))
        .map(|text| text.contains(&format!("\"version\": \"{version}\"")))
        .unwrap_or(false);
    if !installed {
        std::fs::create_dir_all(&npm)?;
        run_cmd(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&npm)
                .arg(format!("{name}@{version}")),
        )?;
    }
    Ok(package)
}

fn apt_packages() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .map(|o| !String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian packages: {}", missing.join(" "));
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut cmd = if sudo {
            Command::new("sudo")
        } else {
            Command::new("apt-get")
        };
        if sudo {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run_cmd(&mut apt(&["update", "-qq"]))?;
    let mut install = apt(&["install", "-y", "-qq", "--no-install-recommends"]);
    install.args(&missing);
    run_cmd(&mut install)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    if installed
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
    {
        return Ok(());
    }
    run_cmd(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// Installs `krate` at `version` unless cargo already installed that version.
pub fn cargo_tool(krate: &str, version: &str, flags: &[&str]) -> Result<()> {
    let listed = Command::new(crate::cargo())
        .args(["install", "--list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let wanted = format!("{krate} v{version}:");
    if listed.lines().any(|l| l.trim() == wanted) {
        return Ok(());
    }
    let mut cmd = Command::new(crate::cargo());
    cmd.args(["install", krate, "--version", version])
        .args(flags);
    run_cmd(&mut cmd)
}

/// The version of `package` that Cargo.lock pins.
pub fn lockfile_version(root: &Path, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    version_in_lock(&lock, package).with_context(|| format!("{package} is not in Cargo.lock"))
}

fn version_in_lock(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines
                .next()?
                .trim()
                .strip_prefix("version = \"")?
                .strip_suffix('"')?;
            return Some(version.to_owned());
        }
    }
    None
}

/// Trunk compares `[tools] wasm_bindgen` with the binary on PATH; it must equal the lockfile's.
fn check_trunk_toml(root: &Path, wasm_bindgen: &str) -> Result<()> {
    let trunk =
        std::fs::read_to_string(root.join("ui/Trunk.toml")).context("reading ui/Trunk.toml")?;
    let expected = format!("wasm_bindgen = \"{wasm_bindgen}\"");
    if !trunk.lines().any(|l| l.trim() == expected) {
        bail!("ui/Trunk.toml: [tools] needs `{expected}` to match Cargo.lock");
    }
    let major = BINARYEN_VERSION.split('.').next().unwrap_or_default();
    let expected = format!("wasm_opt = \"version_{major}\"");
    if !trunk.lines().any(|l| l.trim() == expected) {
        bail!("ui/Trunk.toml: [tools] needs `{expected}` to match the binaryen xtask installs");
    }
    Ok(())
}

/// A command-line tool from PyPI, installed at `version` into a virtual environment under
/// `target/tools/python` unless already there; returns the path of its executable.
pub fn python_tool(root: &Path, package: &str, version: &str) -> Result<std::path::PathBuf> {
    let venv = root.join("target/tools/python");
    let bin = venv.join("bin");
    if !bin.join("pip").exists() {
        run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let installed = Command::new(bin.join("pip"))
        .args(["show", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("Version: {version}")))
        .unwrap_or(false);
    if !installed {
        run_cmd(
            Command::new(bin.join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("{package}=={version}")),
        )?;
    }
    Ok(bin.join(package))
}

/// MapLibre GL JS 5.x ships the UMD/CSP build the UI loads (6.x is ES modules only).
const MAPLIBRE_VERSION: &str = "5.24.1";

/// Puts MapLibre GL JS's CSP build, from npm, into the UI's assets (`ui/vendor/maplibre`),
/// so trunk copies it into the app: no CDN at run time.
pub fn vendor_maplibre(root: &Path) -> Result<()> {
    let package = npm_package(root, "maplibre-gl", MAPLIBRE_VERSION)?;
    let vendor = root.join("ui/vendor/maplibre");
    std::fs::create_dir_all(&vendor)?;
    for (from, to) in [
        ("dist/maplibre-gl-csp.js", "maplibre-gl-csp.js"),
        (
            "dist/maplibre-gl-csp-worker.js",
            "maplibre-gl-csp-worker.js",
        ),
        ("dist/maplibre-gl.css", "maplibre-gl.css"),
        ("LICENSE.txt", "LICENSE.txt"),
    ] {
        let source = package.join(from);
        std::fs::copy(&source, vendor.join(to))
            .with_context(|| format!("copying {}", source.display()))?;
    }
    Ok(())
}

/// PATH with cargo's bin folder and the npm tools' (wasm-opt) first, so freshly installed
/// tools are found.
pub fn path_with_tools(root: &Path) -> OsString {
    let mut paths = vec![root.join("target/tools/npm/node_modules/.bin")];
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo").into_os_string()))
    {
        paths.push(Path::new(&home).join("bin"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_version_from_the_lockfile() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"9\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            version_in_lock(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(version_in_lock(lock, "trunk"), None);
    }

    #[test]
    fn the_repository_trunk_toml_matches_the_lockfile() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let version = lockfile_version(&root, "wasm-bindgen").expect("in the lockfile");
        check_trunk_toml(&root, &version).expect("Trunk.toml names the lockfile's wasm-bindgen");
    }
}
