// Scrolling up loads older pages of history, in order, without duplicates and without the view jumping.
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

  // Scroll up, a wheel turn at a time, until an older page arrives.
  const anchor = ana.message((await shown.first().textContent()) ?? '');
  await expect(async () => {
    await ana.timeline.hover();
    await ana.page.mouse.wheel(0, -400);
    expect(await shown.count()).toBeGreaterThan(firstPage);
  }).toPass({ timeout: 30_000 });
  // The view did not jump: the message that was at the top is still on screen.
  await expect(anchor).toBeInViewport();

  // Keep scrolling to the very beginning.
  await expect(async () => {
    await ana.timeline.hover();
    await ana.page.mouse.wheel(0, -3000);
    await expect(ana.message(label(1))).toBeAttached({ timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
  await expect(ana.message(label(1))).toBeInViewport();

  // Every message once, in seq order.
  await expect(shown).toHaveText(Array.from({ length: SEEDED }, (_, i) => label(i + 1)));
});
