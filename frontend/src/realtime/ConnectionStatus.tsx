import type { ConnectionState } from "./socket";

const LABELS: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

/** The live connection's state, announced politely when it changes. */
export function ConnectionStatus({ state, retryInMs }: { state: ConnectionState; retryInMs: number | null }) {
  const retry =
    retryInMs !== null && state !== "connected" && retryInMs >= 2000
      ? `Next try in ${Math.round(retryInMs / 1000)} s`
      : undefined;
  return (
    <div role="status" className="conn" data-state={state} title={retry}>
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-label">{LABELS[state]}</span>
    </div>
  );
}
