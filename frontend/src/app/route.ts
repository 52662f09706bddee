// Hash routes (#/ and #/rooms/<id>) so any static file server can host the app.
import { useEffect, useState } from "react";

export type Route = { name: "home" } | { name: "room"; roomId: string };

export function parseRoute(hash: string): Route {
  const match = /^#\/rooms\/([^/?#]+)/.exec(hash);
  return match ? { name: "room", roomId: decodeURIComponent(match[1]) } : { name: "home" };
}

export function roomHref(roomId: string): string {
  return `#/rooms/${encodeURIComponent(roomId)}`;
}

export function navigate(href: string): void {
  window.location.hash = href.replace(/^#/, "");
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
