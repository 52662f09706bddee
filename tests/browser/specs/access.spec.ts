// Room roles in the web app: an owner removes a member (whose view loses the room at once),
// and a viewer reads along but cannot post or stop a reply.
import { expect, test } from '../support/fixtures';

test('the owner removes a member: the member’s view shows the access is gone', async ({ newAccount, unique }) => {
  const room = unique('Board');
  const ana = await newAccount('Ana');
  await ana.createRoom(room);
  const link = await ana.createInvite();
  const ben = await newAccount('Ben');
  await ben.page.goto(link);
  await ben.expectInRoom(room);
  await ben.send('Hi all');
  await expect(ana.message('Hi all')).toBeVisible();

  // Everyone can see the members; the owner manages them.
  await ana.page.getByRole('button', { name: 'Members', exact: true }).click();
  const members = ana.page.getByRole('dialog', { name: /Members of/ });
  await expect(members.getByRole('listitem').filter({ hasText: 'Ben' })).toBeVisible();
  await members.getByRole('button', { name: 'Remove Ben', exact: true }).click();
  await expect(members.getByRole('listitem').filter({ hasText: 'Ben' })).toHaveCount(0);

  // Ben's open room goes at once: no timeline, no composer, and it leaves his room list.
  await expect(ben.page.getByRole('heading', { name: 'You no longer have access to this room' })).toBeVisible();
  await expect(ben.timeline).toHaveCount(0);
  await expect(ben.composer).toHaveCount(0);
  await expect(ben.roomList.getByRole('link', { name: room })).toHaveCount(0);
  // And it stays gone after a reload.
  await ben.page.reload();
  await expect(ben.page.getByRole('heading', { name: 'Room not found' })).toBeVisible();
});

test('a viewer reads along but cannot post or stop a reply', async ({ newAccount, unique }) => {
  const room = unique('Broadcast');
  const ana = await newAccount('Ana');
  await ana.createRoom(room, { persona: true });
  const link = await ana.createInvite('viewer');
  const cleo = await newAccount('Cleo');
  await cleo.page.goto(link);
  await cleo.expectInRoom(room);

  await expect(cleo.page.getByText('You can view this room but not post.')).toBeVisible();
  await expect(cleo.composer).toHaveCount(0);
  await expect(cleo.sendButton).toHaveCount(0);
  // Not the owner: no invites, no settings.
  await expect(cleo.page.getByRole('button', { name: 'Invite people' })).toHaveCount(0);
  await expect(cleo.page.getByRole('button', { name: 'Room settings' })).toHaveCount(0);

  // A reply streams: the viewer sees it grow, but only the member gets a Stop button.
  await ana.send('@persona1 please count');
  await cleo.replyWithAtLeast(2);
  await expect(ana.stopButton).toBeVisible();
  await expect(cleo.stopButton).toHaveCount(0);
  await ana.stopButton.click();
  await expect(cleo.timeline.getByText(/^(interrupted|stopped)\b/i)).toBeVisible();
  await expect(cleo.message('@persona1 please count')).toBeVisible();
});
