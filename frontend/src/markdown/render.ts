// Markdown to safe HTML. Raw HTML in the source is shown as text (never parsed), and the
// result goes through DOMPurify, which drops event handlers and javascript:/data: URLs.
import DOMPurify from "dompurify";
import { Marked, type Tokens } from "marked";
import { highlight } from "./highlight";

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // `<img onerror=…>` typed in a message is text, not markup.
    html({ text }: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(text);
    },
    code({ text, lang }: Tokens.Code) {
      const language = (lang ?? "").split(/\s/)[0];
      const body = highlight(text, language) ?? escapeHtml(text);
      const label = language ? `<span>${escapeHtml(language)}</span>` : "<span></span>";
      return (
        `<div class="codeblock"><div class="codebar">${label}` +
        `<button type="button" class="copy" data-copy>Copy</button></div>` +
        `<pre><code class="hljs">${body}</code></pre></div>`
      );
    },
  },
  extensions: [
    {
      name: "mention",
      level: "inline",
      start(src: string) {
        const match = /(^|[^\w@])@[a-z0-9_-]/i.exec(src);
        return match ? match.index + match[1].length : undefined;
      },
      tokenizer(src: string) {
        const match = /^@([a-z0-9_-]{1,32})(?![\w-])/i.exec(src);
        if (match) return { type: "mention", raw: match[0], handle: match[1] };
        return undefined;
      },
      renderer(token) {
        return `<span class="mention">@${escapeHtml(token.handle as string)}</span>`;
      },
    },
  ],
});

let hooked = false;

function purifier() {
  if (!hooked) {
    hooked = true;
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A" && node.getAttribute("href")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer nofollow");
      }
    });
  }
  return DOMPurify;
}

/** Sanitised HTML for a message's Markdown. */
export function renderMarkdown(source: string): string {
  const html = marked.parse(source, { async: false });
  return purifier().sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "textarea", "select", "iframe", "object", "embed"],
    FORBID_ATTR: ["style"],
  });
}
