//! `switchboard plugin new`: writes a plugin crate that builds and passes
//! `plugin check --against webhook-sim` as it is, for its author to point at
//! their CRM.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The Rust template's files: path in the new crate, content.
const RUST: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../templates/rust/Cargo.toml.tmpl"),
    ),
    (
        "manifest.toml",
        include_str!("../templates/rust/manifest.toml.tmpl"),
    ),
    ("build.sh", include_str!("../templates/rust/build.sh.tmpl")),
    (
        "README.md",
        include_str!("../templates/rust/README.md.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../templates/rust/src/lib.rs.tmpl"),
    ),
];

fn valid_name(name: &str) -> bool {
    name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

/// The Python template: the bundled `webhook` plugin's sources, one source
/// of truth, with the id replaced.
const PYTHON: &[(&str, &str)] = &[
    (
        "build.sh",
        include_str!("../templates/python/build.sh.tmpl"),
    ),
    (
        "manifest.toml",
        include_str!("../../../plugins/webhook-py/manifest.toml"),
    ),
    (
        "src/app.py",
        include_str!("../../../plugins/webhook-py/src/app.py"),
    ),
    (
        "src/webhook/__init__.py",
        include_str!("../../../plugins/webhook-py/src/webhook/__init__.py"),
    ),
    (
        "src/webhook/catalog.py",
        include_str!("../../../plugins/webhook-py/src/webhook/catalog.py"),
    ),
    (
        "src/webhook/errors.py",
        include_str!("../../../plugins/webhook-py/src/webhook/errors.py"),
    ),
    (
        "src/webhook/lead.py",
        include_str!("../../../plugins/webhook-py/src/webhook/lead.py"),
    ),
    (
        "src/webhook/money.py",
        include_str!("../../../plugins/webhook-py/src/webhook/money.py"),
    ),
    (
        "src/webhook/settings.py",
        include_str!("../../../plugins/webhook-py/src/webhook/settings.py"),
    ),
    (
        "src/webhook/wasi_http.py",
        include_str!("../../../plugins/webhook-py/src/webhook/wasi_http.py"),
    ),
    (
        "tests/__init__.py",
        include_str!("../../../plugins/webhook-py/tests/__init__.py"),
    ),
    (
        "tests/test_pure.py",
        include_str!("../../../plugins/webhook-py/tests/test_pure.py"),
    ),
];

/// The WIT package of the checkout this binary was built from.
fn default_wit() -> Option<PathBuf> {
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit/since_v0.1.0");
    wit.join("crm.wit")
        .is_file()
        .then(|| wit.canonicalize().ok())
        .flatten()
}

/// Writes a Python plugin named `name` into `dir/name`; returns its folder.
pub fn python(name: &str, dir: &Path, wit: Option<&Path>) -> anyhow::Result<PathBuf> {
    check_name(name)?;
    let wit = match wit {
        Some(path) => path
            .canonicalize()
            .with_context(|| format!("--wit {}", path.display()))?,
        None => default_wit()
            .context("cannot find the WIT package; pass --wit <checkout>/wit/since_v0.1.0")?,
    };
    if !wit.join("crm.wit").is_file() {
        bail!("--wit {}: no crm.wit there", wit.display());
    }
    let root = new_root(dir, name)?;
    let title = title(name);
    for (path, template) in PYTHON {
        let text = template
            .replace("{{id}}", name)
            .replace("{{wit}}", &wit.display().to_string())
            .replace("id = \"webhook\"", &format!("id = \"{name}\""))
            .replace(
                "name = \"HTTP JSON webhook\"",
                &format!("name = \"{title}\""),
            )
            .replace(
                "PLUGIN_ID = \"webhook\"",
                &format!("PLUGIN_ID = \"{name}\""),
            )
            .replace("name=\"HTTP JSON webhook\"", &format!("name=\"{title}\""));
        write(&root, path, &text)?;
    }
    make_executable(&root.join("build.sh"))?;
    Ok(root)
}

fn check_name(name: &str) -> anyhow::Result<()> {
    if !valid_name(name) {
        bail!(
            "`{name}`: a plugin id is 1–40 lower-case letters, digits and dashes, starting with a letter"
        );
    }
    Ok(())
}

fn new_root(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let root = dir.join(name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    Ok(root)
}

fn title(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn write(root: &Path, path: &str, text: &str) -> anyhow::Result<()> {
    let file = root.join(path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))
}

fn make_executable(script: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", script.display()))?;
    }
    Ok(())
}

/// The SDK of the checkout this binary was built from, if it is still there.
fn default_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/sdk");
    sdk.join("Cargo.toml")
        .is_file()
        .then(|| sdk.canonicalize().ok())
        .flatten()
}

/// Writes a Rust plugin named `name` into `dir/name`; returns its folder.
pub fn rust(name: &str, dir: &Path, sdk: Option<&Path>) -> anyhow::Result<PathBuf> {
    check_name(name)?;
    let sdk = match sdk {
        Some(path) => path
            .canonicalize()
            .with_context(|| format!("--sdk {}", path.display()))?,
        None => default_sdk()
            .context("cannot find the plugin SDK; pass --sdk <checkout>/plugins/sdk")?,
    };
    if !sdk.join("Cargo.toml").is_file() {
        bail!("--sdk {}: no Cargo.toml there", sdk.display());
    }
    let root = new_root(dir, name)?;
    let crate_name = format!("{name}-crm");
    let title = title(name);
    for (path, template) in RUST {
        let text = template
            .replace("{{id}}", name)
            .replace("{{title}}", &title)
            .replace("{{crate}}", &crate_name)
            .replace("{{crate_snake}}", &crate_name.replace('-', "_"))
            .replace("{{sdk}}", &sdk.display().to_string());
        write(&root, path, &text)?;
    }
    make_executable(&root.join("build.sh"))?;
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plugin_ids() {
        assert!(valid_name("my-crm"));
        assert!(valid_name("crm2"));
        for bad in ["", "My", "2crm", "my_crm", "my-", "a/b", &"x".repeat(41)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
