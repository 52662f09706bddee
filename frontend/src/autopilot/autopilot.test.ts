import { describe, expect, it } from "vitest";
import type { Persona } from "../api/types";
import {
  autopilotPatch,
  DEFAULT_AUTOPILOT,
  statusText,
  stoppedText,
  toAutopilotDraft,
  validateAutopilot,
} from "./autopilot";

const sage: Persona = {
  handle: "sage",
  name: "Sage",
  model: "m",
  system_prompt: "",
  temperature: 0.7,
  max_tokens: 512,
  talkativeness: 0.5,
  muted: false,
  voice: null,
  voice_rate: 1,
};

describe("autopilot drafts", () => {
  it("sends only the settings that changed", () => {
    const draft = toAutopilotDraft(DEFAULT_AUTOPILOT);
    expect(autopilotPatch(draft, DEFAULT_AUTOPILOT)).toBeNull();
    expect(
      autopilotPatch({ ...draft, strategy: "round_robin", max_turns: "4", summary_model: "big" }, DEFAULT_AUTOPILOT),
    ).toEqual({ strategy: "round_robin", max_turns: 4, summary_model: "big" });
    // Clearing the summarizer sends "" (back to the default).
    const custom = { ...DEFAULT_AUTOPILOT, summary_model: "big" };
    expect(autopilotPatch({ ...toAutopilotDraft(custom), summary_model: "" }, custom)).toEqual({ summary_model: "" });
  });

  it("refuses limits out of range", () => {
    const draft = toAutopilotDraft();
    expect(validateAutopilot(draft)).toEqual({});
    const bad = validateAutopilot({ ...draft, max_turns: "0", token_budget: "1.5", idle_timeout_s: "" });
    expect(Object.keys(bad).sort()).toEqual(["idle_timeout_s", "max_turns", "token_budget"]);
  });
});

describe("autopilot status", () => {
  it("names the persona that thinks or speaks", () => {
    expect(statusText({ state: "thinking", handle: "sage", reason: null }, [sage])).toBe("Sage is thinking…");
    expect(statusText({ state: "speaking", handle: "gone", reason: null }, [sage])).toBe("gone is speaking.");
  });

  it("says why it waits, and nothing when off", () => {
    expect(statusText({ state: "held", handle: null, reason: "typing" }, [])).toBe(
      "Autopilot waits while someone types.",
    );
    expect(statusText({ state: "waiting", handle: null, reason: "replies" }, [])).toBe(
      "Autopilot waits for the replies to finish.",
    );
    expect(statusText({ state: "off", handle: null, reason: null }, [])).toBe("");
    expect(stoppedText("max_turns")).toContain("turns without a human message");
    expect(stoppedText(null)).toBe("");
  });
});
