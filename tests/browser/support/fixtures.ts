// Fixtures: the running stack, its REST API, and signed-in users, each in its own browser context.
import { test as base, expect as baseExpect, type BrowserContextOptions, type Locator } from '@playwright/test';
import { Api } from './api';
import { ChatPage } from './app';

type NewUser = (name: string, options?: BrowserContextOptions) => Promise<ChatPage>;

interface Fixtures {
  /** A person with their own browser context, on no page yet (the others build on it). */
  people: NewUser;
  api: Api;
  modelURL: string;
  /** A person with their own browser context (own cookies, own sockets), signed in as a guest. */
  newUser: NewUser;
  /** A person with their own browser context who signs up for an account (unique username). */
  newAccount: NewUser;
  /** A person with their own browser context, at the sign-in screen, not signed in. */
  newVisitor: NewUser;
  /** A name unique to this test, for rooms (the room list is shared by every spec). */
  unique: (prefix: string) => string;
}

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => {
    const url = process.env.CHIMERA_BROWSER_BASE_URL;
    if (!url) throw new Error('CHIMERA_BROWSER_BASE_URL is not set: run through playwright.config.ts');
    await use(url);
  },
  modelURL: async ({}, use) => {
    await use(process.env.CHIMERA_BROWSER_MODEL_URL!);
  },
  api: async ({ request, baseURL }, use) => {
    await use(new Api(request, baseURL!));
  },
  unique: async ({}, use, testInfo) => {
    const run = Date.now().toString(36).slice(-4);
    await use((prefix) => `${prefix} ${run}${testInfo.testId.slice(0, 4)}`);
  },
  people: async ({ browser, baseURL }, use, testInfo) => {
    const users: ChatPage[] = [];
    await use(async (name, options = {}) => {
      const context = await browser.newContext({ baseURL, ...options });
      const user = new ChatPage(await context.newPage(), name);
      users.push(user);
      return user;
    });
    for (const user of users) {
      if (user.errors.length) {
        await testInfo.attach(`${user.name}-page-errors`, { body: user.errors.join('\n') });
      }
      await user.page.context().close();
    }
    // No spec may ever make the app open a dialog (that is what injected script would do).
    baseExpect(users.flatMap((user) => user.dialogs.map((dialog) => `${user.name}: ${dialog}`))).toEqual([]);
    // The app runs under the server's strict CSP (script-src 'self'; style-src 'self'): nothing
    // of it may be blocked.
    baseExpect(users.flatMap((user) => user.cspViolations.map((v) => `${user.name}: ${v}`))).toEqual([]);
  },
  newUser: async ({ people }, use) => {
    await use(async (name, options) => {
      const user = await people(name, options);
      await user.signIn();
      return user;
    });
  },
  newAccount: async ({ people }, use, testInfo) => {
    let count = 0;
    const run = Date.now().toString(36).slice(-5);
    await use(async (name, options) => {
      const user = await people(name, options);
      await user.page.goto('/');
      // Usernames are unique per server, and one server serves the whole run.
      const username = `${name.toLowerCase().replace(/[^a-z0-9]/g, '')}-${run}${testInfo.testId.slice(0, 4)}${++count}`;
      await user.signUp(username.slice(0, 32), `pw-${username}-secret`);
      return user;
    });
  },
  newVisitor: async ({ people }, use) => {
    await use(async (name, options) => {
      const user = await people(name, options);
      await user.page.goto('/');
      return user;
    });
  },
});

/** What a participant entry says about presence: its text and the labels of its badges. */
async function presenceText(entry: Locator): Promise<string> {
  if ((await entry.count()) === 0) return '(no such participant)';
  return entry.first().evaluate((element) => {
    const labels = [element, ...element.querySelectorAll('*')].flatMap((node) =>
      ['aria-label', 'title', 'alt'].map((attribute) => node.getAttribute(attribute) ?? ''),
    );
    return `${(element as HTMLElement).innerText} ${labels.join(' ')}`;
  });
}

async function toShowPresence(entry: Locator, state: 'online' | 'offline', timeout?: number) {
  const other = state === 'online' ? 'offline' : 'online';
  let seen = '';
  try {
    await baseExpect
      .poll(
        async () => {
          seen = (await presenceText(entry)).toLowerCase();
          return new RegExp(`\\b${state}\\b`).test(seen) && !new RegExp(`\\b${other}\\b`).test(seen);
        },
        { timeout },
      )
      .toBe(true);
    return { pass: true, message: () => `participant is ${state}` };
  } catch {
    return { pass: false, message: () => `expected the participant to be shown ${state}; it shows: ${seen.trim()}` };
  }
}

export const expect = baseExpect.extend({
  async toBeOnline(entry: Locator, options?: { timeout?: number }) {
    return toShowPresence(entry, 'online', options?.timeout);
  },
  async toBeOffline(entry: Locator, options?: { timeout?: number }) {
    return toShowPresence(entry, 'offline', options?.timeout);
  },
});
