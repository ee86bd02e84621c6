// The guest's agent: runs inside the POWER guest (ppc64le Node, as /init's
// child) and does what the host asks over the second console, /dev/hvc1 (a
// spapr-vty whose other end is a socket of the host's harness, vm.js). One JSON
// object per line each way:
//
//   host → guest  {"op":"run","id":N,"argv":[...],"env":{...},"cwd":"/"}   start a process
//                 {"op":"stdin","id":N,"data":"go\n"}                      write to its stdin
//                 {"op":"kill","id":N,"signal":"SIGKILL"}
//                 {"op":"poweroff"}
//   guest → host  {"op":"hello","node":"v18…","kernel":"6.1…"}             once, at start
//                 {"id":N,"out":"a line"} / {"id":N,"err":"a line"}         output, line by line
//                 {"id":N,"exit":CODE,"signal":NAME|null,"ms":T}            the process ended
//                 {"id":N,"error":"…"}                                     it could not start
//
// The agent holds no test logic: the host decides what runs and when, and
// reads every result. The console (hvc0) stays for the kernel's messages.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const tty = require('node:tty');

const fd = fs.openSync(process.argv[2] ?? '/dev/hvc1', 'r+');
const input = new tty.ReadStream(fd);
input.setRawMode(true); // no echo, no line editing: the bytes as the host sent them
const output = new tty.WriteStream(fd);
const send = (object) => output.write(`${JSON.stringify(object)}\n`);

const children = new Map();

/** Calls back once per complete line of a stream, and once for a last unterminated one. */
function lines(stream, callback) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop();
    for (const line of parts) callback(line);
  });
  stream.on('end', () => {
    if (rest !== '') callback(rest);
  });
}

function run({ id, argv, env, cwd }) {
  const started = Date.now();
  let child;
  try {
    child = spawn(argv[0], argv.slice(1), {
      cwd: cwd ?? '/',
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    send({ id, error: String(error) });
    return;
  }
  children.set(id, child);
  // Both output streams must have ended before the exit is reported, so the
  // host has every line by then.
  let open = 2;
  let exit = null;
  const done = () => {
    if (open === 0 && exit !== null) {
      children.delete(id);
      send({ id, exit: exit.code, signal: exit.signal, ms: Date.now() - started });
    }
  };
  for (const [stream, key] of [
    [child.stdout, 'out'],
    [child.stderr, 'err'],
  ]) {
    lines(stream, (line) => send({ id, [key]: line }));
    stream.on('close', () => {
      open -= 1;
      done();
    });
  }
  child.stdin.on('error', () => {}); // a child that exits before reading its stdin
  child.on('error', (error) => {
    children.delete(id);
    send({ id, error: String(error) });
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    done();
  });
}

function handle(message) {
  const child = children.get(message.id);
  switch (message.op) {
    case 'run':
      run(message);
      break;
    case 'stdin':
      child?.stdin.write(message.data);
      break;
    case 'close-stdin':
      child?.stdin.end();
      break;
    case 'kill':
      child?.kill(message.signal ?? 'SIGKILL');
      break;
    case 'poweroff':
      for (const c of children.values()) c.kill('SIGKILL');
      process.exit(0);
      break;
    default:
      send({ op: 'warning', text: `unknown op ${JSON.stringify(message.op)}` });
  }
}

lines(input, (line) => {
  const text = line.trim();
  if (text === '') return;
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    send({ op: 'warning', text: `not JSON: ${text.slice(0, 200)}` });
    return;
  }
  handle(message);
});

send({ op: 'hello', node: process.version, kernel: os.release(), arch: process.arch });
