import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

/**
 * The README's screenshots (`npm run screenshots`, after `npm run build`): exactly the quickstart,
 * `qualify start` on a fresh embedded database, then `qualify demo`, then the dashboard in Debian's
 * Chromium at 1280×800: the overview, a lead profile, a sales rep's inbox, the funnel and nurture,
 * into docs/images/.
 */
const PORT = Number(process.env.PORT ?? 3987);
const URL = `http://127.0.0.1:${PORT}`;
const OUT = join(process.cwd(), "docs/images");
const dir = mkdtempSync(join(tmpdir(), "qualify-screenshots-"));
const env = {
  ...process.env,
  QUALIFY_DATA_DIR: dir,
  PORT: String(PORT),
  HOST: "127.0.0.1",
  LOG_LEVEL: "warn",
  QUALIFY_ADMIN_PASSWORD: "screenshot-admin",
};
const server = spawn("node", ["bin/qualify.js", "start"], { env, stdio: ["ignore", "pipe", "inherit"] });
const run = (args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const p = spawn("node", ["bin/qualify.js", ...args], { env, stdio: "inherit" });
    p.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`qualify ${args.join(" ")}: exit ${code}`)),
    );
  });
try {
  await new Promise<void>((resolve) =>
    server.stdout.on("data", (d) => String(d).includes("listening") && resolve()),
  );
  await run(["demo"]);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const shoot = async (email: string, password: string, path: string, file: string, wait: string) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${URL}/`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("button", { name: "Log out" }).waitFor();
    await page.goto(`${URL}${path}`);
    await page.locator(wait).first().waitFor();
    await page.waitForLoadState("networkidle");
    await page.screenshot({ path: join(OUT, file) });
    await page.close();
    process.stdout.write(`docs/images/${file}\n`);
  };
  await shoot(
    "marketer@demo.example",
    "qualify-demo",
    "/overview",
    "overview.png",
    ".recharts-bar-rectangle",
  );
  const leads = await fetch(`${URL}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "admin@localhost", password: "screenshot-admin" }),
  });
  const cookie = (leads.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const mql = (await (await fetch(`${URL}/api/leads?stage=sal&limit=1`, { headers: { cookie } })).json()) as {
    items: { id: string }[];
  };
  await shoot(
    "marketer@demo.example",
    "qualify-demo",
    `/leads/${mql.items[0]?.id}`,
    "lead-profile.png",
    "table.why",
  );
  await shoot("demo-rep-1@sales.example", "qualify-demo", "/inbox", "inbox.png", "[data-testid=inbox-item]");
  await shoot(
    "marketer@demo.example",
    "qualify-demo",
    "/funnel?by=channel",
    "funnel.png",
    "figure[aria-label='Conversion rates by group'] .recharts-bar-rectangle",
  );
  await shoot("marketer@demo.example", "qualify-demo", "/nurture", "nurture.png", ".recharts-bar-rectangle");
  await browser.close();
} finally {
  server.kill("SIGINT");
  await new Promise((r) => server.on("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
