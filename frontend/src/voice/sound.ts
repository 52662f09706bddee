// Whether this browser wants to hear replies (the speaker switch): off unless switched on,
// remembered across reloads and rooms.
import { useCallback, useState } from "react";

export const SOUND_KEY = "chimera.sound";

export function savedSound(): boolean {
  try {
    return localStorage.getItem(SOUND_KEY) === "on";
  } catch {
    return false;
  }
}

export function useSound(): [boolean, (on: boolean) => void] {
  const [on, setOn] = useState(savedSound);
  const set = useCallback((next: boolean) => {
    try {
      if (next) localStorage.setItem(SOUND_KEY, "on");
      else localStorage.removeItem(SOUND_KEY);
    } catch {
      // Storage refused (private mode): the switch still works for this page.
    }
    setOn(next);
  }, []);
  return [on, set];
}
