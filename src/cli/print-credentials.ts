import type { BootstrapResult } from "../api/bootstrap-workspace.js";

/** The credentials generated at a database's first start: shown once, here, never again. */
export function printCredentials(first: BootstrapResult | undefined, out: NodeJS.WritableStream): void {
  if (!first?.writeKey && !first?.adminToken && !first?.adminPassword) return;
  out.write("First start of this database. Generated credentials, shown once; keep them:\n");
  if (first.writeKey) out.write(`  write key (for the SDKs):            ${first.writeKey}\n`);
  if (first.adminToken) out.write(`  admin API token (admin@localhost):   ${first.adminToken}\n`);
  if (first.adminPassword) out.write(`  dashboard login: admin@localhost / ${first.adminPassword}\n`);
}
