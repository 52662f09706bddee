// Text that looks like HTML or a script link is shown as text, never run, for sender and receiver.
import { expect, test } from '../support/fixtures';

const IMG = '<img src=x onerror=alert(1)>';
const LINK = '[click](javascript:alert(1))';

test('HTML and javascript: links in messages render as harmless text', async ({ newUser, unique }) => {
  const room = unique('Sanitising');
  const ana = await newUser('Ana');
  await ana.createRoom(room, { access: 'open' });
  const ben = await newUser('Ben');
  await ben.openRoom(room);

  await ana.send(IMG);
  await ana.send(LINK);
  for (const user of [ana, ben]) {
    // The markup is shown literally, as the sender typed it.
    await expect(user.message(IMG)).toBeVisible();
    const link = user.timeline.getByText(/click/).last();
    await expect(link).toBeVisible();
    await link.click();
    // Nothing of it became live markup.
    await expect(user.page.locator('[onerror]')).toHaveCount(0);
    await expect(user.page.locator('img[src="x"]')).toHaveCount(0);
    await expect(user.page.locator('a[href^="javascript:" i]')).toHaveCount(0);
  }
  // A later message reaches both: anything those two could have run has had its chance.
  await ben.send('Nothing happened, good.');
  await expect(ana.message('Nothing happened, good.')).toBeVisible();
  // No alert (the fixture also fails the test on any dialog).
  expect([...ana.dialogs, ...ben.dialogs]).toEqual([]);
});
