/**
 * What the file system says about the device node: whether it exists, what
 * it is, its mode and owner (with names, as `ls -l` shows them).
 */
import { readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';

/** The device node as `status` reports it. */
export type DeviceNodeInfo =
  | { exists: false; reason: string }
  | {
      exists: true;
      /** `character device`, `socket` (a fake device), ... */
      type: string;
      /** Major and minor numbers of a device node. */
      rdev: string | null;
      /** Permission bits as `0660`. */
      mode: string;
      uid: number;
      user: string | null;
      gid: number;
      group: string | null;
    };

function typeOf(s: Stats): string {
  if (s.isCharacterDevice()) return 'character device';
  if (s.isSocket()) return 'socket';
  if (s.isBlockDevice()) return 'block device';
  if (s.isDirectory()) return 'directory';
  if (s.isFile()) return 'regular file';
  if (s.isFIFO()) return 'FIFO';
  return 'unknown file type';
}

/** The name for an id in a colon-separated database (/etc/passwd, /etc/group), if there. */
async function nameOf(database: string, id: number): Promise<string | null> {
  try {
    for (const line of (await readFile(database, 'utf8')).split('\n')) {
      const [name, , number] = line.split(':');
      if (number !== undefined && Number(number) === id) return name;
    }
  } catch {
    // No database (a minimal container): the number is all there is.
  }
  return null;
}

/**
 * Looks at the device node.
 *
 * @param path - The device node.
 */
export async function inspectDeviceNode(path: string): Promise<DeviceNodeInfo> {
  let s: Stats;
  try {
    s = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      exists: false,
      reason:
        code === 'ENOENT' ? 'does not exist' : `cannot be examined (${code ?? String(error)})`,
    };
  }
  const major = Math.floor(s.rdev / 256) & 0xfff;
  const minor = (s.rdev & 0xff) | ((s.rdev >> 12) & 0xfff00);
  return {
    exists: true,
    type: typeOf(s),
    rdev: s.isCharacterDevice() || s.isBlockDevice() ? `${major}:${minor}` : null,
    mode: `0${(s.mode & 0o7777).toString(8).padStart(3, '0')}`,
    uid: s.uid,
    user: await nameOf('/etc/passwd', s.uid),
    gid: s.gid,
    group: await nameOf('/etc/group', s.gid),
  };
}
