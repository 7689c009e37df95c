import type { Input } from "../engine/types.js";
import type { ParsedEvent } from "../ingest/parse-segment-event.js";

/**
 * Resolves identities and groups calls into leads. `identify` and any call that carries both a
 * userId and an anonymousId links them; `alias` merges its previousId (a user or an anonymous id)
 * into its userId. Group calls also reach the other members of the account as account inputs.
 */

export interface LeadInputs {
  /** The user id of the lead's latest call that had one; null while anonymous. */
  userId: string | null;
  userIds: string[];
  anonymousIds: string[];
  /** The lead's inputs in the order they were read. */
  inputs: Input[];
}

class UnionFind {
  private readonly parent = new Map<string, string>();

  find(x: string): string {
    let root = x;
    for (let p = this.parent.get(root); p !== undefined && p !== root; p = this.parent.get(root)) root = p;
    if (!this.parent.has(x)) this.parent.set(x, x);
    for (let cur = x; cur !== root; ) {
      const next = this.parent.get(cur) as string;
      this.parent.set(cur, root);
      cur = next;
    }
    return root;
  }

  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }

  has(x: string): boolean {
    return this.parent.has(x);
  }
}

const U = (id: string) => `u:${id}`;
const A = (id: string) => `a:${id}`;

export function groupByLead(events: readonly ParsedEvent[]): LeadInputs[] {
  const uf = new UnionFind();
  for (const e of events) {
    if (e.userId) uf.find(U(e.userId));
    if (e.anonymousId) uf.find(A(e.anonymousId));
    if (e.userId && e.anonymousId) uf.union(U(e.userId), A(e.anonymousId));
  }
  for (const e of events) {
    if (e.previousId && e.userId)
      uf.union(U(e.userId), uf.has(U(e.previousId)) ? U(e.previousId) : A(e.previousId));
  }

  const leads = new Map<string, LeadInputs & { lastUserAt: number }>();
  const leadOf = (e: ParsedEvent) => {
    const root = uf.find(e.userId ? U(e.userId) : A(e.anonymousId as string));
    let lead = leads.get(root);
    if (!lead) {
      lead = {
        userId: null,
        userIds: [],
        anonymousIds: [],
        inputs: [],
        lastUserAt: Number.NEGATIVE_INFINITY,
      };
      leads.set(root, lead);
    }
    return lead;
  };
  const members = new Map<string, Set<LeadInputs>>();
  for (const e of events) {
    const lead = leadOf(e);
    if (e.userId && !lead.userIds.includes(e.userId)) lead.userIds.push(e.userId);
    if (e.userId && e.input.at >= lead.lastUserAt) {
      lead.userId = e.userId;
      lead.lastUserAt = e.input.at;
    }
    if (e.anonymousId && !lead.anonymousIds.includes(e.anonymousId)) lead.anonymousIds.push(e.anonymousId);
    // An alias's previousId that no call used as a userId was an anonymous id.
    if (e.previousId && !uf.has(U(e.previousId)) && !lead.anonymousIds.includes(e.previousId))
      lead.anonymousIds.push(e.previousId);
    lead.inputs.push(e.input);
    if (e.input.type === "group" && e.input.groupId) {
      const set = members.get(e.input.groupId) ?? new Set();
      members.set(e.input.groupId, set.add(lead));
    }
  }
  // Account traits set by one member apply to every member of the account.
  for (const e of events) {
    const groupId = e.input.type === "group" ? e.input.groupId : undefined;
    if (!groupId || !e.input.traits) continue;
    const own = leadOf(e);
    for (const member of members.get(groupId) ?? []) {
      if (member === own) continue;
      member.inputs.push({
        kind: "account",
        id: `${e.input.id}#account`,
        at: e.input.at,
        groupId,
        traits: e.input.traits,
      });
    }
  }
  return [...leads.values()].map(({ lastUserAt: _, ...lead }) => ({
    ...lead,
    userIds: lead.userIds.sort(),
    anonymousIds: lead.anonymousIds.sort(),
  }));
}
