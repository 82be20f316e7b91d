// Browser tests of <ordergate-order>, the demo page and GraphiQL against a running
// `ordergate dev` (ORDERGATE_URL), in Debian's Chromium driven by playwright-core.
// The network is closed: the browser resolves no name but loopback, and every request to
// another origin is refused and counted as a failure.
// Screenshots and the axe result go to web/test-results/.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const base = (process.env.ORDERGATE_URL ?? "").replace(/\/$/, "");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const results = join(web, "test-results");
if (!base) throw new Error("ORDERGATE_URL must name a running `ordergate dev`");
if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium`);
mkdirSync(results, { recursive: true });

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const foreign = []; // requests that tried to leave the machine
const outcomes = [];
const screenshots = [];

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(base + "/") || url === base) return route.continue();
    foreign.push(url);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") page.consoleErrors = [...(page.consoleErrors ?? []), message.text()];
  });
  return page;
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function until(what, probe, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** The id (or tag) of the focused element inside the component's shadow root. */
const focused = (page) =>
  page.evaluate(() => {
    const active = document.querySelector("ordergate-order")?.shadowRoot?.activeElement;
    return active ? active.id || active.tagName.toLowerCase() : null;
  });

async function focusIs(page, id) {
  await until(`focus on #${id}`, async () => (await focused(page)) === id);
}

async function shot(page, name) {
  const path = join(results, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(`web/test-results/${name}.png`);
}

const element = (page) => page.locator("ordergate-order");

async function lookUp(page, lang, number) {
  await page.goto(`${base}/?lang=${lang}&order=${number}`);
  await element(page).locator("form[part=lookup-form] button[type=submit]").click();
  await until("the order heading", async () => (await element(page).locator("h2").textContent())?.includes(`#${number}`));
  await focusIs(page, "og-heading");
}

async function codeFromMailbox(page, recipient) {
  const mailbox = await page.context().newPage();
  try {
    return await until(`a code for ${recipient} in /dev/mail`, async () => {
      await mailbox.goto(`${base}/dev/mail`);
      const texts = await mailbox.locator("article").evaluateAll((articles, to) =>
        articles.filter((a) => a.querySelector(".meta")?.textContent?.includes(to)).map((a) => a.querySelector("pre")?.textContent ?? ""), recipient);
      return texts.map((text) => text.match(/\b(\d{6})\b/)?.[1]).find(Boolean) ?? null;
    });
  } finally {
    await mailbox.close();
  }
}

async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    outcomes.push({ name, ok: true });
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    outcomes.push({ name, ok: false, error: String(error?.stack ?? error) });
    console.log(`not ok - ${name}\n  ${String(error?.stack ?? error).split("\n").join("\n  ")}`);
  }
}

await check("#1001: look up, cancel through the code step read from the dev mailbox", async () => {
  const page = await newPage();
  await lookUp(page, "en", "1001");
  await shot(page, "01-status-1001");
  await element(page).getByRole("button", { name: "Cancel order…" }).click();
  await focusIs(page, "og-reason");
  await element(page).getByLabel("Why do you want to cancel?").selectOption("CHANGED_MIND");
  await element(page).getByLabel("Comment (optional)").fill("Bought it twice by accident.");
  assert((await element(page).locator("time[part=until]").count()) === 1, "the cancel form shows `until`");
  await shot(page, "02-cancel-form");
  await element(page).getByRole("button", { name: "Request cancellation" }).click();
  await focusIs(page, "og-code");
  const message = await element(page).locator("#og-code-message").textContent();
  assert(/•/.test(message ?? ""), `the code step names the masked address: ${message}`);
  await shot(page, "03-code-step");
  const code = await codeFromMailbox(page, "ada.lovelace@example.com");
  await element(page).getByLabel("Six-digit code").fill(code);
  await element(page).getByRole("button", { name: "Confirm" }).click();
  await focusIs(page, "og-result");
  const result = await element(page).locator("[part=result]").textContent();
  assert(result?.includes("Cancelled"), `the result says Cancelled: ${result}`);
  await until("the cancellation among earlier requests", async () =>
    (await element(page).locator("[part=request][data-kind=CANCELLATION][data-status=CANCELLED]").count()) === 1);
  await shot(page, "04-cancelled");
});

await check("#1008 in New York: one date for the report, the server's, and every time with its zone", async () => {
  // The server writes the date in the shop's zone (UTC in the sandbox); a browser elsewhere
  // must not add a second rendering of it, and every time it shows names its zone.
  const page = await newPage({ timezoneId: "America/New_York", locale: "en-US" });
  await lookUp(page, "en", "1008");
  const section = element(page).locator("[part=not-received]");
  const message = ((await section.locator("[part=eligibility]").first().textContent()) ?? "").trim();
  assert(/\b20\d\d\b.*\bUTC\b/.test(message), `the server's message carries the date in the shop's zone: ${message}`);
  assert((await section.locator("time").count()) === 0, "no second date beside the server's");
  assert((await section.locator("[part=eligibility]").count()) === 1, "one line about when");
  const times = await element(page).locator("time").allTextContents();
  assert(times.length >= 2, `the order's own times are shown: ${times}`);
  for (const text of times) assert(/\b(EST|EDT|GMT-[45])\b/.test(text), `a time names the browser's zone: ${text}`);
  assert((await element(page).getByRole("button", { name: "Report not received…" }).count()) === 0, "no report button yet");
  assert((page.consoleErrors ?? []).length === 0, `no console errors on the demo page: ${page.consoleErrors}`);
  await shot(page, "05-too-early-1008");
});

await check("nb: inputs stop at the server's limits; an HTTP error is said in Norwegian, focus on it", async () => {
  const page = await newPage();
  await page.goto(`${base}/?lang=nb`);
  const sentence = "Ordretjenesten kunne ikke behandle forespørselen. Prøv igjen om litt.";
  for (const [id, limit] of [["og-order-number", 64], ["og-contact", 320]]) {
    const input = element(page).locator(`#${id}`);
    assert(Number(await input.getAttribute("maxlength")) === limit, `#${id} has maxlength ${limit}`);
    await input.focus();
    await page.keyboard.insertText("9".repeat(100_000)); // a paste
    const length = await input.evaluate((node) => node.value.length);
    assert(length === limit, `#${id} keeps ${limit} characters of the paste, not ${length}`);
  }
  // A pre-filled value is not cut by maxlength: the server's real 413 for it.
  const statuses = [];
  page.on("response", (response) => { if (response.url().endsWith("/graphql")) statuses.push(response.status()); });
  await page.evaluate(() => document.querySelector("ordergate-order").setAttribute("contact", "x".repeat(100_000)));
  await element(page).getByRole("button", { name: "Finn bestilling" }).click();
  await focusIs(page, "og-problem");
  assert(statuses.includes(413), `the server refused the body: ${statuses}`);
  const alert = async () => ((await element(page).locator("[role=alert] p").textContent()) ?? "").trim();
  assert((await alert()) === sentence, `the element's own Norwegian sentence: ${await alert()}`);
  // A network failure says so; then a gateway's 502 page: the element's sentence again.
  await page.evaluate(() => document.querySelector("ordergate-order").setAttribute("contact", "ada.lovelace@example.com"));
  await page.route(`${base}/graphql`, (route) => route.abort("connectionrefused"));
  await element(page).getByRole("button", { name: "Finn bestilling" }).click();
  await until("the network failure said in Norwegian", async () => (await alert()).startsWith("Vi fikk ikke kontakt"));
  await page.unroute(`${base}/graphql`);
  await page.route(`${base}/graphql`, (route) => route.fulfill({ status: 502, contentType: "text/html", body: "<h1>Bad Gateway</h1>" }));
  await element(page).getByRole("button", { name: "Finn bestilling" }).click();
  await until("the 502 said in Norwegian", async () => (await alert()) === sentence);
  await focusIs(page, "og-problem");
  await shot(page, "13-http-error-nb");
});

await check("#1009: a not-received report is accepted, and the page hears of it", async () => {
  const page = await newPage();
  await lookUp(page, "en", "1009");
  await element(page).getByRole("button", { name: "Report not received…" }).click();
  await focusIs(page, "og-comment");
  await element(page).getByLabel("Comment (optional)").fill("Nothing in the mailbox or at the neighbours.");
  await page.evaluate(() => {
    window.heard = [];
    document.addEventListener("ordergate-request", (event) => window.heard.push(event.detail));
  });
  await element(page).getByRole("button", { name: "Report not received", exact: true }).click();
  await focusIs(page, "og-result");
  const heard = await page.evaluate(() => window.heard);
  assert(heard.length === 1 && heard[0].kind === "NOT_RECEIVED" && heard[0].status === "OPEN", `the page heard the request: ${JSON.stringify(heard)}`);
  const result = await element(page).locator("[part=result]").textContent();
  assert(result?.includes("Open"), `the report is open: ${result}`);
  await until("the report among earlier requests", async () =>
    (await element(page).locator("[part=request][data-kind=NOT_RECEIVED][data-status=OPEN]").count()) === 1);
  await shot(page, "06-report-open-1009");
});

await check("nb: the page, the component and the server's refusal speak Norwegian", async () => {
  const page = await newPage();
  await page.goto(`${base}/?lang=nb`);
  assert((await page.locator("html").getAttribute("lang")) === "nb", "<html lang=nb>");
  assert((await element(page).locator("h2").textContent()) === "Finn bestillingen din", "nb heading");
  await element(page).getByLabel("Ordrenummer").fill("1001");
  await element(page).getByLabel("E-post eller telefonnummer").fill("someone.else@example.com");
  await element(page).getByRole("button", { name: "Finn bestilling" }).click();
  await focusIs(page, "og-order-number");
  const alert = ((await element(page).locator("[role=alert] p").textContent()) ?? "").trim();
  const server = await page.evaluate(async () => {
    const query = 'query { orderStatus(orderNumber: "1001", contact: "someone.else@example.com") { userErrors { message } } }';
    const ask = async (lang) => (await (await fetch("/graphql", { method: "POST", headers: { "content-type": "application/json", "accept-language": lang }, body: JSON.stringify({ query }) })).json()).data.orderStatus.userErrors[0].message;
    return { nb: await ask("nb"), en: await ask("en") };
  });
  assert(server.nb !== server.en, "the server has a Norwegian text");
  assert(alert === server.nb, `the alert is the server's Norwegian message: ${alert}`);
  assert((await element(page).locator("#og-order-number").getAttribute("aria-invalid")) === "true", "the field is marked invalid");
  await shot(page, "07-nb-not-found");
  await lookUp(page, "nb", "1002");
  assert((await element(page).locator("#og-cancel-heading").textContent()) === "Kanseller bestillingen", "nb section heading");
});

await check("nl: a delivered order in Dutch", async () => {
  const page = await newPage();
  await lookUp(page, "nl", "1010");
  assert((await element(page).locator("h2").textContent()) === "Bestelling #1010", "nl order heading");
  assert((await element(page).locator("#og-shipments").textContent()) === "Pakketten", "nl shipments heading");
  assert((await element(page).locator("[part=shipment] [data-state=DELIVERED]").textContent()) === "Bezorgd", "nl shipment state in words");
  assert((await element(page).locator("[part=shipment] a[part=tracking-link]").count()) === 1, "a tracking link");
  await shot(page, "08-nl-delivered-1010");
});

await check("keyboard only: look up #1012 and reach the code step", async () => {
  const page = await newPage();
  await page.goto(`${base}/?lang=en`);
  for (let i = 0; i < 25 && (await focused(page)) !== "og-order-number"; i += 1) await page.keyboard.press("Tab");
  await focusIs(page, "og-order-number");
  await page.keyboard.type("1012");
  await page.keyboard.press("Tab");
  await focusIs(page, "og-contact");
  await page.keyboard.type("lars.petersen@example.com");
  await page.keyboard.press("Enter");
  await focusIs(page, "og-heading");
  for (let i = 0; i < 25; i += 1) {
    await page.keyboard.press("Tab");
    const label = await page.evaluate(() => document.querySelector("ordergate-order").shadowRoot.activeElement?.textContent);
    if (label === "Cancel order…") break;
  }
  await page.keyboard.press("Enter");
  await focusIs(page, "og-reason");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Tab");
  await focusIs(page, "og-comment");
  await page.keyboard.type("Keyboard only.");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await focusIs(page, "og-code");
  await shot(page, "09-keyboard-code-step-1012");
});

await check("axe-core: no serious or critical violations in the journey's states", async () => {
  const axe = readFileSync(join(web, "node_modules", "axe-core", "axe.min.js"), "utf8");
  // axe is injected by the test, not served: the page's CSP forbids inline scripts.
  const page = await newPage({ bypassCSP: true });
  const report = [];
  const audit = async (state) => {
    await page.addScriptTag({ content: axe });
    const found = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ["violations"] });
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
    });
    report.push({ state, violations: found });
  };
  await page.goto(`${base}/?lang=en`);
  await audit("lookup form");
  await element(page).getByLabel("Order number").fill("1003");
  await element(page).getByLabel("E-mail or phone number").fill("wrong@example.com");
  await element(page).getByRole("button", { name: "Find order" }).click();
  await until("the error", async () => (await element(page).locator("[role=alert]").count()) === 1);
  await audit("lookup error");
  await lookUp(page, "en", "1007");
  await audit("order status with shipments");
  await lookUp(page, "en", "1012");
  await element(page).getByRole("button", { name: "Cancel order…" }).click();
  await audit("cancel form");
  await element(page).getByLabel("Why do you want to cancel?").selectOption("OTHER");
  await element(page).getByRole("button", { name: "Request cancellation" }).click();
  await focusIs(page, "og-code");
  await audit("code step");
  writeFileSync(join(results, "axe.json"), JSON.stringify(report, null, 2));
  const counts = { minor: 0, moderate: 0, serious: 0, critical: 0 };
  for (const { violations } of report) for (const v of violations) counts[v.impact] = (counts[v.impact] ?? 0) + v.nodes;
  console.log(`axe: ${report.length} states, violations by impact ${JSON.stringify(counts)}`);
  const blocking = report.flatMap(({ state, violations }) =>
    violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${state}: ${v.id} (${v.help})`));
  assert(blocking.length === 0, `serious or critical violations:\n${blocking.join("\n")}`);
});

await check("GraphiQL renders and runs a query with the network closed", async () => {
  const page = await newPage();
  await page.goto(`${base}/graphql`, { waitUntil: "load" });
  await page.locator(".graphiql-container").waitFor({ timeout: 15_000 });
  await page.locator(".graphiql-execute-button").click();
  await until("the query's answer", async () =>
    ((await page.locator(".result-window").textContent()) ?? "").includes('"number": "#1001"'), 15_000);
  const errors = page.consoleErrors ?? [];
  assert(errors.length === 0, `no console errors (CSP included): ${errors.join(" | ")}`);
  await shot(page, "10-graphiql-offline");
});

await check("two lines on another origin's page: the element works there, in the page's language", async () => {
  // A storefront of its own on another loopback port, as a storefront's dev server runs
  // beside `ordergate dev` (which answers loopback origins with nothing configured): the two
  // lines of the README, and `lang` from the page.
  const page = [
    '<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><title>Butik</title>',
    `<script type="module" src="${base}/elements/ordergate.js"></script>`,
    "</head><body><main><h1>Min ordre</h1>",
    `<ordergate-order endpoint="${base}/graphql"></ordergate-order>`,
    "</main></body></html>",
  ].join("\n");
  const storefront = createServer((_, response) => response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page));
  // Port 0: the system picks a free one (a port chosen beforehand can be taken meanwhile).
  await new Promise((resolve) => storefront.listen(0, "127.0.0.1", resolve));
  try {
    const origin = `http://127.0.0.1:${storefront.address().port}`;
    const tab = await newPage();
    await tab.route(`${origin}/**`, (route) => route.continue()); // the storefront itself
    await tab.goto(`${origin}/`);
    assert((await element(tab).locator("h2").textContent()) === "Find din ordre", "Danish from the page's lang");
    await element(tab).getByLabel("Ordrenummer").fill("1005");
    await element(tab).getByLabel("E-mail eller telefonnummer").fill("emma.jensen@example.com");
    await element(tab).getByRole("button", { name: "Find ordre" }).click();
    await until("the order", async () => (await element(tab).locator("h2").textContent()) === "Ordre #1005");
    await shot(tab, "11-other-origin-da-1005");
  } finally {
    storefront.close();
  }
});

await check("429: the server's localised message and retryAfter, the button held until then", async () => {
  // One address spends its allowance (ORDERGATE_TRUSTED_PROXIES trusts loopback, so this
  // context speaks for 198.51.100.7), then the element asks once more.
  const limit = Number(process.env.CLIENT_LIMIT);
  assert(limit > 0, "CLIENT_LIMIT names the dev server's per-client limit");
  const page = await newPage({ extraHTTPHeaders: { "x-forwarded-for": "198.51.100.7" } });
  await page.goto(`${base}/?lang=nl&order=1004`);
  const limited = await page.evaluate(async (count) => {
    const body = JSON.stringify({ query: "{ __typename }" });
    const post = () => fetch("/graphql", { method: "POST", headers: { "content-type": "application/json", "accept-language": "nl" }, body });
    for (let sent = 0; sent < count; sent += 25) await Promise.all(Array.from({ length: 25 }, post));
    const answer = await post();
    return { status: answer.status, body: await answer.json() };
  }, limit);
  assert(limited.status === 429, `the allowance is spent: ${limited.status}`);
  await element(page).getByRole("button", { name: "Bestelling zoeken" }).click();
  await focusIs(page, "og-problem");
  const alert = ((await element(page).locator("[role=alert] p").textContent()) ?? "").trim();
  const server = limited.body.errors[0].message;
  // The wait moves on between the two answers ("over 59 seconden", then "over 1 minuut").
  const words = (text) => text.replace(/\d+\s+\p{L}+/gu, "N");
  assert(words(alert) === words(server), `the server's Dutch message: ${alert} / ${server}`);
  assert(await element(page).getByRole("button", { name: "Bestelling zoeken" }).isDisabled(), "held until retryAfter");
  await shot(page, "12-rate-limited-nl");
});

await check("no request left loopback", async () => {
  assert(foreign.length === 0, `requests to other origins: ${foreign.join(", ")}`);
});

await browser.close();
writeFileSync(join(results, "screenshots.json"), JSON.stringify(screenshots, null, 2));
const failed = outcomes.filter((o) => !o.ok).length;
console.log(`screenshots: ${screenshots.join(" ")}`);
console.log(`${outcomes.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
