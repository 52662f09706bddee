// Accounts: sign up, invite someone into an invite-only room by link, chat; sign out and in again.
import { expect, test } from '../support/fixtures';

test('sign up, invite a second person by link: they sign up from it and both chat', async ({
  newAccount,
  newVisitor,
  newUser,
  unique,
}) => {
  const room = unique('Plans');
  const ana = await newAccount('Ana');
  // A new room admits invited people only, by default.
  await expect(ana.page.getByRole('radio', { name: /Invited people only/ })).toBeChecked();
  await ana.createRoom(room);
  const link = await ana.createInvite();
  expect(new URL(link).origin).toBe(new URL(ana.page.url()).origin);

  // Ben follows the link signed out: he is asked to sign in or up first, then lands in the room.
  const ben = await newVisitor('Ben');
  await ben.page.goto(link);
  await expect(ben.page.getByText(/You have been invited to a room/)).toBeVisible();
  await ben.signUp(`ben-${Date.now().toString(36)}`, 'a long enough password');
  await ben.expectInRoom(room);
  // The invite link (a secret) does not stay in the address bar.
  expect(ben.page.url()).not.toContain('/invite/');
  await expect(ben.roomList.getByRole('link', { name: room })).toBeVisible();

  await expect(ana.participant('Ben')).toBeOnline();
  await ana.send('Welcome, Ben. This stays between us.');
  await expect(ben.message('Welcome, Ben. This stays between us.')).toBeVisible();
  await ben.send('Thanks for the invite!');
  await expect(ana.message('Thanks for the invite!')).toBeVisible();

  // Someone not invited sees no trace of the room: not listed, and not found by its address.
  const roomUrl = ana.page.url();
  const eve = await newUser('Eve');
  await expect(eve.page.getByText('No rooms yet.').or(eve.roomList.getByRole('listitem').first())).toBeVisible();
  await expect(eve.roomList.getByRole('link', { name: room })).toHaveCount(0);
  await eve.page.goto(roomUrl);
  await expect(eve.page.getByRole('heading', { name: 'Room not found' })).toBeVisible();
  await expect(eve.composer).toHaveCount(0);
});

test('sign out, and sign in again with the password; the session is a cookie the page cannot read', async ({
  newAccount,
  unique,
}) => {
  const room = unique('Notes');
  const ana = await newAccount('Ana');
  await ana.createRoom(room);

  // A reload keeps the session (the server restores it from the cookie).
  await ana.page.reload();
  await expect(ana.signOutButton).toBeVisible();
  await expect(ana.roomList.getByRole('link', { name: room })).toBeVisible();
  // Nothing secret is readable by script: the session cookie is httpOnly, storage holds no token.
  const readable = await ana.page.evaluate(() => ({
    cookie: document.cookie,
    storage: JSON.stringify({ ...localStorage, ...sessionStorage }),
  }));
  expect(readable.cookie).not.toContain('chimera_session');
  expect(readable.storage).not.toMatch(/token/i);

  await ana.signOut();
  await expect(ana.page.getByText('You are signed out.')).toBeVisible();
  await ana.page.reload();
  await expect(ana.tab('Sign in')).toBeVisible();
  await expect(ana.signOutButton).toHaveCount(0);

  await ana.signInWith(ana.username, 'not the password');
  await expect(ana.page.getByRole('alert')).toHaveText('Invalid username or password.');
  await ana.signInWith();
  await expect(ana.signOutButton).toBeVisible();
  await ana.openRoom(room);
  await ana.send('Back again.');
  await expect(ana.message('Back again.')).toBeVisible();
});

test('signing out in one tab ends the session in the other: its open room goes back to sign-in', async ({
  newAccount,
  unique,
}) => {
  const room = unique('Tabs');
  const ana = await newAccount('Ana');
  await ana.createRoom(room);
  // A second tab of the same browser: same cookie, same session.
  const other = await ana.page.context().newPage();
  await other.goto('/');
  await other.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(other.getByRole('tab', { name: 'Sign in', exact: true })).toBeVisible();
  // The first tab's socket is closed by the server (1008): it says why and asks to sign in.
  await expect(ana.page.getByText(/your session was ended elsewhere/)).toBeVisible();
  await expect(ana.tab('Sign in')).toBeVisible();
  await expect(ana.timeline).toHaveCount(0);
});

test('an invalid invite link says so plainly', async ({ newAccount }) => {
  const ana = await newAccount('Ana');
  await ana.page.goto('/#/invite/not-a-real-invite');
  await expect(ana.page.getByRole('heading', { name: 'This invite cannot be used' })).toBeVisible();
  await expect(ana.page.getByRole('alert')).toContainText('invalid or no longer valid');
});
