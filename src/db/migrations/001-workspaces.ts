/**
 * Workspaces. Every table is keyed by workspace, so that a later step can shard by workspace and
 * lead; one default workspace exists from the first start.
 */
export const sql = `
create table workspaces (
  id text primary key,
  name text not null,
  created_at timestamptz not null default now()
);
insert into workspaces (id, name) values ('default', 'Default workspace');
`;
