import * as z from "zod";
import { QualifyError } from "../errors.js";

/**
 * The one configuration schema, read from the environment once at boot. A bad value fails at
 * once with the variable's name and the reason; nothing deeper reads `process.env`.
 */
const schema = z.object({
  QUALIFY_DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, {
      error: (iss) => `expected a postgres:// URL, got '${String(iss.input)}'`,
    })
    .optional(),
});

export interface Config {
  /** Where embedded PGlite keeps its data, when no DATABASE_URL is set. */
  dataDir: string;
  /** PostgreSQL connection string; when set, PGlite is not used. */
  databaseUrl: string | undefined;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")),
    { reportInput: true },
  );
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: String(i.path[0] ?? ""), message: i.message }));
    throw new QualifyError("CONFIG_INVALID", "invalid configuration", details);
  }
  return { dataDir: parsed.data.QUALIFY_DATA_DIR, databaseUrl: parsed.data.DATABASE_URL };
}
