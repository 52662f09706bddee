// Personal API tokens: created in the web app (shown once), usable as a bearer token, revoked at once.
import { whoAmI } from '../support/api';
import { expect, test } from '../support/fixtures';

test('create an API token, use it, and revoke it', async ({ newAccount, baseURL }) => {
  const ana = await newAccount('Ana');
  await ana.page.getByRole('link', { name: 'API tokens' }).click();
  await expect(ana.page.getByRole('heading', { name: 'API tokens' })).toBeVisible();

  await ana.page.getByRole('textbox', { name: 'Token name', exact: true }).fill('laptop CLI');
  await ana.page.getByRole('combobox', { name: 'Expires' }).selectOption({ label: 'In 30 days' });
  await ana.page.getByRole('button', { name: 'Create token', exact: true }).click();

  // Shown once, with a way to copy it and a warning.
  const shown = ana.page.getByRole('region', { name: 'Your new token' });
  const field = shown.getByRole('textbox', { name: /New token/ });
  await expect(field).toHaveValue(/^chm_/);
  const token = await field.inputValue();
  await expect(shown.getByText(/shown only this once/)).toBeVisible();
  await expect(shown.getByRole('button', { name: 'Copy token' })).toBeVisible();
  await expect(ana.page.getByRole('list', { name: 'Your tokens' }).getByText('laptop CLI')).toBeVisible();

  // It works as a bearer token for the REST API (no cookie involved).
  expect(await whoAmI(baseURL!, token)).toEqual({ status: 200, username: ana.username });

  // Never shown again: not after a reload, not in the list.
  await ana.page.reload();
  await expect(ana.page.getByRole('list', { name: 'Your tokens' }).getByText('laptop CLI')).toBeVisible();
  expect(await ana.page.content()).not.toContain(token);

  // Revoked: gone from the list, refused at once.
  await ana.page.getByRole('button', { name: 'Revoke laptop CLI' }).click();
  await expect(ana.page.getByRole('list', { name: 'Your tokens' })).toHaveCount(0);
  await expect(ana.page.getByText('No tokens yet.')).toBeVisible();
  expect((await whoAmI(baseURL!, token)).status).toBe(401);
});
