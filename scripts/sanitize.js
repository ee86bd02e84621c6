#!/usr/bin/env node
// npm run test:sanitize [-- JEST_PATHS...]
//
// 1. Copies the package to a temporary directory (build/ and dist/ here are
//    left alone: other tests use them), builds the TypeScript there, and the
//    addon and the preload shim with -fsanitize=address,undefined.
// 2. Runs Jest there (default: session, device, contract, faults, fuzz, the
//    client over the fake, and the fake's socket server) with the ASan runtime
//    preloaded first and the sanitized shim after it.
// 3. Builds the C contract client and a plain shim, and runs the client under
//    valgrind --error-exitcode=1 through the shim against fakes, for several
//    scenarios of the driver contract.
// Fails if a test fails, if a sanitizer wrote any report (every process
// writes its reports to a log directory, children included), or if valgrind
// found an error. Options: --keep (keep the directory), --skip-jest,
// --skip-valgrind.
'use strict';
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createInterface } = require('node:readline');

const root = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  if (i >= 0) argv.splice(i, 1);
  return i >= 0;
};
const keep = flag('--keep');
const skipJest = flag('--skip-jest');
const skipValgrind = flag('--skip-valgrind');
if (argv[0] === '--') argv.shift();
const jestPaths =
  argv.length > 0
    ? argv
    : [
        'test/session',
        'test/device',
        'test/native',
        'test/contract',
        'test/faults',
        'test/fuzz',
        'test/client/client-fake.test.ts',
        'test/fake/server.test.ts',
      ];

const SANITIZE =
  '-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g';
const CC = process.env.CC || 'cc';
const started = Date.now();
const failures = [];

function log(...args) {
  console.log('[sanitize]', ...args);
}

function run(cmd, args, options = {}) {
  log('$', [cmd, ...args].join(' '));
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status ?? r.signal})`);
}

function tool(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** On a fresh CI machine (root, Debian), installs a missing tool; elsewhere says false. */
function installAsRoot(pkg) {
  if (process.getuid?.() !== 0 || !tool('apt-get')) return false;
  log(`installing ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], {
      stdio: 'inherit',
      env,
    }).status === 0;
  // A stale or missing index: update once (a broken secondary index is tolerated).
  if (!install()) spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  return tool(pkg) || (install() && tool(pkg));
}

function runtimeLibrary(name) {
  const file = execFileSync(CC, [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
  if (!path.isAbsolute(file) || !fs.existsSync(file))
    throw new Error(
      `${CC} has no ${name}: install the sanitizer runtime (e.g. apt-get install libasan8 libubsan1, or gcc)`,
    );
  return fs.realpathSync(file);
}

/** A copy of the package to build and test in: sources only, node_modules linked. */
function stage(dir) {
  for (const entry of [
    'package.json',
    'binding.gyp',
    'tsconfig.json',
    'tsconfig.build.json',
    'jest.config.js',
    'lib',
    'native',
    'test',
    'scripts',
  ]) {
    fs.cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

/** Reports the sanitizers wrote (one file per process that found something). */
function reports(dir) {
  return fs
    .readdirSync(dir)
    .map((name) => path.join(dir, name))
    .filter((file) => fs.statSync(file).size > 0);
}

async function sanitizedJest(dir) {
  const asan = runtimeLibrary('libasan.so');
  log('ASan runtime:', asan);
  log('compiler flags:', SANITIZE);
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  const nodedir = process.env.npm_config_nodedir;
  run(process.execPath, [nodeGyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])], {
    cwd: dir,
    env: {
      ...process.env,
      CFLAGS: SANITIZE,
      CXXFLAGS: SANITIZE,
      LDFLAGS: '-fsanitize=address,undefined',
    },
  });
  const shim = path.join(dir, 'build', 'Release', 'ibmvmc_fake_preload.so');
  const addon = path.join(dir, 'build', 'Release', 'ibmvmc.node');
  for (const file of [shim, addon]) {
    const linked = execFileSync('ldd', [file], { encoding: 'utf8' });
    if (!/libasan/.test(linked) || !/libubsan/.test(linked))
      throw new Error(`${file} is not linked with the sanitizer runtimes:\n${linked}`);
  }
  log('built with ASan and UBSan:', addon, shim);

  const logs = path.join(dir, 'sanitizer-logs');
  fs.mkdirSync(logs);
  const env = {
    ...process.env,
    // The runtime must come first: it replaces malloc for the whole process.
    LD_PRELOAD: [asan, shim].join(':'),
    // detect_leaks=0: Node (like V8) leaves its heap, isolates and handles to
    // the OS at exit instead of freeing them, so LeakSanitizer would report
    // every Node process, ours or not. Memory errors (overflows, use after
    // free, double free) and undefined behaviour are all still fatal.
    ASAN_OPTIONS: [
      'detect_leaks=0',
      'halt_on_error=1',
      'abort_on_error=1',
      'detect_stack_use_after_return=0',
      // Tests give spawned C programs the fake's environment, whose LD_PRELOAD
      // is the shim alone: the runtime then loads as the shim's dependency.
      // It works so, without intercepting malloc in those programs (valgrind
      // checks the C client fully below); Node processes still get it first.
      'verify_asan_link_order=0',
      `log_path=${path.join(logs, 'asan')}`,
    ].join(':'),
    UBSAN_OPTIONS: [
      'halt_on_error=1',
      'print_stacktrace=1',
      `log_path=${path.join(logs, 'ubsan')}`,
    ].join(':'),
    // Instrumented code is slower: give the fault matrix's waits more room.
    IBMVMC_TEST_TIME_SCALE: process.env.IBMVMC_TEST_TIME_SCALE || '3',
  };
  log('LD_PRELOAD=' + env.LD_PRELOAD);
  log('ASAN_OPTIONS=' + env.ASAN_OPTIONS);
  log('UBSAN_OPTIONS=' + env.UBSAN_OPTIONS);
  const jest = require.resolve('jest/bin/jest', { paths: [root] });
  const results = path.join(dir, 'jest-results.json');
  log('jest', jestPaths.join(' '));
  const r = spawnSync(
    process.execPath,
    [jest, '--ci', '--json', `--outputFile=${results}`, ...jestPaths],
    { cwd: dir, env, stdio: 'inherit' },
  );
  let summary = 'no results (the run did not complete)';
  try {
    const j = JSON.parse(fs.readFileSync(results, 'utf8'));
    summary = `${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests} skipped in ${j.numTotalTestSuites} files`;
  } catch {
    // summary stays as is
  }
  log('jest under ASan+UBSan:', summary);
  if (r.status !== 0)
    failures.push(`jest under the sanitizers exited with ${r.status ?? r.signal}`);
  const found = reports(logs);
  for (const file of found) {
    console.error(`---- ${file}`);
    console.error(fs.readFileSync(file, 'utf8'));
  }
  if (found.length > 0) failures.push(`${found.length} sanitizer report(s)`);
  else log('sanitizer reports: none');
}

/** Contract scenarios for valgrind: fake options, arguments, and what to do at READY lines. */
const VALGRIND_SCENARIOS = [
  { args: ['before-bind'], options: {} },
  { args: ['bind'], options: {} },
  { args: ['blocking-echoes'], options: {} },
  { args: ['opening-busy'], options: { openAnswer: { delayMs: 300 } } },
  { args: ['no-buffers'], options: { buffers: { startup: 0 } } },
  { args: ['not-ready'], options: { startup: { crqinitMs: 60_000 } } },
  { args: ['failed'], options: { protocolVersion: 0x0201 } },
  { args: ['legacy-busy'], options: { openBusyMs: 60_000 } },
  { args: ['pool', '16'], options: { poolSize: 16 } },
  { args: ['open-refused'], options: { openAnswer: { status: 4 } } },
  { args: ['requestvmc', '0x30000042'], options: { requestVmc: { outcome: 0x30000042 } } },
  {
    args: ['reset-blocked-reader'],
    options: { reinitializeAfterMs: null },
    ready: { blocking: async (fake) => (await delay(100), fake.reset()) },
  },
  {
    args: ['failed-after-bind'],
    options: { reinitializeAfterMs: 10 },
    ready: {
      bound: async (fake, go) => {
        await fake.configure({ protocolVersion: 0x0201 });
        await fake.reset();
        await delay(200);
        go();
      },
    },
  },
  {
    args: ['reset-drains'],
    options: { reinitializeAfterMs: null },
    ready: { queued: async (fake, go) => (await fake.reset(), go()) },
  },
  {
    args: ['errno-preserved'],
    options: {
      maxHmcs: 1,
      buffers: { hypervisorOwned: 2 },
      requestVmc: { outcome: 0x30000042, delayMs: 200 },
    },
    ready: {
      waiting: (fake) => injectLater(fake, 'waiting'),
      'waiting-locally': (fake) => injectLater(fake, 'waiting-locally'),
      reset: async (fake, go) => (await fake.reset(), go()),
    },
  },
];

const delay = (ms) => new Promise((r) => setTimeout(r, ms));
/** A message for the client's blocked read, once it has had time to block. */
const injectLater = async (fake, text) => (await delay(100), fake.inject(0, Buffer.from(text)));

async function valgrindContract(dir) {
  if (!tool('valgrind') && !installAsRoot('valgrind')) {
    failures.push('valgrind is not installed (apt-get install valgrind)');
    return;
  }
  const client = path.join(dir, 'contract_client');
  const plainShim = path.join(dir, 'plain_preload.so');
  const abi = path.join(dir, 'native', 'abi');
  run(CC, [
    ...'-std=gnu11 -Wall -Wextra -Werror -g -O1'.split(' '),
    `-I${abi}`,
    '-o',
    client,
    path.join(dir, 'test', 'contract', 'contract_client.c'),
  ]);
  // A shim without the sanitizers: valgrind and ASan cannot share a process.
  run(CC, [
    ...'-std=gnu11 -Wall -Wextra -Werror -g -O1 -fPIC -shared -fvisibility=hidden'.split(' '),
    `-I${abi}`,
    `-I${path.join(dir, 'native', 'fake')}`,
    '-o',
    plainShim,
    path.join(dir, 'native', 'fake', 'shim.c'),
    '-ldl',
    '-lpthread',
  ]);
  const { startFakeDevice } = require(path.join(dir, 'dist', 'cjs', 'fake', 'index.js'));
  const valgrind = [
    '--error-exitcode=1',
    '--leak-check=full',
    '--errors-for-leak-kinds=definite',
    '--track-fds=no',
    '-q',
  ];
  log('valgrind', valgrind.join(' '), '<contract_client SCENARIO> through', plainShim);
  for (const scenario of VALGRIND_SCENARIOS) {
    const fake = await startFakeDevice(scenario.options);
    try {
      const t = Date.now();
      const { code, lines, stderr } = await runUnderValgrind(
        valgrind,
        client,
        scenario,
        fake,
        plainShim,
      );
      const oks = lines.filter((l) => l.startsWith('ok ')).length;
      const notOks = lines.filter((l) => l.startsWith('not ok'));
      const name = scenario.args.join(' ');
      log(
        `valgrind contract_client ${name}: exit ${code}, ${oks} ok, ${notOks.length} not ok (${Date.now() - t} ms)`,
      );
      if (code !== 0 || notOks.length > 0 || oks === 0) {
        console.error(lines.join('\n'));
        console.error(stderr);
        failures.push(`valgrind contract_client ${name}: exit ${code}`);
      }
    } finally {
      await fake.stop();
    }
  }
}

function runUnderValgrind(valgrind, client, scenario, fake, shim) {
  return new Promise((resolve) => {
    const child = spawn('valgrind', [...valgrind, client, ...scenario.args], {
      env: { ...process.env, ...fake.env, LD_PRELOAD: shim, CONTRACT_MTU: '4096' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines = [];
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const go = () => child.stdin.write('go\n');
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const tag = /^READY (.+)$/.exec(line)?.[1];
      const action = tag && scenario.ready?.[tag];
      if (action) void action(fake, go);
    });
    // Valgrind is slow; a wedged client must still end.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, lines, stderr });
    });
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibmvmc-sanitize-'));
  log('working copy:', dir);
  try {
    stage(dir);
    const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
    run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: dir });
    run(process.execPath, [path.join('scripts', 'build-esm.js')], { cwd: dir });
    if (!skipJest) await sanitizedJest(dir);
    if (!skipValgrind) await valgrindContract(dir);
  } catch (error) {
    failures.push(error.message);
  } finally {
    if (keep) log('kept', dir);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length > 0) {
    console.error(`[sanitize] FAILED after ${seconds} s:\n  - ${failures.join('\n  - ')}`);
    process.exit(1);
  }
  log(`clean after ${seconds} s`);
}

main();
