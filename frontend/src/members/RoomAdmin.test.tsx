// The owner's invites and the members list (with what a non-owner may do there).
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api/api";
import type { Invite, Me, Member, RoomRole } from "../api/types";
import { SessionContext } from "../app/context";
import { apiError, type FakeServer, fakeServer, json } from "../test/server";
import { InvitesDialog, inviteUrl } from "./InvitesDialog";
import { MembersDialog } from "./MembersDialog";

const userEvent = userEventLib.setup({ delay: null });
const ana: Me = { id: "u-ana", name: "Ana", username: "ana", kind: "user", admin: false };
let server: FakeServer;
const refreshRooms = vi.fn();

function member(id: string, name: string, role: RoomRole, guest = false): Member {
  return { user: { id, name }, role, joined_at: "2026-03-01T10:00:00Z", guest };
}

beforeEach(() => {
  refreshRooms.mockReset();
  server = fakeServer();
  window.location.hash = "#/rooms/r1";
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function withSession(children: React.ReactNode) {
  return render(
    <SessionContext.Provider value={{ user: ana, api: new Api(), signOut: vi.fn(), refreshRooms }}>
      {children}
    </SessionContext.Provider>,
  );
}

describe("InvitesDialog", () => {
  it("creates an invite and shows its link once, with copy and a warning; lists and revokes", async () => {
    let invites: Invite[] = [];
    server.routes["GET /api/rooms/r1/invites"] = () => json({ invites });
    server.routes["POST /api/rooms/r1/invites"] = (body) => {
      const created = {
        id: "i1",
        room_id: "r1",
        role: "viewer",
        max_uses: 3,
        uses: 0,
        expires_at: "2026-03-02T10:00:00Z",
        created_at: "2026-03-01T10:00:00Z",
        revoked: false,
      } as const;
      invites = [created];
      expect(body).toEqual({ role: "viewer", max_uses: 3, expires_in_hours: 24 });
      return json({ ...created, token: "inv-secret", url: "http://chimera.test/#/invite/inv-secret" }, 201);
    };
    server.routes["DELETE /api/rooms/r1/invites/i1"] = () => {
      invites = [];
      return json(null, 204);
    };
    const writeText = vi.fn(async () => undefined);
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    withSession(<InvitesDialog roomId="r1" roomName="Plans" onClose={() => undefined} />);
    expect(await screen.findByText("None.")).toBeTruthy();
    await userEvent.selectOptions(screen.getByLabelText("Joins as"), "viewer");
    await userEvent.type(screen.getByLabelText("Max uses"), "3");
    await userEvent.selectOptions(screen.getByLabelText("Expires"), "In 1 day");
    await userEvent.click(screen.getByRole("button", { name: "Create invite link" }));

    const shown = within(await screen.findByRole("region", { name: "New invite link" }));
    expect((shown.getByLabelText("Invite link") as HTMLInputElement).value).toBe(
      "http://chimera.test/#/invite/inv-secret",
    );
    expect(shown.getByText(/shown only this once/)).toBeTruthy();
    await userEvent.click(shown.getByRole("button", { name: "Copy link" }));
    expect(writeText).toHaveBeenCalledWith("http://chimera.test/#/invite/inv-secret");

    const list = within(await screen.findByRole("list", { name: "Invites" }));
    expect(list.getByText(/Viewer · 0 of 3 used/)).toBeTruthy();
    expect(list.queryByText(/inv-secret/)).toBeNull();
    await userEvent.click(list.getByRole("button", { name: "Revoke" }));
    expect(server.called("DELETE", "/api/rooms/r1/invites/i1")).toBe(true);
    await waitFor(() => expect(screen.queryByRole("list", { name: "Invites" })).toBeNull());
    // Revoking the invite just shown hides its link too.
    expect(screen.queryByRole("region", { name: "New invite link" })).toBeNull();
  });

  it("refuses a max-uses value that is not a whole number of at least 1", async () => {
    server.routes["GET /api/rooms/r1/invites"] = () => json({ invites: [] });
    withSession(<InvitesDialog roomId="r1" roomName="Plans" onClose={() => undefined} />);
    await userEvent.type(screen.getByLabelText("Max uses"), "0");
    expect(screen.getByText(/A whole number/)).toBeTruthy();
    expect((screen.getByRole("button", { name: "Create invite link" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("builds the link from this page when the server gives none", () => {
    const location = { origin: "https://chat.example", pathname: "/app/" } as Location;
    const invite = {
      id: "i",
      room_id: "r1",
      role: "member",
      max_uses: null,
      uses: 0,
      expires_at: null,
      created_at: "",
      revoked: false,
      token: "t k",
      url: "",
    } as const;
    expect(inviteUrl(invite, location)).toBe("https://chat.example/app/#/invite/t%20k");
  });
});

describe("MembersDialog", () => {
  beforeEach(() => {
    server.routes["GET /api/rooms/r1/members"] = () =>
      json({
        members: [
          member("u-ben", "Ben", "member"),
          member("u-ana", "Ana", "owner"),
          member("g-1", "Cleo", "viewer", true),
        ],
      });
  });

  it("lets the owner change a role and remove a member", async () => {
    server.routes["PATCH /api/rooms/r1/members/u-ben"] = (body) =>
      json({ ...member("u-ben", "Ben", "viewer"), ...(body as object) });
    server.routes["DELETE /api/rooms/r1/members/g-1"] = () => json(null, 204);
    withSession(<MembersDialog roomId="r1" roomName="Plans" myRole="owner" onClose={() => undefined} />);
    const list = within(await screen.findByRole("list", { name: "Members" }));
    expect(list.getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      expect.stringContaining("Ana (you)"),
      expect.stringContaining("Ben"),
      expect.stringContaining("Cleo"),
    ]);
    expect(list.getByText("guest")).toBeTruthy();
    await userEvent.selectOptions(list.getByLabelText("Role of Ben"), "viewer");
    expect(server.calls.find((c) => c.method === "PATCH")?.body).toEqual({ role: "viewer" });
    await userEvent.click(list.getByRole("button", { name: "Remove Cleo" }));
    expect(server.called("DELETE", "/api/rooms/r1/members/g-1")).toBe(true);
    await waitFor(() => expect(list.queryByText("Cleo")).toBeNull());
    // No controls over oneself.
    expect(list.queryByLabelText("Role of Ana")).toBeNull();
  });

  it("shows a member the list without controls, and lets them leave", async () => {
    server.routes["DELETE /api/rooms/r1/members/u-ana"] = () => json(null, 204);
    const onClose = vi.fn();
    withSession(<MembersDialog roomId="r1" roomName="Plans" myRole="member" onClose={onClose} />);
    const list = within(await screen.findByRole("list", { name: "Members" }));
    expect(list.queryByRole("combobox")).toBeNull();
    expect(list.queryByRole("button", { name: /Remove/ })).toBeNull();
    expect(list.getByText("Owner")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Leave room" }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(server.called("DELETE", "/api/rooms/r1/members/u-ana")).toBe(true);
    expect(refreshRooms).toHaveBeenCalled();
    expect(window.location.hash).toBe("#/");
  });

  it("shows why leaving was refused (the last owner)", async () => {
    server.routes["DELETE /api/rooms/r1/members/u-ana"] = () =>
      apiError(409, "failed_precondition", "The last owner cannot leave the room.");
    withSession(<MembersDialog roomId="r1" roomName="Plans" myRole="owner" onClose={() => undefined} />);
    await screen.findByRole("list", { name: "Members" });
    await userEvent.click(screen.getByRole("button", { name: "Leave room" }));
    expect((await screen.findByRole("alert")).textContent).toBe("The last owner cannot leave the room.");
    expect(window.location.hash).toBe("#/rooms/r1");
  });
});
