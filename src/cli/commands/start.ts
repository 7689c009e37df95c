import type { Command } from "commander";
import { startService } from "../../api/start-service.js";
import { loadConfig } from "../../config/load-config.js";
import { QualifyError } from "../../errors.js";
import { printCredentials } from "../print-credentials.js";

/** `qualify start`: the server and live processing, until SIGINT or SIGTERM. */
export function registerStart(program: Command): void {
  program
    .command("start")
    .description("run the server (Segment ingest, API, live processing); configured by environment variables")
    .option("-p, --port <port>", "port to listen on (overrides PORT)")
    .option("--no-processing", "serve ingest and the API only; `qualify worker` processes (PostgreSQL)")
    .action(async (opts: { port?: string; processing: boolean }) => {
      const env = { ...process.env, ...(opts.port === undefined ? {} : { PORT: opts.port }) };
      const config = loadConfig(env);
      if (!opts.processing && !config.databaseUrl)
        throw new QualifyError(
          "CONFIG_INVALID",
          "--no-processing needs PostgreSQL (DATABASE_URL), where `qualify worker` can process; the embedded database has only this process",
        );
      const running = await startService(config, { processing: opts.processing });
      const { bootstrap, url } = running;
      const out = process.stdout;
      out.write(
        `Qualify listening on ${url} (${running.service.db.kind === "postgres" ? "PostgreSQL" : `PGlite in ${running.service.config.dataDir}`})\n`,
      );
      if (bootstrap.modelVersion !== undefined)
        out.write(
          `First start: ${running.service.config.modelFile} is model v${bootstrap.modelVersion}, active.\n`,
        );
      printCredentials(bootstrap, out);
      out.write(`Dashboard: ${url}/   API docs: ${url}/docs\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await running.close();
    });
}
