import { useEffect, useState } from "react";
import type { Api } from "../api/api";
import type { ModelInfo } from "../api/types";

/** The model registry, for persona pickers. */
export function useModels(api: Api): { models: ModelInfo[] | null; error: string | null } {
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.models().then(
      (list) => live && setModels(list),
      (e: Error) => {
        if (!live) return;
        setModels([]);
        setError(e.message);
      },
    );
    return () => {
      live = false;
    };
  }, [api]);
  return { models, error };
}
