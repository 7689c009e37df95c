import { randomBytes } from "node:crypto";
import type { Queryable } from "../../db/database.js";
import { QualifyError } from "../../errors.js";
import { deliveryJson } from "./deliveries.js";
import { PAYLOAD_VERSION, type PayloadV1, slackMessage } from "./payload.js";
import type { Subscription } from "./subscriptions.js";

export const TEST_EVENT = "webhook.test";

/**
 * A `webhook.test` delivery, queued at once for the subscription (whatever its event types): to
 * check a receiver's URL, signature check and answers. An email one goes to its fixed addresses,
 * else to the user who asked.
 */
export async function sendTestDelivery(
  db: Queryable,
  ws: string,
  s: Subscription,
  requestedBy: string | null,
  now: number,
  retryWindowMs: number,
) {
  const payload: PayloadV1 = {
    version: PAYLOAD_VERSION,
    id: `evt_test_${randomBytes(12).toString("hex")}`,
    type: TEST_EVENT,
    time: new Date(now).toISOString(),
    workspace: ws,
    lead: null,
    data: { subscriptionId: s.id, message: "a test delivery from Qualify" },
  };
  const recipient = s.kind === "email" ? (s.emailTo?.join(", ") ?? requestedBy) : null;
  if (s.kind === "email" && !recipient)
    throw new QualifyError("INPUT_INVALID", "nobody to mail the test to", [
      { path: "emailTo", message: "empty" },
    ]);
  const body = JSON.stringify(s.kind === "webhook" && s.format === "slack" ? slackMessage(payload) : payload);
  const rows = await db.query<Parameters<typeof deliveryJson>[0]>(
    `insert into webhook_deliveries (workspace_id, subscription_id, event_id, topic, body, recipient, created_at,
       window_start, next_attempt_at)
     values ($1, $2, $3, $4, $5, $6, $7, $7, $7)
     returning id, subscription_id, outbox_seq, event_id, topic, lead_id, recipient, status, attempts, created_at,
       window_start, next_attempt_at, lease, last_attempt_at, last_status, last_error, last_duration_ms, delivered_at`,
    [ws, s.id, payload.id, TEST_EVENT, body, recipient, now],
  );
  return deliveryJson(rows[0] as Parameters<typeof deliveryJson>[0], retryWindowMs);
}
