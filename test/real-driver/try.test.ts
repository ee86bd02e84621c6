/**
 * `npm run real-driver -- [hypervisor options] --run PATH [ARGS...]`, as a
 * user runs it: a static ppc64le program (the C contract client) on the real
 * driver, its output printed, its exit status passed on, the hypervisor
 * options given before --run in force.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { readInputs } from '../../scripts/power/real-driver/guest';

const root = path.resolve(__dirname, '..', '..');

function tryRun(args: readonly string[]): Promise<{ code: number | null; stdout: string }> {
  const child = spawn('npm', ['run', '--silent', 'real-driver', '--', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout })));
}

const client = () => readInputs().contractClient;

test('a program that passes: its output printed, exit 0, with --requestvmc EPERM in force', async () => {
  const r = await tryRun(['--requestvmc', 'EPERM', '--run', client(), 'requestvmc', 'EPERM']);
  expect(r.stdout).toMatch(/^ok REQUESTVMC fails as scripted \[-1 EPERM\]$/m);
  expect(r.code).toBe(0);
});

test('a program that fails: exit status passed on (the default hypervisor grants REQUESTVMC)', async () => {
  const r = await tryRun(['--run', client(), 'requestvmc', 'EPERM']);
  expect(r.stdout).toMatch(/^not ok REQUESTVMC fails as scripted \[0\] expected/m);
  expect(r.code).toBe(1);
});
