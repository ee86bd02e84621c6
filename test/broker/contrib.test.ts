/**
 * The systemd units and the udev rule the package ships (contrib/): the keys
 * the broker's operation relies on, and systemd's own check of the units
 * where systemd-analyze is installed.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '..', '..');
const contrib = path.join(root, 'contrib');
const unitsDir = path.join(contrib, 'systemd');

/** A unit file's settings: section → key → every value given (keys may repeat). */
type Unit = Map<string, Map<string, string[]>>;

/** Reads a unit file as systemd does for these simple ones: sections, `Key=value`, comments. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header !== null) {
      section = new Map();
      unit.set(header[1], section);
      continue;
    }
    const eq = line.indexOf('=');
    if (section === undefined || eq <= 0 || line.endsWith('\\'))
      throw new Error(`line ${n + 1}: not a setting in a section: ${raw}`);
    const key = line.slice(0, eq);
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1)]);
  }
  return unit;
}

function readUnit(name: string): Unit {
  return parseUnit(readFileSync(path.join(unitsDir, name), 'utf8'));
}

/** The last value of a key (the one systemd uses for single-valued settings). */
function value(unit: Unit, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** Every word of a list-valued key, all its lines together. */
function words(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section)?.get(key) ?? []).flatMap((v) => v.split(/\s+/).filter(Boolean));
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return path.join(dir, command);
    } catch {
      // not here
    }
  }
  return undefined;
}

describe('contrib/systemd/ibmvmc-broker.socket', () => {
  const socket = readUnit('ibmvmc-broker.socket');

  it('listens on /run/ibmvmc/broker.sock, 0660, group hmc, in a 0755 directory', () => {
    expect(value(socket, 'Socket', 'ListenStream')).toBe('/run/ibmvmc/broker.sock');
    expect(value(socket, 'Socket', 'SocketMode')).toBe('0660');
    expect(value(socket, 'Socket', 'SocketGroup')).toBe('hmc');
    expect(value(socket, 'Socket', 'DirectoryMode')).toBe('0755');
  });

  it('hands the one socket to one broker, and is enabled by sockets.target', () => {
    expect(value(socket, 'Socket', 'Accept') ?? 'no').toBe('no');
    expect(words(socket, 'Install', 'WantedBy')).toContain('sockets.target');
  });
});

describe('contrib/systemd/ibmvmc-broker.service', () => {
  const service = readUnit('ibmvmc-broker.service');

  it('runs `ibmvmc serve` after its socket, which it requires, restarting on failure', () => {
    expect(words(service, 'Unit', 'Requires')).toContain('ibmvmc-broker.socket');
    expect(words(service, 'Unit', 'After')).toContain('ibmvmc-broker.socket');
    // No --socket: the socket comes from systemd (LISTEN_FDS).
    expect(value(service, 'Service', 'ExecStart')).toBe('/usr/bin/env ibmvmc serve');
    expect(value(service, 'Service', 'Type')).toBe('simple');
    expect(value(service, 'Service', 'Restart')).toBe('on-failure');
  });

  it('runs as its own user in group hmc, which the udev rule lets at the device', () => {
    expect(value(service, 'Service', 'DynamicUser')).toBe('no');
    expect(value(service, 'Service', 'User')).toBe('ibmvmc-broker');
    expect(words(service, 'Service', 'SupplementaryGroups')).toEqual(['hmc']);
  });

  it('is hardened, yet may open /dev/ibmvmc and listen on Unix and IP sockets', () => {
    const s = (key: string): string | undefined => value(service, 'Service', key);
    expect(service.get('Service')?.get('DeviceAllow')).toEqual(['/dev/ibmvmc rw']);
    expect(s('DevicePolicy')).toBe('closed');
    expect(s('NoNewPrivileges')).toBe('yes');
    expect(s('ProtectSystem')).toBe('strict');
    expect(s('ProtectHome')).toBe('yes');
    expect(s('PrivateTmp')).toBe('yes');
    expect(s('CapabilityBoundingSet')).toBe('');
    expect(words(service, 'Service', 'RestrictAddressFamilies').sort()).toEqual([
      'AF_INET',
      'AF_INET6',
      'AF_UNIX',
    ]);
    // Either would break the broker: a private /dev has no ibmvmc; V8's JIT writes code.
    expect(s('PrivateDevices')).toBeUndefined();
    expect(s('MemoryDenyWriteExecute')).toBeUndefined();
  });
});

const analyze = findOnPath('systemd-analyze');
(analyze === undefined ? it.skip : it)(
  `systemd-analyze verify accepts both units${analyze === undefined ? ' [skipped: systemd-analyze is not installed]' : ''}`,
  async () => {
    const run = await promisify(execFile)(
      analyze as string,
      ['verify', './ibmvmc-broker.socket', './ibmvmc-broker.service'],
      { cwd: unitsDir },
    ).catch((error: { code?: number; stdout?: string; stderr?: string }) => error);
    const said = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    // verify exits 0 even on unknown keys and bad values: what it says of our units is the verdict.
    expect(said.split('\n').filter((l) => l.includes('ibmvmc-broker'))).toEqual([]);
    expect('code' in run ? run.code : 0).toBe(0);
  },
);

describe('contrib/udev/90-ibmvmc.rules', () => {
  const rules = readFileSync(path.join(contrib, 'udev', '90-ibmvmc.rules'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));

  it('gives /dev/ibmvmc to group hmc, read and write, in one rule', () => {
    expect(rules).toHaveLength(1);
    const pairs = rules[0].split(/,\s*/).map((p) => /^([A-Z]+)(==|=)"([^"]*)"$/.exec(p.trim()));
    expect(pairs.every((p) => p !== null)).toBe(true);
    const rule = pairs.map((p) => (p === null ? '' : `${p[1]}${p[2]}${p[3]}`));
    expect(rule).toEqual(['KERNEL==ibmvmc', 'GROUP=hmc', 'MODE=0660']);
  });
});

describe('package.json', () => {
  it('ships contrib/', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      files: string[];
    };
    expect(pkg.files).toContain('contrib/');
  });
});
