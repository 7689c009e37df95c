import type { Input } from "../../../src/engine/index.js";

export const T = (iso: string) => Date.parse(iso);
export const track = (
  id: string,
  at: string,
  event: string,
  properties: Record<string, unknown> = {},
): Input => ({
  kind: "event",
  id,
  at: T(at),
  type: "track",
  event,
  properties,
});
export const page = (id: string, at: string, path: string): Input => ({
  kind: "event",
  id,
  at: T(at),
  type: "page",
  properties: { path },
});
export const identify = (id: string, at: string, traits: Record<string, unknown>): Input => ({
  kind: "event",
  id,
  at: T(at),
  type: "identify",
  traits,
});
export const fact = (id: string, at: string, f: string, actor: "user" | "crm" = "user"): Input =>
  ({ kind: "fact", id, at: T(at), fact: f, actor }) as Input;
export const yaml = (body: string) => `name: review\nversion: 1\n${body}`;
