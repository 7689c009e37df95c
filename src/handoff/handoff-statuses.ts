/** The actions sales takes on a handoff, the statuses each may start from, and where each leads. */
export const ACTIONS = {
  accept: { from: ["pending"], to: "accepted", topic: "handoff.accepted" },
  reject: { from: ["pending", "accepted"], to: "rejected", topic: "handoff.rejected" },
  convert: { from: ["pending", "accepted"], to: "converted", topic: "handoff.converted" },
  opportunity: { from: ["accepted", "converted"], to: "opportunity", topic: "handoff.opportunity" },
  won: { from: ["converted", "opportunity"], to: "won", topic: "handoff.won" },
  lost: { from: ["converted", "opportunity"], to: "lost", topic: "handoff.lost" },
} as const satisfies Record<string, { from: readonly string[]; to: string; topic: string }>;

export type Action = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as Action[];

/** The actions a handoff in `status` allows. */
export const allowedActions = (status: string): Action[] =>
  ACTION_NAMES.filter((a) => (ACTIONS[a].from as readonly string[]).includes(status));
