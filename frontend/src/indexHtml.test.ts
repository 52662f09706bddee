// @vitest-environment node
// The server sends `Content-Security-Policy: script-src 'self'; style-src 'self'`: the page must
// work without inline script or static style attributes, in the source and in the build.
import { describe, expect, it } from "vitest";
import source from "../index.html?raw";

/** The built page, when dist/ has been built (else nothing). */
const built = Object.values(
  import.meta.glob<string>("../dist/index.html", { query: "?raw", import: "default", eager: true }),
);

/** Problems a strict CSP would block in this HTML. */
function cspProblems(html: string): string[] {
  const problems: string[] = [];
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (!/\bsrc\s*=/.test(match[1])) problems.push(`inline script: ${match[0].slice(0, 80)}`);
    else if (match[2].trim()) problems.push(`script with a body: ${match[0].slice(0, 80)}`);
  }
  if (/<style\b/i.test(html)) problems.push("a <style> element");
  if (/\sstyle\s*=/i.test(html)) problems.push("a style attribute");
  if (/\son[a-z]+\s*=/i.test(html)) problems.push("an inline event handler");
  if (/(?:href|src)\s*=\s*["']?\s*javascript:/i.test(html)) problems.push("a javascript: URL");
  return problems;
}

describe("index.html under a strict CSP", () => {
  it("finds inline script and style (the check itself works)", () => {
    expect(cspProblems('<script>alert(1)</script><p style="x" onclick="y"></p>')).toHaveLength(3);
    expect(cspProblems('<script type="module" src="/a.js"></script>')).toEqual([]);
  });

  it("has none in the source", () => {
    expect(cspProblems(source)).toEqual([]);
  });

  it.skipIf(built.length === 0)("has none in the build (dist/)", () => {
    expect(cspProblems(built[0])).toEqual([]);
  });
});
