import { type FormEvent, useState } from "react";
import { api, useApi, useAttempt } from "../api";
import { Alert, Status } from "../components/Status";
import { ProblemList, useServerCheck, YamlEditor } from "../components/YamlEditor";
import { dateTime, num } from "../format";
import type { Role } from "../session";

/**
 * Settings (admins): users, API tokens and write keys (each shown once, when made), webhook
 * subscriptions with their delivery logs and retries, and the routing document (teams, rules, SLAs).
 */
interface UserRow {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  teams: string[];
}
interface Subscription {
  id: string;
  name: string | null;
  kind: string;
  url: string | null;
  emailTo: string | null;
  events: string[];
  active: boolean;
  disabledReason: string | null;
}
interface Delivery {
  id: number;
  type: string;
  status: string;
  attempts: number;
  createdAt: string;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

export default function SettingsPage() {
  return (
    <section aria-labelledby="settings-title">
      <div className="page-head">
        <h1 id="settings-title">Settings</h1>
      </div>
      <div className="columns">
        <div>
          <Users />
          <Webhooks />
        </div>
        <div>
          <Secrets />
          <Routing />
        </div>
      </div>
    </section>
  );
}

function Users() {
  const users = useApi<UserRow[]>("/api/users");
  const { busy, error, attempt } = useAttempt();
  const [form, setForm] = useState({ email: "", role: "sales" as Role, teams: "", password: "" });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void attempt(async () => {
      await api("POST", "/api/users", {
        email: form.email,
        role: form.role,
        teams: form.teams
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean),
        ...(form.password ? { password: form.password } : {}),
      });
      setForm({ email: "", role: "sales", teams: "", password: "" });
      users.reload();
    });
  };
  return (
    <section aria-labelledby="users-title" className="card">
      <h2 id="users-title">Users</h2>
      <Status loading={users.loading} error={users.error} />
      <table className="wrap" aria-label="Users">
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Teams</th>
          </tr>
        </thead>
        <tbody>
          {(users.data ?? []).map((u) => (
            <tr key={u.id}>
              <td>{u.email}</td>
              <td>{u.role}</td>
              <td>{u.teams.join(", ") || "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="filters" onSubmit={submit} aria-label="Add a user">
        <label>
          Email
          <input
            type="email"
            required
            value={form.email}
            onChange={(e) => setForm({ ...form, email: e.target.value })}
          />
        </label>
        <label>
          Role
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            <option>sales</option>
            <option>marketer</option>
            <option>admin</option>
          </select>
        </label>
        <label>
          Teams
          <input
            value={form.teams}
            placeholder="smb, emea"
            onChange={(e) => setForm({ ...form, teams: e.target.value })}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="new-password"
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
          />
        </label>
        <button type="submit" disabled={busy}>
          Add user
        </button>
      </form>
      <Alert message={error} />
    </section>
  );
}

/** API tokens and write keys: the secret is in the answer to its creation, and shown only then. */
function Secrets() {
  const users = useApi<UserRow[]>("/api/users");
  const { busy, error, attempt } = useAttempt();
  const [shown, setShown] = useState<{ what: string; secret: string } | null>(null);
  const [user, setUser] = useState("");
  const [name, setName] = useState("");
  const token = () =>
    attempt(async () => {
      const r = await api<{ token: string; user: { email: string } }>("POST", "/api/tokens", {
        user: user || (users.data?.[0]?.email ?? ""),
        name: name || "dashboard",
      });
      setShown({ what: `API token for ${r.user.email}`, secret: r.token });
    });
  const key = () =>
    attempt(async () => {
      const r = await api<{ key: string }>("POST", "/api/keys", { name: name || "source" });
      setShown({ what: "write key (for an SDK)", secret: r.key });
    });
  return (
    <section aria-labelledby="secrets-title" className="card">
      <h2 id="secrets-title">API tokens and write keys</h2>
      <div className="filters">
        <label>
          Name
          <input value={name} placeholder="what it is for" onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Token for
          <select value={user} onChange={(e) => setUser(e.target.value)}>
            {(users.data ?? []).map((u) => (
              <option key={u.id} value={u.email}>
                {u.email}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={busy} onClick={() => void token()}>
          Create API token
        </button>
        <button type="button" disabled={busy} onClick={() => void key()}>
          Create write key
        </button>
      </div>
      {shown && (
        <div role="status" className="secret">
          <p>
            New {shown.what}. It is shown <strong>this once</strong>; copy it now.
          </p>
          <code data-testid="new-secret">{shown.secret}</code>
        </div>
      )}
      <Alert message={error} />
    </section>
  );
}

function Webhooks() {
  const subs = useApi<{ subscriptions: Subscription[] }>("/api/webhooks");
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="webhooks-title" className="card">
      <h2 id="webhooks-title">Webhooks</h2>
      <Status loading={subs.loading} error={subs.error} />
      {subs.data?.subscriptions.length === 0 && (
        <p>No subscriptions (add them with `qualify webhooks add`).</p>
      )}
      <ul className="plain">
        {(subs.data?.subscriptions ?? []).map((s) => (
          <li key={s.id}>
            <button
              type="button"
              className="link"
              aria-expanded={open === s.id}
              onClick={() => setOpen(open === s.id ? null : s.id)}
            >
              {s.name ?? s.url ?? s.emailTo} ({s.events.join(", ")})
              {s.active ? "" : ` — off: ${s.disabledReason ?? ""}`}
            </button>
            {open === s.id && <Deliveries id={s.id} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Deliveries({ id }: { id: string }) {
  const list = useApi<{ deliveries: Delivery[] }>(
    `/api/webhooks/${encodeURIComponent(id)}/deliveries?limit=50`,
  );
  const { busy, error, attempt } = useAttempt();
  const retry = (d: Delivery) =>
    attempt(async () => {
      await api("POST", `/api/webhooks/deliveries/${d.id}/retry`);
      list.reload();
    });
  return (
    <div className="table-scroll">
      <Status loading={list.loading} error={list.error} />
      <table className="wrap" aria-label="Deliveries">
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last answer</th>
            <th scope="col" />
          </tr>
        </thead>
        <tbody>
          {(list.data?.deliveries ?? []).map((d) => (
            <tr key={d.id}>
              <td>
                {d.type} {dateTime(d.createdAt)}
              </td>
              <td>{d.status}</td>
              <td className="num">{num(d.attempts)}</td>
              <td>{d.lastStatus ?? d.lastError ?? "–"}</td>
              <td>
                {d.status !== "delivered" && (
                  <button type="button" disabled={busy} onClick={() => void retry(d)}>
                    Retry
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Alert message={error} />
    </div>
  );
}

function Routing() {
  const routing = useApi<{ version: number; source: string }>("/api/routing");
  const [draft, setDraft] = useState<string | null>(null);
  const { problems, check } = useServerCheck("/api/routing/check");
  const { busy, error, attempt } = useAttempt();
  const [saved, setSaved] = useState<string | null>(null);
  const source = draft ?? routing.data?.source ?? null;
  const save = () =>
    attempt(async () => {
      const r = await api<{ version: number }>("POST", "/api/routing", { source, activate: true });
      setSaved(`Routing v${r.version} is active.`);
      routing.reload();
    });
  return (
    <section aria-labelledby="routing-title" className="card">
      <h2 id="routing-title">Routing and SLAs{routing.data ? ` (v${routing.data.version})` : ""}</h2>
      {routing.error && <p>No routing is active yet.</p>}
      {source !== null && (
        <YamlEditor value={source} onChange={setDraft} check={check} label="Routing YAML" />
      )}
      <ProblemList problems={problems} what="routing" label="Routing problems" />
      <button
        type="button"
        disabled={busy || problems.length > 0 || draft === null}
        onClick={() => void save()}
      >
        Save and activate
      </button>
      {saved && <p role="status">{saved}</p>}
      <Alert message={error} />
    </section>
  );
}
