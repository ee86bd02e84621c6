/**
 * Runs an unmodified C program through the preload shim against the fake
 * device, walking the driver contract row by row (scenarios.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startFakeDevice } from '../../lib/fake/index';
import { compileContractClient, fakeTarget, runContractClient } from './fake-target';
import { outcomeProblems, runScenario } from './scenario-runner';
import { CONTRACT_SCENARIOS } from './scenarios';

let workDir: string;
let client: string;

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-contract-'));
  client = path.join(workDir, 'contract_client');
  // Compiled during the test run, with the machine's own C compiler.
  compileContractClient(client);
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('the contract, through the shim, from C', () => {
  it.each(CONTRACT_SCENARIOS.map((s) => [s.title, s] as const))('%s', async (_title, scenario) => {
    const fake = await startFakeDevice(scenario.options);
    try {
      const outcome = await runScenario(scenario, fakeTarget(client, fake));
      expect(outcomeProblems(scenario, outcome)).toEqual([]);
    } finally {
      await fake.stop();
    }
  });

  it('opening the fake’s socket as the device needs no environment variable', async () => {
    const beforeBind = CONTRACT_SCENARIOS.find((s) => s.name === 'before-bind');
    if (beforeBind === undefined) throw new Error('no before-bind scenario');
    const fake = await startFakeDevice({});
    try {
      const run = runContractClient(client, fake, ['before-bind'], {
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
