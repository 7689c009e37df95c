import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { Command } from "commander";
import { membersCsv } from "../../nurture/audience-csv.js";
import type { Member } from "../../nurture/audience-members.js";
import { loadAudience } from "../../nurture/audience-spec.js";
import type { ApiClient } from "../api-client.js";
import { readText } from "../read-files.js";
import { printJson, withClient } from "../with-client.js";

interface Audience {
  id: string;
  version: number;
  name: string | null;
  public: boolean;
  createdAt: string;
  createdBy: string | null;
  members: number;
  source?: string;
  membership?: { joined: number; left: number };
  versions?: { version: number; active: boolean; createdAt: string; createdBy: string | null }[];
}

/** Every member, page by page through the JSON API (the CSV is written here, as the API writes it). */
async function* members(client: ApiClient, id: string): AsyncGenerator<Member> {
  let cursor: string | null = null;
  do {
    const page: { items: Member[]; nextCursor: string | null } = await client.call(
      "GET",
      `/api/audiences/${encodeURIComponent(id)}/members?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}

const line = (a: Audience) =>
  `${a.id}  v${a.version}${a.public ? "  public" : ""}  ${a.members} members${a.name ? `  ${a.name}` : ""}\n`;

/** `qualify audiences …`: check, save, list, show, export and delete saved audiences (docs/audiences.md). */
export function registerAudiences(program: Command): void {
  const audiences = program
    .command("audiences")
    .description("saved audiences: segment conditions with live membership (docs/audiences.md)");

  audiences
    .command("check")
    .description("validate an audience YAML file locally; every error with its line")
    .argument("<file>", "audience YAML")
    .action((file: string) => {
      const spec = loadAudience(readText(file), file);
      process.stdout.write(`${file}: ok (audience ${spec.id}${spec.public ? ", public" : ""})\n`);
    });

  audiences
    .command("save")
    .description("store an audience file as a new active version and rebuild its membership")
    .argument("<file>", "audience YAML")
    .action(async (file: string) => {
      const source = readText(file);
      loadAudience(source, file);
      await withClient(async (client) => {
        const a = await client.call<Audience>("POST", "/api/audiences", { source });
        const m = a.membership ?? { joined: 0, left: 0 };
        process.stdout.write(
          `saved audience ${a.id} v${a.version}: ${a.members} members (${m.joined} joined, ${m.left} left)\n`,
        );
      });
    });

  audiences
    .command("list")
    .description("list active audiences with member counts")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client) => {
        const { audiences: list } = await client.call<{ audiences: Audience[] }>("GET", "/api/audiences");
        if (o.json) return printJson(list);
        for (const a of list) process.stdout.write(line(a));
        if (list.length === 0) process.stdout.write("no audiences yet: qualify audiences save <file>\n");
      });
    });

  audiences
    .command("show")
    .description("print an audience: its versions and its YAML")
    .argument("<id>", "audience id")
    .action(async (id: string) => {
      await withClient(async (client) => {
        const a = await client.call<Audience>("GET", `/api/audiences/${encodeURIComponent(id)}`);
        process.stdout.write(line(a));
        for (const v of a.versions ?? [])
          process.stdout.write(
            `  v${v.version}${v.active ? " (active)" : ""}  ${v.createdAt}${v.createdBy ? `  by ${v.createdBy}` : ""}\n`,
          );
        process.stdout.write(`# audience ${a.id} v${a.version}\n${a.source ?? ""}`);
      });
    });

  audiences
    .command("export")
    .description("write the members as CSV (email,user_id,lead_id,name,stage,grade,joined_at)")
    .argument("<id>", "audience id")
    .option("--out <file>", "write to this file instead of standard output")
    .action(async (id: string, o: { out?: string }) => {
      await withClient(async (client) => {
        // Not found is an error before any file is made.
        await client.call("GET", `/api/audiences/${encodeURIComponent(id)}`);
        const out = o.out ? createWriteStream(o.out) : process.stdout;
        let n = -1;
        for await (const text of membersCsv(members(client, id))) {
          n++;
          if (!out.write(text)) await once(out, "drain");
        }
        if (o.out) {
          const file = out as ReturnType<typeof createWriteStream>;
          await new Promise<void>((resolve, reject) =>
            file.end((e?: Error | null) => (e ? reject(e) : resolve())),
          );
          process.stderr.write(`wrote ${n} members to ${o.out}\n`);
        }
      });
    });

  audiences
    .command("delete")
    .description("delete an audience: every member leaves (audience.left webhooks)")
    .argument("<id>", "audience id")
    .action(async (id: string) => {
      await withClient(async (client) => {
        const r = await client.call<{ left: number }>("DELETE", `/api/audiences/${encodeURIComponent(id)}`);
        process.stdout.write(`deleted audience ${id} (${r.left} members left)\n`);
      });
    });
}
