import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statfsSync } from "node:fs";
import { dirname, join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { Random } from "../src/analytics/random.js";
import type { Database } from "../src/db/database.js";
import { withDatabase } from "../src/db/database-url.js";
import { migrate } from "../src/db/migrate.js";
import { openPostgres } from "../src/db/open-postgres.js";
import {
  type CompiledModel,
  type Input,
  type LeadState,
  newLeadState,
  step,
  summarize,
} from "../src/engine/index.js";
import { companyDomain } from "../src/pipeline/free-mail-domains.js";
import { accountOf } from "../src/pipeline/link-account.js";
import { activateModel, addModel, compileStored } from "../src/pipeline/model-store.js";
import { publishModel, rescore } from "../src/pipeline/publish-model.js";
import { type LeadToRescore, readsContext, streamLeads } from "../src/pipeline/rescore-stream.js";
import { generateDataset } from "./generate-events.js";
import { fmt, mb, verdict } from "./measure.js";

/**
 * Rescore after a model publish, on PostgreSQL: leads and their processed events are loaded as live
 * processing would have stored them (engine states built by model v1), then model v2 is published
 * through `publishModel`, which rescores every lead in one transaction. Reports events/s and the
 * process's peak RSS against the target, beside limits measured in the same run on the same rows: a
 * plain COPY read of the events in lead order, the rescore's own read alone, and the rescore's engine
 * work on inputs already in memory. It creates and drops a database of its own on DATABASE_URL.
 *
 * Sizes: BENCH_RESCORE_LEADS (default 1,000,000) and BENCH_RESCORE_EVENTS_PER_LEAD (default 10).
 * BENCH_RESCORE_KEEP=1 keeps the loaded database (as a template: publishing is measured on a copy);
 * BENCH_RESCORE_TEMPLATE=<name> measures on a copy of such a kept database instead of loading.
 */

const LEADS = Number(process.env.BENCH_RESCORE_LEADS ?? 1_000_000);
const EVENTS_PER_LEAD = Number(process.env.BENCH_RESCORE_EVENTS_PER_LEAD ?? 10);
/** Leads generated, and their events interleaved in time order, per COPY (bounds the loader's memory). */
const CHUNK_LEADS = Number(process.env.BENCH_RESCORE_CHUNK_LEADS ?? 100_000);
/** Leads held in memory for the engine limit. */
const ENGINE_SAMPLE = Math.min(LEADS, Number(process.env.BENCH_RESCORE_ENGINE_SAMPLE ?? 100_000));
const SEED = 4;
const DAYS = 180;
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
/** Publishing happens when the last event is in; leads active within 30 days get their MQL at once. */
const NOW = START + DAYS * DAY;
const ACTIVE_DAYS = 30;
const WS = "default";
const TARGET_EVENTS_PER_SECOND = 200_000;
const TARGET_RSS = 2 ** 30;
/** Disk a stored event takes, indexes and WAL included (measured: see bench/README.md), with room to spare. */
const BYTES_PER_EVENT = 2_000;

function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "models", "default.yaml"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no models/default.yaml above ${here}`);
  }
}

const V1 = readFileSync(join(repoRoot(), "models", "default.yaml"), "utf8");
/** v2, a typical tuning: the engagement threshold of the A/B-grade path goes from 50 to 40. */
const V2 = V1.replace("- { score: engagement, gte: 50 }", "- { score: engagement, gte: 40 }");
if (V2 === V1) throw new Error("models/default.yaml changed: the v2 edit no longer applies");

const out = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rate = (n: number, ms: number) => n / (ms / 1000);

// ---------------------------------------------------------------------------------------------
// Loading (in child processes, so that the generator's memory never counts in the publish's RSS)
// ---------------------------------------------------------------------------------------------

type CopyValue = string | number | boolean | null;

/** A value in COPY's text format. */
function copyValue(v: CopyValue): string {
  if (v === null) return "\\N";
  if (typeof v !== "string") return String(v);
  // JSON text has no raw tabs or newlines, the generated names and ids none at all: most values pass.
  if (v.indexOf("\\") === -1 && v.indexOf("\t") === -1 && v.indexOf("\n") === -1 && v.indexOf("\r") === -1)
    return v;
  return v.replace(/[\\\t\n\r]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}
const copyFields = (values: CopyValue[]) => values.map(copyValue).join("\t");

function uuid(rng: Random): string {
  return `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-${rng.pick(["8", "9", "a", "b"])}${rng.hex(3)}-${rng.hex(12)}`;
}

const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
];
const REFERRERS = [
  "https://www.google.com/",
  "https://www.linkedin.com/",
  "",
  "https://news.ycombinator.com/",
];

/**
 * The `context` ingest keeps with an event, as Segment's libraries send it: analytics.js in the
 * browser (page, user agent, locale, ip), a server library for email events. About 400 bytes.
 */
function contextOf(rng: Random, e: Input): Record<string, unknown> | undefined {
  if (e.kind !== "event") return undefined;
  if (e.type === "track" && e.event?.startsWith("Email"))
    return { library: { name: "analytics-node", version: "2.1.2" }, ip: `198.51.100.${rng.int(255)}` };
  const path = typeof e.properties?.path === "string" ? e.properties.path : "/resources";
  return {
    library: { name: "analytics.js", version: "next-1.72.0" },
    page: {
      path,
      referrer: rng.pick(REFERRERS),
      search: "",
      title: "Example — B2B software",
      url: `https://www.example.com${path}`,
    },
    userAgent: rng.pick(USER_AGENTS),
    locale: "en-US",
    timezone: "Europe/Berlin",
    ip: `203.0.113.${rng.int(255)}`,
  };
}

const EVENT_COLUMNS =
  "workspace_id, message_id, kind, type, user_id, anonymous_id, lead_id, at, received_at, input, notify, processed, processed_order";
const LEAD_COLUMNS =
  "workspace_id, id, user_id, email, email_domain, name, traits, traits_at, stage, scores, grade, scores_as_of, mql_at, first_mql_at, state, model_version, first_seen_at, last_event_at, event_count, account_id, account_source";

/** One chunk of leads as COPY text, in pieces of about 1 MB. */
interface Chunk {
  leads: number;
  events: number;
  eventText: string[];
  leadText: string[];
  generateMs: number;
}

/** Joins lines into pieces of about 1 MB (one stream write each). */
class Pieces {
  readonly out: string[] = [];
  private buf = "";
  add(line: string): void {
    this.buf += line;
    if (this.buf.length > 1 << 20) {
      this.out.push(this.buf);
      this.buf = "";
    }
  }
  done(): string[] {
    if (this.buf) this.out.push(this.buf);
    this.buf = "";
    return this.out;
  }
}

/**
 * Chunk `c`: its leads generated, each one's inputs stepped through model v1 one at a time as live
 * processing does, and its events in the order they arrived (leads interleaved), numbered in
 * processing order from `order`.
 */
function generateChunk(m: CompiledModel, c: number, order: number): Chunk {
  const t0 = performance.now();
  const first = c * CHUNK_LEADS;
  const n = Math.min(CHUNK_LEADS, LEADS - first);
  const data = generateDataset({
    seed: SEED * 1_000 + c,
    leads: n,
    events: Math.round(n * EVENTS_PER_LEAD),
    days: DAYS,
    start: START,
  });
  const rng = new Random(SEED * 7_919 + c);
  const rows: { at: number; id: string; line: string }[] = [];
  const leadText = new Pieces();
  for (let i = 0; i < data.leads.length; i++) {
    const inputs = data.leads[i] as Input[];
    const leadId = uuid(rng);
    const anon = `anon-${c}-${i}`;
    const user = `user-${c}-${i}`;
    let state: LeadState = newLeadState(m);
    let traits: Record<string, unknown> = {};
    let traitsAt: number | null = null;
    let identified = false;
    let firstMqlAt: number | null = null;
    let lastEventAt: number | null = null;
    let eventCount = 0;
    for (const input of inputs) {
      if (input.kind === "event") {
        input.context = contextOf(rng, input);
        if (input.type === "identify" && input.traits) {
          identified = true;
          traits = { ...traits, ...input.traits };
          traitsAt = input.at;
        }
        lastEventAt = Math.max(lastEventAt ?? input.at, input.at);
        eventCount++;
      }
      // Live processing: one input at a time, in ingest order (here the time order).
      const r = step(m, state, [input], input.at);
      if (r.state === undefined) throw new Error(`unexpected replay for lead ${leadId}`);
      state = r.state;
      if (firstMqlAt === null && r.transitions.some((t) => t.to === "mql")) firstMqlAt = input.at;
      const isEvent = input.kind === "event";
      rows.push({
        at: input.at,
        id: input.id,
        line: copyFields([
          WS,
          input.id,
          input.kind,
          isEvent ? input.type : null,
          isEvent && identified ? user : null,
          isEvent ? anon : null,
          leadId,
          input.at,
          input.at + 1_500,
          JSON.stringify(input),
          true,
          true,
        ]),
      });
    }
    const s = summarize(m, state);
    const account = accountOf(state.s);
    const email = typeof traits.email === "string" ? traits.email : null;
    const names = [traits.first_name, traits.last_name].filter((v) => typeof v === "string");
    leadText.add(
      `${copyFields([
        WS,
        leadId,
        identified ? user : null,
        email,
        email === null ? null : companyDomain(email),
        names.length > 0 ? names.join(" ") : null,
        JSON.stringify(traits),
        traitsAt,
        s.stage,
        JSON.stringify(s.scores),
        s.grade,
        s.asOf,
        s.mqlAt,
        firstMqlAt,
        JSON.stringify(state),
        1,
        inputs[0]?.at ?? START,
        lastEventAt,
        eventCount,
        // The account the state scores it by, as live processing stores it.
        account.accountId,
        account.accountSource,
      ])}\n`,
    );
  }
  rows.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const eventText = new Pieces();
  for (const r of rows) eventText.add(`${r.line}\t${++order}\n`);
  return {
    leads: n,
    events: rows.length,
    eventText: eventText.done(),
    leadText: leadText.done(),
    generateMs: performance.now() - t0,
  };
}

async function copyInto(client: pg.Client, sql: string, pieces: string[]): Promise<void> {
  await pipeline(Readable.from(pieces), client.query(copyFrom(sql)));
}

/**
 * Drops a table's indexes and unique constraints but its primary key; returns the statements that
 * make them again, exactly as the migrations defined them.
 */
async function dropIndexes(client: pg.Client, table: string): Promise<string[]> {
  const { rows } = await client.query<{
    name: string;
    def: string;
    con: string | null;
    condef: string | null;
  }>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def,
       c.conname as con, pg_get_constraintdef(c.oid) as condef
     from pg_index i left join pg_constraint c on c.conindid = i.indexrelid
     where i.indrelid = $1::regclass and not i.indisprimary`,
    [table],
  );
  const again: string[] = [];
  for (const r of rows) {
    if (r.con) {
      await client.query(`alter table ${table} drop constraint ${r.con}`);
      again.push(`alter table ${table} add constraint ${r.con} ${r.condef}`);
    } else {
      await client.query(`drop index ${r.name}`);
      again.push(r.def);
    }
  }
  return again;
}

/** Processes loading at once, each generating its chunks and copying them in. */
const LOADERS = Number(process.env.BENCH_RESCORE_LOADERS ?? 2);
/** Chunk `c` numbers its events in processing order from `c * ORDER_STRIDE`. */
const ORDER_STRIDE = 1e9;

/** A loading process: chunks `part`, `part + LOADERS`, …, generated and copied in one by one. */
async function loadPart(url: string, part: number): Promise<void> {
  const m = compileStored(V1, 1);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (let c = part; c * CHUNK_LEADS < LEADS; c += LOADERS) {
    const chunk = generateChunk(m, c, c * ORDER_STRIDE);
    await copyInto(client, `copy events (${EVENT_COLUMNS}) from stdin`, chunk.eventText);
    await copyInto(client, `copy leads (${LEAD_COLUMNS}) from stdin`, chunk.leadText);
    process.stderr.write(
      `  chunk ${c + 1}: ${fmt(chunk.leads)} leads, ${fmt(chunk.events)} events (generated in ${seconds(chunk.generateMs)})\n`,
    );
  }
  await client.end();
}

/**
 * Loads LEADS leads and their events as live processing with model v1 stores them, with LOADERS
 * processes generating and copying chunks side by side. Indexes are built once the rows are in, as a
 * bulk load does.
 */
async function load(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const indexes = [...(await dropIndexes(client, "events")), ...(await dropIndexes(client, "leads"))];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: LOADERS }, (_, part) => child(["load-part", url, String(part)], 8_192)),
  );
  process.stderr.write(`  rows copied: ${seconds(performance.now() - t0)}\n`);
  await client.query("select setval('events_processed_order', (select max(processed_order) from events))");
  const indexed = performance.now();
  await client.query("set maintenance_work_mem = '512MB'");
  for (const sql of indexes) await client.query(sql);
  process.stderr.write(`  indexes built: ${seconds(performance.now() - indexed)}\n`);
  // As autovacuum would have left them: hint bits set, statistics current.
  const vacuumed = performance.now();
  await client.query("vacuum (analyze) events");
  await client.query("vacuum (analyze) leads");
  await client.query("checkpoint");
  process.stderr.write(`  vacuum, analyze and checkpoint: ${seconds(performance.now() - vacuumed)}\n`);
  await client.end();
}

// ---------------------------------------------------------------------------------------------
// The engine limit (a child process too: the inputs it holds in memory are not the publish's)
// ---------------------------------------------------------------------------------------------

async function readAndEngineLimits(url: string): Promise<void> {
  const db = openPostgres(url, 2);
  const m = compileStored(V2, 2);
  const context = readsContext(m.spec);
  // The publish's read path alone (database and parsing, no engine, no writes), over every lead.
  let events = 0;
  const t0 = performance.now();
  for await (const batch of streamLeads(db, WS, { context }))
    for (const l of batch) events += l.inputs.length;
  const readMs = performance.now() - t0;
  // The engine's work on the first leads, held in memory.
  const sample: LeadToRescore[] = [];
  for await (const batch of streamLeads(db, WS, { context })) {
    sample.push(...batch);
    if (sample.length >= ENGINE_SAMPLE) break;
  }
  await db.close();
  sample.length = Math.min(sample.length, ENGINE_SAMPLE);
  const sampleEvents = sample.reduce((n, l) => n + l.inputs.length, 0);
  const lifecycles = sample.map((l) => l.lifecycle);
  const opts = { activeDays: ACTIVE_DAYS, now: NOW };
  let engineMs = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 4; run++) {
    // `rescore` takes over the lifecycle it is given: each run starts from the stored one.
    for (let i = 0; i < sample.length; i++)
      (sample[i] as LeadToRescore).lifecycle = structuredClone(lifecycles[i] ?? null);
    globalThis.gc?.();
    const started = performance.now();
    let mqls = 0;
    for (const lead of sample) {
      const r = rescore(m, lead, opts);
      if (summarize(m, r.state, NOW).stage === "mql") mqls++;
    }
    // The first run warms up.
    if (run > 0) engineMs = Math.min(engineMs, performance.now() - started);
    if (mqls > sample.length) throw new Error("unreachable");
  }
  const texts = sample.map((l) => JSON.stringify(l.inputs));
  let parseMs = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    let n = 0;
    for (const t of texts) n += (JSON.parse(t) as unknown[]).length;
    parseMs = Math.min(parseMs, performance.now() - started);
    if (n !== sampleEvents) throw new Error(`parsed ${n} inputs, expected ${sampleEvents}`);
  }
  process.stdout.write(
    `${JSON.stringify({ events, readMs, sampleLeads: sample.length, sampleEvents, engineMs, parseMs, context })}\n`,
  );
}

// ---------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------

/** Runs this file again in a child process with `args`; resolves with its stdout. */
function child(args: string[], heapMb: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        ...process.execArgv,
        "--expose-gc",
        `--max-old-space-size=${heapMb}`,
        fileURLToPath(import.meta.url),
        ...args,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let stdout = "";
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    p.on("error", reject);
    p.on("exit", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${args[0]}: exit code ${code}`)),
    );
  });
}

/** Reads a COPY … TO STDOUT to the end; returns the rows and bytes it sent. */
async function copyOut(client: pg.Client, sql: string): Promise<{ rows: number; bytes: number; ms: number }> {
  let rows = 0;
  let bytes = 0;
  const t0 = performance.now();
  await pipeline(
    client.query(copyTo(sql)),
    new Writable({
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
        done();
      },
    }),
  );
  return { rows, bytes, ms: performance.now() - t0 };
}

/** The application name of the publish's connections, to find their server processes. */
const APP = "qualify_bench_publish";
/** Linux's USER_HZ: /proc reports CPU time in these. */
const CLOCK_TICKS = 100;

/**
 * CPU time (ms) of each server process connected to the database through `db`'s pool, oldest first,
 * read from /proc: only when PostgreSQL runs on this machine and /proc is readable; else null.
 */
async function backendsCpu(db: Database): Promise<number[] | null> {
  const rows = await db.query<{ pid: number }>(
    "select pid from pg_stat_activity where datname = current_database() and application_name = $1 order by backend_start",
    [APP],
  );
  try {
    return rows.map(({ pid }) => {
      const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    });
  } catch {
    return null;
  }
}

async function main() {
  const base = process.env.DATABASE_URL;
  if (!base) {
    out("rescore benchmark: set DATABASE_URL (a PostgreSQL it may create a database on); skipped");
    return;
  }
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const name = `qualify_bench_rescore_${randomBytes(4).toString("hex")}`;
  const template = process.env.BENCH_RESCORE_TEMPLATE;
  const keep = process.env.BENCH_RESCORE_KEEP === "1";
  let loadMs: number | null = null;
  try {
    const dataDir = (await admin.query<{ d: string }>("select current_setting('data_directory') as d"))
      .rows[0]?.d;
    if (template) {
      await admin.query(`create database ${name} template ${template}`);
    } else {
      const need = LEADS * EVENTS_PER_LEAD * BYTES_PER_EVENT * (keep ? 2 : 1);
      let free = Number.POSITIVE_INFINITY;
      for (const dir of [dataDir, "/"]) {
        try {
          if (dir) {
            const s = statfsSync(dir);
            free = s.bavail * s.bsize;
            break;
          }
        } catch {
          // Not readable from here (another user's directory): try the next.
        }
      }
      out(`disk: ${mb(free)} free, about ${mb(need)} needed`);
      if (free < need) {
        out("rescore benchmark: not enough free disk space for the database; skipped");
        return;
      }
      const target = keep ? `${name}_template` : name;
      await admin.query(`create database ${target}`);
      const db = openPostgres(withDatabase(base, target), 1);
      await migrate(db);
      const v1 = await addModel(db, WS, V1);
      await activateModel(db, WS, v1.version, "bench", { initial: true });
      await addModel(db, WS, V2);
      await db.close();
      out(
        `loading ${fmt(LEADS)} leads with ${EVENTS_PER_LEAD} events each on average (seed ${SEED}, ${DAYS} days)…`,
      );
      const t0 = performance.now();
      await load(withDatabase(base, target));
      loadMs = performance.now() - t0;
      if (keep) {
        out(`kept the loaded database as ${target} (BENCH_RESCORE_TEMPLATE=${target} to reuse it)`);
        await admin.query(`create database ${name} template ${target}`);
      }
    }
    const url = withDatabase(base, name);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const sizes = (
      await client.query<{
        events: string;
        leads: string;
        events_bytes: string;
        leads_bytes: string;
        db: string;
      }>(
        `select (select count(*) from events) as events, (select count(*) from leads) as leads,
           pg_total_relation_size('events') as events_bytes, pg_total_relation_size('leads') as leads_bytes,
           pg_database_size(current_database()) as db`,
      )
    ).rows[0];
    const events = Number(sizes?.events);
    const leads = Number(sizes?.leads);
    out(
      `data: ${fmt(leads)} leads, ${fmt(events)} events; events ${mb(Number(sizes?.events_bytes))}, leads ${mb(Number(sizes?.leads_bytes))}, database ${mb(Number(sizes?.db))}` +
        (loadMs === null ? ` (copied from ${template})` : `, loaded in ${seconds(loadMs)}`),
    );

    // Limits, on the same rows: what PostgreSQL sends of them read plainly, the publish's own read path
    // alone, and the engine's work alone.
    const seqRead = await copyOut(client, "copy (select lead_id, input from events) to stdout");
    const leadOrder = await copyOut(
      client,
      `copy (select lead_id, input from events where workspace_id = '${WS}' and processed order by lead_id, processed_order) to stdout`,
    );
    const limits = JSON.parse(await child(["limits", url], 8_192)) as {
      events: number;
      readMs: number;
      sampleLeads: number;
      sampleEvents: number;
      engineMs: number;
      parseMs: number;
      context: boolean;
    };

    // The publish, in this process: its RSS is sampled while it runs.
    globalThis.gc?.();
    const rssBefore = process.memoryUsage.rss();
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 20);
    const publishUrl = new URL(url);
    publishUrl.searchParams.set("application_name", APP);
    const db = openPostgres(publishUrl.toString(), 4);
    let reported = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await publishModel(db, WS, 2, {
      activeDays: ACTIVE_DAYS,
      now: NOW,
      by: "bench",
      onProgress: (done, total) => {
        if (done === total || done >= reported + total / 10) {
          reported = done;
          process.stderr.write(
            `  published ${fmt(done)} of ${fmt(total)} leads, ${seconds(performance.now() - t0)}, rss ${mb(process.memoryUsage.rss())}\n`,
          );
        }
      },
    });
    const publishMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    const maxRss = process.resourceUsage().maxRSS * 1024;
    const serverCpu = await backendsCpu(db);
    const check = (
      await client.query<{ v2: string; transitions: string }>(
        `select (select count(*) from leads where model_version = 2) as v2,
           (select count(*) from transitions where actor = 'model:v2') as transitions`,
      )
    ).rows[0];
    await db.close();
    await client.end();

    const publishRate = rate(events, publishMs);
    const readRate = rate(limits.events, limits.readMs);
    const engineRate = rate(limits.sampleEvents, limits.engineMs);
    const line = (label: string, r: number, extra = "") =>
      out(`${label.padEnd(34)} ${fmt(r).padStart(10)} events/s${extra}`);
    out("\nQualify rescore benchmark (PostgreSQL): publish model v2 over every lead, in one transaction");
    line(
      "COPY read, log order",
      rate(seqRead.rows, seqRead.ms),
      `   (${mb(seqRead.bytes)} in ${seconds(seqRead.ms)})`,
    );
    line(
      "COPY read, lead order",
      rate(leadOrder.rows, leadOrder.ms),
      `   (${mb(leadOrder.bytes)} in ${seconds(leadOrder.ms)}; order by lead_id, processed_order)`,
    );
    line(
      "the publish's read alone",
      readRate,
      `   (${seconds(limits.readMs)}; pages of leads with their inputs, parsed${limits.context ? "" : ", without context"})`,
    );
    line(
      "engine alone, inputs in memory",
      engineRate,
      `   (rescore + summarize; ${fmt(limits.sampleLeads)} leads, ${fmt(limits.sampleEvents)} events; one core)`,
    );
    line("JSON.parse of the same inputs", rate(limits.sampleEvents, limits.parseMs));
    line(
      "publish (rescore every lead)",
      publishRate,
      `   (${fmt(result.rescored)} leads in ${seconds(publishMs)}; ${fmt(result.newlyQualified)} newly qualified, ${fmt(result.skippedInactive)} inactive skipped)`,
    );
    out(
      `publish: ${((100 * publishRate) / readRate).toFixed(0)}% of its read alone, ${((100 * publishRate) / engineRate).toFixed(0)}% of the engine alone, ${((100 * publishRate) / rate(leadOrder.rows, leadOrder.ms)).toFixed(0)}% of the lead-order COPY`,
    );
    out(
      `CPU while publishing: node ${seconds((cpu.user + cpu.system) / 1000)}` +
        (serverCpu === null
          ? ""
          : `, PostgreSQL ${serverCpu.map((ms) => seconds(ms)).join(" + ")} (its server processes: the transaction, then the reader; from /proc)`) +
        `, in ${seconds(publishMs)}`,
    );
    out(`peak RSS while publishing: ${mb(peak)} sampled (${mb(rssBefore)} before), maxRSS ${mb(maxRss)}`);
    out(
      `rescore >= ${fmt(TARGET_EVENTS_PER_SECOND)} events/s: ${verdict(publishRate >= TARGET_EVENTS_PER_SECOND)}   peak RSS < ${mb(TARGET_RSS)}: ${verdict(Math.max(peak, maxRss) < TARGET_RSS)}`,
    );
    const ok = Number(check?.v2) === result.rescored && Number(check?.transitions) === result.newlyQualified;
    out(
      `stored: ${fmt(Number(check?.v2))} leads at v2, ${fmt(Number(check?.transitions))} transitions by model:v2: ${ok ? "as reported" : "MISMATCH"}`,
    );
    if (!ok) process.exitCode = 1;
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

const [mode, url] = process.argv.slice(2);
if (mode === "load-part" && url) await loadPart(url, Number(process.argv[4]));
else if (mode === "limits" && url) await readAndEngineLimits(url);
else await main();
