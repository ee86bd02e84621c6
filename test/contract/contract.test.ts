/**
 * Runs an unmodified C program through the preload shim against the fake
 * device, walking the driver contract row by row.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { startFakeDevice } from '../../lib/fake/index';
import {
  outcomeProblems,
  runScenario,
  type ContractRun,
  type ContractTarget,
} from './scenario-runner';
import { CONTRACT_SCENARIOS } from './scenarios';

type Fake = Awaited<ReturnType<typeof startFakeDevice>>;

const root = path.resolve(__dirname, '..', '..');
let workDir: string;
let client: string;

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-contract-'));
  client = path.join(workDir, 'contract_client');
  // Compiled during the test run, with the machine's own C compiler.
  execFileSync(process.env.CC ?? 'cc', [
    '-std=gnu11',
    '-Wall',
    '-Wextra',
    '-Werror',
    `-I${path.join(root, 'native', 'abi')}`,
    '-o',
    client,
    path.join(root, 'test', 'contract', 'contract_client.c'),
  ]);
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function runClient(fake: Fake, args: string[], env: NodeJS.ProcessEnv = {}): ContractRun {
  const child = spawn(client, args, {
    env: { ...process.env, ...fake.env, CONTRACT_MTU: '4096', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters = new Map<string, () => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    const tag = /^READY (.+)$/.exec(line)?.[1];
    if (tag) waiters.get(tag)?.();
  });
  return {
    lines,
    ready: (tag) =>
      new Promise<void>((resolve) => {
        if (lines.includes(`READY ${tag}`)) resolve();
        else waiters.set(tag, resolve);
      }),
    go: () => child.stdin.write('go\n'),
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
}

/** The fake device as a contract target: one fake per scenario, clients through the shim. */
function fakeTarget(fake: Fake): ContractTarget {
  return {
    start: (p) => runClient(fake, [...p.args]),
    reset: (options) => fake.reset(options),
    configure: (options) => fake.configure(options),
  };
}

describe('the contract, through the shim, from C', () => {
  const scenarios = CONTRACT_SCENARIOS.map((s) => [s.title, s] as const);
  it.each(scenarios)('%s', async (_title, scenario) => {
    const fake = await startFakeDevice(scenario.options);
    try {
      const outcome = await runScenario(scenario, fakeTarget(fake));
      expect(outcomeProblems(scenario, outcome)).toEqual([]);
    } finally {
      await fake.stop();
    }
  });

  it('opening the fake’s socket as the device needs no environment variable', async () => {
    const beforeBind = CONTRACT_SCENARIOS.find((s) => s.name === 'before-bind')!;
    const fake = await startFakeDevice({});
    try {
      const run = runClient(fake, ['before-bind'], {
        IBMVMC_FAKE_SOCKET: '',
        CONTRACT_DEVICE: fake.socketPath,
      });
      const outcome = { processes: [{ name: 'client', lines: run.lines, exit: await run.exit }] };
      expect(outcomeProblems(beforeBind, outcome)).toEqual([]);
    } finally {
      await fake.stop();
    }
  });
});
