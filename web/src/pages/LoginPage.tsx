import { type FormEvent, useState } from "react";
import { useAttempt } from "../api";
import { Alert } from "../components/Status";
import { useSession } from "../session";

export function LoginPage() {
  const { logIn } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, attempt } = useAttempt();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void attempt(() => logIn(email, password));
  };
  return (
    <main className="login">
      <h1>Qualify</h1>
      <form onSubmit={submit} aria-label="Log in">
        <label>
          Email
          <input
            type="email"
            autoComplete="username"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        <Alert message={error} />
        <button type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
