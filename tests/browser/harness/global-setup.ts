// Start the stack once for the whole run; the returned function is Playwright's teardown.
import { startStack } from './stack';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const stack = await startStack();
  // Workers inherit the environment set here: that is how the specs find the stack.
  process.env.CHIMERA_BROWSER_BASE_URL = stack.baseURL;
  process.env.CHIMERA_BROWSER_MODEL_URL = stack.modelURL;
  return stack.stop;
}
