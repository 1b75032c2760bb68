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

/// The SDK of the checkout this binary was built from, if it is still there.
fn default_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk");
    sdk.join("Cargo.toml")
        .is_file()
        .then(|| sdk.canonicalize().ok())
        .flatten()
}

/// Writes a Rust plugin named `name` into `dir/name`; returns its folder.
pub fn rust(name: &str, dir: &Path, sdk: Option<&Path>) -> anyhow::Result<PathBuf> {
    if !valid_name(name) {
        bail!(
            "`{name}`: a plugin id is 1–40 lower-case letters, digits and dashes, starting with a letter"
        );
    }
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
    let root = dir.join(name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let crate_name = format!("{name}-crm");
    let title: String = name
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ");
    for (path, template) in RUST {
        let text = template
            .replace("{{id}}", name)
            .replace("{{title}}", &title)
            .replace("{{crate}}", &crate_name)
            .replace("{{crate_snake}}", &crate_name.replace('-', "_"))
            .replace("{{sdk}}", &sdk.display().to_string());
        let file = root.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let script = root.join("build.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", script.display()))?;
    }
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
