/** The process's open sockets, for tests that check nothing leaked. */
import { readdirSync, readlinkSync } from 'node:fs';

/** `fd socket:[inode]` for each socket fd of this process (device fds through the shim too). */
export function openSockets(): string[] {
  const sockets: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith('socket:')) sockets.push(`${fd} ${target}`);
    } catch {
      // Closed between the listing and the look: not open, then.
    }
  }
  return sockets;
}
