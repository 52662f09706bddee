// Scrolling up loads older pages of history, in order, without duplicates and without the view jumping.
import type { Locator } from '@playwright/test';
import { expect, test } from '../support/fixtures';

const SEEDED = 120;
const label = (seq: number) => `history ${String(seq).padStart(3, '0')}`;

test('scrolling up loads older messages in order', async ({ api, newUser, unique }) => {
  const token = await api.session('Archivist');
  const room = await api.createRoom(token, unique('Archive'));
  for (let seq = 1; seq <= SEEDED; seq++) await api.post(token, room.id, label(seq));

  const ana = await newUser('Ana');
  await ana.openRoom(room.name);
  const shown = ana.messages(/^history \d{3}$/);
  // The room opens at its newest messages; the oldest are not loaded yet.
  await expect(ana.message(label(SEEDED))).toBeInViewport();
  await expect(ana.message(label(1))).toHaveCount(0);
  const firstPage = await shown.count();
  expect(firstPage).toBeLessThan(SEEDED);

  // Scroll up, a wheel turn at a time, until an older page arrives; note the line the reader
  // had at the top of the timeline before the turn that brought it.
  let reading = '';
  await expect(async () => {
    const now = await reader(ana.timeline, shown);
    if (now.count > firstPage) return;
    reading = now.topLine;
    await ana.timeline.hover();
    await ana.page.mouse.wheel(0, -400);
    throw new Error(`no older page yet (${now.count} messages shown)`);
  }).toPass({ timeout: 30_000 });
  // The view did not jump to the new page's top: that line is still on screen.
  await expect(ana.message(reading)).toBeInViewport();

  // Keep scrolling to the very beginning.
  await expect(async () => {
    await ana.timeline.hover();
    await ana.page.mouse.wheel(0, -3000);
    await expect(ana.message(label(1))).toBeInViewport({ timeout: 1_000 });
  }).toPass({ timeout: 60_000 });

  // Every message once, in seq order.
  await expect(shown).toHaveText(Array.from({ length: SEEDED }, (_, i) => label(i + 1)));
});

/** How many messages are shown, and the first one whose top is inside the timeline's view. */
async function reader(timeline: Locator, shown: Locator): Promise<{ count: number; topLine: string }> {
  const top = (await timeline.boundingBox())!.y;
  return shown.evaluateAll(
    (elements, viewTop) => ({
      count: elements.length,
      topLine: elements.find((element) => element.getBoundingClientRect().top >= viewTop)?.textContent ?? '',
    }),
    top,
  );
}
