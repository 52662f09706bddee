// Hash routes (#/, #/rooms/<id>, #/tokens, #/invite/<token>) so any static file server can host
// the app, and an invite link's token never reaches a server log (a fragment is not sent).
import { useEffect, useState } from "react";

export type Route =
  | { name: "home" }
  | { name: "room"; roomId: string }
  | { name: "tokens" }
  | { name: "invite"; token: string };

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export function parseRoute(hash: string): Route {
  const room = /^#\/rooms\/([^/?#]+)/.exec(hash);
  if (room) {
    const roomId = decode(room[1]);
    if (roomId) return { name: "room", roomId };
  }
  const invite = /^#\/invite\/([^/?#]+)\/?$/.exec(hash);
  if (invite) {
    const token = decode(invite[1]);
    if (token) return { name: "invite", token };
  }
  if (/^#\/tokens\/?$/.test(hash)) return { name: "tokens" };
  return { name: "home" };
}

export function roomHref(roomId: string): string {
  return `#/rooms/${encodeURIComponent(roomId)}`;
}

export function inviteHref(token: string): string {
  return `#/invite/${encodeURIComponent(token)}`;
}

export const TOKENS_HREF = "#/tokens";

/**
 * Go to `href`. With `replace`, the current entry is replaced (an accepted invite's link, which
 * holds a secret, does not stay in the history).
 */
export function navigate(href: string, { replace = false } = {}): void {
  const hash = `#${href.replace(/^#/, "")}`;
  if (!replace) {
    window.location.hash = hash;
    return;
  }
  if (window.location.hash === hash) return;
  const { pathname, search } = window.location;
  window.history.replaceState(window.history.state, "", `${pathname}${search}${hash}`);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
