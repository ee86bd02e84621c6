/**
 * The differential contract run: every contract scenario (test/contract/
 * scenarios.ts) that a machine with a VMC adapter can play, with the same
 * scripted hypervisor behaviour, against the fake device on this machine and
 * against the unmodified driver in a POWER guest. The C contract client is the
 * same source on both sides (x86_64 through the shim, static ppc64le in the
 * guest). Every check of every client is a row of the table; a row that
 * differs fails the run unless known-differences.ts lists it, with the
 * driver's reason. The table is printed and written next to the inputs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startFakeDevice } from '../../lib/fake/index';
import { compileContractClient, fakeTarget } from '../contract/fake-target';
import {
  outcomeProblems,
  runScenario,
  type ContractRun,
  type ContractTarget,
  type ScenarioOutcome,
} from '../contract/scenario-runner';
import { CONTRACT_SCENARIOS, type ContractScenario } from '../contract/scenarios';
import {
  differentialRows,
  differentialTable,
  unexplained,
  type DifferentialRow,
} from './differential';
import { bootGuest, type Guest } from './guest';
import { splitOptions } from './hypervisor-options';

/** A client that has not ended this long after it started is killed (a hang is a difference too). */
const CLIENT_DEADLINE_MS = 120_000;

let guest: Guest;
let workDir: string;
let hostClient: string;
const rows: DifferentialRow[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-differential-'));
  hostClient = path.join(workDir, 'contract_client');
  compileContractClient(hostClient);
  guest = await bootGuest({ name: 'differential', adapter: true });
});

afterAll(async () => {
  await guest?.stopAll();
  rmSync(workDir, { recursive: true, force: true });
  if (rows.length === 0) return;
  const table = differentialTable(rows);
  const file = path.join(guest?.inputs.cache ?? tmpdir(), 'differential.md');
  writeFileSync(file, `${table}\n`);
  const count = (test: (r: DifferentialRow) => boolean) => rows.filter(test).length;
  process.stdout.write(
    `\nThe differential table: ${rows.length} rows, ${count((r) => r.same)} the same, ` +
      `${count((r) => r.known !== undefined)} known differences, ` +
      `${count((r) => r.notApplicable === true)} not applicable on one side, ` +
      `${count(unexplained)} unexplained (also in ${file}):\n\n${table}\n\n`,
  );
});

/** The real driver as a contract target: the static client in the guest, the hypervisor behind QEMU. */
function guestTarget(): ContractTarget {
  const hypervisor = guest.hypervisor;
  if (hypervisor === null) throw new Error('this guest has no VMC adapter');
  return {
    start(p): ContractRun {
      const proc = guest.vm.spawn(['/app/bin/contract_client', ...p.args], {
        env: { CONTRACT_MTU: '4096' },
      });
      const timer = setTimeout(() => proc.kill(), CLIENT_DEADLINE_MS);
      return {
        get lines() {
          return proc.stdout;
        },
        ready: async (tag) => {
          await proc.waitFor(`READY ${tag}`, CLIENT_DEADLINE_MS);
        },
        go: () => proc.write('go\n'),
        exit: proc.exit.then((r) => {
          clearTimeout(timer);
          return r.code;
        }),
      };
    },
    reset: async (options) => hypervisor.reset(options),
    configure: async (options) => {
      // Module parameters cannot change under a loaded module: the scenarios change only the hypervisor.
      await hypervisor.configure(splitOptions(options).hypervisor);
    },
    inject: async (slot, data) => {
      hypervisor.inject(slot, data);
    },
  };
}

async function onFake(scenario: ContractScenario): Promise<ScenarioOutcome> {
  const fake = await startFakeDevice(scenario.options);
  try {
    return await runScenario(scenario, fakeTarget(hostClient, fake));
  } finally {
    await fake.stop();
  }
}

/** Scripts the hypervisor as the scenario says, (re)loads the module, and plays the scenario. */
async function onRealDriver(scenario: ContractScenario): Promise<ScenarioOutcome> {
  const hypervisor = guest.hypervisor;
  if (hypervisor === null) throw new Error('this guest has no VMC adapter');
  const { hypervisor: options, module } = splitOptions(scenario.options);
  hypervisor.setHandler(null);
  await hypervisor.configure(options);
  // Start-up that cannot complete (delayed, refused version, no buffers):
  // the driver goes as far as it can in a moment, as the fake's does.
  const completes =
    options.startup?.crqinitMs === 0 &&
    options.startup?.capabilitiesMs === 0 &&
    options.startup?.buffersMs === 0 &&
    options.protocolVersion === 0x0101 &&
    (options.buffers?.startup ?? 1) > 0;
  await guest.loadModule(module, completes);
  if (!completes) await new Promise((resolve) => setTimeout(resolve, 1000));
  return runScenario(scenario, guestTarget());
}

const playable = CONTRACT_SCENARIOS.filter((s) => s.fakeOnly === undefined && !s.noAdapter);

describe('the contract on the fake and on the real driver, side by side', () => {
  it.each(playable.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const fake = await onFake(scenario);
    const real = await onRealDriver(scenario);
    const scenarioRows = differentialRows(scenario.name, fake, real);
    rows.push(...scenarioRows);
    const different = scenarioRows.filter(unexplained);
    // Both must also hold the contract as the client checks it, but for listed differences.
    const realProblems = outcomeProblems(scenario, real).filter(
      (p) => !scenarioRows.some((r) => r.known !== undefined && p.includes(r.check)),
    );
    expect({
      unexplained: different,
      fake: outcomeProblems(scenario, fake),
      real: realProblems,
    }).toEqual({
      unexplained: [],
      fake: [],
      real: [],
    });
  });
});
