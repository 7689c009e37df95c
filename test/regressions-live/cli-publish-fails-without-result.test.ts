import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qualify } from "../support/live-cli.js";

/**
 * `qualify model publish --yes` against a server whose publish stream ends early (it crashed, or a
 * proxy cut the connection) or reports an error: the command must fail, not exit 0.
 */
let server: Server;
let url = "";
let mode: "cut" | "error" = "cut";

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url === "/api/models") {
        res.writeHead(201, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            model: { version: 2 },
            preview: {
              version: 2,
              leads: 3,
              newlyQualifying: 0,
              newlyQualifyingActive: 0,
              byWeek: [],
              noLongerQualifying: 0,
              activeDays: 30,
            },
          }),
        );
        return;
      }
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write(`${JSON.stringify({ progress: { done: 1, total: 3 } })}\n`);
      if (mode === "error")
        res.end(`${JSON.stringify({ error: "NOT_FOUND", message: "model version 2 does not exist" })}\n`);
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("qualify model publish", () => {
  it("fails when the publish stream ends without a result", async () => {
    mode = "cut";
    const r = await qualify(["model", "publish", "models/default.yaml", "--yes"], {
      QUALIFY_URL: url,
      QUALIFY_TOKEN: "t",
    });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/qualify: /);
  });

  it("fails with the server's message when the stream reports an error", async () => {
    mode = "error";
    const r = await qualify(["model", "publish", "models/default.yaml", "--yes"], {
      QUALIFY_URL: url,
      QUALIFY_TOKEN: "t",
    });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain("qualify: model version 2 does not exist");
  });
});
