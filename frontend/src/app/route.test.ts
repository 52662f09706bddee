import { describe, expect, it } from "vitest";
import { inviteHref, parseRoute, roomHref } from "./route";

describe("parseRoute", () => {
  it("reads rooms, tokens and invites", () => {
    expect(parseRoute("")).toEqual({ name: "home" });
    expect(parseRoute("#/")).toEqual({ name: "home" });
    expect(parseRoute("#/rooms/r%201")).toEqual({ name: "room", roomId: "r 1" });
    expect(parseRoute("#/tokens")).toEqual({ name: "tokens" });
    expect(parseRoute("#/invite/abc_DEF-123")).toEqual({ name: "invite", token: "abc_DEF-123" });
    expect(parseRoute("#/invite/abc/")).toEqual({ name: "invite", token: "abc" });
  });

  it("round-trips the hrefs it makes", () => {
    expect(parseRoute(inviteHref("t/k+n"))).toEqual({ name: "invite", token: "t/k+n" });
    expect(parseRoute(roomHref("r/1"))).toEqual({ name: "room", roomId: "r/1" });
  });

  it("reads a malformed or empty invite as home", () => {
    expect(parseRoute("#/invite/")).toEqual({ name: "home" });
    expect(parseRoute("#/invite/%E0%A4%A")).toEqual({ name: "home" });
    expect(parseRoute("#/invite/a/b")).toEqual({ name: "home" });
  });
});
