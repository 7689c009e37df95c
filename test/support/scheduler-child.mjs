// A runner in a process of its own, for the kill -9 test: it runs jobs of kind `hold` from the
// PostgreSQL database named by its first argument, prints `started <id>` from inside the handler,
// and never finishes, so that the test can kill it mid-job. Runs the built code (dist/).
import { openPostgres } from "../../dist/src/db/open-postgres.js";
import { Scheduler } from "../../dist/src/scheduler/run-scheduler.js";

const db = openPostgres(process.argv[2], 2);
const scheduler = new Scheduler(db, { clock: Date.now, pollMs: 20, leaseMs: 30_000 });
scheduler.register("hold", async (tx, job) => {
  await tx.query("insert into job_effects (job_id, note) values ($1, 'child')", [job.id]);
  process.stdout.write(`started ${job.id}\n`);
  await new Promise(() => {});
});
scheduler.start();
