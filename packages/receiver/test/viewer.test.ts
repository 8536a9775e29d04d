import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { multipart, nodeBody, pythonBody, send, startTemp, submitUrl, tempDir, type TempReceiver } from "./helpers.js";

const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const script = "<script>window.__xss=1</script>";
const img = "<img src=x onerror=window.__xss=1>";

let t: TempReceiver;
let browser: Browser;
let page: Page;

async function post(body: Record<string, unknown>, attachments: Array<{ name: string; data: string }> = []): Promise<string> {
  const form = multipart([
    { name: "upload_file", filename: "upload_file", data: JSON.stringify(body) },
    ...attachments.map((a) => ({ name: `attachment_${a.name}`, filename: a.name, contentType: "application/octet-stream", data: a.data })),
  ]);
  const reply = await send(submitUrl(t.url), form.body, { headers: { "content-type": form.contentType } });
  assert.equal(reply.status, 200, reply.text);
  return reply.json._rxid;
}

before(async () => {
  t = await startTemp();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });
  page = await browser.newPage();
  // Nothing but the receiver: any other request fails instead of leaving the machine.
  await page.route("**/*", (route) => (route.request().url().startsWith(t.url) ? route.continue() : route.abort()));
});

after(async () => {
  await browser?.close();
  await t?.receiver.close();
});

describe("viewer in Chromium", () => {
  test("goes from the group list to a group to a report with its stack, highlighted source line and attributes", async () => {
    await post(pythonBody(), [{ name: "app.log", data: "log text" }]);
    await post(pythonBody({ attributes: { ...pythonBody().attributes, hostname: "second-host" } }));
    await post(nodeBody());

    await page.goto(`${t.url}/`);
    assert.equal(await page.locator("h1").textContent(), "Error groups");
    assert.ok(await page.getByText("Any token is accepted").isVisible());
    const row = page.locator("table.groups tr", { hasText: "ZeroDivisionError" });
    assert.equal(await row.locator("td.num").textContent(), "2");
    assert.match((await row.locator("code").textContent()) ?? "", /divide \(calc\.py:3\)/);

    await row.getByRole("link", { name: "ZeroDivisionError" }).click();
    await page.waitForURL(/\/groups\//);
    assert.equal(await page.locator("table.reports tbody tr").count(), 2);

    // Filter by clicking a hostname value, then clear with the form's text search.
    await page.getByRole("link", { name: "second-host", exact: true }).click();
    await page.waitForURL(/attr=hostname%3Asecond-host/);
    assert.equal(await page.locator("table.reports tbody tr").count(), 1);
    await page.goto(page.url().split("?")[0]!);
    await page.fill('input[name="q"]', "py-host");
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/q=py-host/);
    assert.equal(await page.locator("table.reports tbody tr").count(), 1);

    await page.locator("table.reports tbody tr a").first().click();
    await page.waitForURL(/\/reports\//);
    const frames = page.locator("ol.stack.faulting > li .fn");
    assert.deepEqual(await frames.allTextContents(), ["divide", "<module>"]);
    const current = page.locator("ol.stack.faulting > li").first().locator(".ln.hl");
    assert.equal(await current.count(), 1);
    assert.equal(await current.getAttribute("data-current-line"), "3");
    // The line is "\treturn a / b * scale" with tabWidth 8.
    assert.equal(await current.textContent(), "3        return a / b * scale");
    const background = await current.evaluate((el) => (globalThis as any).getComputedStyle(el).backgroundColor as string);
    assert.notEqual(background, "rgba(0, 0, 0, 0)");

    const hostRow = page.locator("table.attributes tr", { hasText: "hostname" });
    assert.equal(await hostRow.locator("td").nth(1).textContent(), "py-host");
    assert.equal(await page.locator("table.attributes tr", { hasText: "guid" }).locator("td em").textContent(), "null");
    assert.match((await page.locator(".flags").textContent()) ?? "", /attribute "guid" is null/);
    assert.deepEqual(await page.locator("ul.log li").allTextContents(), ["2023-11-14 22:13:20 UTC loading numbers", "2023-11-14 22:13:21 UTC dividing"]);
    assert.ok(await page.locator(".tree details summary", { hasText: "Exception" }).isVisible());
    const link = page.getByRole("link", { name: "app.log" });
    const download = await Promise.all([page.waitForEvent("download"), link.click()]).then(([d]) => d);
    assert.equal(download.suggestedFilename(), "app.log");
    assert.match((await page.locator("pre.raw").textContent()) ?? "", /"agent": "backtrace-python"/);

    const shot = join(tempDir(), "report.png");
    await page.setViewportSize({ width: 1280, height: 1400 });
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: shot, fullPage: false });
    process.stdout.write(`# screenshot: ${shot}\n`);
  });

  test("shows script and markup from a report as text and runs none of it", async () => {
    const body = nodeBody({ classifiers: [img] });
    body["attributes"]["error.message"] = script;
    body["attributes"]["hostname"] = img;
    body["annotations"] = { [img]: { nested: script }, Log: [{ ts: 1700000000, msg: script }] };
    body["threads"].main.stack[0].funcName = img;
    body["threads"].main.stack[0].sourceCode = "src";
    body["sourceCode"] = { src: { text: `a\n${script}\nc\n`, startLine: 11 } };
    const rxid = await post(body, [{ name: `${img}.txt`, data: script }]);

    await page.goto(`${t.url}/`);
    assert.ok(await page.getByRole("link", { name: img }).isVisible());
    await page.getByRole("link", { name: img }).click();
    await page.waitForURL(/\/groups\//);
    assert.ok(await page.getByText(script).first().isVisible());

    await page.goto(`${t.url}/reports/${rxid}`);
    assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);
    assert.equal(await page.locator("h1 .message").textContent(), script);
    assert.equal(await page.locator("ol.stack.faulting > li .fn").first().textContent(), img);
    assert.equal(await page.locator(".ln.hl").textContent(), `12${script}`);
    assert.ok(await page.locator(".tree summary", { hasText: img }).isVisible());
    assert.ok(await page.locator("ul.log li", { hasText: script }).isVisible());
    assert.ok(await page.getByRole("link", { name: `${img}.txt` }).isVisible());
    assert.equal(await page.locator("script").count(), 0);
    assert.equal(await page.locator("main img").count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);
  });
});
