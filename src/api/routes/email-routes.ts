import type { FastifyInstance, FastifyReply } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { escapeHtml } from "../../nurture/email/compose-email.js";
import { EMAIL_EVENTS, emailEvent } from "../../nurture/email/email-events.js";
import { recordClick } from "../../nurture/email/record-click.js";
import { type TrackedAttempt, trackedAttempt } from "../../nurture/email/tracked-attempt.js";
import { unsubscribe } from "../../nurture/unsubscribe.js";
import type { Service } from "../service.js";

/**
 * The links in marketing email, answered without a token (the signature in each link is its
 * authority): the open pixel, click redirects, and unsubscribing. A GET never unsubscribes (mail
 * scanners follow every link): it shows a page whose button POSTs; mail clients POST one-click
 * (RFC 8058) to the same URL. Opens, clicks and unsubscribes become events of the lead, through
 * the normal pipeline.
 */

const PIXEL = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<meta name="robots" content="noindex"><title>${title}</title>` +
  `<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}` +
  `button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}</style></head><body>${body}</body></html>`;

/** `d***@example.com`: enough to recognise one's address, not enough to harvest it. */
const mask = (email: string) => email.replace(/^(.)[^@]*/, "$1***");

export function emailRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["email links"];
  const link = z.object({ attempt: z.string().min(1).max(100), sig: z.string().min(1).max(100) });

  const record = async (
    a: TrackedAttempt,
    event: string,
    messageId: string,
    properties: Record<string, unknown>,
  ) => {
    const now = service.clock();
    const e = await emailEvent(
      service.db,
      a.ws,
      a.leadId,
      {
        event,
        messageId,
        at: now,
        properties: {
          attemptId: a.id,
          sequence: a.sequenceId,
          step: a.stepId,
          template: a.templateId,
          ...properties,
        },
      },
      now,
    );
    if (e) await service.writer.append([e]);
  };

  r.get(
    "/e/o/:attempt/:file",
    {
      schema: {
        tags,
        summary: "Open pixel: records Email Opened for the lead (a 1×1 GIF, whatever the link)",
        params: z.object({ attempt: z.string().min(1).max(100), file: z.string().min(1).max(100) }),
      },
    },
    async (req, reply) => {
      const a = await trackedAttempt(
        service.db,
        req.params.attempt,
        "open",
        req.params.file.replace(/\.gif$/, ""),
      );
      if (a) {
        const now = service.clock();
        await service.db.query(
          "update email_attempts set opened_at = $2 where id = $1 and opened_at is null",
          [a.id, now],
        );
        await record(a, EMAIL_EVENTS.opened, `open-${a.id}-${now}`, {});
      }
      return reply
        .header("content-type", "image/gif")
        .header("cache-control", "no-store, max-age=0")
        .send(PIXEL);
    },
  );

  r.get(
    "/e/c/:attempt/:sig",
    {
      schema: {
        tags,
        summary:
          "Click redirect: records Email Clicked (suspectedBot for scanner-like clicks) and redirects to the signed URL; a changed URL is refused (400), never followed",
        params: link,
        querystring: z.object({ u: z.string().min(1).max(8192) }),
      },
    },
    async (req, reply) => {
      const url = req.query.u;
      const a = /^https?:\/\//i.test(url)
        ? await trackedAttempt(service.db, req.params.attempt, "click", req.params.sig, url)
        : null;
      if (!a) return invalidLink(reply, "link");
      const now = service.clock();
      const suspectedBot = await recordClick(service.db, a, url, now);
      await record(a, EMAIL_EVENTS.clicked, `click-${a.id}-${now}-${url.length}`, { url, suspectedBot });
      return reply.header("cache-control", "no-store").redirect(url, 302);
    },
  );

  const html = (reply: FastifyReply, status: number, title: string, body: string) =>
    reply.status(status).type("text/html").header("cache-control", "no-store").send(page(title, body));
  const invalidLink = (reply: FastifyReply, what: string) =>
    html(
      reply,
      400,
      "Link not valid",
      `<h1>This ${what} is not valid</h1><p>It may have been changed or cut short.</p>`,
    );

  r.get(
    "/e/u/:attempt/:sig",
    {
      schema: {
        tags,
        summary:
          "Unsubscribe page: asks to confirm (a GET never unsubscribes; link scanners follow every link)",
        params: link,
      },
    },
    async (req, reply) => {
      const a = await trackedAttempt(service.db, req.params.attempt, "unsubscribe", req.params.sig);
      if (!a) return invalidLink(reply, "unsubscribe link");
      return html(
        reply,
        200,
        "Unsubscribe",
        `<h1>Unsubscribe?</h1><p>Stop marketing email to <strong>${escapeHtml(mask(a.to))}</strong>.</p>` +
          `<form method="post"><input type="hidden" name="confirm" value="yes"><button type="submit">Unsubscribe</button></form>`,
      );
    },
  );

  r.post(
    "/e/u/:attempt/:sig",
    {
      schema: {
        tags,
        summary:
          "Unsubscribe: the confirmation form, or the RFC 8058 one-click POST (List-Unsubscribe=One-Click). Suppresses the address, withdraws consent, ends enrollments, records Unsubscribed",
        params: link,
      },
    },
    async (req, reply) => {
      const a = await trackedAttempt(service.db, req.params.attempt, "unsubscribe", req.params.sig);
      if (!a) return invalidLink(reply, "unsubscribe link");
      const body = (req.body ?? {}) as Record<string, unknown>;
      const how = body["List-Unsubscribe"] === "One-Click" ? "one-click" : "link";
      const now = service.clock();
      await service.db.transaction(async (tx) => {
        await unsubscribe(tx, a.ws, {
          leadId: a.leadId,
          email: a.to,
          source: "unsubscribe",
          detail: `${how} (${a.id})`,
          at: now,
        });
        await tx.query(
          "update email_attempts set unsubscribed_at = $2 where id = $1 and unsubscribed_at is null",
          [a.id, now],
        );
      });
      await record(a, EMAIL_EVENTS.unsubscribed, `unsubscribe-${a.id}`, { email: a.to, method: how });
      return html(
        reply,
        200,
        "Unsubscribed",
        `<h1>You are unsubscribed</h1><p>${escapeHtml(mask(a.to))} gets no more marketing email from us.</p>`,
      );
    },
  );
}
