import { type MouseEvent, memo, useMemo, useSyncExternalStore } from "react";
import { highlighterVersion, subscribeHighlighter } from "./highlight";
import { renderMarkdown } from "./render";

function onCopyClick(event: MouseEvent<HTMLDivElement>) {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button[data-copy]");
  const code = button?.closest(".codeblock")?.querySelector("code");
  if (!button || !code) return;
  navigator.clipboard?.writeText(code.textContent ?? "").then(
    () => {
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    },
    () => undefined,
  );
}

/** A message body: Markdown rendered to sanitised HTML. */
export const Markdown = memo(function Markdown({ source }: { source: string }) {
  const highlighter = useSyncExternalStore(subscribeHighlighter, highlighterVersion);
  // Re-render once the highlighter has loaded, so code shown plain gets its colours.
  const html = useMemo(() => renderMarkdown(source), [source, highlighter]);
  // The HTML comes from renderMarkdown, which escapes raw HTML and runs DOMPurify.
  // biome-ignore lint/security/noDangerouslySetInnerHtml: sanitised by renderMarkdown (see above)
  // biome-ignore lint/a11y/noStaticElementInteractions: the click is delegated from the code blocks' Copy buttons
  // biome-ignore lint/a11y/useKeyWithClickEvents: those buttons take the keyboard themselves
  return <div className="markdown" onClick={onCopyClick} dangerouslySetInnerHTML={{ __html: html }} />;
});
