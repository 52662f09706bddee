import { useEffect, useState } from "react";
import type { Api } from "../api/api";
import type { Voice } from "../api/types";

/** The voice registry, for persona pickers. */
export function useVoices(api: Api): { voices: Voice[] | null; error: string | null } {
  const [voices, setVoices] = useState<Voice[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.voices().then(
      (list) => live && setVoices(list),
      (e: Error) => {
        if (!live) return;
        setVoices([]);
        setError(e.message);
      },
    );
    return () => {
      live = false;
    };
  }, [api]);
  return { voices, error };
}
