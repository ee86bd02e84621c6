/** `ibmvmc fake-device`: a fake in the foreground that other processes use through the printed environment. */
import { envWithoutShim, runCli, startCli } from './run-cli';

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
    expect(Object.keys(env)).toEqual(['LD_PRELOAD', 'IBMVMC_FAKE_SOCKET', 'IBMVMC_SYSFS_ROOT']);
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
