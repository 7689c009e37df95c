/**
 * Lead updates HOT again. Migration 015 indexed `last_event_at` and the engagement score, which
 * change with every event: every lead update then wrote a new entry into each of the leads' eleven
 * indexes, the table and its indexes bloated (10.5 KB per 1.1 KB lead after a minute of live
 * load), and the live pipeline kept up with half the load (bench/README.md, "Leads table indexes").
 * Without these two, an update that changes no other indexed column is a heap-only tuple, and the
 * leads list sorts by last activity or score over the workspace's leads: 100,000 leads still answer
 * within the dashboard's 300 ms (docs/dashboard.md). The other sorts keep their indexes, on columns
 * that rarely change.
 */
export const sql = `
drop index if exists leads_list_by_last_event;
drop index if exists leads_list_by_engagement;
`;
