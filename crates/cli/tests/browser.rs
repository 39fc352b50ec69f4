//! The control panel in a real browser: headless Chromium, driven through chromedriver, takes
//! the journeys a merchant takes — signing up, the dashboard, the transfer log, retrying a held
//! document, an API token, signing out and in again — and saves screenshots of the main pages
//! to docs/screenshots/ for the README.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); without them the
//! test fails and says so.

mod panel_world;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use ledgerlink::demo::CONNECTION;
use ledgerlink_store::DocState;
use panel_world::{
    api_get, booked_world, fietsen_order, give_connection, held_austrian_order, ShopsWorld,
};

const INSTALL: &str = "the browser test needs Chromium and chromedriver: \
     `apt-get install chromium chromium-driver` (Debian; .ci/run installs them)";

/// How long a page may take to appear after a click: generous, as two cores run many tests.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// A chromedriver of our own on a free port, ended with the test, browsers and all.
struct Chromedriver {
    process: Child,
    url: String,
}

impl Chromedriver {
    async fn start() -> Chromedriver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run chromedriver ({e}): {INSTALL}"));
        let mut driver = Chromedriver {
            process,
            url: format!("http://127.0.0.1:{port}"),
        };
        driver.wait_until_ready().await;
        driver
    }

    /// Polls chromedriver's status until it takes sessions.
    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = format!("{}/status", self.url);
        loop {
            if let Some(exit) = self.process.try_wait().unwrap() {
                panic!("chromedriver ended at once ({exit}): {INSTALL}");
            }
            if let Ok(response) = reqwest::get(&status).await {
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {status} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new headless Chromium whose page is 1280×900, the size of the screenshots.
    async fn open_browser(&self) -> Client {
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            },
        });
        let browser = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start Chromium ({e}): {INSTALL}"));
        // The window's size includes the browser's own bars, even headless.
        let bars = browser
            .execute(
                "return [outerWidth - innerWidth, outerHeight - innerHeight]",
                vec![],
            )
            .await
            .unwrap();
        let bar = |i: usize| u32::try_from(bars[i].as_u64().unwrap()).unwrap();
        browser
            .set_window_size(1280 + bar(0), 900 + bar(1))
            .await
            .unwrap();
        browser
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // A test that fails leaves its Chromium running, in chromedriver's process group.
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.process.wait();
    }
}

/// The panel as a person sees it: pages by address, fields by name, buttons and links by text.
struct Panel {
    browser: Client,
    base: String,
}

impl Panel {
    async fn open(&self, path: &str) {
        self.browser
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// Waits until the browser has arrived at `path` (with its query), after a click.
    async fn arrive(&self, path: &str) {
        let url = format!("{}{path}", self.base).parse().unwrap();
        if let Err(e) = self
            .browser
            .wait()
            .at_most(PAGE_TIMEOUT)
            .for_url(&url)
            .await
        {
            let now = self.browser.current_url().await.unwrap();
            let page = self.text("body").await;
            panic!("expected to arrive at {url} ({e}), the browser is at {now}: {page}");
        }
    }

    async fn find(&self, css: &str) -> Element {
        let found = self
            .browser
            .wait()
            .at_most(PAGE_TIMEOUT)
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => element,
            Err(e) => panic!("no {css} on the page ({e}): {}", self.text("body").await),
        }
    }

    async fn all(&self, css: &str) -> Vec<Element> {
        self.browser.find_all(Locator::Css(css)).await.unwrap()
    }

    async fn text(&self, css: &str) -> String {
        let element = self.browser.find(Locator::Css(css)).await.unwrap();
        element.text().await.unwrap()
    }

    async fn heading(&self) -> String {
        self.find("h1").await.text().await.unwrap()
    }

    async fn fill(&self, field: &str, value: &str) {
        let input = self.find(&format!("[name='{field}']")).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    async fn press(&self, button: &str) {
        let xpath = format!("//button[normalize-space()='{button}']");
        self.browser
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {button}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn follow(&self, link: &str) {
        self.browser
            .find(Locator::LinkText(link))
            .await
            .unwrap_or_else(|e| panic!("no link {link}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn buttons(&self, button: &str) -> usize {
        let xpath = format!("//button[normalize-space()='{button}']");
        self.browser
            .find_all(Locator::XPath(&xpath))
            .await
            .unwrap()
            .len()
    }

    /// The cells of each row of the page's table body.
    async fn rows(&self) -> Vec<Vec<String>> {
        self.rows_in("table").await
    }

    /// The cells of each row of the body of the tables `table` selects.
    async fn rows_in(&self, table: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for row in self.all(&format!("{table} tbody tr")).await {
            let mut cells = Vec::new();
            for cell in row.find_all(Locator::Css("td")).await.unwrap() {
                cells.push(cell.text().await.unwrap());
            }
            rows.push(cells);
        }
        rows
    }

    /// Saves what the window shows as docs/screenshots/`name`.png.
    async fn screenshot(&self, name: &str) {
        let png = self.browser.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test]
async fn a_merchant_takes_the_panels_journeys_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let world = booked_world(dir.path()).await;
    let store = world.engine.store().clone();
    let driver = Chromedriver::start().await;
    let panel = Panel {
        browser: driver.open_browser().await,
        base: world.server_url.clone(),
    };

    // Signing up through the form: the browser keeps the `__Host-`, `Secure` cookies over plain
    // HTTP because the panel is on this machine.
    panel.open("/signup").await;
    assert_eq!(panel.heading().await, "Create your ledgerlink account");
    panel.fill("account", "Bakkerij Jansen").await;
    panel.fill("email", "eva@bakkerij.nl").await;
    panel.fill("password", "correct horse battery").await;
    panel.screenshot("sign-up").await;
    panel.press("Create account").await;
    panel.arrive("/").await;
    let session = panel
        .browser
        .get_named_cookie("__Host-ledgerlink-session")
        .await
        .unwrap_or_else(|e| panic!("Chromium kept no session cookie from {}: {e}", panel.base));
    assert_eq!(
        (session.secure(), session.http_only()),
        (Some(true), Some(true))
    );
    assert_eq!(panel.heading().await, "Bakkerij Jansen");
    assert!(panel
        .text("main")
        .await
        .contains("No connection belongs to this account yet"));

    // The operator gives the demo shop to this account; the dashboard counts its documents.
    give_connection(&*store, CONNECTION, "eva@bakkerij.nl").await;
    let documents = store.documents(CONNECTION, None).await.unwrap();
    let count = |states: &[DocState]| {
        documents
            .iter()
            .filter(|d| states.contains(&d.state))
            .count()
            .to_string()
    };
    let held = store
        .documents(CONNECTION, Some(DocState::Held))
        .await
        .unwrap();
    assert_eq!(held.len(), 1, "the demo's export charged with VAT is held");
    panel.follow("Dashboard").await;
    panel.find("table.connections tbody tr").await;
    let now = chrono::Utc::now();
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let calls_today = store
        .audit_count(CONNECTION, "exact", midnight, now)
        .await
        .unwrap();
    assert!(calls_today > 0);
    assert_eq!(
        panel.rows_in("table.connections").await,
        vec![vec![
            CONNECTION.to_string(),
            count(&[DocState::Booked]),
            count(&[DocState::Held]),
            count(&[DocState::Waiting, DocState::Collecting]),
            "0".to_string(),
            count(&[DocState::Skipped]),
            calls_today.to_string(),
        ]]
    );
    let amounts = panel.rows_in("table.amounts").await;
    assert_eq!(amounts[0][0], "EUR", "{amounts:?}");
    panel.screenshot("dashboard").await;

    // The transfer log: every document, then only the held ones.
    panel.follow("Transfer log").await;
    panel.arrive("/documents").await;
    assert_eq!(panel.heading().await, "Transfer log");
    assert!(panel
        .text("main")
        .await
        .contains(&format!("{} document(s)", documents.len())));
    assert_eq!(panel.rows().await.len(), documents.len());
    panel.screenshot("transfer-log").await;
    let state = panel.find("select[name='state']").await;
    state.select_by_value("held").await.unwrap();
    panel.press("Filter").await;
    panel.arrive("/documents?connection=&state=held&q=").await;
    let rows = panel.rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], held[0].id.to_string());
    assert_eq!(rows[0][5], "held");

    // The held document says why; a retry queues it and the page says so.
    let reason = held[0].reason.clone().unwrap();
    panel.follow(&held[0].id.to_string()).await;
    panel.arrive(&format!("/documents/{}", held[0].id)).await;
    assert_eq!(panel.text("h1 .state").await, "held");
    assert_eq!(panel.text(".problem").await, reason);
    panel.screenshot("held-document").await;
    panel.press("Retry now").await;
    panel
        .arrive(&format!("/documents/{}?done=retry", held[0].id))
        .await;
    assert_eq!(
        panel.text("[role='status']").await,
        "Queued: the next worker round books it or says why not."
    );
    assert_eq!(panel.text("h1 .state").await, "received");
    assert_eq!(panel.buttons("Retry now").await, 0);
    // Its cause is still in the shop, so the next round holds it again, for the same reason.
    world.settle().await.unwrap();
    panel.browser.refresh().await.unwrap();
    assert_eq!(panel.text("h1 .state").await, "held");
    assert_eq!(panel.text(".problem").await, reason);
    assert!(panel.text("main").await.contains("retry asked by a person"));

    // An order held for a VAT code the rules lack: the code is chosen from Exact's own list on
    // the rules page, and saving retries the order, which is then booked.
    let austrian = held_austrian_order(&world).await;
    panel.open(&format!("/documents/{}", austrian.id)).await;
    panel.follow("Change the rules and retry").await;
    panel
        .arrive(&format!(
            "/connections/{CONNECTION}/rules?retry={}",
            austrian.id
        ))
        .await;
    assert_eq!(panel.heading().await, format!("Rules of {CONNECTION}"));
    panel.fill("new_vat_key", "oss/AT/20").await;
    let code = panel.find("select[name='new_vat_code']").await;
    code.select_by_value("OAT").await.unwrap();
    panel.screenshot("rules").await;
    panel.press("Save the rules").await;
    panel
        .arrive(&format!("/documents/{}?done=retry", austrian.id))
        .await;
    world.settle().await.unwrap();
    panel.browser.refresh().await.unwrap();
    assert_eq!(panel.text("h1 .state").await, "booked");
    let in_force = world.engine.connection(CONNECTION).unwrap().settings.get();
    assert_eq!(in_force.vat_codes["oss/AT/20"], "OAT");
    let from_file = world.engine.connection(CONNECTION).unwrap();
    assert_eq!(
        in_force.triggers,
        from_file.settings.from_file().triggers,
        "the statuses the form showed were sent back as they were"
    );
    assert_eq!(in_force.accounts, from_file.settings.from_file().accounts);

    // An API token, read from the page, opens the API.
    panel.follow("API tokens").await;
    panel.arrive("/tokens").await;
    panel.fill("name", "boekhouder").await;
    panel.press("Make a token").await;
    let token = panel.find("code.token").await.text().await.unwrap();
    assert!(token.starts_with("llk_"), "{token}");
    assert_eq!(panel.rows().await[0][0], "boekhouder");
    panel.screenshot("api-tokens").await;
    let connections = api_get(format!("{}/api/v1/connections", world.server_url), &token).await;
    assert_eq!(connections[0]["id"], CONNECTION);

    // Signing out leads to the sign-in form, and the panel stays closed until signed in again.
    panel.press("Sign out").await;
    panel.arrive("/signin").await;
    assert_eq!(panel.heading().await, "Sign in");
    panel.open("/documents").await;
    panel.arrive("/signin").await;
    panel.fill("email", "eva@bakkerij.nl").await;
    panel.fill("password", "correct horse battery").await;
    panel.press("Sign in").await;
    panel.arrive("/").await;
    assert_eq!(panel.heading().await, "Bakkerij Jansen");

    panel.browser.close().await.unwrap();
}

#[tokio::test]
async fn a_merchant_adds_a_shop_connects_exact_sets_the_rules_and_goes_live_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let ShopsWorld {
        world,
        shop,
        shop_url,
        key: _,
        _shop_running,
    } = ShopsWorld::start(dir.path()).await;
    let store = world.engine.store().clone();
    let driver = Chromedriver::start().await;
    let panel = Panel {
        browser: driver.open_browser().await,
        base: world.server_url.clone(),
    };
    panel.open("/signup").await;
    panel.fill("account", "Fietsen BV").await;
    panel.fill("email", "jan@fietsen.nl").await;
    panel.fill("password", "another long password").await;
    panel.press("Create account").await;
    panel.arrive("/").await;

    // Add the shop with its REST API key.
    panel.follow("Connections").await;
    panel.arrive("/connections").await;
    panel.fill("name", "Fietsen Jansen").await;
    panel.fill("url", &shop_url).await;
    panel
        .fill("consumer_key", &shop.config().consumer_key)
        .await;
    panel
        .fill("consumer_secret", &shop.config().consumer_secret)
        .await;
    panel.screenshot("add-shop").await;
    panel.press("Add the shop").await;
    let deadline = Instant::now() + PAGE_TIMEOUT;
    let kept = loop {
        let kept = store.panel_connections().await.unwrap();
        if !kept.is_empty() || Instant::now() > deadline {
            break kept;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let id = kept[0].connection_id.as_str();
    assert!(id.starts_with("fietsen-jansen-"), "{id}");
    panel.arrive(&format!("/connections#{id}")).await;
    let main = panel.text("main").await;
    assert!(main.contains("Not live yet"), "{main}");
    assert!(main.contains("Connect Exact Online first."), "{main}");

    // Connect Exact Online: Exact approves and sends the browser to the app's registered
    // redirect URI, which in this world is not ledgerlink's address: go there by hand.
    panel.press("Connect Exact Online").await;
    let deadline = Instant::now() + PAGE_TIMEOUT;
    let at = loop {
        let at = panel.browser.current_url().await.unwrap();
        if at.as_str().contains("/oauth/exact/callback?") {
            break at;
        }
        assert!(
            Instant::now() < deadline,
            "Exact did not send the browser back: {at}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    panel
        .open(&format!("/oauth/exact/callback?{}", at.query().unwrap()))
        .await;
    assert!(panel
        .text("body")
        .await
        .contains("Exact Online is connected as"));

    // The rules: book at Completed only, chosen from the shop's statuses.
    panel.open(&format!("/connections/{id}/rules")).await;
    for status in ["processing", "refunded"] {
        panel
            .find(&format!("input[name='trigger'][value='{status}']"))
            .await
            .click()
            .await
            .unwrap();
    }
    panel.screenshot("rules-new-shop").await;
    panel.press("Save the rules").await;
    panel
        .arrive(&format!("/connections/{id}/rules?saved=1"))
        .await;
    let in_force = world.engine.connection(id).unwrap().settings.get();
    assert_eq!(in_force.triggers, ["completed"]);

    // A test run: a completed order would be booked, a processing one not yet.
    let completed = fietsen_order(&shop, "joris@example.nl");
    shop.set_status(completed, "completed");
    fietsen_order(&shop, "anna@example.nl");
    let today = chrono::Utc::now().date_naive();
    panel
        .open(&format!(
            "/connections/{id}/dry-run?from={}&until={}",
            today - chrono::Duration::days(1),
            today + chrono::Duration::days(2)
        ))
        .await;
    let main = panel.text("main").await;
    assert!(
        main.contains("2 document(s) in the period: 1 would be booked"),
        "{main}"
    );
    panel.screenshot("test-run").await;

    // Go live: the next order events are taken in and booked.
    panel.open("/connections").await;
    panel.press("Go live").await;
    panel.arrive(&format!("/connections#{id}")).await;
    assert!(panel.text("main").await.contains("Live since"));
    world.engine.sweep(id).await.unwrap();
    world.engine.run_until_idle(50).await.unwrap();
    let booked = store.documents(id, Some(DocState::Booked)).await.unwrap();
    assert_eq!(booked.len(), 1, "the completed order only");
    assert_eq!(booked[0].source_id, completed.to_string());
    panel
        .open(&format!("/documents?connection={id}&state=booked&q="))
        .await;
    let rows = panel.rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][5], "booked");

    panel.browser.close().await.unwrap();
}
