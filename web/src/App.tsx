import { lazy, Suspense } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { Layout } from "./components/Layout";
import { LoginPage } from "./pages/LoginPage";
import { type Role, SessionProvider, useSession } from "./session";

// One chunk per page: a page's code (and its charts) loads when it is first opened.
const OverviewPage = lazy(() => import("./pages/OverviewPage"));
const LeadsPage = lazy(() => import("./pages/LeadsPage"));
const LeadProfilePage = lazy(() => import("./pages/LeadProfilePage"));
const InboxPage = lazy(() => import("./pages/InboxPage"));
const ModelsPage = lazy(() => import("./pages/ModelsPage"));
const FunnelPage = lazy(() => import("./pages/FunnelPage"));
const NurturePage = lazy(() => import("./pages/NurturePage"));
const SettingsPage = lazy(() => import("./pages/SettingsPage"));

/** Where each role lands. */
export const HOME: Record<Role, string> = { admin: "/overview", marketer: "/overview", sales: "/inbox" };

function Routed() {
  const { user } = useSession();
  if (user === undefined) return <p className="loading">Loading…</p>;
  if (user === null) return <LoginPage />;
  return (
    <Layout>
      <Suspense fallback={<p className="loading">Loading…</p>}>
        <Routes>
          <Route path="/" element={<Navigate to={HOME[user.role]} replace />} />
          <Route path="/login" element={<Navigate to={HOME[user.role]} replace />} />
          <Route path="/overview" element={<OverviewPage />} />
          <Route path="/leads" element={<LeadsPage />} />
          <Route path="/leads/:id" element={<LeadProfilePage />} />
          <Route path="/inbox" element={<InboxPage />} />
          <Route path="/models" element={<ModelsPage />} />
          <Route path="/funnel" element={<FunnelPage />} />
          <Route path="/nurture" element={<NurturePage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="*" element={<p>No such page.</p>} />
        </Routes>
      </Suspense>
    </Layout>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <SessionProvider>
        <Routed />
      </SessionProvider>
    </BrowserRouter>
  );
}
