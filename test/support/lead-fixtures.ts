import { readFileSync } from "node:fs";

/**
 * Segment calls for the API tests: the example events (docs/examples) plus leads made for the list
 * filters, sorting and paging, and one lead whose last event is long ago (inactive at a publish).
 */

/** The tests' clock: the day after the example's last event. */
export const FIXTURE_NOW = Date.parse("2026-10-27T00:00:00Z");

const TITLES = ["CEO", "Director of IT", "IT Manager", "Engineer"];
const SIZES = [5000, 300, 60, 5];

export const GENERATED = 12;

export function exampleEvents(): Record<string, unknown>[] {
  return readFileSync("examples/events.ndjson", "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Twelve leads with a form submission each and fit scores from 0 to 90. */
export function generatedEvents(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < GENERATED; i++) {
    const minute = String(i).padStart(2, "0");
    out.push(
      {
        messageId: `gen-identify-${i}`,
        type: "identify",
        userId: `u-gen-${i}`,
        timestamp: `2026-10-20T10:${minute}:00Z`,
        traits: {
          email: `gen${i}@gen${i}.example.com`,
          firstName: "Gen",
          lastName: `Person${i}`,
          title: TITLES[i % TITLES.length],
          company: { employee_count: SIZES[Math.floor(i / TITLES.length) % SIZES.length] },
        },
      },
      {
        messageId: `gen-form-${i}`,
        type: "track",
        userId: `u-gen-${i}`,
        event: "Form Submitted",
        timestamp: `2026-10-21T10:${minute}:00Z`,
      },
    );
  }
  return out;
}

/** A fit lead whose last event was on 2 September: more than 30 days before FIXTURE_NOW. */
export function inactiveLeadEvents(): Record<string, unknown>[] {
  return [
    {
      messageId: "old-identify",
      type: "identify",
      userId: "u-old",
      timestamp: "2026-09-01T09:00:00Z",
      traits: {
        email: "olive@oldco.example.com",
        title: "VP Sales",
        company: { employee_count: 5000, industry: "software" },
      },
    },
    {
      messageId: "old-webinar",
      type: "track",
      userId: "u-old",
      event: "Webinar Attended",
      timestamp: "2026-09-02T09:00:00Z",
    },
  ];
}

export const basicAuth = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`;

/** Sends calls to /v1/batch with the write key as Basic auth; returns the answer. */
export async function sendBatch(url: string, writeKey: string, batch: unknown[]) {
  const res = await fetch(`${url}/v1/batch`, {
    method: "POST",
    headers: { authorization: basicAuth(writeKey), "content-type": "application/json" },
    body: JSON.stringify({ batch }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { accepted: number; duplicates: number; rejected: unknown[] },
  };
}
