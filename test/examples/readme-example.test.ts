/** The README's fake-device example, run as written (the script is made here). */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startFakeDevice } from '../../lib/fake/index';

const dist = path.resolve(__dirname, '..', '..', 'dist', 'cjs');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-example-'));
  // A user's script: it knows nothing of the fake and opens /dev/ibmvmc.
  writeFileSync(
    path.join(dir, 'my-script.js'),
    `const { open, encodeHmcMessage, decodeHmcMessage } = require(${JSON.stringify(dist)});
     (async () => {
       const session = await open({ hmcId: 'my-script' });
       await session.send(encodeHmcMessage({ token: 1, target: 0x8000, opcode: 0x0103, data: Buffer.from('ok') }));
       const answer = decodeHmcMessage(await session.receive({ timeoutMs: 5000 }));
       console.log('echo ' + answer.data.toString());
       await session.close();
     })();`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('my script talks to the hypervisor', async () => {
  await using fake = await startFakeDevice({ mtu: 4096, poolSize: 16 });
  const { stdout } = await promisify(execFile)('node', ['my-script.js'], {
    cwd: dir,
    env: { ...process.env, ...fake.env },
  });
  expect(stdout).toContain('echo ok');
});
