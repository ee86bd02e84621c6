/** `ibmvmc fake-device`: a fake in the foreground that other processes use through the printed environment. */
import * as path from 'node:path';
import { envWithoutShim, runCli, startCli } from './run-cli';

const DIST = path.resolve(__dirname, '..', '..', 'dist', 'cjs');
const FAKE = path.join(DIST, 'fake', 'index.js');
const LIB = path.join(DIST, 'index.js');

/** Parses `export NAME='value'` lines. */
function exports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of text.matchAll(/^export (\w+)='([^']*)'$/gm)) env[match[1]] = match[2];
  return env;
}

describe('ibmvmc fake-device', () => {
  it('prints the environment, serves other processes, and stops on SIGTERM', async () => {
    const run = startCli(['fake-device', '--max-hmcs', '2'], { env: envWithoutShim() });
    await run.waitFor('Ctrl-C stops it.');
    const env = exports(run.stdout());
    expect(Object.keys(env)).toEqual([
      'LD_PRELOAD',
      'IBMVMC_FAKE_SOCKET',
      'IBMVMC_SYSFS_ROOT',
      'IBMVMC_FAKE_ATTACH',
    ]);
    expect(env.IBMVMC_FAKE_ATTACH).toBe(`${env.IBMVMC_FAKE_SOCKET}.attach`);
    expect(run.stderr()).toMatch(
      /^Fake device running \(pid \d+\), driver ready, MTU 4096, 2 slots; in a shell with the variables above, \/dev\/ibmvmc is the fake \("ibmvmc status" to see\)\. Ctrl-C stops it\.\n$/,
    );
    const status = await runCli(['status', '--json'], { env: { ...envWithoutShim(), ...env } });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      device: env.IBMVMC_FAKE_SOCKET,
      fake: true,
      module: { maxHmcs: 2 },
    });
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Fake device stopped\.\n$/);
  });

  it('serves its controls to attached processes, under the wrapper too', async () => {
    // The wrapped command attaches through IBMVMC_FAKE_ATTACH, opens a session of its own
    // on the fake (its /dev/ibmvmc), injects a message into it and reads it back.
    const script = [
      `const { attachFakeDevice } = require(${JSON.stringify(FAKE)});`,
      `const { open, decodeHmcMessage, encodeHmcMessage } = require(${JSON.stringify(LIB)});`,
      '(async () => {',
      '  const fake = await attachFakeDevice();',
      "  const session = await open({ hmcId: 'attached' });",
      '  const [slot] = await fake.sessions();',
      "  const event = encodeHmcMessage({ token: 0, target: 0x8001, opcode: 0x0200, data: Buffer.from('hi') });",
      '  console.log(`injected ${await fake.inject(slot.slot, event)} into slot ${slot.slot} (${slot.hmcId})`);',
      '  console.log(`read ${decodeHmcMessage(await session.receive({ timeoutMs: 5000 })).data}`);',
      '  await session.close();',
      '  await fake.detach();',
      '})();',
    ].join('\n');
    const r = await runCli(
      ['fake-device', '--hv-buffers', '4', '--', process.execPath, '-e', script],
      { env: envWithoutShim() },
    );
    expect(r).toMatchObject({
      code: 0,
      stdout: 'injected true into slot 0 (attached)\nread hi\n',
    });
  });

  it('--json describes it in one document', async () => {
    const run = startCli(['fake-device', '--json'], { env: envWithoutShim() });
    await run.waitFor('"socketPath"');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      socketPath: string;
      env: Record<string, string>;
      pid: number;
    };
    expect(doc.env.IBMVMC_FAKE_SOCKET).toBe(doc.socketPath);
    expect(doc.pid).toBe(run.child.pid);
    expect(r.stderr).toBe('');
  });
});
