// A mention makes a persona answer into every member's screen; Stop from any member ends it for all.
import { MODEL_TOKENS } from '../harness/stack';
import { modelStats } from '../support/api';
import { modelWords } from '../support/app';
import { expect, test } from '../support/fixtures';

test('a mention streams into both members, and Stop in one stops it in both', async ({
  api,
  newUser,
  unique,
  request,
  modelURL,
}) => {
  const room = unique('Streaming');
  // The organiser owns the room (only an owner may set personas); it is open to guests.
  const token = await api.session('Organiser');
  const { id: roomId } = await api.createRoom(token, room);
  await api.setPersonas(token, roomId, [{ handle: 'bot', name: 'Bot' }]);
  const ana = await newUser('Ana');
  await ana.openRoom(room);
  const ben = await newUser('Ben');
  await ben.openRoom(room);
  const before = await modelStats(request, modelURL);

  await ana.send('@bot count to six hundred, slowly');

  // The reply streams into both screens: its text grows, word by word, on each.
  const early = await ana.replyWithAtLeast(2);
  await ben.replyWithAtLeast(2);
  const grown = early.split(' ').length + 3;
  await ana.replyWithAtLeast(grown);
  await ben.replyWithAtLeast(grown);
  await expect(ana.stopButton).toBeVisible();
  await expect(ben.stopButton).toBeVisible();

  // Ben stops it; both see it stopped (interrupted), and neither is offered Stop any more.
  await ben.stopButton.click();
  for (const user of [ana, ben]) {
    await expect(user.timeline.getByText(/^(interrupted|stopped)\b/i)).toBeVisible();
    await expect(user.stopButton).toHaveCount(0);
  }
  // The model's stream was closed from our side: the backend stopped generating.
  await expect.poll(async () => (await modelStats(request, modelURL)).disconnects).toBe(before.disconnects + 1);
  expect((await modelStats(request, modelURL)).open_streams).toBe(0);

  // Nothing more arrives: a message sent after the stop reaches both over the same socket (in
  // order), and the reply still reads the same; its text is the start of the model's answer.
  const stopped = (await ana.reply.textContent()) ?? '';
  const words = stopped.split(' ').length;
  expect(stopped).toBe(modelWords(words));
  expect(words).toBeLessThan(MODEL_TOKENS);
  await ben.send('Thanks, that is enough.');
  for (const user of [ana, ben]) {
    await expect(user.message('Thanks, that is enough.')).toBeVisible();
    await expect(user.reply).toHaveText(stopped);
  }
  // And that is what the server stored.
  const reply = (await api.messages(token, roomId)).find((message) => message.author.kind === 'ai');
  expect(reply).toMatchObject({ status: 'interrupted', content: stopped, author: { handle: 'bot' } });
});
