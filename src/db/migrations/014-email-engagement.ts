/**
 * Per email, when it was first opened and when its unsubscribe link was used, so that a
 * sequence's report counts opens, clicks and unsubscribes by step (`nurture-queries.ts`). Clicks
 * are in `email_clicks` already; the events (`Email Opened`, …) stay the lead's history.
 */
export const sql = `
alter table email_attempts add column opened_at bigint;
alter table email_attempts add column unsubscribed_at bigint;
`;
