// The web app as a user sees it, found only by the accessible names issue 4 makes a contract
// ("Display name", "Room name", "Create room", "Message", "Send", "Stop", the `log` timeline, the
// connection `status`) and by text on screen.
import { expect, type Locator, type Page } from '@playwright/test';

export class ChatPage {
  /** Messages of every dialog (alert, confirm, prompt) the page opened: there must be none. */
  readonly dialogs: string[] = [];
  /** Uncaught exceptions in the page, reported with a failure. */
  readonly errors: string[] = [];

  constructor(
    readonly page: Page,
    readonly name: string,
  ) {
    page.on('dialog', (dialog) => {
      this.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
    page.on('pageerror', (error) => this.errors.push(String(error)));
  }

  get timeline(): Locator {
    return this.page.getByRole('log');
  }

  get composer(): Locator {
    return this.page.getByRole('textbox', { name: 'Message', exact: true });
  }

  get sendButton(): Locator {
    return this.page.getByRole('button', { name: 'Send', exact: true });
  }

  get stopButton(): Locator {
    return this.page.getByRole('button', { name: 'Stop', exact: true });
  }

  /** The connection state: connected, reconnecting or offline. */
  get connection(): Locator {
    return this.page.getByRole('status').filter({ hasText: /\bconnected\b|reconnecting|offline/i });
  }

  /** First visit: choose a display name; the app then offers its rooms. */
  async signIn(): Promise<void> {
    await this.page.goto('/');
    const field = this.page.getByRole('textbox', { name: 'Display name', exact: true });
    await field.fill(this.name);
    await field.press('Enter');
    await expect(field).toBeHidden();
  }

  /** Create a room through the form; the app opens it. */
  async createRoom(room: string): Promise<void> {
    await this.page.getByRole('textbox', { name: 'Room name', exact: true }).fill(room);
    await this.page.getByRole('button', { name: 'Create room', exact: true }).click();
    await this.expectInRoom(room);
  }

  /** Open a room from the room list, as a user clicks it. */
  async openRoom(room: string): Promise<void> {
    await this.page.goto('/');
    const entry = this.page
      .getByRole('link', { name: room })
      .or(this.page.getByRole('button', { name: room }))
      .first();
    await entry.click();
    await this.expectInRoom(room);
  }

  async expectInRoom(room: string): Promise<void> {
    await expect(this.timeline).toBeVisible();
    await expect(this.page.getByRole('heading', { name: room })).toBeVisible();
    await expect(this.connection).toHaveText(/\bconnected\b/i);
  }

  /** Type a message and press Send. */
  async send(text: string): Promise<void> {
    await this.composer.fill(text);
    await this.sendButton.click();
    await expect(this.composer).toHaveValue('');
  }

  /** The participants sidebar (people with their online state, personas with their model). */
  get participants(): Locator {
    const name = /participants|people|members/i;
    return this.page
      .getByRole('complementary', { name })
      .or(this.page.getByRole('region', { name }))
      .or(this.page.getByRole('list', { name }))
      .first();
  }

  /** One person's entry in the participants list. */
  participant(name: string): Locator {
    return this.participants.getByRole('listitem').filter({ hasText: name });
  }

  /** Timeline elements whose whole text matches `pattern`, in the order shown. */
  messages(pattern: RegExp): Locator {
    return this.timeline.getByText(pattern);
  }

  /** The timeline elements showing exactly `text` (a message's whole body). */
  message(text: string): Locator {
    return this.timeline.getByText(text, { exact: true });
  }

  /** The text of the AI reply that streams the fake model's "w0 w1 w2 …". */
  get reply(): Locator {
    return this.timeline.getByText(/^w0( w\d+)*$/);
  }

  /** Wait until the AI reply shows at least `words` words; return its text. */
  async replyWithAtLeast(words: number): Promise<string> {
    await expect(this.reply).toHaveText(new RegExp(`^w0( w\\d+){${words - 1},}$`), { timeout: 30_000 });
    return (await this.reply.textContent()) ?? '';
  }
}

/** The fake model's answer ("w0 w1 … wN-1") cut after `words` words. */
export function modelWords(words: number): string {
  return Array.from({ length: words }, (_, i) => `w${i}`).join(' ');
}
