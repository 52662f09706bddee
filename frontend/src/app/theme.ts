// Light or dark: the system's choice unless the user flipped it (persisted).
import { useCallback, useEffect, useState } from "react";

export type Theme = "light" | "dark";
const KEY = "chimera.theme";
const query = "(prefers-color-scheme: dark)";

function systemTheme(): Theme {
  return typeof matchMedia === "function" && matchMedia(query).matches ? "dark" : "light";
}

function savedTheme(): Theme | null {
  const value = localStorage.getItem(KEY);
  return value === "light" || value === "dark" ? value : null;
}

export function useTheme(): [Theme, () => void] {
  const [system, setSystem] = useState<Theme>(systemTheme);
  const [saved, setSaved] = useState<Theme | null>(savedTheme);
  const theme = saved ?? system;

  useEffect(() => {
    if (typeof matchMedia !== "function") return;
    const media = matchMedia(query);
    const onChange = () => setSystem(media.matches ? "dark" : "light");
    media.addEventListener("change", onChange);
    return () => media.removeEventListener("change", onChange);
  }, []);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const toggle = useCallback(() => {
    const next: Theme = theme === "dark" ? "light" : "dark";
    // Choosing what the system says anyway means "follow the system" again.
    if (next === system) localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, next);
    setSaved(next === system ? null : next);
  }, [theme, system]);

  return [theme, toggle];
}
