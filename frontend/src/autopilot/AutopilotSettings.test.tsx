import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { type PersonaDraft, toDraft } from "../room-settings/personas";
import { room } from "../test/fixtures";
import { AutopilotSettings } from "./AutopilotSettings";
import { type AutopilotDraft, DEFAULT_AUTOPILOT, toAutopilotDraft } from "./autopilot";

const userEvent = userEventLib.setup({ delay: null });

afterEach(cleanup);

function Harness({ seen }: { seen: { draft?: AutopilotDraft; personas?: PersonaDraft[] } }) {
  const [draft, setDraft] = useState(() => toAutopilotDraft(DEFAULT_AUTOPILOT));
  const [personas, setPersonas] = useState(() => room().personas.map(toDraft));
  seen.draft = draft;
  seen.personas = personas;
  return (
    <AutopilotSettings
      autopilot={{ ...DEFAULT_AUTOPILOT, stopped_reason: "idle" }}
      draft={draft}
      onChange={setDraft}
      personas={personas}
      onPersonasChange={setPersonas}
      models={[{ id: "big", backend: "openai", model: "gpt", available: true, reason: null, context_window: 8192 }]}
      errors={{ max_turns: "A whole number from 1 to 1000." }}
      personaErrors={{}}
    />
  );
}

describe("AutopilotSettings", () => {
  it("edits the strategy, limits, summarizer and each persona's share", async () => {
    const seen: { draft?: AutopilotDraft; personas?: PersonaDraft[] } = {};
    render(<Harness seen={seen} />);
    expect(screen.getByText(/Last stopped because nobody was online/)).toBeTruthy();
    expect(screen.getByText("A whole number from 1 to 1000.")).toBeTruthy();

    await userEvent.selectOptions(screen.getByLabelText("Who speaks next"), "round_robin");
    expect(screen.getByText("Each persona in turn, in the order listed.")).toBeTruthy();
    const turns = screen.getByLabelText("Turns without a person");
    await userEvent.clear(turns);
    await userEvent.type(turns, "4");
    await userEvent.selectOptions(screen.getByLabelText("Summarizer model"), "big");
    fireEvent.change(screen.getByLabelText("Talkativeness of @sage"), { target: { value: "0.8" } });
    await userEvent.click(screen.getByLabelText("Mute @sage"));

    expect(seen.draft).toMatchObject({ strategy: "round_robin", max_turns: "4", summary_model: "big" });
    expect(seen.personas?.[0]).toMatchObject({ handle: "sage", talkativeness: "0.8", muted: true });
    expect((screen.getByLabelText("Talkativeness of @sage") as HTMLInputElement).disabled).toBe(true);
  });
});
