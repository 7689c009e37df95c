import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sendBatch } from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_PASSWORD, type TestService } from "../support/test-service.js";
import {
  ARTIFACTS,
  chartOverlaps,
  HAVE_BROWSER,
  horizontalOverflow,
  launchBrowser,
  screenshot,
  seriousViolations,
} from "./browser.js";

/**
 * The dashboard in a real browser (Debian's Chromium) against a real server with demo data
 * (`POST /api/demo`) and a few leads sent live that qualify and are routed to a demo rep. One
 * database kind per run: PostgreSQL when DATABASE_URL is set, else PGlite.
 */
const kind = DATABASE_KINDS[DATABASE_KINDS.length - 1] as "pglite" | "postgres";
const DEMO_PASSWORD = "qualify-demo";
const MARKETER = "marketer@demo.example";

describe.skipIf(!HAVE_BROWSER)(`the dashboard in Chromium on ${kind}`, () => {
  let service: TestService;
  let browser: Browser;
  /** The demo rep the live leads were routed to. */
  let rep: string;
  const live: Record<string, string> = {};

  /** A hand-raiser: identified, then a demo request (the default model's hand-raiser rule). */
  const handRaiser = (userId: string, at: number) => [
    {
      type: "identify",
      userId,
      messageId: `${userId}-id`,
      timestamp: new Date(at).toISOString(),
      traits: { email: `${userId}@buyer.example`, title: "VP Sales", company: { employee_count: 60 } },
    },
    {
      type: "track",
      userId,
      messageId: `${userId}-demo`,
      timestamp: new Date(at + 60_000).toISOString(),
      event: "Demo Requested",
    },
  ];

  // A browser, a server and demo data: slower than the API tests.
  vi.setConfig({ testTimeout: 120_000 });

  beforeAll(async () => {
    service = await startTestService(kind);
    const demo = await service.api("POST", "/api/demo", { profiles: 1200, days: 120 });
    expect(demo.status, JSON.stringify(demo.body)).toBe(200);
    const now = Date.now();
    await sendBatch(service, [
      ...handRaiser("live-1", now - 3_600_000),
      ...handRaiser("live-2", now - 3_000_000),
    ]);
    await service.drain();
    // Routing runs as a scheduled job within seconds of the MQL.
    const handoffOf = async (leadId: string) => {
      for (let i = 0; i < 100; i++) {
        const h = (await service.api("GET", `/api/handoffs?leadId=${leadId}`)).body.handoffs[0];
        if (h?.owner) return h;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`no handoff for ${leadId}`);
    };
    for (const u of ["live-1", "live-2"]) {
      const lead = await service.api("GET", `/api/leads?userId=${u}`);
      live[u] = lead.body.items[0].id as string;
    }
    const first = await handoffOf(live["live-1"] as string);
    const second = await handoffOf(live["live-2"] as string);
    expect([first.status, second.status]).toEqual(["pending", "pending"]);
    rep = first.owner.email;
    // Round-robin may have given live-2 to another rep: give it to live-1's.
    if (second.owner.email !== rep)
      expect((await service.api("POST", `/api/handoffs/${second.id}/reassign`, { owner: rep })).status).toBe(
        200,
      );
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  async function logIn(email: string, password: string, viewport = { width: 1280, height: 800 }) {
    const context: BrowserContext = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${service.url}/`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("button", { name: "Log out" }).waitFor();
    return page;
  }

  /** An API call from the page, with its session cookie (and CSRF token when it changes state). */
  const fromPage = (page: Page, method: string, path: string, body?: unknown) =>
    page.evaluate(
      async ([m, p, b]) => {
        const s = await (await fetch("/api/session")).json();
        const res = await fetch(p as string, {
          method: m as string,
          headers: { "content-type": "application/json", "x-csrf-token": s.csrfToken },
          ...(b === undefined ? {} : { body: JSON.stringify(b) }),
        });
        return res.status;
      },
      [method, path, body] as const,
    );

  it("lets each role see and do only what it may, in the UI and through the API", async () => {
    const admin = await logIn("admin@localhost", TEST_ADMIN_PASSWORD);
    const nav = (page: Page) =>
      page.getByRole("navigation", { name: "Main" }).getByRole("link").allTextContents();
    expect(await nav(admin)).toEqual([
      "Overview",
      "Leads",
      "Inbox",
      "Funnel",
      "Nurture",
      "Models",
      "Settings",
    ]);
    expect(await fromPage(admin, "GET", "/api/users")).toBe(200);

    const marketer = await logIn(MARKETER, DEMO_PASSWORD);
    expect(await nav(marketer)).toEqual(["Overview", "Leads", "Funnel", "Nurture", "Models"]);
    expect(await fromPage(marketer, "GET", "/api/users")).toBe(403);
    expect(await fromPage(marketer, "GET", "/api/models")).toBe(200);

    const sales = await logIn(rep, DEMO_PASSWORD);
    expect(sales.url()).toMatch(/\/inbox$/);
    expect(await nav(sales)).toEqual(["Leads", "Inbox"]);
    expect(await fromPage(sales, "GET", "/api/users")).toBe(403);
    expect(await fromPage(sales, "POST", "/api/models", { source: "name: x" })).toBe(403);
    expect(await fromPage(sales, "POST", "/api/sequences/welcome/pause")).toBe(403);
    expect(await fromPage(sales, "GET", "/api/analytics/attribution?from=2026-01-01&to=2027-01-01")).toBe(
      403,
    );
    // The overview's reports are not for sales: the page says so instead of showing numbers.
    await sales.goto(`${service.url}/overview`);
    await expect.poll(() => sales.getByRole("alert").first().textContent()).toMatch(/role sales may not/);
    // A sales user's leads table lists their leads only.
    await sales.goto(`${service.url}/leads`);
    await sales.locator("table.leads tbody tr").first().waitFor();
    const emails = await sales.locator("table.leads tbody tr td:first-child").allTextContents();
    expect(emails).toContain("live-1@buyer.example");
    const all = await service.api("GET", "/api/leads?limit=500");
    expect(emails.length).toBeLessThan(all.body.items.length);
    // Logging out ends the session.
    await sales.getByRole("button", { name: "Log out" }).click();
    await sales.getByRole("button", { name: "Log in" }).waitFor();
    expect(await sales.evaluate(async () => (await fetch("/api/leads")).status)).toBe(401);
  });

  it("filters the leads table, keeping the filter in the URL", async () => {
    const page = await logIn(MARKETER, DEMO_PASSWORD);
    await page.goto(`${service.url}/leads`);
    await page.locator("table.leads tbody tr").first().waitFor();
    await page.getByLabel("Stage").selectOption("mql");
    await expect.poll(() => page.url()).toMatch(/stage=mql/);
    await expect
      .poll(async () => [...new Set(await page.locator("table.leads tbody .stage").allTextContents())])
      .toEqual(["mql"]);
    const grade = (await page
      .locator("table.leads tbody tr td:nth-child(3)")
      .first()
      .textContent()) as string;
    await page.getByLabel("Grade").selectOption(grade);
    await expect.poll(() => page.url()).toMatch(new RegExp(`grade=${grade}`));
    // The URL alone brings the same view back.
    await page.reload();
    await page.locator("table.leads tbody tr").first().waitFor();
    expect(await page.getByLabel("Stage").inputValue()).toBe("mql");
    const grades = await page.locator("table.leads tbody tr td:nth-child(3)").allTextContents();
    expect(new Set(grades)).toEqual(new Set([grade]));
    await screenshot(page, "leads-filtered");
  });

  it("shows a profile whose contributions add up to the score shown", async () => {
    const page = await logIn(MARKETER, DEMO_PASSWORD);
    await page.goto(`${service.url}/leads/${live["live-1"]}`);
    const tables = page.locator("table.why");
    await tables.first().waitFor();
    let counted = 0;
    for (const table of await tables.all()) {
      const group = (await table.getAttribute("data-group")) as string;
      const shown = Number((await page.getByTestId(`score-${group}`).textContent())?.replace(/,/g, ""));
      const points = (await table
        .locator("td[data-points]")
        .evaluateAll((tds) => tds.map((td) => Number(td.getAttribute("data-points"))))) as number[];
      expect(Math.abs(points.reduce((a, b) => a + b, 0) - shown), group).toBeLessThan(0.011);
      counted += points.length;
    }
    expect(counted).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId("lead-stage").textContent()).toBe("mql");
    await screenshot(page, "lead-profile");
  });

  it("accepts from the inbox, and the lead's stage changes", async () => {
    const page = await logIn(rep, DEMO_PASSWORD);
    const item = page.locator(`[data-testid=inbox-item]:has-text("live-1@buyer.example")`);
    await item.waitFor();
    await screenshot(page, "inbox");
    await item.getByRole("button", { name: "Accept" }).click();
    await expect.poll(() => item.getByTestId("handoff-status").textContent()).toBe("accepted");
    await item.getByRole("link").click();
    await expect.poll(() => page.getByTestId("lead-stage").textContent()).toBe("sal");
  });

  it("reverts an accept the server refuses (409) and shows the server's message", async () => {
    const page = await logIn(rep, DEMO_PASSWORD);
    const item = page.locator(`[data-testid=inbox-item]:has-text("live-2@buyer.example")`);
    await item.waitFor();
    // Someone else acts first: the row on screen is stale.
    const h = (await service.api("GET", `/api/handoffs?leadId=${live["live-2"]}`)).body.handoffs[0];
    expect((await service.api("POST", `/api/handoffs/${h.id}/reject`, { reason: "bad timing" })).status).toBe(
      200,
    );
    await item.getByRole("button", { name: "Accept" }).click();
    await expect.poll(() => item.getByRole("alert").textContent()).toMatch(/rejected|not allowed|cannot/i);
    expect(await item.getByTestId("handoff-status").textContent()).toBe("pending");
  });

  it("marks an error in a model at its line, as the server reports it", async () => {
    const page = await logIn(MARKETER, DEMO_PASSWORD);
    await page.goto(`${service.url}/models`);
    const editor = page.getByRole("textbox", { name: "Model YAML" });
    await editor.waitFor();
    await expect.poll(() => page.locator(".cm-line").nth(21).textContent()).toBe("    cap: 150");
    // Line 22 is the engagement group's cap: make it a word.
    await editor.click();
    await page.keyboard.press("Control+Home");
    for (let i = 0; i < 21; i++) await page.keyboard.press("ArrowDown");
    await page.keyboard.press("End");
    await page.keyboard.type("x");
    await expect
      .poll(() => page.getByRole("list", { name: "Problems" }).textContent())
      .toMatch(/^line 22: groups\.engagement\.cap/);
    await page.locator(".cm-line").nth(21).locator(".cm-lintRange-error").waitFor();
    expect(await page.locator(".cm-lintRange-error").count()).toBe(1);
    await expect.poll(() => page.getByRole("button", { name: /Backtest the draft/ }).isDisabled()).toBe(true);
    await screenshot(page, "model-error");
    // Fixed, the problem goes.
    await page.keyboard.press("Backspace");
    await expect.poll(() => page.getByRole("list", { name: "Problems" }).textContent()).toBe("");
  });

  it("backtests a draft against the live model, as a chart and a table", async () => {
    const page = await logIn(MARKETER, DEMO_PASSWORD);
    await page.goto(`${service.url}/models`);
    await page.getByRole("textbox", { name: "Model YAML" }).waitFor();
    await page.getByRole("button", { name: "Backtest the draft against live" }).click();
    const table = page.getByRole("table", { name: "Backtest comparison" });
    await table.waitFor({ timeout: 60_000 });
    const mqls = await table.getByRole("row", { name: /^MQLs/ }).getByRole("cell").allTextContents();
    expect(mqls).toHaveLength(2);
    expect(Number(mqls[1]?.replace(/,/g, ""))).toBeGreaterThan(0);
    expect(
      await page
        .locator("figure[aria-label='MQLs per week, live and draft'] .recharts-bar-rectangle")
        .count(),
    ).toBeGreaterThan(0);
    expect(await chartOverlaps(page)).toEqual([]);
    await screenshot(page, "model-backtest");
  });

  it("shows the funnel by channel and the attribution models side by side, the filters kept in the URL", async () => {
    const page = await logIn(MARKETER, DEMO_PASSWORD);
    await page.goto(`${service.url}/funnel`);
    await page.getByLabel("Break down by").selectOption("channel");
    await expect.poll(() => page.url()).toMatch(/by=channel/);
    const funnel = page.getByRole("table", { name: "Funnel counts and stage-to-stage rates" });
    await expect.poll(() => funnel.locator("tbody tr").count()).toBeGreaterThan(3);
    expect(await funnel.locator("thead th").first().textContent()).toBe("channel");
    await page
      .locator("figure[aria-label='Conversion rates by group'] .recharts-bar-rectangle")
      .first()
      .waitFor();
    // Revenue credited to each channel under the five models; first touch adds up to the total.
    await page.getByLabel("Credit for").selectOption("revenue");
    await expect.poll(() => page.url()).toMatch(/metric=revenue/);
    const credit = page.getByRole("table", { name: "Attribution of won revenue" });
    await credit.locator("tbody tr").first().waitFor();
    expect(await credit.locator("thead th").allTextContents()).toEqual([
      "channel",
      "First touch",
      "Last touch",
      "Linear",
      "U-shaped",
      "W-shaped",
    ]);
    const firstTouch = (await credit.locator("tbody tr td:nth-of-type(1)").allTextContents()).map((t) =>
      Number(t.replace(/,/g, "")),
    );
    const total = await page.getByText(/^Total: [\d,]+ won revenue$/).textContent();
    expect(firstTouch.reduce((a, b) => a + b, 0)).toBe(Number(total?.replace(/\D/g, "")));
    await page
      .getByRole("table", { name: "Conversion paths before MQL" })
      .locator("tbody tr")
      .first()
      .waitFor();
    // Reloaded, the page keeps its filters.
    await page.reload();
    await expect.poll(() => page.getByLabel("Break down by").inputValue()).toBe("channel");
    await expect.poll(() => page.getByLabel("Credit for").inputValue()).toBe("revenue");
    expect(await chartOverlaps(page)).toEqual([]);
    await screenshot(page, "funnel");
  });

  it("shows a sequence's counts by step and its leads; a marketer saves a new version", async () => {
    const page = await logIn(MARKETER, DEMO_PASSWORD);
    await page.goto(`${service.url}/nurture`);
    const api = (await service.api("GET", "/api/sequences/welcome")).body;
    const steps = page.getByRole("table", { name: "Counts by step" });
    const first = steps.getByRole("row", { name: /^email-1/ });
    await first.waitFor();
    const cells = await first.getByRole("cell").allTextContents();
    // Does, active here, sent, opened, clicked, unsubscribed.
    expect(cells[2]).toBe(api.emailsByStep["email-1"].sent.toLocaleString("en-US"));
    expect(cells[3]).toMatch(
      new RegExp(`^${api.engagementByStep["email-1"].opened.toLocaleString("en-US")} `),
    );
    expect(cells[5]).toBe(String(api.engagementByStep["email-1"].unsubscribed));
    const waiting = await steps
      .getByRole("row", { name: /^pause-1/ })
      .getByRole("cell")
      .nth(1)
      .textContent();
    expect(waiting).toBe(String(api.activeByStep["pause-1"] ?? 0));
    // Its leads, each a link to the profile.
    const leads = page.getByRole("table", { name: "Enrolled leads" });
    await leads.locator("tbody tr").first().waitFor();
    expect(await leads.locator("tbody tr a").first().getAttribute("href")).toMatch(/^\/leads\//);
    // Running it needs the postal address every marketing email carries: the server says so.
    await page.getByRole("button", { name: "Run" }).click();
    await expect.poll(() => page.getByRole("alert").first().textContent()).toMatch(/postal address/i);
    // A new version from the editor: a third email, saved as v2 (not yet running).
    const editor = page.getByRole("textbox", { name: "Sequence YAML" });
    await editor.click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type("  - { id: email-4, send: tpl-nowhere }");
    await expect
      .poll(() => page.getByRole("list", { name: "Problems" }).textContent())
      .toMatch(/tpl-nowhere/);
    for (let i = 0; i < "tpl-nowhere }".length; i++) await page.keyboard.press("Backspace");
    await page.keyboard.type("tpl-pricing }");
    await expect.poll(() => page.getByRole("list", { name: "Problems" }).textContent()).toBe("");
    await page.getByRole("button", { name: "Save as v2" }).click();
    await page.getByRole("heading", { name: "Welcome new leads (v2)" }).waitFor();
    await page.getByRole("button", { name: "Save as v3" }).waitFor();
    const versions = (await service.api("GET", "/api/sequences/welcome")).body.versions;
    expect(versions.map((v: { version: number; createdBy: string }) => [v.version, v.createdBy])).toEqual([
      [2, MARKETER],
      [1, "demo"],
    ]);
    await screenshot(page, "nurture");
  });

  it("shows a new write key once, in settings, beside users, webhooks and routing", async () => {
    const page = await logIn("admin@localhost", TEST_ADMIN_PASSWORD);
    await page.goto(`${service.url}/settings`);
    await expect.poll(() => page.getByRole("table", { name: "Users" }).textContent()).toContain(MARKETER);
    await page.getByRole("button", { name: "Create write key" }).click();
    await expect.poll(() => page.getByTestId("new-secret").textContent()).toMatch(/^wk_/);
    const key = (await page.getByTestId("new-secret").textContent()) as string;
    // The key works for ingest, and is never shown again.
    const sent = await fetch(`${service.url}/v1/track`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${key}:`).toString("base64")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ userId: "settings-key", event: "Page Viewed" }),
    });
    expect(sent.status).toBe(200);
    await page.reload();
    await page.getByRole("table", { name: "Users" }).waitFor();
    expect(await page.getByTestId("new-secret").count()).toBe(0);
    await expect
      .poll(() => page.getByRole("textbox", { name: "Routing YAML" }).textContent())
      .toContain("enterprise");
    await screenshot(page, "settings");
  });

  it("records the time to load and render the profile of a lead with 5,000 events", async () => {
    const at = Date.now() - 30 * 86_400_000;
    const calls = Array.from({ length: 5_000 }, (_, i) => ({
      type: "track",
      userId: "busy-1",
      messageId: `busy-1-${i}`,
      timestamp: new Date(at + i * 60_000).toISOString(),
      event: i % 3 === 0 ? "Webinar Attended" : "Asset Downloaded",
      ...(i % 3 === 0 ? {} : { properties: { type: "ebook" } }),
    }));
    for (let i = 0; i < calls.length; i += 500) await sendBatch(service, calls.slice(i, i + 500));
    await service.drain();
    const id = (await service.api("GET", "/api/leads?userId=busy-1")).body.items[0].id as string;
    // The API calls the page makes, each timed alone, for the record.
    const api: Record<string, number> = {};
    for (const path of ["", "/explain", "/events?limit=100", "/score-history", "/nurture"]) {
      const t0 = Date.now();
      expect((await service.api("GET", `/api/leads/${id}${path}`)).status).toBe(200);
      api[path || "/"] = Date.now() - t0;
    }
    const page = await logIn(MARKETER, DEMO_PASSWORD);
    const load = async (leadId: string) => {
      const t = Date.now();
      await page.goto(`${service.url}/leads/${leadId}`);
      await page.locator("table.why").first().waitFor({ timeout: 60_000 });
      await page.locator("ol.timeline li").first().waitFor();
      await page
        .locator("figure[aria-label='Score over time'] .recharts-line")
        .first()
        .waitFor({ state: "attached" });
      return Date.now() - t;
    };
    // Beside it, a lead with two events: what loading the page costs whatever the lead.
    const small = await load(live["live-1"] as string);
    const ms = await load(id);
    // Recorded, not asserted (target < 1 s; the closing note reports it).
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(
      join(ARTIFACTS, "profile-5000-events.json"),
      JSON.stringify({ events: 5_000, ms, twoEventsMs: small, kind, api }),
    );
    process.stdout.write(
      `profile of a lead with 5,000 events loaded and rendered in ${ms} ms (a lead with two events: ${small} ms; ${kind}); API ms: ${JSON.stringify(api)}\n`,
    );
    await screenshot(page, "profile-5000-events");
  });

  it("has no serious accessibility violations, no sideways scroll and no overlapping chart labels", async () => {
    const page = await logIn("admin@localhost", TEST_ADMIN_PASSWORD);
    const pages = {
      overview: "/overview",
      leads: "/leads",
      profile: `/leads/${live["live-1"]}`,
      inbox: "/inbox",
      models: "/models",
      settings: "/settings",
      funnel: "/funnel?by=channel",
      cohorts: "/funnel?view=cohort&period=month",
      nurture: "/nurture",
    };
    for (const [name, path] of Object.entries(pages)) {
      await page.goto(`${service.url}${path}`);
      await page.waitForLoadState("networkidle");
      expect(await seriousViolations(page), name).toEqual([]);
      expect(await horizontalOverflow(page), name).toBeLessThanOrEqual(0);
      expect(await chartOverlaps(page), name).toEqual([]);
      await screenshot(page, `${name}-1280`);
    }
    await page.context().close();
    const anon = await (await browser.newContext()).newPage();
    await anon.goto(`${service.url}/`);
    await anon.getByRole("button", { name: "Log in" }).waitFor();
    expect(await seriousViolations(anon), "login").toEqual([]);
    // A phone: the inbox and a profile still fit.
    const phone = await logIn(rep, DEMO_PASSWORD, { width: 390, height: 844 });
    for (const [name, path] of Object.entries({ inbox: "/inbox", profile: `/leads/${live["live-1"]}` })) {
      await phone.goto(`${service.url}${path}`);
      await phone.waitForLoadState("networkidle");
      expect(await horizontalOverflow(phone), `${name} at 390`).toBeLessThanOrEqual(0);
      expect(await chartOverlaps(phone), `${name} at 390`).toEqual([]);
      await screenshot(phone, `${name}-390`);
    }
  }, 300_000);
});
