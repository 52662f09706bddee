// Start the stack once for the whole run; the returned function is Playwright's teardown.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO, startStack } from './stack';

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(path.join(REPO, 'frontend/dist/index.html'))) {
    throw new Error('frontend/dist is not built: run ./scripts/test_browser.sh, or npm run --prefix frontend build');
  }
  const stack = await startStack();
  // Workers inherit the environment set here: that is how the specs find the stack.
  process.env.CHIMERA_BROWSER_BASE_URL = stack.baseURL;
  process.env.CHIMERA_BROWSER_MODEL_URL = stack.modelURL;
  return stack.stop;
}
