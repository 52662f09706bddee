import { SpeakerIcon, SpeakerOffIcon } from "../ui/icons";

interface Props {
  on: boolean;
  onChange: (on: boolean) => void;
}

/** The room header's speaker: hear the personas' replies as they are written, or not. */
export function SpeakerSwitch({ on, onChange }: Props) {
  return (
    <button
      type="button"
      className={on ? "icon-btn speaker speaker-on" : "icon-btn speaker"}
      aria-label="Sound"
      aria-pressed={on}
      title={on ? "Sound on: replies are read aloud" : "Sound off"}
      onClick={() => onChange(!on)}
    >
      {on ? <SpeakerIcon /> : <SpeakerOffIcon />}
    </button>
  );
}
