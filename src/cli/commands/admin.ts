import type { Command } from "commander";
import { withClient } from "../with-client.js";

/** `qualify users create`, `qualify tokens create`, `qualify keys create`: through the admin API. */
export function registerAdmin(program: Command): void {
  const users = program.command("users").description("manage users");
  users
    .command("set")
    .description("a user's availability for routing, weekly capacity, or teams")
    .argument("<user>", "user id or email")
    .option("--available", "takes new leads")
    .option("--unavailable", "takes no new leads (away)")
    .option("--capacity <n>", "most handoffs a week; 'none' for no limit")
    .option(
      "--team <team>",
      "replace the teams (repeat for several)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .action(
      async (
        user: string,
        o: { available?: boolean; unavailable?: boolean; capacity?: string; team: string[] },
      ) => {
        await withClient(async (client) => {
          const u = await client.call<{
            email: string;
            available: boolean;
            weeklyCapacity: number | null;
            teams: string[];
          }>("PATCH", `/api/users/${encodeURIComponent(user)}`, {
            ...(o.available ? { available: true } : o.unavailable ? { available: false } : {}),
            ...(o.capacity === undefined
              ? {}
              : { weeklyCapacity: o.capacity === "none" ? null : Number(o.capacity) }),
            ...(o.team.length ? { teams: o.team } : {}),
          });
          process.stdout.write(
            `${u.email}: ${u.available ? "available" : "unavailable"}, capacity ${u.weeklyCapacity ?? "no limit"}, teams ${u.teams.join(", ") || "-"}\n`,
          );
        });
      },
    );
  users
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
    .option("--password <password>", "a dashboard password (or set one later: qualify users password)")
    .action(async (o: { email: string; role: string; team: string[]; name?: string; password?: string }) => {
      await withClient(async (client) => {
        const u = await client.call<{ id: string; email: string; role: string; teams: string[] }>(
          "POST",
          "/api/users",
          {
            email: o.email,
            role: o.role,
            teams: o.team,
            ...(o.name ? { name: o.name } : {}),
            ...(o.password ? { password: o.password } : {}),
          },
        );
        process.stdout.write(
          `created user ${u.email} (${u.role}${u.teams.length ? `; teams ${u.teams.join(", ")}` : ""}), id ${u.id}\n`,
        );
      });
    });

  users
    .command("password")
    .description("set a user's dashboard password, read from stdin (or --password); ends their sessions")
    .argument("<user>", "user id or email")
    .option("--password <password>", "the password (else the first line of stdin)")
    .action(async (user: string, o: { password?: string }) => {
      const password = o.password ?? (await firstLine(process.stdin));
      await withClient(async (client) => {
        await client.call("PUT", `/api/users/${encodeURIComponent(user)}/password`, { password });
        process.stdout.write(`password set for ${user}\n`);
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

async function firstLine(input: NodeJS.ReadStream): Promise<string> {
  let text = "";
  for await (const chunk of input) {
    text += String(chunk);
    if (text.includes("\n")) break;
  }
  return text.split(/\r?\n/)[0] ?? "";
}
