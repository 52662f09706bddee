// The web app as a user sees it, found only by the accessible names issue 4 makes a contract
// ("Display name", "Room name", "Create room", "Message", "Send", "Stop", the `log` timeline, the
// connection `status`), those issue 5 adds (the "Sign in" / "Create account" / "Guest" tabs with
// "Username", "Password"; "Sign out"; "Members", "Invite people", "Invite link"; "API tokens") and
// by text on screen.
import { expect, type Locator, type Page } from '@playwright/test';

export interface NewRoom {
  /** "invite" (the app's default) or "open" (anyone signed in; a guest's room admits guests). */
  access?: 'invite' | 'open';
  allowGuests?: boolean;
  /** Add one persona (the first available model, handle "persona1"). */
  persona?: boolean;
}

export class ChatPage {
  /** Messages of every dialog (alert, confirm, prompt) the page opened: there must be none. */
  readonly dialogs: string[] = [];
  /** Uncaught exceptions in the page, reported with a failure. */
  readonly errors: string[] = [];
  /** What the server's Content-Security-Policy blocked (inline script or style): must be nothing. */
  readonly cspViolations: string[] = [];

  /** Set once this person has an account (signUp). */
  username = '';
  password = '';

  constructor(
    readonly page: Page,
    readonly name: string,
  ) {
    page.on('dialog', (dialog) => {
      this.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
    page.on('pageerror', (error) => this.errors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
        this.cspViolations.push(message.text());
      }
    });
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

  /** The sign-in screen's tab named `name` ("Sign in", "Create account", "Guest"). */
  tab(name: string): Locator {
    return this.page.getByRole('tab', { name, exact: true });
  }

  get signOutButton(): Locator {
    return this.page.getByRole('button', { name: 'Sign out', exact: true });
  }

  /** First visit as a guest: choose a display name; the app then offers its rooms. */
  async signIn(): Promise<void> {
    await this.page.goto('/');
    await this.continueAsGuest();
  }

  /** On the sign-in screen: continue as a guest under this person's name. */
  async continueAsGuest(): Promise<void> {
    await this.tab('Guest').click();
    const field = this.page.getByRole('textbox', { name: 'Display name', exact: true });
    await field.fill(this.name);
    await field.press('Enter');
    await expect(field).toBeHidden();
    await expect(this.signOutButton).toBeVisible();
  }

  /** On the sign-in screen: create an account (display name: this person's name). */
  async signUp(username: string, password: string): Promise<void> {
    await this.tab('Create account').click();
    await this.page.getByRole('textbox', { name: 'Username', exact: true }).fill(username);
    await this.page.getByRole('textbox', { name: 'Display name', exact: true }).fill(this.name);
    await this.page.getByLabel('Password', { exact: true }).fill(password);
    await this.page.getByRole('button', { name: 'Create account', exact: true }).click();
    await expect(this.signOutButton).toBeVisible();
    this.username = username;
    this.password = password;
  }

  /** On the sign-in screen: sign in with a username and password. */
  async signInWith(username = this.username, password = this.password): Promise<void> {
    await this.tab('Sign in').click();
    await this.page.getByRole('textbox', { name: 'Username', exact: true }).fill(username);
    await this.page.getByLabel('Password', { exact: true }).fill(password);
    await this.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  async signOut(): Promise<void> {
    await this.signOutButton.click();
    await expect(this.tab('Sign in')).toBeVisible();
  }

  /** Create a room through the form; the app opens it. */
  async createRoom(room: string, options: NewRoom = {}): Promise<void> {
    await this.page.goto('/#/');
    await this.page.getByRole('textbox', { name: 'Room name', exact: true }).fill(room);
    if (options.access === 'open') await this.page.getByRole('radio', { name: /Anyone signed in/ }).check();
    const guests = this.page.getByRole('checkbox', { name: /Allow guests/ });
    if (options.allowGuests && (await guests.isEnabled())) await guests.check();
    if (options.persona) {
      await this.page.getByRole('button', { name: 'Add persona', exact: true }).click();
      await expect(this.page.getByRole('combobox', { name: 'Model' })).not.toHaveValue('');
    }
    await this.page.getByRole('button', { name: 'Create room', exact: true }).click();
    await this.expectInRoom(room);
  }

  /** In a room I own: create an invite link (as "member" or "viewer"); returns the link shown. */
  async createInvite(role: 'member' | 'viewer' = 'member'): Promise<string> {
    await this.page.getByRole('button', { name: 'Invite people', exact: true }).click();
    const dialog = this.page.getByRole('dialog', { name: /Invite people/ });
    await dialog.getByRole('combobox', { name: 'Joins as' }).selectOption(role);
    await dialog.getByRole('button', { name: 'Create invite link', exact: true }).click();
    const field = dialog.getByRole('textbox', { name: 'Invite link', exact: true });
    await expect(field).toHaveValue(/#\/invite\/./);
    const link = await field.inputValue();
    await dialog.getByRole('button', { name: 'Close', exact: true }).first().click();
    await expect(dialog).toBeHidden();
    return link;
  }

  /** The rooms list in the sidebar. */
  get roomList(): Locator {
    return this.page.getByRole('navigation', { name: 'Rooms' });
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
