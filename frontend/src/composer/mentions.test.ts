// @vitest-environment node
import { describe, expect, it } from "vitest";
import { ana, ben, room } from "../test/fixtures";
import { applyMention, mentionCandidates, mentionQuery } from "./mentions";

describe("mentions", () => {
  it("finds the @word at the caret only at a word start", () => {
    expect(mentionQuery("hi @sa", 6)).toEqual({ start: 3, query: "sa" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("mail ana@ex", 11)).toBeNull();
    expect(mentionQuery("hi @sa there", 12)).toBeNull();
  });

  it("lists matching personas, @all and other people, never yourself", () => {
    const personas = [...room().personas, { ...room().personas[0], handle: "scout", name: "Scout" }];
    const all = mentionCandidates("", personas, [ana, ben], ana.id).map((c) => c.insert);
    expect(all).toEqual(["sage", "scout", "all", "Ben"]);
    expect(mentionCandidates("sc", personas, [ana, ben], ana.id).map((c) => c.insert)).toEqual(["scout"]);
  });

  it("replaces the query with the pick and a space", () => {
    const at = mentionQuery("ask @sa now", 7)!;
    const result = applyMention("ask @sa now", at, { key: "k", insert: "sage", label: "", detail: "" });
    expect(result).toEqual({ text: "ask @sage now", caret: 10 });
  });
});
