/**
 * The contract client on this machine against the fake device: compiled with
 * the machine's own C compiler, started through the preload shim.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { FakeDeviceHandle } from '../../lib/fake/index';
import type { ContractRun, ContractTarget } from './scenario-runner';

const root = path.resolve(__dirname, '..', '..');

/** Compiles a C program of test/contract/ (default contract_client.c) to `output` (with `$CC`, default cc). */
export function compileContractClient(output: string, source = 'contract_client.c'): void {
  execFileSync(process.env.CC ?? 'cc', [
    '-std=gnu11',
    '-Wall',
    '-Wextra',
    '-Werror',
    `-I${path.join(root, 'native', 'abi')}`,
    '-o',
    output,
    path.join(root, 'test', 'contract', source),
  ]);
}

/** Starts the client against a fake; `env` is added to the fake's environment. */
export function runContractClient(
  client: string,
  fake: FakeDeviceHandle,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): ContractRun {
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

/** The fake device as a contract target: clients through the shim, controls on the fake. */
export function fakeTarget(client: string, fake: FakeDeviceHandle): ContractTarget {
  return {
    start: (p) => runContractClient(client, fake, p.args),
    reset: (options) => fake.reset(options),
    configure: (options) => fake.configure(options),
    inject: async (slot, data) => {
      await fake.inject(slot, data);
    },
  };
}
