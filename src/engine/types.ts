/** Shapes shared by the engine and its callers. All times are epoch milliseconds. */

export type Scalar = string | number | boolean | null;
export type TraitValue = Scalar | Scalar[];

export const EVENT_TYPES = ["track", "page", "screen", "identify", "group", "alias"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A Segment call, already normalised: `at` is the corrected event time. */
export interface EventInput {
  kind: "event";
  id: string;
  at: number;
  type: EventType;
  /** `event` of a track call. */
  event?: string;
  /** `name` of a page or screen call. */
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  groupId?: string;
}

/**
 * An account's traits changed through another member's `group` call; or, with `member`, the lead
 * was matched to the account without a `group` call of its own (by its company email domain).
 */
export interface AccountInput {
  kind: "account";
  id: string;
  at: number;
  groupId: string;
  traits: Record<string, unknown>;
  member?: boolean;
  /** The account is an implicit `domain:<domain>` one (made for a company domain no account named). */
  implicit?: boolean;
}

export const FACTS = [
  "accepted",
  "rejected",
  "recycled",
  "converted",
  "opportunity",
  "won",
  "lost",
  "disqualified",
  "reinstated",
] as const;
export type Fact = (typeof FACTS)[number];

/** A stage fact that arrives from outside the engine: a sales user or the CRM. */
export interface FactInput {
  kind: "fact";
  id: string;
  at: number;
  fact: Fact;
  actor: "user" | "crm";
  by?: string;
  reason?: string;
}

export type Input = EventInput | AccountInput | FactInput;

export const STAGES = [
  "visitor",
  "subscriber",
  "lead",
  "mql",
  "sal",
  "sql",
  "opportunity",
  "customer",
  "recycled",
  "disqualified",
] as const;
export type Stage = (typeof STAGES)[number];

export const GRADES = ["A", "B", "C", "D"] as const;
export type Grade = (typeof GRADES)[number];

export type Actor = "system" | "user" | "crm";

/** One traceable piece of a score. `points` are the effective points at the evaluation time. */
export interface Contribution {
  group: string;
  rule: string;
  kind: "event" | "trait" | "cap";
  /** For a fit rule with cases: the label of the case that matched. */
  label?: string;
  /** For event contributions: the message id (full recomputes only) and the event time. */
  eventId?: string;
  at?: number;
  /** For trait contributions: the traits the rule read, with their values. */
  traits?: Record<string, TraitValue>;
  raw: number;
  factor: number;
  points: number;
}

export interface Transition {
  from: Stage;
  to: Stage;
  /** When the transition is stamped: max(trigger time, previous transition). */
  at: number;
  /** Event time of the input that caused it. */
  triggerAt: number;
  inputId: string;
  actor: Actor;
  by?: string;
  rules: string[];
  reason: string;
  scores: Record<string, number>;
  grade: Grade;
}

export interface Qualification {
  status:
    | "qualified"
    | "not-qualified"
    | "blocked"
    | "disqualified"
    | "not-a-lead"
    | "cooldown"
    | "with-sales";
  reason: string;
  rules: string[];
}

export interface IgnoredInput {
  inputId: string;
  reason: string;
}
