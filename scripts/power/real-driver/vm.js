// The POWER guest, from the host: boots qemu-system-ppc64 (pseries, POWER9,
// TCG) with our initramfs, connects to the guest's agent (guest/agent.js) on a
// second console, and runs programs in the guest through it. Used by the
// real-driver suite (suite.js) and by `npm run real-driver` (try.js).
//
// The guest's console (hvc0: the kernel's messages) goes to a log file; the
// agent's console (hvc1) is a Unix socket QEMU serves and we connect to.
'use strict';
const { spawn } = require('node:child_process');
const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

/** The pseries machine as the tests run it: no Spectre mitigations TCG cannot emulate. */
const MACHINE = 'pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off';

/**
 * Guest CPUs: IBMVMC_REAL_DRIVER_SMP, default 2 (QEMU's multi-threaded TCG
 * makes each Node start about a third faster than with one).
 */
function guestCpus() {
  return Number(process.env.IBMVMC_REAL_DRIVER_SMP ?? 2);
}

class GuestError extends Error {}

/** One program running in the guest. */
class GuestProcess extends EventEmitter {
  constructor(vm, id, argv) {
    super();
    this.vm = vm;
    this.id = id;
    this.argv = argv;
    /** Every line so far, in order: { stream: 'out' | 'err', line }. */
    this.lines = [];
    this.result = null;
    this.exit = new Promise((resolve) => this.once('exit', resolve));
  }

  /** stdout lines only. */
  get stdout() {
    return this.lines.filter((l) => l.stream === 'out').map((l) => l.line);
  }

  /** Resolves with the first line (stdout or stderr) matching `pattern`, seen or still to come. */
  waitFor(pattern, timeoutMs = 120_000) {
    const test = (line) => (typeof pattern === 'string' ? line === pattern : pattern.test(line));
    const seen = this.lines.find((l) => test(l.line));
    if (seen) return Promise.resolve(seen.line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new GuestError(`${this.argv.join(' ')}: no line ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onLine = ({ line }) => {
        if (!test(line)) return;
        cleanup();
        resolve(line);
      };
      const onExit = (r) => {
        cleanup();
        reject(
          new GuestError(`${this.argv.join(' ')} exited (${r.code ?? r.signal}) before ${pattern}`),
        );
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.off('line', onLine);
        this.off('exit', onExit);
      };
      this.on('line', onLine);
      this.once('exit', onExit);
    });
  }

  write(data) {
    this.vm.send({ op: 'stdin', id: this.id, data });
  }

  closeStdin() {
    this.vm.send({ op: 'close-stdin', id: this.id });
  }

  kill(signal = 'SIGKILL') {
    this.vm.send({ op: 'kill', id: this.id, signal });
  }
}

class GuestVm {
  /**
   * Boots the guest and resolves once its agent said hello.
   *
   * @param {object} o
   * @param {string} o.qemu        qemu-system-ppc64
   * @param {string} o.kernel      vmlinux
   * @param {string} o.initrd      the initramfs (cpio)
   * @param {string} o.workDir     where the control socket and the console log go
   * @param {string[]} [o.extraArgs] more QEMU arguments (the VMC adapter and its chardev)
   * @param {number} [o.smp]       guest CPUs (default 2)
   * @param {string} [o.append]    more kernel command line
   * @param {number} [o.bootTimeoutMs] how long until the agent must say hello (default 240 s)
   * @param {(line: string) => void} [o.onConsole] each console line, as it comes
   */
  static async boot(o) {
    const vm = new GuestVm(o);
    try {
      await vm.start();
    } catch (error) {
      await vm.kill();
      throw error;
    }
    return vm;
  }

  constructor(o) {
    this.o = o;
    this.consoleLog = path.join(o.workDir, 'console.log');
    this.controlPath = path.join(o.workDir, 'agent.sock');
    this.consoleTail = [];
    this.processes = new Map();
    this.nextId = 1;
    this.hello = null;
    this.qemuExited = null;
  }

  async start() {
    const o = this.o;
    fs.rmSync(this.controlPath, { force: true });
    const args = [
      ...['-M', MACHINE, '-cpu', 'POWER9', '-m', '1G', '-smp', String(o.smp ?? guestCpus())],
      ...['-nographic', '-vga', 'none', '-net', 'none', '-no-reboot'],
      ...['-L', '/usr/share/qemu'],
      ...['-kernel', o.kernel, '-initrd', o.initrd],
      ...['-append', `console=hvc0 quiet panic=-1 ${o.append ?? ''}`.trim()],
      ...['-chardev', `socket,id=agent,path=${this.controlPath},server=on,wait=off`],
      ...['-device', 'spapr-vty,chardev=agent'],
      ...(o.extraArgs ?? []),
    ];
    this.qemuArgs = args;
    const log = fs.createWriteStream(this.consoleLog);
    this.qemu = spawn(o.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.qemuExited = new Promise((resolve) =>
      this.qemu.on('exit', (code, signal) => resolve({ code, signal })),
    );
    this.qemu.on('error', (error) => this.fail(new GuestError(`${o.qemu}: ${error.message}`)));
    // Whatever the harness's fate, QEMU must not outlive it.
    this.killOnExit = () => this.qemu.kill('SIGKILL');
    process.on('exit', this.killOnExit);
    let pending = '';
    const onConsole = (chunk) => {
      log.write(chunk);
      const parts = (pending + chunk.toString('utf8').replace(/\r/g, '')).split('\n');
      pending = parts.pop();
      for (const line of parts) {
        this.consoleTail.push(line);
        if (this.consoleTail.length > 200) this.consoleTail.shift();
        o.onConsole?.(line);
      }
    };
    this.qemu.stdout.on('data', onConsole);
    this.qemu.stderr.on('data', onConsole);
    this.qemuExited.then(({ code, signal }) => {
      log.end();
      this.fail(new GuestError(`QEMU exited (${code ?? signal})`));
    });

    this.socket = await this.connect();
    let rest = '';
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop();
      for (const line of parts) this.received(line.replace(/\r$/, ''));
    });
    this.socket.on('error', () => {});
    const bootTimeoutMs = o.bootTimeoutMs ?? 240_000;
    this.hello = await new Promise((resolve, reject) => {
      this.onHello = resolve;
      this.onFail = reject;
      const timer = setTimeout(
        () => reject(new GuestError(`the guest's agent did not start within ${bootTimeoutMs} ms`)),
        bootTimeoutMs,
      );
      timer.unref();
    });
  }

  /** QEMU serves the agent's console once it has started: connect when the socket is there. */
  async connect() {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await new Promise((resolve, reject) => {
          const s = net.connect(this.controlPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
      } catch (error) {
        if (Date.now() > deadline)
          throw new GuestError(`no agent console at ${this.controlPath}: ${error.message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  received(line) {
    if (!line.startsWith('{')) return; // the tty's own noise before the agent took it
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.op === 'hello') return this.onHello?.(m);
    if (m.op === 'warning') return this.o.onConsole?.(`agent: ${m.text}`);
    const p = this.processes.get(m.id);
    if (!p) return;
    if (m.out !== undefined || m.err !== undefined) {
      const entry =
        m.out !== undefined ? { stream: 'out', line: m.out } : { stream: 'err', line: m.err };
      p.lines.push(entry);
      p.emit('line', entry);
    } else if (m.exit !== undefined || m.error !== undefined) {
      this.processes.delete(m.id);
      p.result =
        m.error !== undefined
          ? { code: null, signal: null, error: m.error }
          : { code: m.exit, signal: m.signal, ms: m.ms };
      p.emit('exit', p.result);
    }
  }

  fail(error) {
    this.failure ??= error;
    this.onFail?.(error);
    for (const p of this.processes.values()) {
      p.result = { code: null, signal: null, error: error.message };
      p.emit('exit', p.result);
    }
    this.processes.clear();
  }

  send(message) {
    if (this.failure) throw this.failure;
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /** Starts a program in the guest. */
  spawn(argv, { env, cwd } = {}) {
    const id = this.nextId++;
    const p = new GuestProcess(this, id, argv);
    this.processes.set(id, p);
    this.send({ op: 'run', id, argv, env, cwd });
    return p;
  }

  /** Runs a program to its end: { code, signal, ms, stdout, stderr, lines }. */
  async exec(argv, options = {}) {
    const p = this.spawn(argv, options);
    const r = await p.exit;
    const pick = (s) =>
      p.lines
        .filter((l) => l.stream === s)
        .map((l) => l.line)
        .join('\n');
    return { ...r, stdout: pick('out'), stderr: pick('err'), lines: p.lines };
  }

  /** The last console lines, for a failure report. */
  tail(n = 60) {
    return this.consoleTail.slice(-n);
  }

  /** Asks the guest to power off; kills QEMU if it has not gone within `timeoutMs`. */
  async poweroff(timeoutMs = 30_000) {
    if (!this.failure) {
      try {
        this.send({ op: 'poweroff' });
      } catch {
        /* already gone */
      }
    }
    const timer = setTimeout(() => this.qemu.kill('SIGKILL'), timeoutMs);
    const r = await this.qemuExited;
    clearTimeout(timer);
    this.cleanup();
    return r;
  }

  async kill() {
    if (this.qemu && this.qemu.exitCode === null && this.qemu.signalCode === null)
      this.qemu.kill('SIGKILL');
    if (this.qemuExited) await this.qemuExited;
    this.cleanup();
  }

  cleanup() {
    this.socket?.destroy();
    if (this.killOnExit) process.off('exit', this.killOnExit);
    fs.rmSync(this.controlPath, { force: true });
  }
}

module.exports = { GuestVm, GuestProcess, GuestError, MACHINE };
