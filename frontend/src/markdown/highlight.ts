// Code highlighting, loaded on demand: most messages have no code, so highlight.js stays out
// of the first download. Until it arrives code shows plain; then subscribers re-render.
type Highlighter = (code: string, lang: string) => string | null;

let impl: Highlighter | null = null;
let loading: Promise<void> | null = null;
let version = 0;
const listeners = new Set<() => void>();

/** Start loading the highlighter (once); resolves when it is ready. */
export function loadHighlighter(): Promise<void> {
  loading ??= import("./hljs").then((module) => {
    impl = module.highlight;
    version += 1;
    for (const listener of listeners) listener();
  });
  return loading;
}

/** Highlighted HTML, or null when the language is unknown or the highlighter not loaded yet. */
export function highlight(code: string, lang: string): string | null {
  if (!lang) return null;
  if (impl) return impl(code, lang);
  void loadHighlighter();
  return null;
}

export function subscribeHighlighter(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Changes when the highlighter becomes available (for useSyncExternalStore). */
export function highlighterVersion(): number {
  return version;
}
