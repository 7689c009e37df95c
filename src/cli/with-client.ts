import { loadConfig } from "../config/load-config.js";
import { type ApiClient, connect } from "./api-client.js";
import { printCredentials } from "./print-credentials.js";

/** Runs a live-data command against the API (remote, the lock holder's, or in-process), then closes. */
export async function withClient<T>(fn: (client: ApiClient) => Promise<T>): Promise<T> {
  const client = await connect(loadConfig());
  try {
    printCredentials(client.firstStart, process.stderr);
    return await fn(client);
  } finally {
    await client.close();
  }
}

export const printJson = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
