/** `--write-env`'s file: a shell that sources it gets every value back exactly, and no temporary file is left. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeEnvFile } from '../../lib/cli/env-file';

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-env-file-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('quotes values so that "set -a; . FILE" gives them back unchanged', () => {
  const awkward = `it's "$HOME" \`date\` \\ a\nb; rm -rf x`;
  const file = path.join(dir, 'fake.env');
  writeEnvFile(file, { PLAIN: '/tmp/x y/vmc.sock', AWKWARD: awkward });
  const out = execFileSync(
    'sh',
    ['-c', `set -a; . "${file}"; set +a; printf '%s\\0%s' "$PLAIN" "$AWKWARD"`],
    {
      encoding: 'utf8',
    },
  );
  expect(out.split('\0')).toEqual(['/tmp/x y/vmc.sock', awkward]);
  expect(readdirSync(dir)).toEqual(['fake.env']);
});

it('replaces an existing file whole', () => {
  const file = path.join(dir, 'fake.env');
  writeEnvFile(file, { A: '1' });
  writeEnvFile(file, { B: '2' });
  const out = execFileSync('sh', ['-c', `. "${file}"; echo "\${A-unset} $B"`], {
    encoding: 'utf8',
  });
  expect(out).toBe('unset 2\n');
});
