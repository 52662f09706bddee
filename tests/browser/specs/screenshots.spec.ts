// Screenshots of the sign-in screen, the new-room form and a lively room (code, a table, a finished and a streaming
// AI reply) at desktop and phone width, light and dark, saved to artifacts/screenshots/.
import path from 'node:path';
import { ARTIFACTS } from '../harness/stack';
import { expect, test } from '../support/fixtures';

const SHOTS = path.join(ARTIFACTS, 'screenshots');
const DEVICES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
} as const;
const SCHEMES = ['light', 'dark'] as const;

const PLAN = [
  'Morning! Here is the **deploy plan** for Friday:',
  '```python\ndef deploy(env: str) -> None:\n    run("migrate", env)\n    run("restart", env)\n```',
  '| step | owner | eta |\n| --- | --- | --- |\n| migrate | Ana | 5 min |\n| restart | Ben | 1 min |',
].join('\n\n');

test('screenshots: desktop and phone, light and dark', async ({ api, newVisitor, unique }) => {
  test.setTimeout(180_000);
  const ana = await api.session('Ana');
  const ben = await api.session('Ben');
  const room = await api.createRoom(ana, unique('Release'), [
    { handle: 'bot', name: 'Bot', system_prompt: 'You are a terse release assistant.', max_tokens: 12 },
    { handle: 'scribe', name: 'Scribe', system_prompt: 'You take notes.' },
  ]);
  await api.post(ana, room.id, PLAN);
  await api.post(ben, room.id, 'Looks good. Should we warn support first?');
  await api.post(ana, room.id, '@bot draft a two-line note for support');
  // Bot's answer is the fake model's first 12 words: wait until it is complete.
  const aiReplies = async () => (await api.messages(ana, room.id)).filter((m) => m.author.kind === 'ai');
  await expect.poll(async () => (await aiReplies())[0]?.status, { timeout: 30_000 }).toBe('complete');
  await api.post(ben, room.id, 'Thanks! @scribe, keep notes of the release please.');
  // Scribe's answer streams (slowly) while the screenshots are taken.
  await expect.poll(async () => (await aiReplies())[1]?.status).toBe('streaming');

  try {
    for (const [device, options] of Object.entries(DEVICES)) {
      for (const colorScheme of SCHEMES) {
        const viewer = await newVisitor('Cleo', { ...options, colorScheme });
        const shot = (what: string) => path.join(SHOTS, `${device}-${colorScheme}-${what}.png`);
        await expect(viewer.tab('Sign in')).toBeVisible();
        await viewer.page.screenshot({ path: shot('sign-in') });
        await viewer.continueAsGuest();
        await expect(viewer.page.getByRole('link', { name: room.name })).toBeVisible();
        await viewer.page.getByRole('button', { name: 'Add persona' }).click();
        await viewer.page.screenshot({ path: shot('new-room'), fullPage: true });

        await viewer.openRoom(room.name);
        await expect(viewer.message('Thanks! @scribe, keep notes of the release please.')).toBeVisible();
        await expect(viewer.stopButton).toBeInViewport();
        // Dark mode follows the system: the timeline sits on a dark background in dark mode.
        const luminance = await backgroundLuminance(viewer.timeline);
        if (colorScheme === 'dark') expect(luminance, 'background luminance').toBeLessThan(0.3);
        else expect(luminance, 'background luminance').toBeGreaterThan(0.7);
        await viewer.page.screenshot({ path: shot('room') });
        await viewer.page.context().close();
      }
    }
  } finally {
    const streaming = (await aiReplies()).find((m) => m.status === 'streaming');
    if (streaming) await api.interrupt(ana, room.id, streaming.id);
  }
});

/** Relative luminance (0 black … 1 white) of the first opaque background behind `element`. */
async function backgroundLuminance(element: import('@playwright/test').Locator): Promise<number> {
  return element.evaluate((start) => {
    // A canvas turns any CSS colour (rgb, oklch, color-mix …) into sRGB bytes.
    const pixel = document.createElement('canvas').getContext('2d')!;
    for (let node: Element | null = start; node; node = node.parentElement) {
      pixel.clearRect(0, 0, 1, 1);
      pixel.fillStyle = getComputedStyle(node).backgroundColor;
      pixel.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = pixel.getImageData(0, 0, 1, 1).data;
      if (a > 128) {
        const [lr, lg, lb] = [r, g, b].map((v) => {
          const c = v / 255;
          return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * lr + 0.7152 * lg + 0.0722 * lb;
      }
    }
    return 1; // nothing painted: the canvas is white
  });
}
