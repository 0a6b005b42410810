//! Every screen of the real app under Xvfb, checked in Vietnamese and in English: axe-core
//! (WCAG 2.0/2.1/2.2 A and AA) finds nothing; every control is large enough to tap; at 320
//! CSS px wide and with text at 200 % nothing needs horizontal scrolling; the keyboard
//! reaches every control of a screen with a visible focus; status messages are live regions;
//! `<html lang>` follows the language; also in the dark scheme with reduced motion, where
//! nothing moves. A new screen gets every check by adding one line to `SCREENS`, and a test
//! fails when a screen of the UI's router is not visited.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use citizen_e2e::{
    Display, Driver, GatewayProcess, a11y, binary, click, click_to, element, free_port, quit, root,
    wait_text,
};
use fantoccini::Client;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};

/// One app at a time: two WebKit pages running axe-core at once on two cores starve each
/// other (a page taken for hung, a window that loses the keyboard).
static ONE_APP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The screens reached from the home screen: the tile to tap and the screen's root.
const SCREENS: &[(&str, &str)] = &[
    ("#go-map", "#map"),
    ("#go-explore", "#explore"),
    ("#go-wifi", "#wifi"),
    ("#go-salinity", "#salinity"),
    ("#go-services", "#services"),
    ("#go-reports", "#reports"),
];

#[derive(Clone, Copy)]
enum Checks {
    /// axe-core and target sizes.
    Rules,
    /// Nothing wider than the window.
    Reflow,
}

/// Runs `checks` on the screen as it is; each problem is prefixed with `[pass] what`.
async fn check(
    app: &Client,
    checks: Checks,
    (pass, what): (&str, &str),
    found: &mut Vec<String>,
) -> Result<()> {
    let state = format!("[{pass}] {what}");
    // Let the screen's data arrive and render.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let problems = match checks {
        Checks::Rules => {
            let mut all = a11y::violations(app).await?;
            all.extend(a11y::small_targets(app).await?);
            all.extend(a11y::faint_controls(app).await?);
            // The keyboard's path does not change with the language: once per scheme.
            if pass != "en" {
                keyboard(app, &mut all).await?;
            }
            all
        }
        Checks::Reflow => a11y::overflow(app).await?,
    };
    found.extend(problems.into_iter().map(|p| format!("{state}: {p}")));
    Ok(())
}

/// Visits every screen and state worth checking, running `checks` on each; the screens'
/// roots visited.
async fn every_screen(
    app: &Client,
    checks: Checks,
    pass: &str,
    found: &mut Vec<String>,
) -> Result<Vec<&'static str>> {
    let mut visited = vec!["#home"];
    element(app, "#home .city-name").await?;
    check(app, checks, (pass, "home"), found).await?;
    // Search, with results: "vinh trang" finds Chùa Vĩnh Tràng first.
    element(app, "#search")
        .await?
        .send_keys("vinh trang")
        .await?;
    let first = element(app, "#search-results li.found").await?;
    if first.attr("data-id").await?.as_deref() != Some("mt-chua-vinh-trang") {
        found.push(format!(
            "[{pass}] search: \"vinh trang\" does not find Chùa Vĩnh Tràng first"
        ));
    }
    check(app, checks, (pass, "home with search results"), found).await?;
    // Its details sheet: names, kind, address, distance on foot.
    click(app, "#search-results li.found button").await?;
    element(app, "#details #details-distance").await?;
    check(app, checks, (pass, "#details"), found).await?;
    visited.push("#details");
    click(app, "#back").await?;
    element(app, "#home .city-name").await?;
    element(app, "#search").await?.clear().await?;
    app.execute(
        "const s = document.querySelector('#search');
         s.dispatchEvent(new Event('input', { bubbles: true })); return true;",
        vec![],
    )
    .await?;
    for (tile, screen) in SCREENS {
        click(app, tile).await?;
        element(app, screen).await?;
        check(app, checks, (pass, screen), found).await?;
        visited.push(screen);
        click(app, "#back").await?;
        element(app, "#home").await?;
    }
    // A place's details sheet opens from its list too.
    click(app, "#go-explore").await?;
    click(app, "#place-list li.place button").await?;
    element(app, "#details #details-address").await?;
    click(app, "#back").await?;
    element(app, "#home").await?;
    // And a hotspot's, with its network.
    click(app, "#go-wifi").await?;
    click(app, "#wifi li.hotspot button").await?;
    element(app, "#details #details-ssid").await?;
    click(app, "#back").await?;
    element(app, "#home").await?;
    // A sent report's details and handling.
    click(app, "#go-reports").await?;
    click(app, ".my-report[data-delivery=\"sent\"] button.link").await?;
    element(app, "#report #timeline li").await?;
    element(app, "#report img.photo").await?;
    check(app, checks, (pass, "#report"), found).await?;
    // Its photo says what and where (WCAG 1.1.1), in the current language.
    let alt = app
        .execute(
            "return document.querySelector('#report img.photo').getAttribute('alt') || '';",
            vec![],
        )
        .await?;
    let heading = app
        .execute(
            "return document.querySelector('#report h2').textContent;",
            vec![],
        )
        .await?;
    if !alt
        .as_str()
        .zip(heading.as_str())
        .is_some_and(|(a, h)| !h.is_empty() && a.contains(h))
    {
        found.push(format!(
            "[{pass}] #report: the photo's text {alt} does not say {heading}"
        ));
    }
    visited.push("#report");
    click(app, "#back").await?;
    element(app, "#reports").await?;
    click(app, "#back").await?;
    element(app, "#home").await?;
    // A report being written, with the error of a send without a category shown.
    click(app, "#go-reports").await?;
    click(app, "#new-report").await?;
    element(app, "#compose").await?;
    click(app, "#send-report").await?;
    element(app, "#compose .error").await?;
    check(app, checks, (pass, "#compose with an error"), found).await?;
    visited.push("#compose");
    click(app, "details.contact summary").await?;
    element(app, "#report-name").await?;
    check(app, checks, (pass, "#compose, contact open"), found).await?;
    click(app, "#back").await?;
    element(app, "#reports").await?;
    check(app, checks, (pass, "#reports with a draft"), found).await?;
    click(app, "#back").await?;
    element(app, "#home").await?;
    // A procedure, an application with the problems of a send too early, and a dossier.
    click(app, "#go-services").await?;
    click_to(
        app,
        "#catalogue li.procedure[data-id=\"birth-registration\"] button",
        "#procedure #procedure-documents",
    )
    .await?;
    check(app, checks, (pass, "#procedure"), found).await?;
    visited.push("#procedure");
    click_to(app, "#apply-online", "#apply .application").await?;
    click(app, "#send-application").await?;
    element(app, "#apply-problems").await?;
    check(app, checks, (pass, "#apply with its problems"), found).await?;
    visited.push("#apply");
    click(app, "#back").await?;
    click_to(
        app,
        "#my-dossiers li.dossier button",
        "#dossier #dossier-status",
    )
    .await?;
    check(app, checks, (pass, "#dossier waiting"), found).await?;
    visited.push("#dossier");
    click(app, "#back").await?;
    element(app, "#services").await?;
    click(app, "#back").await?;
    element(app, "#home").await?;
    Ok(visited)
}

/// The screens of the UI's router (`enum Page` in `ui/src/app.rs`), as the roots their pages
/// render (`Page::Wifi` → `#wifi`).
fn router_screens() -> Result<Vec<String>> {
    let app = std::fs::read_to_string(root().join("ui/src/app.rs"))?;
    let start = app
        .find("pub enum Page {")
        .ok_or_else(|| anyhow::anyhow!("no enum Page in ui/src/app.rs"))?;
    let end = start + app[start..].find('}').unwrap_or(0);
    Ok(app[start..end]
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(|l| {
            let name: String = l.chars().take_while(|c| c.is_alphanumeric()).collect();
            format!("#{}", name.to_lowercase())
        })
        .collect())
}

/// A report and an application waiting on the device when the app starts, so the report and
/// dossier screens have one.
async fn a_waiting_report(data_dir: &std::path::Path) -> Result<()> {
    citizen_e2e::phone_with_a_waiting_report(data_dir, "Đèn đường hỏng trước trường", true).await?;
    citizen_e2e::phone_with_a_waiting_application(data_dir).await
}

/// Tabs through the screen: every control is reached, each with a visible focus.
async fn keyboard(app: &Client, found: &mut Vec<String>) -> Result<()> {
    // Each visible control gets a number; Tab then says which one it reached.
    let controls = app
        .execute(
            "const controls = [...document.querySelectorAll('button, a[href], input, select, textarea, summary')]
               .filter(el => el.getBoundingClientRect().width > 0 && !el.disabled
                 && !el.closest('details:not([open]) > :not(summary)'));
             controls.forEach((el, i) => el.dataset.kb = String(i));
             return controls.map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} \"${el.textContent.trim().slice(0, 30)}\"`);",
            vec![],
        )
        .await?;
    let controls: Vec<String> = controls
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut reached = std::collections::BTreeSet::new();
    // Focusable things that are not controls (a map's canvas and its links) also take a Tab.
    for _ in 0..(controls.len() + 6) {
        // One key at a time, as a person types: a burst of keys on a long list under a
        // software renderer was taken by the driver for a hung page.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let tab = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: '\u{E004}' })
            .then(KeyAction::Up { value: '\u{E004}' });
        app.perform_actions(tab).await?;
        // Sent back as JSON text: WebKit's driver cannot always hand back a page object.
        let script = format!(
            "{} {}",
            a11y::CONTRAST_JS,
            "const el = document.activeElement;
             if (!el || el === document.body) return 'null';
             const style = getComputedStyle(el);
             // Drawn, at least 2 px, and 3:1 against what is around the control (1.4.11).
             const visible = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
               && contrast(style.outlineColor, behind(el.parentElement)) >= 3;
             return JSON.stringify({ kb: el.dataset ? (el.dataset.kb ?? null) : null,
                                     what: String(el.id || el.tagName).toLowerCase(), visible });"
        );
        let answer = app.execute(&script, vec![]).await?;
        let focused: serde_json::Value =
            serde_json::from_str(answer.as_str().unwrap_or("null")).unwrap_or_default();
        if focused.is_null() {
            continue;
        }
        if focused["visible"] != serde_json::Value::Bool(true) {
            found.push(format!(
                "keyboard: the focus on {} is not visible",
                focused["what"]
            ));
        }
        if let Some(kb) = focused["kb"].as_str().and_then(|k| k.parse::<usize>().ok()) {
            reached.insert(kb);
        }
    }
    for (i, control) in controls.iter().enumerate() {
        if !reached.contains(&i) {
            found.push(format!("keyboard: Tab never reaches {control}"));
        }
    }
    Ok(())
}

async fn html_lang(app: &Client) -> Result<String> {
    Ok(app
        .execute("return document.documentElement.lang;", vec![])
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// A gateway and the app under Xvfb on a phone in `dir` with a waiting report, the app's
/// environment extended by `env`.
async fn start(
    dir: &std::path::Path,
    env: &[(&str, String)],
) -> Result<(GatewayProcess, Display, Driver)> {
    a_waiting_report(&dir.join("app")).await?;
    let gateway = GatewayProcess::start("debug", &dir.join("gateway.db"), free_port()?)?;
    let display = Display::get()?;
    let mut all = vec![
        ("CITIZEN_GATEWAY_URL", gateway.url()),
        ("CITIZEN_DATA_DIR", dir.join("app").display().to_string()),
        ("CITIZEN_SYNC_INTERVAL_SECS", "1".to_owned()),
    ];
    all.extend(env.iter().cloned());
    let driver = Driver::start(&display, binary("citizen-app", "debug")?, &all)?;
    Ok((gateway, display, driver))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_is_usable_by_everyone_in_both_languages() -> Result<()> {
    let _one = ONE_APP.lock().await;
    let tmp = tempfile::tempdir()?;
    let (mut gateway, _display, driver) = start(tmp.path(), &[]).await?;
    let app = driver.session().await?;
    let shots = root().join("target/e2e");
    std::fs::create_dir_all(&shots)?;
    let mut found = Vec::new();

    // The report is sent; the notice of its routing shows on the home screen.
    element(&app, "#notice").await?;
    // The keyboard operates what it reaches: Enter on a tile opens its screen.
    app.execute(
        "document.querySelector('#go-wifi').focus(); return true;",
        vec![],
    )
    .await?;
    let enter = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: '\u{E007}' })
        .then(KeyAction::Up { value: '\u{E007}' });
    app.perform_actions(enter).await?;
    element(&app, "#wifi").await?;
    click(&app, "#back").await?;
    let visited = every_screen(&app, Checks::Rules, "vi", &mut found)
        .await
        .context("the vi pass")?;
    for screen in router_screens()? {
        if !visited.contains(&screen.as_str()) {
            found.push(format!("the screen {screen} of the router is not checked"));
        }
    }
    if html_lang(&app).await? != "vi" {
        found.push("<html lang> is not vi".into());
    }
    // Status messages are live regions (WCAG 4.1.3): the sync state, a report's status
    // change, a report's delivery line.
    let live = "return arguments[0].filter(css => { const el = document.querySelector(css);
                  return !el || el.getAttribute('role') !== 'status'; });";
    let on_home = app
        .execute(live, vec![serde_json::json!(["#sync-status", "#notice"])])
        .await?;
    click(&app, "#go-reports").await?;
    element(&app, ".my-report .delivery").await?;
    let on_reports = app
        .execute(live, vec![serde_json::json!([".my-report .delivery"])])
        .await?;
    for not_live in [on_home, on_reports] {
        if not_live.as_array().is_some_and(|n| !n.is_empty()) {
            found.push(format!("not live regions: {not_live}"));
        }
    }
    click(&app, "#back").await?;
    element(&app, "#home").await?;

    click(&app, "#lang-switch").await?;
    wait_text(&app, "header h1", "Citizen").await?;
    if html_lang(&app).await? != "en" {
        found.push("<html lang> does not follow the switch to English".into());
    }
    every_screen(&app, Checks::Rules, "en", &mut found)
        .await
        .context("the en pass")?;

    // Reflow: 320 CSS px wide (WCAG 1.4.10).
    app.set_window_size(320, 720).await?;
    let width = app
        .execute("return document.documentElement.clientWidth;", vec![])
        .await?;
    if width.as_u64().is_none_or(|w| w > 320) {
        bail!("the window did not narrow to 320 CSS px: {width}");
    }
    every_screen(&app, Checks::Reflow, "320 px", &mut found)
        .await
        .context("the 320 px pass")?;
    app.execute("window.scrollTo(0, 0); return true;", vec![])
        .await?;
    std::fs::write(shots.join("narrow-320.png"), app.screenshot().await?)?;

    // Text at 200 % (WCAG 1.4.4), on a phone-sized window.
    app.set_window_size(400, 800).await?;
    app.execute(
        "document.documentElement.style.fontSize = '200%'; return true;",
        vec![],
    )
    .await?;
    every_screen(&app, Checks::Reflow, "text 200 %", &mut found)
        .await
        .context("the text 200 % pass")?;
    app.execute("window.scrollTo(0, 0); return true;", vec![])
        .await?;
    std::fs::write(shots.join("text-200.png"), app.screenshot().await?)?;
    app.execute(
        "document.documentElement.style.fontSize = ''; return true;",
        vec![],
    )
    .await?;

    // Offline: the status line says so, and still passes.
    app.set_window_size(430, 880).await?;
    gateway.stop();
    element(&app, "#sync-status[data-state=\"offline\"]").await?;
    check(&app, Checks::Rules, ("en", "home offline"), &mut found).await?;

    quit(app).await?;
    if !found.is_empty() {
        bail!(
            "{} accessibility problems:\n{}",
            found.len(),
            found.join("\n")
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_is_usable_in_the_dark_scheme_with_reduced_motion() -> Result<()> {
    let _one = ONE_APP.lock().await;
    let tmp = tempfile::tempdir()?;
    // The desktop asks for no animations: WebKitGTK then reports prefers-reduced-motion.
    let gtk = tmp.path().join("config/gtk-3.0");
    std::fs::create_dir_all(&gtk)?;
    std::fs::write(
        gtk.join("settings.ini"),
        "[Settings]\ngtk-enable-animations=false\n",
    )?;
    let dark = [
        // The desktop's dark theme: WebKitGTK then reports prefers-color-scheme: dark.
        ("GTK_THEME", "Adwaita:dark".to_owned()),
        (
            "XDG_CONFIG_HOME",
            tmp.path().join("config").display().to_string(),
        ),
    ];
    let (gateway, _display, driver) = start(tmp.path(), &dark).await?;
    let app = driver.session().await?;
    element(&app, "#home .city-name").await?;
    let dark = app
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches;",
            vec![],
        )
        .await?;
    if dark != serde_json::Value::Bool(true) {
        bail!("the dark scheme could not be switched on for the test");
    }
    let shots = root().join("target/e2e");
    std::fs::create_dir_all(&shots)?;
    std::fs::write(shots.join("dark.png"), app.screenshot().await?)?;
    let reduced = app
        .execute(
            "return matchMedia('(prefers-reduced-motion: reduce)').matches;",
            vec![],
        )
        .await?;
    if reduced != serde_json::Value::Bool(true) {
        bail!("reduced motion could not be switched on for the test");
    }
    let mut found = Vec::new();
    every_screen(&app, Checks::Rules, "dark", &mut found)
        .await
        .context("the dark pass")?;
    // Nothing moves: no element keeps an animation or a transition (WCAG 2.3.3).
    let moving = app
        .execute(
            "return [...document.querySelectorAll('*')].filter(el => {
               const s = getComputedStyle(el);
               const long = v => v.split(',').some(d => parseFloat(d) > 0);
               return (s.animationName !== 'none' && long(s.animationDuration)) || long(s.transitionDuration);
             }).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className).slice(0, 10);",
            vec![],
        )
        .await?;
    if moving.as_array().is_some_and(|m| !m.is_empty()) {
        found.push(format!("reduced motion: still moving: {moving}"));
    }
    quit(app).await?;
    drop(gateway);
    if !found.is_empty() {
        bail!(
            "{} accessibility problems:\n{}",
            found.len(),
            found.join("\n")
        );
    }
    Ok(())
}
