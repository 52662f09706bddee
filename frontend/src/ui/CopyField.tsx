import { useId, useRef, useState } from "react";

interface Props {
  /** The field's accessible name, e.g. "New token" or "Invite link". */
  label: string;
  value: string;
  /** The copy button's name, e.g. "Copy token". */
  copyLabel: string;
  /** A warning shown with it (e.g. that it is shown only once). */
  warning?: string;
}

/** Copy `text` to the clipboard; false when the browser refused (then the user copies by hand). */
export async function copyText(text: string, field?: HTMLInputElement | null): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Not allowed here (an insecure origin, no permission): try the selection below.
  }
  if (!field) return false;
  field.focus();
  field.select();
  try {
    return document.execCommand?.("copy") ?? false;
  } catch {
    return false;
  }
}

/** A secret shown once: read-only, selected on focus, with a copy button and a warning. */
export function CopyField({ label, value, copyLabel, warning }: Props) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<boolean | null>(null);

  const copy = async () => setCopied(await copyText(value, input.current));

  return (
    <div className="copy-field">
      <label htmlFor={`${id}-value`}>{label}</label>
      <div className="copy-row">
        <input
          id={`${id}-value`}
          ref={input}
          readOnly
          value={value}
          spellCheck={false}
          onFocus={(e) => e.currentTarget.select()}
          aria-describedby={warning ? `${id}-warning` : undefined}
        />
        <button type="button" className="btn" onClick={() => void copy()}>
          {copyLabel}
        </button>
      </div>
      <p className="hint copy-status" role="status">
        {copied === true ? "Copied." : copied === false ? "Copying was refused: select the text and copy it." : ""}
      </p>
      {warning && (
        <p id={`${id}-warning`} className="warning">
          {warning}
        </p>
      )}
    </div>
  );
}
