/**
 * Plays a contract scenario (scenarios.ts) against a target: the fake device
 * on this machine, or the real driver in a guest. The target starts the C
 * client and acts on the hypervisor; this file only keeps the order.
 */
import type { FakeDeviceOptions } from '../../lib/fake/index';
import type { ContractProcess, ContractScenario } from './scenarios';

/** One running contract client. */
export interface ContractRun {
  /** Its stdout, line by line, so far. */
  readonly lines: string[];
  /** Resolves once it printed "READY tag". */
  ready(tag: string): Promise<void>;
  /** Lets it go on from a sync point. */
  go(): void;
  /** Its exit status. */
  readonly exit: Promise<number | null>;
}

/** Where a scenario runs. */
export interface ContractTarget {
  start(process: ContractProcess): ContractRun;
  reset(options: { reinitializeAfterMs?: number | null }): Promise<void>;
  configure(options: FakeDeviceOptions): Promise<void>;
  inject(slot: number, data: Buffer): Promise<void>;
}

/** What each client of a scenario printed, and how it ended. */
export interface ScenarioOutcome {
  readonly processes: ReadonlyArray<{
    readonly name: string;
    readonly lines: readonly string[];
    readonly exit: number | null;
  }>;
}

/** Starts the scenario's clients, plays its steps in order, and waits for every client to end. */
export async function runScenario(
  scenario: ContractScenario,
  target: ContractTarget,
): Promise<ScenarioOutcome> {
  const runs = new Map<string, ContractRun>();
  const byName = (name: string): ContractProcess => {
    const p = scenario.processes.find((q) => q.name === name);
    if (p === undefined) throw new Error(`scenario ${scenario.name}: no process ${name}`);
    return p;
  };
  const started = (name: string): ContractRun => {
    const run = runs.get(name);
    if (run === undefined) throw new Error(`scenario ${scenario.name}: ${name} not started`);
    return run;
  };
  for (const p of scenario.processes) if (!p.later) runs.set(p.name, target.start(p));
  for (const step of scenario.steps ?? []) {
    if ('wait' in step) await started(step.process).ready(step.wait);
    else if ('start' in step) runs.set(step.start, target.start(byName(step.start)));
    else if ('go' in step) started(step.go).go();
    else if ('reset' in step) await target.reset(step.reset);
    else if ('configure' in step) await target.configure(step.configure);
    else if ('inject' in step) await target.inject(0, Buffer.from(step.inject));
    else await new Promise((resolve) => setTimeout(resolve, step.sleepMs));
  }
  const processes = [];
  for (const [name, run] of runs) {
    const exit = await run.exit; // every line is in by then
    processes.push({ name, lines: [...run.lines], exit });
  }
  return { processes };
}

/** The problems with an outcome: a "not ok" line, too few checks, a non-zero exit. */
export function outcomeProblems(scenario: ContractScenario, outcome: ScenarioOutcome): string[] {
  const problems: string[] = [];
  for (const p of outcome.processes) {
    const wanted = scenario.processes.find((q) => q.name === p.name)?.minimumChecks ?? 1;
    const failed = p.lines.filter((l) => l.startsWith('not ok'));
    // A check that does not apply where it ran ("skip what (why)") counts as done.
    const passed = p.lines.filter((l) => l.startsWith('ok ') || l.startsWith('skip ')).length;
    for (const line of failed) problems.push(`${p.name}: ${line}`);
    if (passed < wanted) problems.push(`${p.name}: ${passed} checks passed, expected ${wanted}`);
    if (p.exit !== 0) problems.push(`${p.name}: exit status ${p.exit}`);
  }
  return problems;
}
