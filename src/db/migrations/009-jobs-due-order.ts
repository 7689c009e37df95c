/**
 * Runners claim due jobs `order by run_at, id`, but the due index held `run_at` alone: jobs that
 * share a due time made every claim read and sort all of them before taking 20. A model publish
 * schedules a `nurture.lead` job for every lead at one time: with 100,000 of them a claim took
 * 39–54 ms on PostgreSQL (a sequential scan and an external sort) instead of well under 1 ms
 * (bench/nurture-benchmark.ts, part 5). With `id` in the index the scan returns jobs in claim order.
 */
export const sql = `
drop index jobs_due;
create index jobs_due on jobs (run_at, id) where state = 'scheduled';
`;
