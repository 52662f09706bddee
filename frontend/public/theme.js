// Set the theme before the first paint so a dark page never flashes light (see src/app/theme.ts).
try {
  let theme = localStorage.getItem("chimera.theme");
  if (theme !== "light" && theme !== "dark") {
    theme = matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.documentElement.dataset.theme = theme;
} catch {
  // No storage (private mode): the stylesheet's light default applies until React runs.
}
