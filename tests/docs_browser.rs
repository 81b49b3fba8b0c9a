//! `/docs` in real headless Chromium over real TLS, driven through the DevTools
//! protocol: the page loads, every route's anchor is there, the served URL is
//! the server's, schemas fold, the search filters operations, nothing is
//! fetched besides the page, and nothing is logged to the console (its
//! inline script runs under the page's hash-only policy). With
//! `UPDATE_SCREENSHOT=1` it also rewrites docs/docs-screenshot.png. And a page
//! of the server's origin logs in by cookie as a browser app would.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use common::certs::TestCert;
use common::net;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve_runtime::server::Limits;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Headless Chromium with the flags the issue asks for, killed on drop.
struct Browser {
    child: Child,
    profile: std::path::PathBuf,
    /// The browser's DevTools WebSocket URL.
    endpoint: String,
}

impl Browser {
    /// None when chromium is not installed (CI installs it and must have it).
    fn launch(spki_pin: &str) -> Option<Browser> {
        // One profile per browser: two browsers on one profile refuse to start.
        static LAUNCHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = LAUNCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = std::env::temp_dir().join(format!("specserve-chromium-{}-{n}", std::process::id()));
        let spawned = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1100,1400",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            // Trust exactly the test server's key, nothing else.
            .arg(format!("--ignore-certificate-errors-spki-list={spki_pin}"))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(_) => {
                common::skip_unless_ci("chromium (apt-get install chromium)");
                return None;
            }
        };
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let endpoint = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("DevTools listening on ").map(str::to_owned))
            .expect("chromium prints its DevTools endpoint");
        // Keep draining stderr so chromium never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Some(Browser { child, profile, endpoint })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A DevTools protocol session on one page: commands by id, events kept in order.
struct Page {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    events: Vec<Value>,
}

impl Page {
    async fn open(endpoint: &str) -> Page {
        let (socket, _) = tokio_tungstenite::connect_async(endpoint).await.expect("DevTools connects");
        let mut page = Page { socket, session: String::new(), next_id: 0, events: Vec::new() };
        let target = page.command("Target.createTarget", json!({"url": "about:blank"})).await;
        let attached =
            page.command("Target.attachToTarget", json!({"targetId": target["targetId"], "flatten": true})).await;
        page.session = attached["sessionId"].as_str().unwrap().to_owned();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"] {
            page.command(domain, json!({})).await;
        }
        page
    }

    /// Sends a command (on the page's session once attached) and returns its result.
    async fn command(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = self.session.clone().into();
        }
        self.socket.send(Message::text(message.to_string())).await.unwrap();
        loop {
            let reply = self.receive().await;
            if reply["id"] == id {
                assert!(reply.get("error").is_none(), "{method} failed: {reply}");
                return reply["result"].clone();
            }
            self.events.push(reply);
        }
    }

    /// Waits for the event `method`, keeping every event seen on the way.
    async fn wait_for(&mut self, method: &str) {
        if self.events.iter().any(|e| e["method"] == method) {
            return;
        }
        loop {
            let event = self.receive().await;
            let found = event["method"] == method;
            self.events.push(event);
            if found {
                return;
            }
        }
    }

    async fn receive(&mut self) -> Value {
        loop {
            match self.socket.next().await.expect("DevTools stays connected").unwrap() {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                _ => continue,
            }
        }
    }

    async fn evaluate(&mut self, expression: &str) -> Value {
        let result = self.command("Runtime.evaluate", json!({"expression": expression, "returnByValue": true})).await;
        result["result"]["value"].clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_render_in_headless_chromium_with_every_anchor_and_no_console_errors() {
    let cert = TestCert::new();
    let Some(browser) = Browser::launch(&cert.spki_sha256) else { return };
    let (server, _) = net::start_with(Limits::default(), |config| config.tls = cert.tls()).await;
    let docs_url = server.url().replace("wss://", "https://").replace("/ws", "/docs");

    let mut page = Page::open(&browser.endpoint).await;
    page.command("Page.navigate", json!({"url": docs_url})).await;
    page.wait_for("Page.loadEventFired").await;

    let title = page.evaluate("document.title").await;
    assert!(title.as_str().is_some_and(|t| t.contains("specserve user API")), "title: {title}");
    let ids = page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)").await;
    let ids: Vec<&str> = ids.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let api = specserve_codegen::Api::from_yaml(specserve::ASYNCAPI_YAML).unwrap();
    for operation in &api.operations {
        let anchor = specserve_codegen::emit::docs::anchor(&operation.key);
        assert!(ids.contains(&anchor.as_str()), "no anchor #{anchor} for {}; ids: {ids:?}", operation.key);
        let linked = page.evaluate(&format!("!!document.querySelector('a[href=\"#{anchor}\"]')")).await;
        assert_eq!(linked, true, "the page links to #{anchor}");
    }
    // The URL to connect to is this server's, whatever host the document names.
    let here = page.evaluate("document.querySelector('code[data-path=\"/ws\"]')?.textContent ?? ''").await;
    assert_eq!(here.as_str(), Some(server.url().as_str()), "the served URL");
    // The document itself is one link away, beside the page.
    let raw = page.evaluate("!!document.querySelector('a[href=\"asyncapi.yaml\"]')").await;
    assert_eq!(raw, true, "the page links to the raw document");
    // Schemas and examples fold: fields open, examples closed.
    let folds = page
        .evaluate("[document.querySelectorAll('details[open]').length, document.querySelectorAll('details:not([open])').length]")
        .await;
    assert!(folds[0].as_u64().unwrap_or(0) > 0 && folds[1].as_u64().unwrap_or(0) > 0, "details: {folds}");
    // Search: typing keeps the operations every word of which matches, in the
    // sections and in the contents; clearing it shows them all again.
    let search = "(() => { const box = document.getElementById('search'); box.value = 'token revoke'; \
                  box.dispatchEvent(new Event('input')); \
                  return [...document.querySelectorAll('section.route[data-search]')].filter(s => !s.hidden).map(s => s.id); })()";
    let shown = page.evaluate(search).await;
    let revoke = specserve_codegen::emit::docs::anchor("tokenRevoke");
    assert_eq!(shown, json!([revoke]), "search for `token revoke`");
    let listed =
        page.evaluate("[...document.querySelectorAll('nav li[data-search]')].filter(li => !li.hidden).length").await;
    assert_eq!(listed, 1, "the contents follow the search");
    let cleared = "(() => { const box = document.getElementById('search'); box.value = ''; \
                   box.dispatchEvent(new Event('input')); \
                   return document.querySelectorAll('section.route[data-search]:not([hidden])').length; })()";
    assert_eq!(page.evaluate(cleared).await, api.operations.len(), "every operation again");
    // Laid out for a phone too: nothing wider than a 420 px viewport needs more than the page scrolls.
    let viewport = page.evaluate("document.querySelector('meta[name=viewport]')?.content ?? ''").await;
    assert!(viewport.as_str().unwrap_or_default().contains("width=device-width"), "viewport: {viewport}");

    let console: Vec<&Value> = page
        .events
        .iter()
        .filter(|e| {
            e["method"] == "Runtime.exceptionThrown"
                || e["method"] == "Runtime.consoleAPICalled"
                || (e["method"] == "Log.entryAdded" && e["params"]["entry"]["level"] != "verbose")
        })
        .collect();
    assert!(console.is_empty(), "console output: {console:#?}");
    let fetched: Vec<&str> = page
        .events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str())
        .collect();
    assert_eq!(fetched, vec![docs_url.as_str()], "the page fetches nothing but itself");

    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let shot = page.command("Page.captureScreenshot", json!({"format": "png"})).await;
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/docs-screenshot.png"), png).unwrap();
    }
    server.shutdown().await;
}

/// A browser page logs in with the cookie endpoint and talks over the
/// WebSocket with no token in sight: the page's scripts cannot read the
/// cookie, and the browser sends it with the upgrade from the allowed origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_logs_in_by_cookie_and_its_scripts_never_see_the_token() {
    let cert = TestCert::new();
    let Some(browser) = Browser::launch(&cert.spki_sha256) else { return };
    // The origin must be known before the server starts: take a free port first.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let origin = format!("https://127.0.0.1:{port}");
    let running = common::app::start_with(common::db::sqlite().await, common::app::test_config(), |config| {
        config.tls = cert.tls();
        config.listen = format!("127.0.0.1:{port}").parse().unwrap();
        config.allowed_origins = vec![origin.clone()];
    })
    .await;
    let alice =
        common::frames::Conn::open(&running).await.register("Alice", "alice@example.com", "SecretPass123").await;

    // A page of the origin without the docs' policy (which lets the docs
    // page itself connect nowhere): the app's own page would be like it.
    let mut page = Page::open(&browser.endpoint).await;
    page.command("Page.navigate", json!({"url": format!("{origin}/healthz")})).await;
    page.wait_for("Page.loadEventFired").await;
    let script = format!(
        r#"(async () => {{
            const login = await fetch('/auth/login', {{
                method: 'POST', headers: {{'Content-Type': 'application/json'}},
                body: JSON.stringify({{email: 'alice@example.com', password: 'SecretPass123'}})
            }});
            const body = await login.json();
            const ws = new WebSocket(`wss://${{location.host}}/ws`);
            const frames = [];
            let answered;
            const answer = new Promise(resolve => answered = resolve);
            ws.onmessage = e => {{
                const frame = JSON.parse(e.data);
                frames.push(frame);
                if (frame.channel === 'user/read') answered(frame);
            }};
            await new Promise((resolve, reject) => {{ ws.onopen = resolve; ws.onerror = reject; }});
            ws.send(JSON.stringify({{channel: 'user/read', payload: {{id: {alice}}}}}));
            const reply = await answer;
            ws.close();
            return {{status: login.status, body, visible: document.cookie, reply, first: frames[0]}};
        }})()"#
    );
    let result = page
        .command("Runtime.evaluate", json!({"expression": script, "awaitPromise": true, "returnByValue": true}))
        .await;
    let value = &result["result"]["value"];
    assert_eq!(value["status"], 200, "{result}");
    assert_eq!(value["body"]["userId"], alice, "{result}");
    assert_eq!(value["visible"], "", "httpOnly: scripts see no cookie");
    assert_eq!(value["reply"]["email"], "alice@example.com", "the cookie authenticated the frame: {result}");
    // Bound on its upgrade by the cookie, the socket was told so first.
    let first = &value["first"];
    assert_eq!(
        (&first["channel"], &first["session"]["userId"]),
        (&json!("session/welcome"), &json!(alice)),
        "{result}"
    );
    running.stop().await;
}
