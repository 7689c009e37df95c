import type { Command } from "commander";
import type { PublishableKey } from "../../nurture/publishable-keys.js";
import { printJson, withClient } from "../with-client.js";

const line = (k: PublishableKey) =>
  `${k.id}  ${k.revokedAt ? `revoked ${k.revokedAt}` : "active"}  ${k.key}${k.name ? `  ${k.name}` : ""}\n    ${k.origins.join(", ")}\n`;

/**
 * `qualify keys publishable …`: keys that websites embed to call the personalisation endpoint from
 * their allowed origins (docs/audiences.md). Joins the `keys` command of admin.ts when it exists.
 */
export function registerPublishableKeys(program: Command): void {
  const keys =
    program.commands.find((c) => c.name() === "keys") ?? program.command("keys").description("manage keys");
  const publishable = keys
    .command("publishable")
    .description("publishable keys for the personalisation endpoint (websites)");

  publishable
    .command("create")
    .description("create a publishable key (pk_…), usable only from the origins given")
    .option("--name <name>", "the website it is for")
    .requiredOption(
      "--origin <origin>",
      "an exact origin such as https://www.acme.example (repeat for more)",
      (v: string, all: string[] = []) => [...all, v],
    )
    .action(async (o: { name?: string; origin: string[] }) => {
      await withClient(async (client) => {
        const k = await client.call<PublishableKey>("POST", "/api/publishable-keys", {
          ...(o.name ? { name: o.name } : {}),
          origins: o.origin,
        });
        process.stdout.write(`${k.key}\n`);
        process.stderr.write(`publishable key ${k.id} for ${k.origins.join(", ")}\n`);
      });
    });

  publishable
    .command("list")
    .description("list publishable keys, revoked ones too")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client) => {
        const { keys: list } = await client.call<{ keys: PublishableKey[] }>("GET", "/api/publishable-keys");
        if (o.json) return printJson(list);
        for (const k of list) process.stdout.write(line(k));
        if (list.length === 0) process.stdout.write("no publishable keys yet\n");
      });
    });

  publishable
    .command("revoke")
    .description("revoke a publishable key; it stops working at once")
    .argument("<id>", "key id (pkid_…)")
    .action(async (id: string) => {
      await withClient(async (client) => {
        const k = await client.call<PublishableKey>(
          "DELETE",
          `/api/publishable-keys/${encodeURIComponent(id)}`,
        );
        process.stdout.write(`revoked ${k.id}\n`);
      });
    });
}
