// Two members with sound on both hear a persona's reply, sentence by sentence in order; Stop in
// one silences both. The voice is the stack's own (the bundled Piper voice `joe`), for real.
import type { Page } from '@playwright/test';
import { expect, test } from '../support/fixtures';

/** Record, in the page, every sentence index the timeline marks as being spoken, in order. */
async function recordSpeaking(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { spoken: number[] };
    w.spoken = [];
    new MutationObserver((changes) => {
      for (const change of changes) {
        const value = (change.target as Element).getAttribute('data-speaking');
        if (value !== null && Number(value) !== w.spoken.at(-1)) w.spoken.push(Number(value));
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-speaking'] });
  });
}

const spoken = (page: Page) => page.evaluate(() => (window as unknown as { spoken: number[] }).spoken);

test('two members with sound on hear a reply in order, and Stop in one silences both', async ({
  api,
  newUser,
  unique,
  request,
  baseURL,
}) => {
  const room = unique('Speaking');
  const token = await api.session('Organiser');
  const voices = (await (await request.get(`${baseURL}/api/voices`, { headers: { authorization: `Bearer ${token}` } })).json())
    .voices as Array<{ id: string; available: boolean }>;
  const voice = voices.find((v) => v.available);
  expect(voice, 'the stack offers an available voice').toBeTruthy();
  const { id: roomId } = await api.createRoom(token, room);
  await api.setPersonas(token, roomId, [{ handle: 'bot', name: 'Bot', voice: voice?.id }]);

  const ana = await newUser('Ana');
  const ben = await newUser('Ben');
  for (const user of [ana, ben]) {
    await user.openRoom(room);
    const sound = user.page.getByRole('button', { name: 'Sound' });
    await sound.click();
    await expect(sound).toHaveAttribute('aria-pressed', 'true');
    await recordSpeaking(user.page);
  }

  await ana.send('@bot count to six hundred, slowly');

  // Both hear it: the reply is marked as spoken on each screen, its sentences from the first on,
  // one after the other.
  for (const user of [ana, ben]) {
    await expect.poll(async () => (await spoken(user.page)).length, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    const order = await spoken(user.page);
    expect(order[0]).toBe(0);
    expect(order).toEqual(order.map((_, i) => i));
    await expect(user.page.getByRole('button', { name: 'Listen to Bot' })).toBeVisible();
  }

  // Ben stops the reply: the text and the speech end for both.
  await ben.stopButton.click();
  for (const user of [ana, ben]) {
    await expect(user.timeline.getByText(/^(interrupted|stopped)\b/i)).toBeVisible();
    await expect(user.page.locator('[data-speaking]')).toHaveCount(0);
  }
  const heard = [await spoken(ana.page), await spoken(ben.page)];
  // Nothing more is said: a message sent after the stop reaches both over the same sockets (any
  // speech frame sent before it would have come first), and no sentence was marked since.
  await ben.send('Quiet now.');
  for (const [i, user] of [ana, ben].entries()) {
    await expect(user.message('Quiet now.')).toBeVisible();
    expect(await spoken(user.page)).toEqual(heard[i]);
    await expect(user.page.locator('[data-speaking]')).toHaveCount(0);
  }
});
