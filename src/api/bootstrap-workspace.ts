import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Database } from "../db/database.js";
import { QualifyError } from "../errors.js";
import { activateModel, addModel } from "../pipeline/model-store.js";
import { hashPassword } from "../web/password.js";
import { setPassword } from "../web/web-sessions.js";
import { createToken, createUser, createWriteKey } from "./credentials.js";

export const DEFAULT_WORKSPACE = "default";

export interface BootstrapResult {
  /** Set only when generated now: shown once, never again. */
  writeKey?: string;
  adminToken?: string;
  /** The admin's dashboard password, when generated now. */
  adminPassword?: string;
  /** The model version made active now, at first start. */
  modelVersion?: number;
}

/**
 * First start on an empty database: the model file becomes version 1 and active; an admin user is
 * made with a token and a dashboard password, and a write key, from QUALIFY_ADMIN_TOKEN,
 * QUALIFY_ADMIN_PASSWORD and QUALIFY_WRITE_KEY when set, otherwise generated (and returned, to be
 * printed once).
 */
export async function bootstrapWorkspace(
  db: Database,
  opts: {
    modelFile: string;
    writeKey?: string | undefined;
    adminToken?: string | undefined;
    adminPassword?: string | undefined;
  },
  ws = DEFAULT_WORKSPACE,
): Promise<BootstrapResult> {
  return db.transaction(async (tx) => {
    await tx.query("select id from workspaces where id = $1 for update", [ws]);
    const out: BootstrapResult = {};
    const models = await tx.query("select 1 from models where workspace_id = $1 limit 1", [ws]);
    if (models.length === 0) {
      let source: string;
      try {
        source = readFileSync(opts.modelFile, "utf8");
      } catch (e) {
        throw new QualifyError(
          "FILE_UNREADABLE",
          `QUALIFY_MODEL: cannot read ${opts.modelFile}: ${(e as Error).message}`,
        );
      }
      const m = await addModel(tx, ws, source);
      await activateModel(tx, ws, m.version, "system", { initial: true, file: opts.modelFile });
      out.modelVersion = m.version;
    }
    const users = await tx.query("select 1 from users where workspace_id = $1 limit 1", [ws]);
    if (users.length === 0) {
      const admin = await createUser(tx, ws, {
        email: "admin@localhost",
        role: "admin",
        name: "Administrator",
      });
      const token = await createToken(tx, ws, admin.id, "bootstrap", opts.adminToken);
      const key = await createWriteKey(tx, ws, "bootstrap", opts.writeKey);
      const password = opts.adminPassword ?? randomBytes(12).toString("base64url");
      await setPassword(tx, admin, await hashPassword(password));
      if (!opts.adminToken) out.adminToken = token.token;
      if (!opts.adminPassword) out.adminPassword = password;
      if (!opts.writeKey) out.writeKey = key.key;
    }
    return out;
  });
}
