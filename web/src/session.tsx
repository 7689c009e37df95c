import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";
import { ApiError, api, setCsrfToken, setOnUnauthorized } from "./api";

export type Role = "admin" | "marketer" | "sales";

export interface User {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  teams: string[];
}

interface SessionAnswer {
  user: User;
  csrfToken: string;
  expiresAt: string;
}

interface SessionState {
  /** undefined while the session is being checked. */
  user: User | null | undefined;
  logIn: (email: string, password: string) => Promise<void>;
  logOut: () => Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const take = useCallback((s: SessionAnswer | null) => {
    setCsrfToken(s?.csrfToken ?? null);
    setUser(s?.user ?? null);
  }, []);
  useEffect(() => {
    setOnUnauthorized(() => take(null));
    api<SessionAnswer>("GET", "/api/session").then(take, () => take(null));
  }, [take]);
  const logIn = useCallback(
    async (email: string, password: string) =>
      take(await api<SessionAnswer>("POST", "/api/session", { email, password })),
    [take],
  );
  const logOut = useCallback(async () => {
    await api("DELETE", "/api/session").catch((e: unknown) => {
      if (!(e instanceof ApiError && e.status === 401)) throw e;
    });
    take(null);
  }, [take]);
  return <SessionContext.Provider value={{ user, logIn, logOut }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}

/** The logged-in user (only under the authenticated layout). */
export function useUser(): User {
  const { user } = useSession();
  if (!user) throw new Error("no user");
  return user;
}
