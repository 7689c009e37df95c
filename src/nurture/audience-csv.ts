import type { Member } from "./audience-members.js";

/**
 * Audience members as CSV (RFC 4180, CRLF line ends) for ad platforms' customer-list uploads. The
 * API and the CLI both write it with these functions, so their files are identical.
 *
 * A field is quoted when it holds a comma, a quote or a line break (quotes doubled). A field that a
 * spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return) gets a
 * leading `'`, so opening the export cannot execute what a lead typed into a form.
 */

export const MEMBER_CSV_HEADER = ["email", "user_id", "lead_id", "name", "stage", "grade", "joined_at"];

const FORMULA = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string | null | undefined): string {
  if (value === null || value === undefined) return "";
  const safe = FORMULA.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const csvLine = (fields: readonly (string | null | undefined)[]) =>
  `${fields.map(csvField).join(",")}\r\n`;

export const memberCsvLine = (m: Member) =>
  csvLine([m.email, m.userId, m.leadId, m.name, m.stage, m.grade, m.joinedAt]);

/** The whole file: the header line, then one line per member. */
export async function* membersCsv(members: AsyncIterable<Member> | Iterable<Member>): AsyncGenerator<string> {
  yield csvLine(MEMBER_CSV_HEADER);
  for await (const m of members) yield memberCsvLine(m);
}
