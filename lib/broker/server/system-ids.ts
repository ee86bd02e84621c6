/**
 * User and group names as the system spells them: /etc/passwd and
 * /etc/group, read once when the broker starts (no NSS: the broker runs on a
 * partition whose local files are the authority, and a lookup that could
 * block on the network has no place on the accept path).
 */
import { readFileSync } from 'node:fs';

/** Name → id, from one of the colon-separated files. */
export type IdTable = ReadonlyMap<string, number>;

/** Where the files are: the real ones, or a test's. */
export interface IdFiles {
  /** Default `/etc/passwd`. */
  readonly passwd?: string;
  /** Default `/etc/group`. */
  readonly group?: string;
}

/** Reads `name:x:id:...` lines; a missing file is an empty table (a minimal container). */
function readTable(file: string): IdTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Map();
  }
  const table = new Map<string, number>();
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 3 || fields[0] === '' || line.startsWith('#')) continue;
    const id = Number(fields[2]);
    // The first entry wins, as getpwnam's does.
    if (Number.isInteger(id) && id >= 0 && !table.has(fields[0])) table.set(fields[0], id);
  }
  return table;
}

/**
 * The user and group tables.
 *
 * @param files - Other files than /etc's (tests).
 */
export function readIdTables(files: IdFiles = {}): { users: IdTable; groups: IdTable } {
  return {
    users: readTable(files.passwd ?? '/etc/passwd'),
    groups: readTable(files.group ?? '/etc/group'),
  };
}
