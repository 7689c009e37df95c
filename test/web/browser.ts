import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { type Browser, chromium, type Page } from "playwright-core";

/**
 * Debian's Chromium driven by playwright-core (`npx playwright install` cannot work here). CI
 * installs it (`.ci/run`) and sets QUALIFY_REQUIRE_BROWSER=1, so that a missing browser fails
 * there; elsewhere the browser tests are skipped with a message.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER) {
  if (process.env.QUALIFY_REQUIRE_BROWSER === "1") throw new Error(`no Chromium at ${CHROMIUM}`);
  process.stderr.write(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)\n`);
}

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });

/** Screenshots are kept as test artifacts in test-artifacts/ (not committed). */
export const ARTIFACTS = join(process.cwd(), "test-artifacts");

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** axe-core's serious and critical violations on the page, as "rule: target" lines. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).analyze();
  return r.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}`));
}

/** Wider than the window: the page scrolls sideways. */
export const horizontalOverflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/**
 * Within each chart, pairs of boxes that overlap: the legend against the plot area, and axis tick
 * labels against each other and against the legend.
 */
export const chartOverlaps = (page: Page) =>
  page.evaluate(() => {
    type Box = { name: string; r: DOMRect };
    const hit = (a: DOMRect, b: DOMRect) =>
      a.width > 0 &&
      b.width > 0 &&
      a.left < b.right - 0.5 &&
      b.left < a.right - 0.5 &&
      a.top < b.bottom - 0.5 &&
      b.top < a.bottom - 0.5;
    const out: string[] = [];
    document.querySelectorAll(".recharts-wrapper").forEach((chart, c) => {
      const legend = chart.querySelector(".recharts-legend-wrapper");
      const plot = chart.querySelector(".recharts-cartesian-grid");
      const labels: Box[] = [...chart.querySelectorAll(".recharts-cartesian-axis-tick-value")].map(
        (t, i) => ({
          name: `tick ${i} '${t.textContent}'`,
          r: t.getBoundingClientRect(),
        }),
      );
      const boxes: Box[] = [...labels];
      if (legend) boxes.push({ name: "legend", r: legend.getBoundingClientRect() });
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i] as Box;
          const b = boxes[j] as Box;
          if (hit(a.r, b.r)) out.push(`chart ${c}: ${a.name} overlaps ${b.name}`);
        }
      if (legend && plot && hit(legend.getBoundingClientRect(), plot.getBoundingClientRect()))
        out.push(`chart ${c}: legend overlaps the plot`);
    });
    return out;
  });
