/**
 * A lead's engine state is stored as `json`, not `jsonb`: it is only ever written whole and read
 * whole (or two top-level keys of it, by a rescore), and never searched. `json` keeps the text as
 * sent, so writing it is a syntax check rather than a parse into a binary tree, and reading it back
 * needs no serialisation. Measured on a live-stream backlog: a batch's lead upsert and its locking
 * read about a third cheaper (bench/README.md).
 */
export const sql = `
alter table leads alter column state type json using state::json;
`;
