//! The accessibility checks the end-to-end tests run on every screen: Deque's axe-core (from
//! npm, installed by `cargo xtask setup`) injected into the app through WebDriver, against the
//! WCAG 2.0, 2.1 and 2.2 level A and AA rules; and what axe cannot see, measured in the page:
//! horizontal overflow (reflow, 1.4.10 and 1.4.4), target sizes (2.5.8) and the contrast
//! of control boundaries and focus indicators (1.4.11, 3:1).

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

/// Elements wider than the viewport or a page that scrolls sideways (WCAG 1.4.10 reflow,
/// 1.4.4 resize text), one line each; empty when the screen reflows.
pub async fn overflow(client: &Client) -> Result<Vec<String>> {
    let found = client
        .execute(
            "const width = document.documentElement.clientWidth;
             const out = [];
             if (document.documentElement.scrollWidth > width + 1) {
               out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width} px`);
             }
             for (const el of document.querySelectorAll('body *')) {
               const r = el.getBoundingClientRect();
               if (r.width > 0 && r.right > width + 1 && !el.closest('.maplibregl-map')) {
                 out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className} ends at ${Math.round(r.right)} > ${width} px`);
               }
             }
             return out.slice(0, 20);",
            vec![],
        )
        .await?;
    strings(&found)
}

/// Controls smaller than 24 × 24 CSS px, or main actions (`.primary`, `.tile`, the header's
/// buttons, the filters) smaller than 44 × 44 (WCAG 2.5.8, and 2.5.5 for the main ones).
pub async fn small_targets(client: &Client) -> Result<Vec<String>> {
    let found = client
        .execute(
            "const main = '.primary, .tile, header.bar button, .chips button, .notice button.close';
             const out = [];
             for (const el of document.querySelectorAll('button, a[href], input, select, textarea, summary, [role=button]')) {
               const r = el.getBoundingClientRect();
               if (r.width === 0 && r.height === 0) continue;
               if (el.closest('details:not([open]) > :not(summary)')) continue;
               const least = el.matches(main) ? 44 : 24;
               if (r.width < least - 0.5 || r.height < least - 0.5) {
                 out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className} is ${Math.round(r.width)}×${Math.round(r.height)}, not ${least}×${least}`);
               }
             }
             return out;",
            vec![],
        )
        .await?;
    strings(&found)
}

fn strings(value: &serde_json::Value) -> Result<Vec<String>> {
    Ok(value
        .as_array()
        .context("a list from the page")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}

/// Page functions for WCAG's contrast ratio (the relative luminance of WCAG 2.2's
/// definitions): `contrast(a, b)` of two computed colours, and `behind(el)`, the first opaque
/// background at or above an element.
pub const CONTRAST_JS: &str = "
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).slice(0, 3).map(v => v / 255)
      .map(v => v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const opaque = c => { const v = rgb(c); return v.length < 4 || v[3] > 0.5; };
  const behind = el => { for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor; if (opaque(c) && rgb(c).length) return c; }
    return getComputedStyle(document.documentElement).backgroundColor || 'rgb(255,255,255)'; };
";

/// Form fields whose boundary is below 3:1 against what is behind them (WCAG 1.4.11
/// non-text contrast); a field with a filled background may count that instead. Buttons are
/// told by their text, covered by the text contrast rule.
pub async fn faint_controls(client: &Client) -> Result<Vec<String>> {
    let found = client
        .execute(
            &format!(
                "{CONTRAST_JS}
                 const out = [];
                 for (const el of document.querySelectorAll('input:not([type=file]):not([type=checkbox]), select, textarea')) {{
                   const r = el.getBoundingClientRect();
                   if (r.width === 0 || el.closest('details:not([open]) > :not(summary)')) continue;
                   const s = getComputedStyle(el);
                   const around = behind(el.parentElement);
                   const fill = s.backgroundColor;
                   const edge = parseFloat(s.borderTopWidth) > 0 ? s.borderTopColor : null;
                   const best = Math.max(edge ? contrast(edge, around) : 0,
                                         opaque(fill) && rgb(fill).length ? contrast(fill, around) : 0);
                   if (best < 3) out.push(`${{el.tagName.toLowerCase()}}${{el.id ? '#' + el.id : ''}}.${{el.className}}: boundary ${{best.toFixed(2)}}:1`);
                 }}
                 return out;"
            ),
            vec![],
        )
        .await?;
    strings(&found)
}
