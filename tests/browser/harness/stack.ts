// The system under test: the fake model server and `chimera up`, real processes on free ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ARTIFACTS = path.join(REPO, 'artifacts');
const PYTHON = path.join(REPO, '.venv/bin/python');
const CHIMERA = path.join(REPO, '.venv/bin/chimera');
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 20_000;

/** The paced answer of the fake model: "w0 w1 … w599", 8 words a second (75 s in all). */
export const MODEL_TOKENS = 600;
export const MODEL_TOKENS_PER_SECOND = 8;
export const MODEL_ID = 'fake-model';
export const UNAVAILABLE_MODEL_ID = 'hosted-without-key';

export interface Stack {
  baseURL: string;
  /** The fake model server's root (GET /_stats answers what it saw). */
  modelURL: string;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (the OS picks it; `chimera up` binds it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** A child in its own process group, every output line logged and offered to `onLine`. */
class Child {
  readonly process: ChildProcess;
  private readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    private readonly log: WriteStream,
  ) {
    this.process = spawn(command, args, { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.process.stdout!, this.process.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        this.log.write(`${line}\n`);
        this.waiters.splice(0).forEach((wake) => wake());
      });
    }
    this.process.on('exit', () => this.waiters.splice(0).forEach((wake) => wake()));
  }

  /** The first output line matching `pattern`; fails if the child exits or time runs out. */
  async waitForLine(pattern: RegExp, timeoutMs = START_TIMEOUT_MS): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (let index = 0; ; ) {
      for (; index < this.lines.length; index++) {
        const match = this.lines[index].match(pattern);
        if (match) return match;
      }
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`${this.name} exited (${this.process.exitCode ?? this.process.signalCode}):\n${this.tail()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no line matching ${pattern} in ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  tail(count = 40): string {
    return this.lines.slice(-count).join('\n');
  }

  /** SIGTERM the whole group (as Ctrl-C in a terminal would), SIGKILL it if it lingers. */
  async stop(): Promise<void> {
    const pid = this.process.pid;
    if (pid === undefined || this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = once(this.process, 'exit');
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    signalGroup(pid, 'SIGKILL'); // anything of the group still around (normally nothing)
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/readyz did not answer 200 in ${START_TIMEOUT_MS} ms`);
    await new Promise((wake) => setTimeout(wake, 100)); // an HTTP probe: nothing to wait on but the next try
  }
}

/**
 * Settings of the stack under test. Every browser context of the run signs in (as a guest or
 * an account) from 127.0.0.1: the per-IP limits on sign-in, sign-up and guest sessions (a few
 * a minute by default) would otherwise refuse the later specs. Guests stay allowed (the default)
 * for the specs that use them.
 */
const BROWSER_SUITE_SETTINGS: NodeJS.ProcessEnv = {
  CHIMERA_SESSION_RATE_PER_MIN: '1000',
  CHIMERA_LOGIN_RATE_PER_MIN: '1000',
  CHIMERA_REGISTER_RATE_PER_MIN: '1000',
  CHIMERA_ALLOW_GUESTS: 'true',
  // The fake model's "w0 w1 …" has no full stops: cut its speech into ~8-word sentences, so a
  // spoken reply's sentences follow each other within seconds, not one 300-character one.
  CHIMERA_SPEECH_MAX_SENTENCE_CHARS: '40',
};

/** The model registry: the fake model, plus a hosted one whose key is missing (shown unavailable). */
function registry(modelBaseURL: string): string {
  return [
    '[[models]]',
    `id = "${MODEL_ID}"`,
    'backend = "openai_compatible"',
    `base_url = "${modelBaseURL}"`,
    'model = "fake-model"',
    '',
    '[[models]]',
    `id = "${UNAVAILABLE_MODEL_ID}"`,
    'backend = "openai"',
    'model = "gpt-4o-mini"',
    'api_key_env = "CHIMERA_BROWSER_TESTS_MISSING_KEY"',
    '',
  ].join('\n');
}

/** Start the fake model and `chimera up` on a fresh data dir; logs go to artifacts/browser/. */
export async function startStack(): Promise<Stack> {
  const workdir = await mkdtemp(path.join(tmpdir(), 'chimera-browser-'));
  const logs = path.join(ARTIFACTS, 'browser');
  mkdirSync(logs, { recursive: true });
  // A clean environment for Chimera: nothing of the caller's CHIMERA_* settings leaks in.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('CHIMERA_')),
  );
  env.PYTHONUNBUFFERED = '1';
  const children: Child[] = [];
  const logStreams: WriteStream[] = [];
  const stop = async () => {
    for (const child of children.reverse()) await child.stop();
    await Promise.all(logStreams.map((stream) => new Promise((done) => stream.end(done))));
    await rm(workdir, { recursive: true, force: true });
  };
  try {
    const modelLog = createWriteStream(path.join(logs, 'model.log'));
    logStreams.push(modelLog);
    const model = new Child(
      'model server',
      PYTHON,
      [
        'tests/browser/harness/model_server.py',
        '--tokens',
        String(MODEL_TOKENS),
        '--tokens-per-second',
        String(MODEL_TOKENS_PER_SECOND),
      ],
      { ...env, PYTHONPATH: REPO },
      modelLog,
    );
    children.push(model);
    const modelBaseURL = (await model.waitForLine(/^(http:\/\/\S+\/v1)$/))[1];

    const models = path.join(workdir, 'models.toml');
    await writeFile(models, registry(modelBaseURL));
    const port = await freePort();
    const upLog = createWriteStream(path.join(logs, 'chimera-up.log'));
    logStreams.push(upLog);
    const up = new Child(
      'chimera up',
      CHIMERA,
      ['up', '--host', '127.0.0.1', '--port', String(port), '--data-dir', path.join(workdir, 'data'), '--models', models],
      { ...env, ...BROWSER_SUITE_SETTINGS, CHIMERA_FRONTEND_DIR: path.join(REPO, 'frontend/dist') },
      upLog,
    );
    children.push(up);
    const baseURL = (await up.waitForLine(/Chimera is up: (http:\/\/\S+)/))[1];
    await waitReady(baseURL);
    return { baseURL, modelURL: modelBaseURL.replace(/\/v1$/, ''), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
