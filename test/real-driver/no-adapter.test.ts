/**
 * The real driver in state initial: a POWER guest with no VMC adapter (QEMU
 * without the spapr-vmc device). The packed package's own checks in the guest
 * (guest/checks.js: the install script with no compiler, the ioctl numbers
 * against the driver's header, `ibmvmc status`, query(), REQUESTVMC, open()),
 * and the contract scenarios that need no adapter, on the fake and on the
 * real driver side by side.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startFakeDevice } from '../../lib/fake/index';
import { compileContractClient, fakeTarget } from '../contract/fake-target';
import { outcomeProblems, runScenario, type ContractTarget } from '../contract/scenario-runner';
import { CONTRACT_SCENARIOS } from '../contract/scenarios';
import { differentialRows, differentialTable, unexplained } from './differential';
import { bootGuest, type Guest } from './guest';

let guest: Guest;
let workDir: string;

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-no-adapter-'));
  guest = await bootGuest({ name: 'no-adapter', adapter: false });
  await guest.loadModule();
});

afterAll(async () => {
  await guest?.stopAll();
  rmSync(workDir, { recursive: true, force: true });
});

test('the package in the guest: install script, ioctl numbers, status, query, REQUESTVMC, open', async () => {
  const r = await guest.vm.exec(['node', '/checks/checks.js']);
  const lines = r.stdout.split('\n');
  process.stdout.write(`\n${r.stdout}\n`);
  const failed = lines.filter((l) => l.startsWith('ibmvmc-real-driver: FAIL'));
  const passed = lines.filter((l) => l.startsWith('ibmvmc-real-driver: PASS'));
  expect(failed).toEqual([]);
  expect(passed.length).toBeGreaterThanOrEqual(9);
});

const noAdapter = CONTRACT_SCENARIOS.filter((s) => s.noAdapter === true);

test.each(noAdapter.map((s) => [s.name, s] as const))(
  'contract scenario %s, on the fake and on the real driver',
  async (_name, scenario) => {
    const hostClient = path.join(workDir, 'contract_client');
    compileContractClient(hostClient);
    const fake = await startFakeDevice(scenario.options);
    let onFake;
    try {
      onFake = await runScenario(scenario, fakeTarget(hostClient, fake));
    } finally {
      await fake.stop();
    }
    const nothing = async () => {
      throw new Error('no hypervisor behind a machine without a VMC adapter');
    };
    const real: ContractTarget = {
      start: (p) => {
        const proc = guest.vm.spawn(['/app/bin/contract_client', ...p.args]);
        return {
          get lines() {
            return proc.stdout;
          },
          ready: async (tag) => void (await proc.waitFor(`READY ${tag}`)),
          go: () => proc.write('go\n'),
          exit: proc.exit.then((x) => x.code),
        };
      },
      reset: nothing,
      configure: nothing,
      inject: nothing,
    };
    const onReal = await runScenario(scenario, real);
    const rows = differentialRows(scenario.name, onFake, onReal);
    process.stdout.write(`\n${differentialTable(rows)}\n`);
    expect(rows.filter(unexplained)).toEqual([]);
    expect(outcomeProblems(scenario, onReal)).toEqual([]);
  },
);

test('every fd was closed: the module unloads', async () => {
  const refcnt = await guest.vm.exec(['cat', '/sys/module/ibmvmc/refcnt']);
  expect(refcnt.stdout.trim()).toBe('0');
  await guest.unloadModule();
  const gone = await guest.vm.exec(['ls', '/dev/ibmvmc']);
  expect(gone.code).not.toBe(0);
});
