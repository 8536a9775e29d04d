// Live updates: open pages listen on /events (server-sent events) and reload their list when a report is stored.
import type { IncomingMessage, ServerResponse } from "node:http";

export interface LiveEvent {
  rxid: string;
  groupId: string;
  classifier: string;
  receivedAt: number;
}

export interface LiveHub {
  /** Takes over the response as an event stream until the client goes away or the hub closes. */
  subscribe(req: IncomingMessage, res: ServerResponse): void;
  publish(event: LiveEvent): void;
  /** Ends every stream, so the server can close. */
  close(): void;
}

/** Proxies drop idle streams after about a minute; a comment line keeps them open. */
const keepAliveMs = 25_000;

export function createLiveHub(): LiveHub {
  const clients = new Set<ServerResponse>();
  const timer = setInterval(() => {
    for (const res of clients) res.write(": keep-alive\n\n");
  }, keepAliveMs);
  timer.unref();
  return {
    subscribe(req, res) {
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        connection: "keep-alive",
      });
      // A browser reconnects after a dropped stream; 2 s keeps a restarted receiver quick to pick up.
      res.write("retry: 2000\n\n");
      clients.add(res);
      req.on("close", () => clients.delete(res));
    },
    publish(event) {
      if (clients.size === 0) return;
      const frame = `event: report\ndata: ${JSON.stringify(event)}\n\n`;
      for (const res of clients) res.write(frame);
    },
    close() {
      clearInterval(timer);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}

/**
 * The pages' only script, served from /assets/live.js (the CSP allows scripts from the receiver itself and nothing
 * inline). On each stored report it fetches the page again and swaps the element with id "live", which the server
 * rendered and escaped; the search form outside it keeps what is being typed.
 */
export const liveScript = `"use strict";
(function () {
  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!live || !window.EventSource) return;
  var timer = null;
  var busy = false;
  function refresh() {
    if (busy) { timer = setTimeout(refresh, 200); return; }
    busy = true;
    fetch(location.href, { headers: { accept: "text/html" }, credentials: "same-origin" })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var next = new DOMParser().parseFromString(text, "text/html").getElementById("live");
        if (next) { live.replaceWith(next); live = next; document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1); }
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  var source = new EventSource("/events");
  source.onopen = function () { if (status) { status.textContent = "live"; status.className = "live on"; } };
  source.onerror = function () { if (status) { status.textContent = "reconnecting"; status.className = "live"; } };
  source.addEventListener("report", function () {
    clearTimeout(timer);
    // Reports often come in bursts; one refresh per burst is enough.
    timer = setTimeout(refresh, 150);
  });
})();
`;
