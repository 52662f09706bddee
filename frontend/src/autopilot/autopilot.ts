// The autopilot as forms edit it, what a change sends, and how its state reads to people.
import type { Autopilot, AutopilotPatch, AutopilotStatus, AutopilotStrategy, Persona } from "../api/types";

export const STRATEGIES: { value: AutopilotStrategy; label: string; hint: string }[] = [
  {
    value: "natural",
    label: "Natural",
    hint: "Whoever the last message names goes first; otherwise a draw weighted by talkativeness.",
  },
  { value: "round_robin", label: "Round robin", hint: "Each persona in turn, in the order listed." },
  { value: "manual", label: "Manual", hint: "Only a persona @mentioned in the last message speaks." },
];

export const DEFAULT_AUTOPILOT: Autopilot = {
  enabled: false,
  strategy: "natural",
  max_turns: 10,
  token_budget: 200_000,
  idle_timeout_s: 300,
  summary_model: null,
  turns: 0,
  tokens_used: 0,
  stopped_reason: null,
};

export interface AutopilotDraft {
  strategy: AutopilotStrategy;
  max_turns: string;
  token_budget: string;
  idle_timeout_s: string;
  summary_model: string;
}

export type AutopilotErrors = Partial<Record<"max_turns" | "token_budget" | "idle_timeout_s", string>>;

export function toAutopilotDraft(a: Autopilot = DEFAULT_AUTOPILOT): AutopilotDraft {
  return {
    strategy: a.strategy,
    max_turns: String(a.max_turns),
    token_budget: String(a.token_budget),
    idle_timeout_s: String(a.idle_timeout_s),
    summary_model: a.summary_model ?? "",
  };
}

function whole(value: string, low: number, high: number): boolean {
  const n = Number(value);
  return value.trim() !== "" && Number.isInteger(n) && n >= low && n <= high;
}

export function validateAutopilot(d: AutopilotDraft): AutopilotErrors {
  const errors: AutopilotErrors = {};
  if (!whole(d.max_turns, 1, 1000)) errors.max_turns = "A whole number from 1 to 1000.";
  if (!whole(d.token_budget, 0, 1_000_000_000)) errors.token_budget = "A whole number; 0 for no limit.";
  if (!whole(d.idle_timeout_s, 1, 604_800)) errors.idle_timeout_s = "Seconds, from 1 to 604800.";
  return errors;
}

/** The settings the draft changes, or null when it changes none. */
export function autopilotPatch(d: AutopilotDraft, a: Autopilot = DEFAULT_AUTOPILOT): AutopilotPatch | null {
  const patch: AutopilotPatch = {};
  if (d.strategy !== a.strategy) patch.strategy = d.strategy;
  if (Number(d.max_turns) !== a.max_turns) patch.max_turns = Number(d.max_turns);
  if (Number(d.token_budget) !== a.token_budget) patch.token_budget = Number(d.token_budget);
  if (Number(d.idle_timeout_s) !== a.idle_timeout_s) patch.idle_timeout_s = Number(d.idle_timeout_s);
  if (d.summary_model !== (a.summary_model ?? "")) patch.summary_model = d.summary_model;
  return Object.keys(patch).length ? patch : null;
}

const STOPPED: Record<string, string> = {
  max_turns: "it reached its turns without a human message",
  token_budget: "its token budget was spent",
  idle: "nobody was online",
  switched_off: "a member switched it off",
  error: "a persona could not answer",
};

/** Why autopilot last stopped, for people. */
export function stoppedText(reason?: string | null): string {
  return reason ? `Last stopped because ${STOPPED[reason] ?? reason}.` : "";
}

const WAITING: Record<string, string> = {
  replies: "waits for the replies to finish",
  nobody_online: "waits for someone to come online",
  no_messages: "waits for someone to start the conversation",
  no_speaker: "waits for a persona to be mentioned",
};

/** What the autopilot is doing, in a few words ("" when it is off). */
export function statusText(status: AutopilotStatus, personas: Persona[]): string {
  const name = personas.find((p) => p.handle === status.handle)?.name ?? status.handle ?? "A persona";
  switch (status.state) {
    case "thinking":
      return `${name} is thinking…`;
    case "speaking":
      return `${name} is speaking.`;
    case "held":
      return "Autopilot waits while someone types.";
    case "waiting":
      return `Autopilot ${WAITING[status.reason ?? ""] ?? "waits"}.`;
    default:
      return "";
  }
}
