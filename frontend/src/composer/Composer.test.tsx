import { cleanup, render, screen } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ana, ben, message, room } from "../test/fixtures";
import { Composer } from "./Composer";

afterEach(cleanup);

const userEvent = userEventLib.setup({ delay: null });

function setup(props: Partial<Parameters<typeof Composer>[0]> = {}) {
  const onSend = vi.fn();
  const onTyping = vi.fn();
  const onCancelReply = vi.fn();
  render(
    <Composer
      personas={[...room().personas, { ...room().personas[0], handle: "scout", name: "Scout" }]}
      people={[ana, ben]}
      meId={ana.id}
      replyTo={null}
      onCancelReply={onCancelReply}
      onSend={onSend}
      onTyping={onTyping}
      {...props}
    />,
  );
  return { onSend, onTyping, onCancelReply, box: screen.getByLabelText("Message") as HTMLTextAreaElement };
}

describe("Composer", () => {
  it("sends on Enter and clears the box", async () => {
    const { onSend, box } = setup();
    await userEvent.type(box, "hello{Enter}");
    expect(onSend).toHaveBeenCalledWith("hello", null);
    expect(box.value).toBe("");
  });

  it("puts a new line on Shift+Enter instead of sending", async () => {
    const { onSend, box } = setup();
    await userEvent.type(box, "one{Shift>}{Enter}{/Shift}two");
    expect(onSend).not.toHaveBeenCalled();
    expect(box.value).toBe("one\ntwo");
    await userEvent.click(screen.getByRole("button", { name: "Send" }));
    expect(onSend).toHaveBeenCalledWith("one\ntwo", null);
  });

  it("does not send blank text", async () => {
    const { onSend, box } = setup();
    await userEvent.type(box, "   {Enter}");
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Send" })).toHaveProperty("disabled", true);
  });

  it("suggests mentions after @ and picks with the arrow keys and Enter", async () => {
    const { onSend, box } = setup();
    await userEvent.type(box, "ask @");
    const options = screen.getAllByRole("option");
    expect(options.map((o) => o.textContent)).toEqual([
      "Sage@sage · gpt-4o-mini",
      "Scout@scout · gpt-4o-mini",
      "allevery persona answers",
      "Benperson",
    ]);
    expect(options[0].getAttribute("aria-selected")).toBe("true");
    await userEvent.keyboard("{ArrowDown}");
    expect(screen.getAllByRole("option")[1].getAttribute("aria-selected")).toBe("true");
    expect(box.getAttribute("aria-activedescendant")).toBe(screen.getAllByRole("option")[1].id);
    await userEvent.keyboard("{Enter}");
    expect(box.value).toBe("ask @scout ");
    expect(screen.queryByRole("listbox")).toBeNull();
    expect(onSend).not.toHaveBeenCalled();
    await userEvent.keyboard("now{Enter}");
    expect(onSend).toHaveBeenCalledWith("ask @scout now", null);
  });

  it("picks with Tab, wraps with ArrowUp, and closes on Escape", async () => {
    const { box } = setup();
    await userEvent.type(box, "@s");
    await userEvent.keyboard("{ArrowUp}{Tab}");
    expect(box.value).toBe("@scout ");
    await userEvent.type(box, "@b");
    expect(screen.getByRole("listbox")).toBeTruthy();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("listbox")).toBeNull();
    await userEvent.keyboard("{Enter}");
    expect(box.value).toBe("");
  });

  it("sends a reply with the quoted id and signals typing start and stop", async () => {
    const quoted = message(3);
    const { onSend, onTyping, onCancelReply, box } = setup({ replyTo: quoted });
    expect(screen.getByText(/Replying to/).textContent).toContain("message 3");
    await userEvent.type(box, "yes{Enter}");
    expect(onSend).toHaveBeenCalledWith("yes", "m3");
    expect(onCancelReply).toHaveBeenCalled();
    expect(onTyping.mock.calls).toEqual([[true], [false]]);
  });
});
