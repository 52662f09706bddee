// Autopilot in the web app (issue 6) under issue 5's roles: any member who may send switches it
// on or off, everyone in the room sees what it is doing, a viewer gets no switch. The room has no
// messages, so autopilot only waits ("no_messages"): no model is ever asked.
import { expect, test } from '../support/fixtures';

const WAITING = 'Autopilot waits for someone to start the conversation. · 0/10 turns';

test('a member switches autopilot on and off; the others see it, a viewer cannot switch it', async ({
  newAccount,
  unique,
}) => {
  const room = unique('Autopilot');
  const ana = await newAccount('Ana');
  await ana.createRoom(room, { persona: true });
  const memberLink = await ana.createInvite('member');
  const viewerLink = await ana.createInvite('viewer');
  const ben = await newAccount('Ben');
  await ben.page.goto(memberLink);
  await ben.expectInRoom(room);
  const cleo = await newAccount('Cleo');
  await cleo.page.goto(viewerLink);
  await cleo.expectInRoom(room);
  await expect(cleo.page.getByText('You can view this room but not post.')).toBeVisible();

  const switchOf = (page: typeof ana.page, state: 'on' | 'off') =>
    page.getByRole('button', { name: `Autopilot ${state}`, exact: true });

  // Ben, a member, switches it on: everyone sees it on and what it waits for.
  await switchOf(ben.page, 'off').click();
  await expect(switchOf(ben.page, 'on')).toHaveAttribute('aria-pressed', 'true');
  await expect(switchOf(ana.page, 'on')).toHaveAttribute('aria-pressed', 'true');
  await expect(ana.page.getByText(WAITING, { exact: true })).toBeVisible();
  await expect(ben.page.getByText(WAITING, { exact: true })).toBeVisible();
  // The viewer reads along: the state, but no switch and no settings.
  await expect(cleo.page.getByText(`Autopilot on · ${WAITING}`, { exact: true })).toBeVisible();
  await expect(cleo.page.getByRole('button', { name: /^Autopilot/ })).toHaveCount(0);
  await expect(cleo.page.getByRole('button', { name: 'Room settings' })).toHaveCount(0);

  // A member's settings hold the autopilot only: name, access and personas stay the owner's.
  await ben.page.getByRole('button', { name: 'Room settings', exact: true }).click();
  const settings = ben.page.getByRole('dialog', { name: 'Room settings' });
  await expect(settings.getByRole('combobox', { name: 'Who speaks next' })).toBeVisible();
  await expect(settings.getByRole('textbox', { name: 'Room name', exact: true })).toHaveCount(0);
  await expect(settings.getByRole('checkbox', { name: 'Mute @persona1' })).toBeDisabled();
  await settings.getByRole('button', { name: 'Cancel', exact: true }).click();
  await expect(settings).toBeHidden();

  // The owner switches it off again: Ben and Cleo see that too.
  await switchOf(ana.page, 'on').click();
  await expect(switchOf(ben.page, 'off')).toHaveAttribute('aria-pressed', 'false');
  await expect(cleo.page.getByText(/Autopilot on/)).toHaveCount(0);
  await expect(ana.page.getByText(WAITING, { exact: true })).toHaveCount(0);
});
