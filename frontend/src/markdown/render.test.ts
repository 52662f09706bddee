import { describe, expect, it } from "vitest";
import { loadHighlighter } from "./highlight";
import { renderMarkdown } from "./render";

function dom(source: string): HTMLElement {
  const div = document.createElement("div");
  div.innerHTML = renderMarkdown(source);
  return div;
}

describe("renderMarkdown", () => {
  it("shows raw HTML as text: no element, no event handler", () => {
    const div = dom("<img src=x onerror=alert(1)>");
    expect(div.querySelector("img")).toBeNull();
    expect(div.querySelector("[onerror]")).toBeNull();
    expect(div.textContent).toContain("<img src=x onerror=alert(1)>");
  });

  it("keeps the text of a javascript: link but never its href", () => {
    const div = dom("[x](javascript:alert(1)) and [y](JaVaScRiPt:alert(1))");
    for (const a of div.querySelectorAll("a")) {
      expect(a.getAttribute("href") ?? "").not.toMatch(/javascript:/i);
    }
    expect(div.textContent).toContain("x and y");
  });

  it("drops handlers and scripts however they are smuggled in", () => {
    const div = dom('<script>alert(1)</script>\n\n<a href="javascript:alert(1)" onclick="x()">a</a>\n\n![i](x "t")');
    expect(div.querySelector("script")).toBeNull();
    expect(div.querySelector("[onclick]")).toBeNull();
    expect(div.querySelector('[href^="javascript"]')).toBeNull();
    expect(div.textContent).toContain('<a href="javascript:alert(1)" onclick="x()">a</a>');
  });

  it("opens real links in a new tab without an opener", () => {
    const a = dom("see https://example.com/a?b=1").querySelector("a")!;
    expect(a.getAttribute("href")).toBe("https://example.com/a?b=1");
    expect(a.getAttribute("rel")).toContain("noopener");
    expect(a.getAttribute("target")).toBe("_blank");
  });

  it("renders tables and marks mentions", () => {
    const div = dom("| a | b |\n|---|---|\n| 1 | 2 |\n\nhey @sage, and ana@example.com");
    expect([...div.querySelectorAll("td")].map((td) => td.textContent)).toEqual(["1", "2"]);
    expect([...div.querySelectorAll(".mention")].map((m) => m.textContent)).toEqual(["@sage"]);
  });

  it("highlights fenced code once the highlighter has loaded, and escapes it before", async () => {
    const source = "```python\ndef f(x):\n    return '<b>'\n```";
    const plain = dom(source);
    expect(plain.querySelector("pre code")?.textContent).toContain("return '<b>'");
    expect(plain.querySelector("b")).toBeNull();
    await loadHighlighter();
    const code = dom(source).querySelector("pre code")!;
    expect(code.querySelector(".hljs-keyword")?.textContent).toBe("def");
    expect(code.textContent).toContain("return '<b>'");
    expect(dom(source).querySelector(".codebar")?.textContent).toContain("python");
  });
});
