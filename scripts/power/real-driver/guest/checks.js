// Runs inside the POWER guest (ppc64le Node, the real ibmvmc module loaded,
// QEMU pseries: no VMC adapter, no H_REQUEST_VMC), with the packed package
// installed in /app/node_modules. Checks what the contract says a driver
// without an adapter does:
//   QUERY       succeeds: state 0 (initial), have_vmc 0, DRC index 0
//   REQUESTVMC  the hypervisor call fails: QEMU answers H_FUNCTION, which the
//               driver turns into EPERM ("h_request_vmc not supported")
//   SETHMCID    EAGAIN (driver not ready), retried until the deadline: open()
//               ends in a TimeoutError whose cause is a DriverNotReadyError
// and that the ioctl numbers the addon was compiled with are the driver's own
// (/checks/expected-ioctl.json, from the driver's ibmvmc.h on the host).
// Prints one "ibmvmc-real-driver: PASS|FAIL" line per check and writes the
// counts to /tmp/checks.passed and /tmp/checks.failed for /init.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const APP = '/app/node_modules';
const PKG = path.join(APP, 'ibmvmc');
const BIN = path.join(APP, '.bin');
const expected = JSON.parse(fs.readFileSync('/checks/expected-ioctl.json', 'utf8'));
const counts = { passed: 0, failed: 0 };

const say = (line) => console.log(`ibmvmc-real-driver: ${line}`);
const indent = (text) =>
  String(text)
    .replace(/\s+$/, '')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `    ${l}`)
    .join('\n');
const hex = (n) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** One check: `problems` is empty when it passed; `shown` is the real output to print. */
function report(name, problems, shown) {
  const ok = problems.length === 0;
  counts[ok ? 'passed' : 'failed'] += 1;
  say(`${ok ? 'PASS' : 'FAIL'} ${name}`);
  if (shown) console.log(indent(shown));
  for (const p of problems) console.log(`    !! ${p}`);
}

function expect(problems, what, actual, wanted) {
  if (!Object.is(actual, wanted))
    problems.push(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`);
}

function run(file, args, options = {}) {
  const started = Date.now();
  const r = spawnSync(file, args, { encoding: 'utf8', cwd: PKG, timeout: 120_000, ...options });
  const ms = Date.now() - started;
  const shown = [
    `$ ${[path.basename(file), ...args].join(' ')}   (exit ${r.status ?? r.signal ?? r.error?.code}, ${ms} ms)`,
    r.stdout,
    r.stderr && r.stderr.trimEnd().replace(/^/gm, 'stderr: '),
  ]
    .filter(Boolean)
    .join('\n');
  return { ...r, shown };
}

function dmesg() {
  return spawnSync('dmesg', [], { encoding: 'utf8' }).stdout ?? '';
}

/** An error's class, code, errno and syscall, and the same for its cause. */
function describe(error) {
  if (!(error instanceof Error)) return String(error);
  const fields = ['code', 'errno', 'syscall']
    .filter((k) => error[k] !== undefined)
    .map((k) => `${k} ${JSON.stringify(error[k])}`);
  const line = `${error.constructor.name}: ${error.message}${fields.length ? ` (${fields.join(', ')})` : ''}`;
  return error.cause === undefined ? line : `${line}\n  cause: ${describe(error.cause)}`;
}

async function main() {
  // 1. What npm install runs on a POWER machine with no compiler: the package's
  //    own install script, which must find and load prebuilds/linux-ppc64/
  //    (there is no gcc, g++, make or python3 here).
  {
    const script = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8')).scripts
      ?.install;
    const problems = [];
    let shown = 'no install script in package.json';
    if (script) {
      // As npm runs it: sh -c, in the package, with every node_modules/.bin up the tree on PATH.
      const env = { ...process.env, PATH: `${PKG}/node_modules/.bin:${BIN}:${process.env.PATH}` };
      const r = run('/bin/sh', ['-c', script], { env });
      expect(problems, 'exit status of the install script', r.status, 0);
      shown = r.shown;
    }
    const found = path.relative(PKG, require(path.join(APP, 'node-gyp-build')).resolve(PKG));
    if (!/^prebuilds\/linux-ppc64\/[^/]+\.node$/.test(found))
      problems.push(`node-gyp-build resolves ${JSON.stringify(found)}`);
    report(
      `the install script (${script ?? 'none'}) succeeds with no compiler; the addon is the linux-ppc64 prebuild`,
      problems,
      `${shown}\nnode-gyp-build picks: ${found}`,
    );
  }

  const ibmvmc = require(PKG);

  // 2. The ioctl numbers and QUERY struct size compiled into the addon are the driver's.
  {
    const c = ibmvmc.nativeConstants();
    const problems = [];
    const lines = [];
    for (const name of ['SETHMCID', 'QUERY', 'REQUESTVMC']) {
      const ours = c.ioctl[name] >>> 0;
      const driver = expected.ioctl[name] >>> 0;
      lines.push(`${name.padEnd(10)} addon ${hex(ours)}  driver ${hex(driver)}`);
      if (ours !== driver) problems.push(`${name}: addon ${hex(ours)}, driver ${hex(driver)}`);
    }
    lines.push(
      `QUERY struct: addon ${c.QUERY_STRUCT_SIZE} bytes, driver ${expected.QUERY_STRUCT_SIZE} bytes`,
    );
    expect(problems, 'QUERY struct size', c.QUERY_STRUCT_SIZE, expected.QUERY_STRUCT_SIZE);
    report(
      `ioctl numbers match the driver's ibmvmc.h (${expected.kernel}, linux-source ${expected.version})`,
      problems,
      lines.join('\n'),
    );
  }

  // 3. ibmvmc status: module loaded, node present, state 0, no adapter, exit 3 (not found).
  {
    const r = run(path.join(BIN, 'ibmvmc'), ['status']);
    const problems = [];
    expect(problems, 'exit status', r.status, 3);
    for (const want of [
      /^Module +loaded: max_mtu 4096, buf_pool_size 32, max_hmcs 1$/m,
      /^Device node +\/dev\/ibmvmc: character device/m,
      /^Access +this user \(uid 0\) can open it$/m,
      /^Driver +initial \(state 0\)/m,
      /^VMC adapter +no \(have_vmc 0\), DRC index 0$/m,
      /this partition has no VMC adapter/,
    ])
      if (!want.test(r.stdout)) problems.push(`no line matching ${want}`);
    report('ibmvmc status: initial (state 0), have_vmc 0, exit 3', problems, r.shown);
  }

  // 4. ibmvmc status --json: the same, machine-readable.
  {
    const r = run(path.join(BIN, 'ibmvmc'), ['status', '--json']);
    const problems = [];
    expect(problems, 'exit status', r.status, 3);
    let doc;
    try {
      doc = JSON.parse(r.stdout);
    } catch (error) {
      problems.push(`stdout is not one JSON document: ${error.message}`);
    }
    if (doc) {
      expect(problems, 'driver.state', doc.driver?.state, 0);
      expect(problems, 'driver.stateName', doc.driver?.stateName, 'initial');
      expect(problems, 'driver.haveVmc', doc.driver?.haveVmc, false);
      expect(problems, 'driver.vmcDrcIndex', doc.driver?.vmcDrcIndex, 0);
      expect(problems, 'module.loaded', doc.module?.loaded, true);
      expect(problems, 'module.maxMtu', doc.module?.maxMtu, 4096);
      expect(problems, 'module.bufPoolSize', doc.module?.bufPoolSize, 32);
      expect(problems, 'module.maxHmcs', doc.module?.maxHmcs, 1);
      expect(problems, 'access.canOpen', doc.access?.canOpen, true);
      expect(problems, 'ok', doc.ok, false);
      expect(problems, 'problems[0].exitCode', doc.problems?.[0]?.exitCode, 3);
    }
    report(
      'ibmvmc status --json: driver {state 0, haveVmc false, vmcDrcIndex 0}',
      problems,
      r.shown,
    );
  }

  // 5. VmcDevice.open().query(): QUERY works without SETHMCID and says initial.
  const device = await ibmvmc.VmcDevice.open();
  {
    const q = device.query();
    const problems = [];
    expect(problems, 'state', q.state, 0);
    expect(problems, 'stateName', q.stateName, 'initial');
    expect(problems, 'haveVmc', q.haveVmc, false);
    expect(problems, 'vmcDrcIndex', q.vmcDrcIndex, 0);
    report(
      'VmcDevice.open().query(): state 0 (initial), have_vmc 0, DRC index 0',
      problems,
      JSON.stringify(q),
    );
  }

  // 6. requestVmc(): QEMU has no H_REQUEST_VMC, answers H_FUNCTION; the driver says EPERM.
  {
    const problems = [];
    let shown;
    try {
      const index = await device.requestVmc();
      problems.push(`REQUESTVMC succeeded with DRC index ${index}`);
      shown = `resolved ${index}`;
    } catch (error) {
      shown = describe(error);
      if (!(error instanceof ibmvmc.PermissionDeniedError))
        problems.push(`not a PermissionDeniedError: ${error?.constructor?.name}`);
      expect(problems, 'code', error.code, 'EPERM');
      expect(problems, 'errno', error.errno, -1);
      expect(problems, 'syscall', error.syscall, 'ioctl:REQUESTVMC');
    }
    const log = dmesg();
    const line = log.split('\n').find((l) => l.includes('requestvmc'));
    if (!/h_request_vmc not supported/.test(log))
      problems.push('the driver did not log "h_request_vmc not supported" (H_FUNCTION)');
    const after = device.query();
    expect(problems, 'state after REQUESTVMC', after.state, 0);
    expect(problems, 'DRC index after REQUESTVMC', after.vmcDrcIndex, 0);
    report(
      'requestVmc(): PermissionDeniedError EPERM (H_FUNCTION: "h_request_vmc not supported")',
      problems,
      `${shown}\ndriver: ${line ?? '(nothing in dmesg)'}\nquery() after: ${JSON.stringify(after)}`,
    );
  }
  device.close();

  // 7. ibmvmc request-vmc: the same failure, exit 4 (permission).
  {
    const r = run(path.join(BIN, 'ibmvmc'), ['request-vmc']);
    const problems = [];
    expect(problems, 'exit status', r.status, 4);
    report('ibmvmc request-vmc: exit 4 (permission denied)', problems, r.shown);
  }

  // 8. open(): SETHMCID gets EAGAIN until the deadline, then TimeoutError(cause DriverNotReadyError).
  {
    const problems = [];
    let shown;
    const notReady = () => (dmesg().match(/Reserve HMC: not state_ready/g) ?? []).length;
    const before = notReady();
    const started = Date.now();
    try {
      const session = await ibmvmc.open({ hmcId: 'real-driver-test', timeoutMs: 2000 });
      problems.push('open() succeeded');
      await session.close();
      shown = 'resolved';
    } catch (error) {
      const ms = Date.now() - started;
      shown = `${describe(error)}\nrejected after ${ms} ms`;
      if (!(error instanceof ibmvmc.TimeoutError))
        problems.push(`not a TimeoutError: ${error?.constructor?.name}`);
      const cause = error?.cause;
      if (!(cause instanceof ibmvmc.DriverNotReadyError))
        problems.push(`cause is not a DriverNotReadyError: ${cause?.constructor?.name}`);
      expect(problems, 'cause.code', cause?.code, 'EAGAIN');
      expect(problems, 'cause.errno', cause?.errno, -11);
      expect(problems, 'cause.syscall', cause?.syscall, 'ioctl:SETHMCID');
      if (ms < 1900 || ms > 8000) problems.push(`rejected after ${ms} ms, expected about 2000`);
    }
    const attempts = notReady() - before;
    shown += `\ndriver: "Reserve HMC: not state_ready" (EAGAIN) ${attempts} times`;
    if (attempts < 2)
      problems.push(`SETHMCID reached the driver ${attempts} times, expected retries`);
    report(
      "open({ hmcId, timeoutMs: 2000 }): TimeoutError, cause DriverNotReadyError (SETHMCID's EAGAIN)",
      problems,
      shown,
    );
  }

  // 9. No call reached the driver's "unknown ioctl" branch (a wrong number would).
  {
    const log = dmesg();
    const unknown = log.split('\n').filter((l) => l.includes('unknown ioctl'));
    report('the driver saw no unknown ioctl number', unknown, unknown.join('\n'));
  }
}

main()
  .catch((error) => {
    counts.failed += 1;
    say(`FAIL checks.js stopped: ${describe(error)}`);
    if (error instanceof Error && error.stack) console.log(indent(error.stack));
  })
  .finally(() => {
    fs.writeFileSync('/tmp/checks.passed', `${counts.passed}\n`);
    fs.writeFileSync('/tmp/checks.failed', `${counts.failed}\n`);
  });
