import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { getJson, multipart, nodeBody, send, startTemp, submitUrl, tempDir, type TempReceiver } from "./helpers.js";

const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"];
const script = "<script>window.__xss=1</script>";
const img = "<img src=x onerror=window.__xss=1>";
const shots = tempDir();

let t: TempReceiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;

function body(funcs: string[], attributes: Record<string, unknown> = {}, classifier = "TypeError"): Record<string, any> {
  const b = nodeBody({ classifiers: [classifier] });
  b["threads"].main.stack = funcs.map((funcName, i) => ({ funcName, library: `/srv/shop/dist/${funcName}.js`, line: 10 + i, column: 3 }));
  b["attributes"] = { ...b["attributes"], ...attributes };
  return b;
}

async function post(report: Record<string, unknown>, query = ""): Promise<string> {
  const reply = await send(`${submitUrl(t.url)}${query}`, JSON.stringify(report));
  assert.equal(reply.status, 200, reply.text);
  return reply.json._rxid;
}

async function shoot(name: string): Promise<void> {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  process.stdout.write(`# screenshot: ${path}\n`);
}

/** The page fits its viewport: nothing wider than the window, so there is no sideways scrolling. */
async function scrollWidth(): Promise<number> {
  return page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number);
}

before(async () => {
  t = await startTemp();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  // Nothing but the receiver: any other request fails instead of leaving the machine.
  await page.route("**/*", (route) => (route.request().url().startsWith(t.url) ? route.continue() : route.abort()));
});

after(async () => {
  await browser?.close();
  await t?.receiver.close();
});

describe("triage in Chromium", () => {
  test("the group list searches, filters one attribute at a time, sorts, separates messages, and draws sparklines from stored counts", async () => {
    await post(body(["chargeCard", "checkout", "handle"], { "application.version": "2.4.1", hostname: "web-1", "error.message": "card declined for order 7" }));
    await post(body(["chargeCard", "checkout", "handle"], { "application.version": "2.5.0", hostname: "web-2", "error.message": "card declined for order 8" }), "&_mod_duplicate=4");
    await post(body(["loadCart", "checkout", "handle"], { "application.version": "2.5.0", hostname: "web-1", "error.message": "cart is empty" }, "RangeError"));
    await post(body(["audit"], { "error.type": "Message", "error.message": "nightly audit finished" }, "Message"));

    await page.goto(`${t.url}/`);
    const rows = page.locator("table.groups tbody tr");
    assert.equal(await rows.count(), 2);
    const card = rows.filter({ hasText: "card declined" });
    assert.equal(await card.locator("td.count").textContent(), "5");
    assert.equal(await card.locator(".message").textContent(), "card declined for order 8");
    assert.deepEqual(await card.locator(".versions .tag").allTextContents(), ["2.5.0", "2.4.1"]);
    // The sparkline's bars come from the stored occurrences: 1 + 4 in the last bucket.
    const counts = (await card.locator("svg.spark").getAttribute("data-counts"))!.split(",").map(Number);
    assert.equal(counts.length, 24);
    assert.equal(counts.reduce((a, b) => a + b, 0), 5);
    assert.equal(counts[23], 5);
    assert.equal(await card.locator("svg.spark rect").last().getAttribute("height"), "24.0");
    assert.equal(await page.locator(".tab.active").textContent(), "Errors 2");

    await page.getByRole("link", { name: /^Messages/ }).click();
    await page.waitForURL(/kind=message/);
    assert.deepEqual(await page.locator("table.groups tbody tr .message").allTextContents(), ["nightly audit finished"]);
    await page.goto(`${t.url}/`);

    await page.getByRole("link", { name: "count" }).click();
    await page.waitForURL(/sort=count/);
    assert.match((await rows.first().textContent()) ?? "", /card declined/);

    await page.fill('input[name="q"]', "empty");
    await page.fill('input[name="attr"]:not([type=hidden])', "hostname:web-1");
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/q=empty/);
    assert.equal(await rows.count(), 1);
    assert.match((await rows.first().textContent()) ?? "", /cart is empty/);
    await page.fill('input[name="attr"]:not([type=hidden])', "application.version:2.5.0");
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/2\.5\.0/);
    assert.equal(await page.locator(".chips .chip").count(), 3);
    assert.equal(await rows.count(), 1);
    await shoot("group-list-filtered");

    // Removing the search keeps both attribute filters; removing hostname then leaves the version alone.
    await page.getByRole("link", { name: "remove the search" }).click();
    await page.waitForURL((url) => !url.searchParams.has("q"));
    assert.deepEqual(await page.locator(".chips .chip code").allTextContents(), ["hostname:web-1", "application.version:2.5.0"]);
    assert.equal(await rows.count(), 1);
    await page.getByRole("link", { name: "remove filter hostname:web-1" }).click();
    await page.waitForURL((url) => url.searchParams.getAll("attr").length === 1);
    assert.equal(await rows.count(), 2);
    const filteredCount = await rows.filter({ hasText: "card declined" }).locator("td.count").textContent();
    assert.equal(filteredCount, "4", "only the 2.5.0 report, which stands for 4");
  });

  test("a report sent while the list is open appears without a reload", async () => {
    await page.goto(`${t.url}/`);
    await page.waitForSelector("#live-status.on");
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    const rxid = await post(body(["renderInvoice", "send"], { "error.message": "live one" }, "SyntaxError"));
    const { report } = await getJson(`${t.url}/api/reports/${rxid}`);
    await page.waitForSelector(`tr[data-group="${report.groupId}"]`, { timeout: 10_000 });
    assert.equal(await page.evaluate(() => (globalThis as any).__sameDocument), true, "the page was not reloaded");
    assert.match((await page.locator(`tr[data-group="${report.groupId}"]`).textContent()) ?? "", /live one/);

    await page.goto(`${t.url}/groups/${report.groupId}`);
    await page.waitForSelector("#live-status.on");
    await post(body(["renderInvoice", "send"], { "error.message": "live two" }, "SyntaxError"));
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll("table.reports tbody tr").length === 2, undefined, { timeout: 10_000 });
  });

  test("the group page charts occurrences and shows facets that filter", async () => {
    const { groups } = await getJson(`${t.url}/api/groups`);
    const card = groups.find((g: any) => g.classifier === "TypeError");
    await page.goto(`${t.url}/groups/${card.id}`);
    const counts = (await page.locator(".chart svg").getAttribute("data-counts"))!.split(",").map(Number);
    assert.equal(counts.reduce((a, b) => a + b, 0), 5);
    const hosts = page.locator('.facet[data-facet="hostname"] li');
    assert.deepEqual(await hosts.locator(".value").allTextContents(), ["web-2", "web-1"]);
    assert.deepEqual(await hosts.locator(".share").allTextContents(), ["80%", "20%"]);
    assert.deepEqual(await page.locator('.facet[data-facet="environment"] li').allTextContents(), ["not sent"]);
    await shoot("group-page");
    await hosts.first().locator("a").click();
    await page.waitForURL(/attr=hostname%3Aweb-2/);
    assert.equal(await page.locator("table.reports tbody tr").count(), 1);
    assert.match((await page.locator("table.reports tbody tr").textContent()) ?? "", /×4/);
  });

  test("a real @backtrace/node report shows its breadcrumbs as a timeline, application frames and attributes first", async () => {
    const fixture = readFileSync(new URL("./fixtures/backtrace-node-breadcrumbs.multipart", import.meta.url));
    const boundary = fixture.toString("latin1", 2, fixture.indexOf("\r\n"));
    const reply = await send(submitUrl(t.url), fixture, { chunked: 1024, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
    assert.equal(reply.status, 200, reply.text);
    await page.goto(`${t.url}/reports/${reply.json._rxid}`);
    const crumbs = page.locator("ol.timeline > li");
    assert.deepEqual(await crumbs.locator(".crumb-message").allTextContents(), [
      "server started",
      "cache miss",
      "payment service answered 503",
      "cannot read properties of undefined (reading 'amount')",
    ]);
    assert.deepEqual(await crumbs.evaluateAll((items) => items.map((li) => li.className)), ["level-info", "level-warning", "level-error", "level-error"]);
    assert.match((await crumbs.nth(1).textContent()) ?? "", /key=orders:42/);
    assert.match((await page.locator("ul.attachments .type").first().textContent()) ?? "", /application\/x-ndjson/);
    // The application's attributes come before the system's, which include the client's own.
    const app = await page.locator("table.attributes.app td:first-child").allTextContents();
    assert.ok(app.includes("application.version") && app.includes("environment"), app.join());
    assert.ok(!app.includes("vm.rss.size") && !app.includes("backtrace.agent"));
    assert.ok(await page.locator("table.attributes.system").count());
    const sections = await page.locator("h2").allTextContents();
    assert.ok(sections.findIndex((h) => h.startsWith("Breadcrumbs")) < sections.indexOf("Attributes"));
    // Every frame is application code here; each has an anchor.
    assert.equal(await page.locator("ol.stack.faulting > li.frame.app").count(), 3);
    await page.locator("#frame-1 a.anchor").click();
    assert.match(page.url(), /#frame-1$/);
    const multi = page.locator(".tree code.multiline", { hasText: "at chargeCard" });
    assert.equal(await multi.count(), 1);
    assert.equal(await multi.evaluate((el) => (globalThis as any).getComputedStyle(el).whiteSpace), "pre-wrap");
    const download = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "download JSON" }).click()]).then(([d]) => d);
    assert.match(download.suggestedFilename(), /^report-[0-9a-f-]+\.json$/);
    await shoot("report-breadcrumbs");
  });

  test("library and Node frames fold, the request panel shows request.* attributes, and Log is shown once", async () => {
    const report = body(["handler"], { "request.method": "POST", "request.url": "/orders/7", "request.route": "/orders/:id", "request.headers.user-agent": "curl/8" });
    report["threads"].main.stack.push(
      { funcName: "Layer.handle", library: "/srv/shop/node_modules/express/lib/router/layer.js", line: 95 },
      { funcName: "next", library: "/srv/shop/node_modules/express/lib/router/route.js", line: 149 },
      { funcName: "processTicksAndRejections", library: "node:internal/process/task_queues", line: 95 },
    );
    report["annotations"] = { Log: [{ ts: 1700000000, msg: "only once please" }] };
    await page.goto(`${t.url}/reports/${await post(report)}`);
    const folded = page.locator("ol.stack.faulting details.lib-frames");
    assert.equal(await folded.count(), 1);
    assert.equal(await folded.locator("summary").textContent(), "3 library frames");
    assert.equal(await folded.evaluate((el) => (el as any).open), false);
    assert.equal(await page.locator("ol.stack.faulting > li.frame.app .fn").textContent(), "handler");
    assert.equal(await page.locator(".request-line").textContent(), "POST /orders/7");
    assert.deepEqual(await page.locator("ul.log li").allTextContents(), ["2023-11-14 22:13:20 UTC only once please"]);
    assert.equal(await page.locator(".tree").count(), 0, "no other annotation, so no tree repeating the log");
  });

  test("new panels show script and markup from a report as text", async () => {
    const report = body([img], { "error.message": script, hostname: img, "application.version": script, "request.url": script, environment: img, [img]: script });
    const form = multipart([
      { name: "upload_file", filename: "upload_file.json", contentType: "application/json", data: JSON.stringify(report) },
      { name: "attachment_bt-breadcrumbs-0", filename: "bt-breadcrumbs-0", contentType: "application/octet-stream",
        data: JSON.stringify([{ id: 1, message: script, timestamp: 1700000000000, type: img, level: img, attributes: { [img]: script } }]) },
    ]);
    const reply = await send(submitUrl(t.url), form.body, { headers: { "content-type": form.contentType } });
    assert.equal(reply.status, 200, reply.text);
    const { report: stored } = await getJson(`${t.url}/api/reports/${reply.json._rxid}`);
    for (const path of ["/", `/?q=${encodeURIComponent(script)}&attr=${encodeURIComponent(`hostname:${img}`)}`, `/groups/${stored.groupId}`, `/reports/${reply.json._rxid}`]) {
      await page.goto(`${t.url}${path}`);
      assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined, path);
      assert.equal(await page.locator("main script, main img").count(), 0, path);
    }
    assert.equal(await page.locator("ol.timeline .crumb-message").textContent(), script);
    assert.equal(await page.locator(".request-line").textContent(), script);
    await page.goto(`${t.url}/groups/${stored.groupId}`);
    assert.ok(await page.locator('.facet[data-facet="hostname"] .value', { hasText: img }).isVisible());
    await page.goto(`${t.url}/?attr=${encodeURIComponent(`hostname:${img}`)}`);
    assert.equal(await page.locator(".chips code").textContent(), `hostname:${img}`);
    assert.match((await page.locator("table.groups .versions").textContent()) ?? "", /<script>/);
  });

  test("dark mode follows prefers-color-scheme, and every page fits 390 px without sideways scrolling", async () => {
    const { groups } = await getJson(`${t.url}/api/groups`);
    const { reports } = await getJson(`${t.url}/api/reports?limit=500`);
    const withCrumbs = reports.find((r: any) => r.classifier === "TypeError" && r.hostname === "vm");
    const pages = ["/", `/groups/${groups[0].id}`, `/reports/${withCrumbs.rxid}`];
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${t.url}/`);
    const background = await page.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor as string);
    assert.equal(background, "rgb(17, 22, 29)");
    await shoot("group-list-dark");
    await page.goto(`${t.url}${pages[2]}`);
    await shoot("report-dark");
    await page.emulateMedia({ colorScheme: "light" });
    assert.equal(await page.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor as string), "rgb(246, 248, 251)");

    await page.setViewportSize({ width: 390, height: 844 });
    for (const [i, path] of pages.entries()) {
      await page.goto(`${t.url}${path}`);
      assert.ok((await scrollWidth()) <= 390, `${path} is ${await scrollWidth()} px wide`);
      await shoot(`narrow-${i}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
