// Two people in one room see each other's messages, typing and presence, live.
import { expect, test } from '../support/fixtures';

test('two members see each other’s messages, typing and presence', async ({ newUser, unique }) => {
  const room = unique('Lobby');
  const ana = await newUser('Ana');
  // Open: Ben (a guest, as Ana is) joins from the room list; a guest's room admits guests.
  await ana.createRoom(room, { access: 'open' });
  const ben = await newUser('Ben');
  await ben.openRoom(room);

  // Presence: each sees the other online in the participants list.
  await expect(ana.participant('Ben')).toBeOnline();
  await expect(ben.participant('Ana')).toBeOnline();

  await ana.send('Hello Ben, shall we ship on Friday?');
  await expect(ben.message('Hello Ben, shall we ship on Friday?')).toBeVisible();
  await ben.send('Thursday is safer.');
  await expect(ana.message('Thursday is safer.')).toBeVisible();
  // The same conversation, in the same order, on both screens.
  for (const user of [ana, ben]) {
    await expect(user.messages(/^(Hello Ben, shall we ship on Friday\?|Thursday is safer\.)$/)).toHaveText([
      'Hello Ben, shall we ship on Friday?',
      'Thursday is safer.',
    ]);
  }

  // Typing: Ben types without sending; Ana sees it, Ben is not told about himself.
  await ben.composer.pressSequentially('Let me check the');
  await expect(ana.page.getByText('Ben is typing')).toBeVisible();
  await expect(ben.page.getByText('Ben is typing')).toHaveCount(0);
  await ben.composer.pressSequentially(' release notes');
  await ben.sendButton.click();
  await expect(ana.message('Let me check the release notes')).toBeVisible();
  await expect(ana.page.getByText('Ben is typing')).toHaveCount(0);

  // Presence again: Ben leaves (closes his browser), Ana sees him go offline.
  await ben.page.context().close();
  await expect(ana.participant('Ben')).toBeOffline();
});
