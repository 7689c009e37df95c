import type { ReactNode } from "react";
import { NavLink } from "react-router";
import { type Role, useSession, useUser } from "../session";

const PAGES: { to: string; label: string; roles: Role[] }[] = [
  { to: "/overview", label: "Overview", roles: ["admin", "marketer"] },
  { to: "/leads", label: "Leads", roles: ["admin", "marketer", "sales"] },
  { to: "/inbox", label: "Inbox", roles: ["admin", "sales"] },
  { to: "/funnel", label: "Funnel", roles: ["admin", "marketer"] },
  { to: "/nurture", label: "Nurture", roles: ["admin", "marketer"] },
  { to: "/models", label: "Models", roles: ["admin", "marketer"] },
  { to: "/settings", label: "Settings", roles: ["admin"] },
];

export function Layout({ children }: { children: ReactNode }) {
  const user = useUser();
  const { logOut } = useSession();
  return (
    <div className="shell">
      <header className="top">
        <span className="brand">Qualify</span>
        <nav aria-label="Main">
          {PAGES.filter((p) => p.roles.includes(user.role)).map((p) => (
            <NavLink key={p.to} to={p.to}>
              {p.label}
            </NavLink>
          ))}
        </nav>
        <span className="who">
          {user.email} <span className="role">{user.role}</span>
        </span>
        <button type="button" className="link" onClick={() => void logOut()}>
          Log out
        </button>
      </header>
      <main>{children}</main>
    </div>
  );
}
