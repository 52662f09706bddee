// Screenshots of the rooms page and a lively room at desktop and phone width, light and dark,
// saved to artifacts/screenshots/ for people to look at.
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

test('screenshots: desktop and phone, light and dark', async ({ api, newUser, unique }) => {
  test.setTimeout(180_000);
  const ana = await api.session('Ana');
  const ben = await api.session('Ben');
  const room = await api.createRoom(ana, unique('Release'), [
    { handle: 'bot', name: 'Bot', system_prompt: 'You are a terse release assistant.', max_tokens: 12 },
  ]);
  await api.post(ana, room.id, PLAN);
  await api.post(ben, room.id, 'Looks good. Should we warn support first?');
  await api.post(ana, room.id, '@bot draft a two-line note for support');
  // The persona's answer is the fake model's; wait until it is complete.
  await expect
    .poll(async () => (await api.messages(ana, room.id)).find((m) => m.author.kind === 'ai')?.status, {
      timeout: 90_000,
    })
    .toBe('complete');
  await api.post(ben, room.id, 'Thanks! Shipping it.');

  for (const [device, options] of Object.entries(DEVICES)) {
    for (const colorScheme of SCHEMES) {
      const viewer = await newUser('Cleo', { ...options, colorScheme });
      const shot = (what: string) => path.join(SHOTS, `${device}-${colorScheme}-${what}.png`);
      await viewer.page.screenshot({ path: shot('rooms') });
      await viewer.openRoom(room.name);
      await expect(viewer.message('Thanks! Shipping it.')).toBeInViewport();
      // Dark mode follows the system: the timeline sits on a dark background in dark mode.
      const luminance = await backgroundLuminance(viewer.timeline);
      if (colorScheme === 'dark') expect(luminance, 'background luminance').toBeLessThan(0.3);
      else expect(luminance, 'background luminance').toBeGreaterThan(0.7);
      await viewer.page.screenshot({ path: shot('room') });
      await viewer.page.context().close();
    }
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
