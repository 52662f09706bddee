// A persona's voice: only available voices can be chosen, the others say why; rate; Preview.
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Voice } from "../api/types";
import { newDraft, type PersonaDraft, validateDrafts } from "./personas";
import { VoiceFields } from "./VoiceFields";

const userEvent = userEventLib.setup({ delay: null });

const voices: Voice[] = [
  {
    id: "joe",
    backend: "piper",
    name: "Joe",
    language: "en_US",
    available: true,
    reason: null,
    sample_rate: 22050,
    speakers: [],
  },
  {
    id: "nova",
    backend: "openai",
    name: "Nova",
    language: null,
    available: false,
    reason: "OPENAI_API_KEY is not set",
    sample_rate: 24000,
    speakers: [],
  },
];

afterEach(cleanup);

function Harness(props: {
  initial?: Partial<PersonaDraft>;
  onPreview?: (voice: string, text: string, rate: number) => Promise<ArrayBuffer>;
  play?: (wav: ArrayBuffer) => Promise<void>;
  list?: Voice[] | null;
  error?: string | null;
}) {
  const [draft, setDraft] = useState<PersonaDraft>({ ...newDraft([], []), handle: "sage", ...props.initial });
  return (
    <VoiceFields
      draft={draft}
      voices={props.list === undefined ? voices : props.list}
      voicesError={props.error ?? null}
      error={validateDrafts([draft])[draft.key]?.voice_rate}
      onChange={(patch) => setDraft((d) => ({ ...d, ...patch }))}
      onPreview={props.onPreview}
      play={props.play}
    />
  );
}

const voiceSelect = () => screen.getByLabelText("Voice") as HTMLSelectElement;

describe("VoiceFields", () => {
  it("offers available voices, and shows unavailable ones disabled with their reason", () => {
    render(<Harness />);
    const options = Array.from(voiceSelect().options);
    expect(options.map((o) => [o.value, o.textContent, o.disabled])).toEqual([
      ["", "No voice", false],
      ["joe", "Joe, en_US", false],
      ["nova", "Nova · unavailable: OPENAI_API_KEY is not set", true],
    ]);
    expect(voiceSelect().value).toBe("");
    expect(screen.getByText("Not heard: replies are only written.")).toBeTruthy();
  });

  it("says why a persona's current voice is unavailable", () => {
    render(<Harness initial={{ voice: "nova" }} onPreview={vi.fn()} />);
    expect(screen.getByText("Unavailable: OPENAI_API_KEY is not set")).toBeTruthy();
    expect((screen.getByRole("button", { name: "Preview" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("says when voices could not be loaded, and keeps No voice", () => {
    render(<Harness list={[]} error="Not found." />);
    expect(screen.getByText("Voices could not be loaded: Not found.")).toBeTruthy();
    expect(Array.from(voiceSelect().options).map((o) => o.value)).toEqual([""]);
  });

  it("validates the rate from 0.5 to 2", async () => {
    render(<Harness initial={{ voice: "joe" }} />);
    const rate = screen.getByLabelText("Speaking rate");
    await userEvent.clear(rate);
    await userEvent.type(rate, "3");
    expect(screen.getByText("From 0.5 to 2.")).toBeTruthy();
    expect(rate.getAttribute("aria-invalid")).toBe("true");
    await userEvent.clear(rate);
    await userEvent.type(rate, "1.5");
    expect(screen.queryByText("From 0.5 to 2.")).toBeNull();
  });

  it("previews the chosen voice at the chosen rate and plays what the server said", async () => {
    const wav = new ArrayBuffer(8);
    const onPreview = vi.fn(async () => wav);
    const play = vi.fn(async () => {});
    render(<Harness onPreview={onPreview} play={play} initial={{ name: "Sage" }} />);
    await userEvent.selectOptions(voiceSelect(), "joe");
    const rate = screen.getByLabelText("Speaking rate");
    await userEvent.clear(rate);
    await userEvent.type(rate, "1.25");
    await userEvent.click(screen.getByRole("button", { name: "Preview" }));
    await waitFor(() => expect(play).toHaveBeenCalledWith(wav));
    expect(onPreview).toHaveBeenCalledWith("joe", "Hello, I am Sage. This is how I sound in your room.", 1.25);
  });

  it("shows why a preview failed", async () => {
    const onPreview = vi.fn(async () => {
      throw new Error("The voice is unavailable.");
    });
    render(<Harness onPreview={onPreview} play={vi.fn()} initial={{ voice: "joe" }} />);
    await userEvent.click(screen.getByRole("button", { name: "Preview" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Preview failed: The voice is unavailable.");
  });
});
