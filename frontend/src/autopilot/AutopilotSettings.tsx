import { useId } from "react";
import type { Autopilot, AutopilotStrategy, ModelInfo } from "../api/types";
import type { DraftErrors, PersonaDraft } from "../room-settings/personas";
import { type AutopilotDraft, type AutopilotErrors, DEFAULT_AUTOPILOT, STRATEGIES, stoppedText } from "./autopilot";

interface Props {
  autopilot: Autopilot | undefined;
  draft: AutopilotDraft;
  onChange: (draft: AutopilotDraft) => void;
  personas: PersonaDraft[];
  onPersonasChange: (personas: PersonaDraft[]) => void;
  models: ModelInfo[] | null;
  errors: AutopilotErrors;
  personaErrors: Record<string, DraftErrors>;
  /** Talkativeness and mute are persona fields: only the owner changes them (shown, not editable). */
  personasLocked?: boolean;
}

/** The autopilot part of the room settings: strategy, limits, summarizer, and who talks how much. */
export function AutopilotSettings(props: Props) {
  const { draft, onChange, personas, onPersonasChange, models, errors, personaErrors, personasLocked = false } = props;
  const autopilot = props.autopilot ?? DEFAULT_AUTOPILOT;
  const id = useId();
  const set = (patch: Partial<AutopilotDraft>) => onChange({ ...draft, ...patch });
  const setPersona = (key: string, patch: Partial<PersonaDraft>) =>
    onPersonasChange(personas.map((p) => (p.key === key ? { ...p, ...patch } : p)));
  const strategy = STRATEGIES.find((s) => s.value === draft.strategy);
  const state = autopilot.enabled
    ? `On: ${autopilot.turns} of ${autopilot.max_turns} turns, ${autopilot.tokens_used.toLocaleString()} tokens used.`
    : `Off. ${stoppedText(autopilot.stopped_reason)}`;

  const number = (field: keyof AutopilotErrors, label: string, note: string) => (
    <div className="field">
      <label htmlFor={`${id}-${field}`}>{label}</label>
      <input
        id={`${id}-${field}`}
        type="number"
        inputMode="numeric"
        min={0}
        step={1}
        value={draft[field]}
        onChange={(e) => set({ [field]: e.target.value })}
        aria-invalid={!!errors[field]}
        aria-describedby={`${id}-${field}-note`}
      />
      <p id={`${id}-${field}-note`} className={errors[field] ? "field-error" : "hint"}>
        {errors[field] ?? note}
      </p>
    </div>
  );

  return (
    <section className="autopilot-settings" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Autopilot</h3>
      <p className="hint">{state.trim()} Switch it on or off under the conversation.</p>
      <div className="persona-grid">
        <div className="field field-wide">
          <label htmlFor={`${id}-strategy`}>Who speaks next</label>
          <select
            id={`${id}-strategy`}
            value={draft.strategy}
            onChange={(e) => set({ strategy: e.target.value as AutopilotStrategy })}
            aria-describedby={`${id}-strategy-note`}
          >
            {STRATEGIES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
          <p id={`${id}-strategy-note`} className="hint">
            {strategy?.hint}
          </p>
        </div>
        {number("max_turns", "Turns without a person", "It stops after this many AI turns in a row.")}
        {number("token_budget", "Token budget", "Tokens one run may use; 0 for no limit.")}
        {number("idle_timeout_s", "Stop when nobody is online for (s)", "Seconds.")}
        <div className="field">
          <label htmlFor={`${id}-summary-model`}>Summarizer model</label>
          <select
            id={`${id}-summary-model`}
            value={draft.summary_model}
            onChange={(e) => set({ summary_model: e.target.value })}
          >
            <option value="">Default</option>
            {draft.summary_model && !models?.some((m) => m.id === draft.summary_model) && (
              <option value={draft.summary_model}>{draft.summary_model}</option>
            )}
            {models?.map((m) => (
              <option key={m.id} value={m.id} disabled={!m.available}>
                {m.id}
              </option>
            ))}
          </select>
          <p className="hint">Writes the rolling summary and /summary.</p>
        </div>
      </div>
      {personas.length > 0 && personasLocked && (
        <p className="hint">Only the room’s owner can change how much each persona talks.</p>
      )}
      {personas.length > 0 && (
        <ul className="autopilot-personas">
          {personas.map((p) => {
            const label = `@${p.handle || "persona"}`;
            const error = personaErrors[p.key]?.talkativeness;
            return (
              <li key={p.key}>
                <span className="person-name">{label}</span>
                <label className="autopilot-talk">
                  <span>Talkativeness</span>
                  <input
                    type="range"
                    min={0}
                    max={1}
                    step={0.1}
                    value={p.talkativeness}
                    aria-label={`Talkativeness of ${label}`}
                    aria-invalid={!!error}
                    disabled={personasLocked || p.muted}
                    onChange={(e) => setPersona(p.key, { talkativeness: e.target.value })}
                  />
                  <output>{Number(p.talkativeness).toFixed(1)}</output>
                </label>
                <label className="autopilot-mute">
                  <input
                    type="checkbox"
                    checked={p.muted}
                    disabled={personasLocked}
                    onChange={(e) => setPersona(p.key, { muted: e.target.checked })}
                  />
                  Mute {label}
                </label>
                {error && <p className="field-error">{error}</p>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
