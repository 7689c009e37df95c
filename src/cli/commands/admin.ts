import type { Command } from "commander";
import { withClient } from "../with-client.js";

/** `qualify users create`, `qualify tokens create`, `qualify keys create`: through the admin API. */
export function registerAdmin(program: Command): void {
  program
    .command("users")
    .description("manage users")
    .command("create")
    .description("create a user with a role (admin, marketer, sales) and optional teams")
    .requiredOption("--email <email>", "the user's email")
    .requiredOption("--role <role>", "admin, marketer or sales")
    .option(
      "--team <team>",
      "a team (repeat for several)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option("--name <name>", "display name")
    .action(async (o: { email: string; role: string; team: string[]; name?: string }) => {
      await withClient(async (client) => {
        const u = await client.call<{ id: string; email: string; role: string; teams: string[] }>(
          "POST",
          "/api/users",
          {
            email: o.email,
            role: o.role,
            teams: o.team,
            ...(o.name ? { name: o.name } : {}),
          },
        );
        process.stdout.write(
          `created user ${u.email} (${u.role}${u.teams.length ? `; teams ${u.teams.join(", ")}` : ""}), id ${u.id}\n`,
        );
      });
    });

  program
    .command("tokens")
    .description("manage API tokens")
    .command("create")
    .description("create an API token for a user; it is printed once")
    .requiredOption("--user <user>", "user email or id")
    .option("--name <name>", "what the token is for", "cli")
    .action(async (o: { user: string; name: string }) => {
      await withClient(async (client) => {
        const t = await client.call<{ token: string; user: { email: string; role: string } }>(
          "POST",
          "/api/tokens",
          o,
        );
        process.stdout.write(`${t.token}\n`);
        process.stderr.write(`token for ${t.user.email} (${t.user.role}); shown once, keep it\n`);
      });
    });

  program
    .command("keys")
    .description("manage write keys")
    .command("create")
    .description("create a write key for the SDKs (ingest only); it is printed once")
    .option("--name <name>", "the source it is for", "source")
    .action(async (o: { name: string }) => {
      await withClient(async (client) => {
        const k = await client.call<{ key: string }>("POST", "/api/keys", o);
        process.stdout.write(`${k.key}\n`);
        process.stderr.write("write key; shown once, keep it\n");
      });
    });
}
