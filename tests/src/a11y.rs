//! The accessibility check the end-to-end tests run on every screen: Deque's axe-core (from
//! npm, installed by `cargo xtask setup`) injected into the app through WebDriver, against the
//! WCAG 2.0, 2.1 and 2.2 level A and AA rules.

use anyhow::{Context as _, Result, bail};
use fantoccini::Client;

use crate::root;

/// The axe-core rule tags checked: WCAG 2.0, 2.1 and 2.2, levels A and AA.
pub const WCAG_AA: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

fn axe_source() -> Result<String> {
    let path = root().join("target/tools/npm/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `cargo xtask setup`)", path.display()))
}

/// Every WCAG A/AA violation axe-core finds in the app's page as it is now, one line each:
/// the rule, its impact, what it says, and the elements (CSS selectors).
pub async fn violations(client: &Client) -> Result<Vec<String>> {
    let loaded = client
        .execute("return typeof window.axe !== 'undefined';", vec![])
        .await?;
    if loaded != serde_json::Value::Bool(true) {
        client
            .execute(&format!("{}\nreturn true;", axe_source()?), vec![])
            .await
            .context("injecting axe-core")?;
    }
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const tags = arguments[0];
             window.axe.run(document, { runOnly: { type: 'tag', values: tags } })
               .then(r => done({ ok: r.violations.map(v =>
                   `${v.id} (${v.impact}): ${v.help} — ` +
                   v.nodes.map(n => n.target.join(' ')).join(', ')) }))
               .catch(e => done({ error: String(e) }));",
            vec![serde_json::json!(WCAG_AA)],
        )
        .await?;
    if let Some(error) = found.get("error") {
        bail!("axe-core failed: {error}");
    }
    Ok(found["ok"]
        .as_array()
        .context("axe-core's answer")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}
