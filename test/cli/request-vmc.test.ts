/** `ibmvmc request-vmc`: the DRC index on success, each failure explained with its exit code. */
import { runCli } from './run-cli';

describe('ibmvmc request-vmc', () => {
  it('prints the new adapter’s DRC index and what to do next', async () => {
    const r = await runCli(['request-vmc', '--fake']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'The hypervisor created a VMC adapter: DRC index 0x30000001 (805306369).\n' +
        'Next: add it to this partition (dynamic LPAR); "ibmvmc status" then shows have_vmc.\n',
    );
  });

  it('--json', async () => {
    const r = await runCli(['request-vmc', '--fake', '--json', '--requestvmc', '0x30000042']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, drcIndex: 0x30000042 });
  });

  it.each([
    [
      'EPERM',
      4,
      'the hypervisor refused REQUESTVMC: the firmware lacks the call, the request was denied, or this system cannot be managed through a VMC',
    ],
    ['ENODEV', 3, 'the hypervisor has no VMC resource to give this partition (REQUESTVMC: ENODEV)'],
    ['EIO', 9, 'the hypervisor reported a hardware fault on REQUESTVMC'],
    ['EINVAL', 9, 'the hypervisor rejected REQUESTVMC as invalid'],
  ])('%s exits %d with one line saying why', async (outcome, code, message) => {
    const r = await runCli(['request-vmc', '--fake', '--requestvmc', outcome]);
    expect(r.code).toBe(code);
    expect(r.stderr).toBe(`ibmvmc request-vmc: ${message}\n`);
    expect(r.stdout).toBe('');
  });
});
