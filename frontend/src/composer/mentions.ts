// `@` autocomplete: find the mention being typed, list who matches, insert the pick.
import type { Persona, User } from "../api/types";

export interface MentionCandidate {
  key: string;
  /** What goes after the `@`. */
  insert: string;
  label: string;
  detail: string;
}

export interface MentionQuery {
  /** Index of the `@`. */
  start: number;
  query: string;
}

/** The `@word` right before the caret, if the caret is in one. */
export function mentionQuery(text: string, caret: number): MentionQuery | null {
  const match = /(^|[\s([{"'])@([\w-]{0,32})$/.exec(text.slice(0, caret));
  if (!match) return null;
  return { start: caret - match[2].length - 1, query: match[2] };
}

/** People have names, not handles: a mention of one is the name without spaces. */
export function personMention(name: string): string {
  return name.replace(/\s+/g, "");
}

export function mentionCandidates(
  query: string,
  personas: Persona[],
  people: User[],
  meId: string | null,
  limit = 8,
): MentionCandidate[] {
  const q = query.toLowerCase();
  const matches = (...words: string[]) => words.some((w) => w.toLowerCase().startsWith(q));
  const out: MentionCandidate[] = [];
  for (const p of personas) {
    if (matches(p.handle, p.name)) {
      out.push({ key: `persona:${p.handle}`, insert: p.handle, label: p.name, detail: `@${p.handle} · ${p.model}` });
    }
  }
  if (personas.length > 1 && matches("all")) {
    out.push({ key: "all", insert: "all", label: "all", detail: "every persona answers" });
  }
  for (const u of people) {
    if (u.id !== meId && matches(u.name, personMention(u.name))) {
      out.push({ key: `user:${u.id}`, insert: personMention(u.name), label: u.name, detail: "person" });
    }
  }
  return out.slice(0, limit);
}

/** Replace the `@query` at the caret with the pick, followed by a space. */
export function applyMention(
  text: string,
  at: MentionQuery,
  candidate: MentionCandidate,
): { text: string; caret: number } {
  const end = at.start + 1 + at.query.length;
  const inserted = `@${candidate.insert} `;
  const rest = text.slice(end).replace(/^ /, "");
  return { text: text.slice(0, at.start) + inserted + rest, caret: at.start + inserted.length };
}
