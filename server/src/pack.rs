//! Reading a city pack folder from disk.

use std::path::Path;

use anyhow::Context as _;
use citizen_core::{CityPack, PackSources};

/// Loads and validates the pack in `dir`; also returns its bytes, to recognise it later.
pub fn load_dir(dir: &Path) -> anyhow::Result<(CityPack, Vec<u8>)> {
    let mut texts = Vec::with_capacity(PackSources::FILES.len());
    for file in PackSources::FILES {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("city pack: cannot read {}", path.display()))?;
        texts.push(text);
    }
    let pack = CityPack::parse(PackSources::from_texts(std::array::from_fn(|i| {
        texts[i].as_str()
    })))
    .with_context(|| format!("city pack {}", dir.display()))?;
    let content = texts.join("\u{0}").into_bytes();
    Ok((pack, content))
}
