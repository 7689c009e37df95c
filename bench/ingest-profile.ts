import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pg from "pg";
import { startService } from "../src/api/start-service.js";
import { loadConfig } from "../src/config/load-config.js";
import { withDatabase } from "../src/db/database-url.js";
import { batchBody, trackBody } from "./ingest-load.js";
import { fmt } from "./measure.js";

/**
 * Where ingest's CPU goes: the service (processing stopped) in this process, the load from
 * autocannon in a child process, so that this process's CPU time is the server's alone. Prints
 * events/s, the server's CPU per event and, when PostgreSQL runs on this machine, its backends' CPU
 * per event (from /proc), with the commits and rollbacks of the window. With PROFILE=<dir>, writes
 * a CPU profile of the measured window only (no start-up) and prints the functions with the most
 * self time.
 *
 *   node dist/bench/ingest-profile.js batch|track [connections] [seconds]
 *
 * PostgreSQL with DATABASE_URL (a database of its own, dropped after), PGlite without.
 */

const WRITE_KEY = "wk_bench_0123456789abcdef";

type LoadSpec = { url: string; body: string; connections: number; seconds: number };

async function child(spec: LoadSpec) {
  const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;
  const run = (duration: number) =>
    autocannon({
      url: spec.url,
      method: "POST",
      connections: spec.connections,
      duration,
      idReplacement: true,
      headers: { "content-type": "application/json", authorization: auth },
      body: spec.body,
    });
  await run(2);
  process.send?.("start");
  const r = await run(spec.seconds);
  process.send?.({ requests: r["2xx"], failed: r.non2xx + r.errors });
}

/** User + system CPU of a process, in microseconds (Linux). */
function processCpu(pid: number): number {
  try {
    const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

function topSelfTime(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, n = 15) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const f = byId.get(id)?.callFrame;
    const key = f
      ? `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber}`
      : "?";
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
}

async function main() {
  const [what = "batch", connections, seconds] = process.argv.slice(2);
  const track = what === "track";
  const base = process.env.DATABASE_URL;
  const name = `qualify_profile_${randomBytes(4).toString("hex")}`;
  const admin = base ? new pg.Client({ connectionString: base }) : null;
  const dir = base ? null : mkdtempSync(join(tmpdir(), "qualify-profile-"));
  if (admin) {
    await admin.connect();
    await admin.query(`create database ${name}`);
  }
  const running = await startService(
    loadConfig({
      ...(base ? { DATABASE_URL: withDatabase(base, name) } : { QUALIFY_DATA_DIR: dir as string }),
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      QUALIFY_WRITE_KEY: WRITE_KEY,
    }),
  );
  await running.service.pipeline.stop();
  const session = new Session();
  session.connect();
  try {
    const spec: LoadSpec = {
      url: `${running.url}/v1/${track ? "track" : "batch"}`,
      body: track ? trackBody() : batchBody(100),
      connections: Number(connections ?? (track ? 50 : 10)),
      seconds: Number(seconds ?? 10),
    };
    // The pool's connections, once the warm-up has opened them.
    let backends: { pid: number }[] = [];
    const stats = async () =>
      admin
        ? (
            await admin.query<{ c: number; r: number }>(
              "select xact_commit::int as c, xact_rollback::int as r from pg_stat_database where datname = $1",
              [name],
            )
          ).rows[0]
        : undefined;
    const stored = async () =>
      (await running.service.db.query<{ n: number }>("select count(*)::int as n from events"))[0]?.n ?? 0;
    const load = fork(fileURLToPath(import.meta.url), ["--load", JSON.stringify(spec)]);
    let before = { cpu: process.cpuUsage(), at: 0, pg: 0, events: 0, db: await stats() };
    const done = new Promise<{ requests: number; failed: number }>((resolve) =>
      load.on("message", async (m) => {
        if (m === "start") {
          if (admin)
            backends = (
              await admin.query<{ pid: number }>("select pid from pg_stat_activity where datname = $1", [
                name,
              ])
            ).rows;
          if (process.env.PROFILE) {
            await session.post("Profiler.enable");
            await session.post("Profiler.start");
          }
          before = {
            cpu: process.cpuUsage(),
            at: performance.now(),
            pg: backends.reduce((s, b) => s + processCpu(b.pid), 0),
            events: await stored(),
            db: await stats(),
          };
        } else resolve(m as { requests: number; failed: number });
      }),
    );
    const result = await done;
    const wall = (performance.now() - before.at) / 1000;
    const cpu = process.cpuUsage(before.cpu);
    const pgCpu = backends.reduce((s, b) => s + processCpu(b.pid), 0) - before.pg;
    await running.service.writer.flushed();
    const events = (await stored()) - before.events;
    const after = await stats();
    const out = process.stdout;
    out.write(
      `${what}: ${fmt(events / wall)} events/s over ${spec.connections} connections (${result.failed} failed requests)\n`,
    );
    out.write(
      `server: ${((cpu.user + cpu.system) / events).toFixed(1)} µs CPU per event (${((100 * (cpu.user + cpu.system)) / 1e6 / wall).toFixed(0)}% of a core)\n`,
    );
    if (admin && pgCpu > 0)
      out.write(
        `PostgreSQL backends: ${(pgCpu / events).toFixed(1)} µs CPU per event (${((100 * pgCpu) / 1e6 / wall).toFixed(0)}% of a core), ` +
          `${(after?.c ?? 0) - (before.db?.c ?? 0)} commits, ${(after?.r ?? 0) - (before.db?.r ?? 0)} rollbacks\n`,
      );
    if (process.env.PROFILE) {
      const { profile } = await session.post("Profiler.stop");
      mkdirSync(process.env.PROFILE, { recursive: true });
      const file = join(process.env.PROFILE, `ingest-${what}-${Date.now()}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      out.write(`profile of the measured window: ${file}\nmost self time:\n`);
      for (const line of topSelfTime(profile as unknown as Parameters<typeof topSelfTime>[0]))
        out.write(`  ${line}\n`);
    }
  } finally {
    session.disconnect();
    await running.close();
    if (admin) {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--load") await child(JSON.parse(process.argv[3] as string) as LoadSpec);
else await main();
