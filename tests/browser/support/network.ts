// A user's network, switchable: the room WebSockets of one browser context go through Playwright,
// so a spec can cut them as a lost connection does.
import type { BrowserContext, WebSocketRoute } from '@playwright/test';

const ROOM_SOCKET = /\/ws\/room\//;
const ABNORMAL_CLOSURE = 1006; // what a browser reports when the connection just dies

interface Link {
  page: WebSocketRoute;
  server: WebSocketRoute;
}

export class Network {
  private online = true;
  private links: Link[] = [];
  private dropOnSend = false;
  /** The `send` frames the page wrote to the server, in order, as JSON. */
  readonly sends: Array<{ content: string; client_msg_id?: string }> = [];

  private constructor(private readonly context: BrowserContext) {}

  /** Route the context's room sockets; install before the app opens one. */
  static async install(context: BrowserContext): Promise<Network> {
    const network = new Network(context);
    await context.routeWebSocket(ROOM_SOCKET, (ws) => network.connect(ws));
    return network;
  }

  private connect(page: WebSocketRoute): void {
    if (!this.online) {
      void page.close({ code: ABNORMAL_CLOSURE }).catch(() => undefined);
      return;
    }
    const server = page.connectToServer();
    const link = { page, server };
    this.links.push(link);
    let awaitingAck: string | undefined; // the send whose ack dies with the connection
    server.onMessage((data) => {
      if (awaitingAck === undefined) {
        page.send(data);
        return;
      }
      const frame = typeof data === 'string' ? JSON.parse(data) : null;
      if (frame?.type === 'ack' && (awaitingAck === '' || frame.client_msg_id === awaitingAck)) {
        void server.close().catch(() => undefined);
      }
    });
    page.onMessage((data) => {
      const frame = typeof data === 'string' ? JSON.parse(data) : null;
      server.send(data);
      if (frame?.type !== 'send') return;
      this.sends.push(frame);
      if (this.dropOnSend) {
        // The server gets the message, but the connection dies before its ack comes back: the
        // page's side closes at once, the server's once it has acknowledged the message. (No
        // setOffline here: Chromium would stall the server side too, before it delivers.)
        this.dropOnSend = false;
        this.online = false;
        awaitingAck = frame.client_msg_id ?? '';
        this.links = this.links.filter((other) => other !== link);
        void page.close({ code: ABNORMAL_CLOSURE }).catch(() => undefined);
      }
    });
  }

  /** The connection dies and no new one can be made: the browser is offline. */
  async goOffline(): Promise<void> {
    this.online = false;
    await this.context.setOffline(true);
    const links = this.links.splice(0);
    await Promise.all(
      links.flatMap(({ page, server }) => [
        page.close({ code: ABNORMAL_CLOSURE }).catch(() => undefined),
        server.close().catch(() => undefined),
      ]),
    );
  }

  /** The next `send` reaches the server, then the connection dies before the ack arrives; new
   * connections fail until goOnline(). */
  dropAfterNextSend(): void {
    this.dropOnSend = true;
  }

  async goOnline(): Promise<void> {
    this.online = true;
    await this.context.setOffline(false);
  }
}
