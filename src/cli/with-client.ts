import { loadConfig } from "../config/load-config.js";
import { type ApiClient, connect } from "./api-client.js";

/** Runs a live-data command against the API (remote, the lock holder's, or in-process), then closes. */
export async function withClient<T>(fn: (client: ApiClient) => Promise<T>): Promise<T> {
  const client = await connect(loadConfig());
  try {
    const first = client.firstStart;
    if (first?.writeKey || first?.adminToken) {
      process.stderr.write("First start of this database. Generated credentials, shown once; keep them:\n");
      if (first.writeKey) process.stderr.write(`  write key: ${first.writeKey}\n`);
      if (first.adminToken)
        process.stderr.write(`  admin API token (admin@localhost): ${first.adminToken}\n`);
    }
    return await fn(client);
  } finally {
    await client.close();
  }
}

export const printJson = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
