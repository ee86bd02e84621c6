/** `ibmvmc send`: one request by hand, its decoded answer, and failures. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from './run-cli';

describe('ibmvmc send', () => {
  it('sends a router echo and prints the decoded answer', async () => {
    const r = await runCli([
      'send',
      '--fake',
      '--target',
      'router',
      '--opcode',
      'echo',
      '--data',
      '68 65 6c 6c 6f',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/in [\d.]+ ms/, 'in T ms')).toBe(
      [
        'Response to echo (0x0103) to router (0x8000) in T ms:',
        '  token        2',
        '  target       router (0x8000)',
        '  opcode       echo (0x0103)',
        '  flags        0x40 (response)',
        '  return code  0x0000 (good)',
        '  data         5 bytes',
        '    0000  68 65 6c 6c 6f                                   hello',
        '',
      ].join('\n'),
    );
  });

  it('takes numbers, and data from a file or stdin', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ibmvmc-send-'));
    try {
      const file = path.join(dir, 'data.bin');
      await writeFile(file, Buffer.from([1, 2, 3]));
      const fromFile = await runCli([
        'send',
        '--fake',
        '-t',
        '0x8000',
        '-o',
        '259',
        '--data-file',
        file,
        '--json',
      ]);
      expect(fromFile.code).toBe(0);
      expect(JSON.parse(fromFile.stdout)).toMatchObject({
        ok: true,
        response: {
          target: 0x8000,
          targetName: 'router',
          opcode: 0x0103,
          opcodeName: 'echo',
          flags: 0x40,
          returnCode: 0,
          returnCodeText: 'good',
          data: '010203',
        },
      });
      const fromStdin = await runCli(
        ['send', '--fake', '-t', 'router', '-o', 'echo', '--data-file', '-', '--json'],
        {
          input: 'piped',
        },
      );
      expect(JSON.parse(fromStdin.stdout)).toMatchObject({
        response: { data: Buffer.from('piped').toString('hex') },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 10 with the return code named when the hypervisor refuses', async () => {
    const r = await runCli([
      'send',
      '--fake',
      '--target',
      'lpar-configuration',
      '--opcode',
      '0x10',
    ]);
    expect(r.code).toBe(10);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'ibmvmc send: 0x0010 to lpar-configuration (0x8001) failed with return code 0x8001 (invalid opcode)\n',
    );
  });

  it('with --debug, also shows the refusing answer', async () => {
    const r = await runCli(['send', '--fake', '-t', '0x8005', '-o', '7', '--debug']);
    expect(r.code).toBe(10);
    expect(r.stderr).toContain('  target       concurrent-maintenance (0x8005)\n');
    expect(r.stderr).toContain('  return code  0x8001 (invalid opcode)\n');
    expect(r.stderr).toMatch(/\(HmcCommandError, code ERR_IBMVMC_HMC_RETURN_CODE; exit code 10\)/);
  });

  it('--no-response sends and returns', async () => {
    const r = await runCli([
      'send',
      '--fake',
      '-t',
      'router',
      '-o',
      'echo',
      '-d',
      'ff',
      '--no-response',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Sent echo (0x0103) to router (0x8000) (1 data bytes); no response expected.\n',
    );
  });

  it('refuses data over the MTU before sending (exit 2)', async () => {
    const r = await runCli([
      'send',
      '--fake',
      '-t',
      'router',
      '-o',
      'echo',
      '-d',
      'ab'.repeat(4065),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "ibmvmc send: the request's data is 4065 bytes; with the 32-byte header at most 4064 fit the negotiated MTU of 4096\n",
    );
  });

  it('exits 2 for a missing data file', async () => {
    const r = await runCli([
      'send',
      '--fake',
      '-t',
      'router',
      '-o',
      'echo',
      '--data-file',
      '/nonexistent/x',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ibmvmc send: --data-file \/nonexistent\/x: ENOENT/);
  });
});
