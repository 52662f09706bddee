// Persona drafts as edited in forms, their validation, and what the API is sent.
import type { ModelInfo, Persona, PersonaInput } from "../api/types";

export interface PersonaDraft {
  key: string;
  handle: string;
  name: string;
  model: string;
  system_prompt: string;
  temperature: string;
  /** Kept from an existing persona (the form does not edit it). */
  max_tokens?: number;
  /** Autopilot: weight in the speaker draw, "0".."1" (edited in AutopilotSettings). */
  talkativeness: string;
  muted: boolean;
  /** A voice id, or "" for none (not heard). */
  voice: string;
  /** Speaking rate, "0.5".."2". */
  voice_rate: string;
}

export type DraftErrors = Partial<Record<"handle" | "model" | "temperature" | "talkativeness" | "voice_rate", string>>;

const HANDLE = /^[a-z0-9_-]{1,32}$/;
let counter = 0;
const nextKey = () => `p${++counter}`;

export function newDraft(models: ModelInfo[], taken: string[]): PersonaDraft {
  const model = models.find((m) => m.available)?.id ?? "";
  let n = taken.length + 1;
  while (taken.includes(`persona${n}`)) n++;
  return {
    key: nextKey(),
    handle: `persona${n}`,
    name: "",
    model,
    system_prompt: "",
    temperature: "0.7",
    talkativeness: "0.5",
    muted: false,
    voice: "",
    voice_rate: "1",
  };
}

export function toDraft(p: Persona): PersonaDraft {
  return {
    key: nextKey(),
    handle: p.handle,
    name: p.name === p.handle ? "" : p.name,
    model: p.model,
    system_prompt: p.system_prompt,
    temperature: String(p.temperature),
    max_tokens: p.max_tokens,
    talkativeness: String(p.talkativeness ?? 0.5),
    muted: p.muted ?? false,
    voice: p.voice ?? "",
    voice_rate: String(p.voice_rate ?? 1),
  };
}

export function fromDraft(d: PersonaDraft): PersonaInput {
  const out: PersonaInput = {
    handle: d.handle.trim(),
    name: d.name.trim() || d.handle.trim(),
    model: d.model,
    system_prompt: d.system_prompt,
    temperature: Number(d.temperature),
    talkativeness: Number(d.talkativeness),
    muted: d.muted,
    voice: d.voice || null,
    voice_rate: Number(d.voice_rate),
  };
  if (d.max_tokens !== undefined) out.max_tokens = d.max_tokens;
  return out;
}

/** Errors by draft key; empty when every draft can be sent. */
export function validateDrafts(drafts: PersonaDraft[]): Record<string, DraftErrors> {
  const errors: Record<string, DraftErrors> = {};
  const seen = new Set<string>();
  for (const d of drafts) {
    const e: DraftErrors = {};
    const handle = d.handle.trim();
    if (!HANDLE.test(handle)) e.handle = "1–32 of a–z, 0–9, _ and -.";
    else if (handle === "all") e.handle = "“all” is reserved.";
    else if (seen.has(handle)) e.handle = "Already used by another persona.";
    seen.add(handle);
    if (!d.model) e.model = "Pick a model.";
    const t = Number(d.temperature);
    if (d.temperature.trim() === "" || !Number.isFinite(t) || t < 0 || t > 2) e.temperature = "From 0 to 2.";
    const talk = Number(d.talkativeness);
    if (d.talkativeness.trim() === "" || !Number.isFinite(talk) || talk < 0 || talk > 1) {
      e.talkativeness = "From 0 to 1.";
    }
    const rate = Number(d.voice_rate);
    if (d.voice_rate.trim() === "" || !Number.isFinite(rate) || rate < 0.5 || rate > 2) e.voice_rate = "From 0.5 to 2.";
    if (Object.keys(e).length) errors[d.key] = e;
  }
  return errors;
}
