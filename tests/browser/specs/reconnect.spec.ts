// The connection drops and comes back: nothing lost, nothing doubled, the offline message sent once.
import type { ChatPage } from '../support/app';
import { expect, test } from '../support/fixtures';
import { Network } from '../support/network';

/** Each of `texts` is shown exactly once, in this order, in the user's timeline. */
async function expectConversation(user: ChatPage, texts: string[]): Promise<void> {
  const exactly = new RegExp(`^(${texts.map((text) => text.replace(/[.?*+^$()[\]{}|\\]/g, '\\$&')).join('|')})$`);
  await expect(user.messages(exactly)).toHaveText(texts);
}

test('a message written offline is sent once when the connection returns', async ({ api, newUser, unique }) => {
  const room = unique('Flaky');
  const ana = await newUser('Ana');
  const network = await Network.install(ana.page.context());
  await ana.createRoom(room, { access: 'open' });
  const ben = await newUser('Ben');
  await ben.openRoom(room);
  await ana.send('Before the tunnel.');
  await expect(ben.message('Before the tunnel.')).toBeVisible();

  await network.goOffline();
  await expect(ana.connection).toHaveText(/reconnecting|offline/i);
  await ana.send('Written in the tunnel.');
  await expect(ana.message('Written in the tunnel.')).toBeVisible();
  await ben.send('Ana, are you there?');
  await expect(ben.message('Ana, are you there?')).toBeVisible();
  // Ana's message really waits for the connection: Ben does not have it yet.
  await expect(ben.message('Written in the tunnel.')).toHaveCount(0);

  await network.goOnline();
  await expect(ana.connection).toHaveText(/\bconnected\b/i);
  await expect(ben.message('Written in the tunnel.')).toBeVisible();
  await expect(ana.message('Ana, are you there?')).toBeVisible();
  await ana.send('Out of the tunnel.');
  const conversation = ['Before the tunnel.', 'Ana, are you there?', 'Written in the tunnel.', 'Out of the tunnel.'];
  await expectConversation(ana, conversation);
  await expectConversation(ben, conversation);

  const token = await api.session('Auditor');
  const stored = await api.messages(token, (await api.roomNamed(token, room)).id);
  expect(stored.map((message) => message.content)).toEqual(conversation);
});

test('a send whose ack was lost is not doubled on reconnect', async ({ api, newUser, unique }) => {
  const room = unique('Lossy');
  const ana = await newUser('Ana');
  const network = await Network.install(ana.page.context());
  await ana.createRoom(room, { access: 'open' });
  const ben = await newUser('Ben');
  await ben.openRoom(room);
  const token = await api.session('Auditor');
  const { id: roomId } = await api.roomNamed(token, room);

  // The server gets Ana's message, then her connection dies before the ack comes back.
  network.dropAfterNextSend();
  await ana.send('Did this go through?');
  await expect(ana.connection).toHaveText(/reconnecting|offline/i);
  await expect(ben.message('Did this go through?')).toBeVisible();
  await expect.poll(async () => (await api.messages(token, roomId)).length).toBe(1);

  await network.goOnline();
  await expect(ana.connection).toHaveText(/\bconnected\b/i);
  await ana.send('Back again.');
  const conversation = ['Did this go through?', 'Back again.'];
  await expectConversation(ana, conversation);
  await expectConversation(ben, conversation);
  expect((await api.messages(token, roomId)).map((message) => message.content)).toEqual(conversation);
  // Any retry carried the message's one client_msg_id.
  const ids = network.sends.filter((frame) => frame.content === 'Did this go through?').map((frame) => frame.client_msg_id);
  expect(ids.length).toBeGreaterThanOrEqual(1);
  expect(new Set(ids).size, `client_msg_ids sent: ${ids.join(', ')}`).toBe(1);
  expect(ids[0]).toBeTruthy();
});
