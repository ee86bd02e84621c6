/**
 * Who may use the broker: the peer's credentials (SO_PEERCRED) and its
 * supplementary groups (/proc/<pid>/status) against the allow lists.
 */
import { readFile } from 'node:fs/promises';
import type { PeerCredentials } from '../../native/peer-credentials';
import type { PeerPolicy } from './options';

/** What a client may do: send requests and listen, or only listen. */
export type ClientRole = 'full' | 'read-only';

/** The check's verdict. */
export type PeerVerdict =
  | { readonly allowed: true; readonly role: ClientRole }
  | { readonly allowed: false; readonly reason: string; readonly text: string };

/**
 * The supplementary groups of a process, from the `Groups:` line of its
 * status. Empty when the process is gone or not visible (pid 0): the check
 * then rests on the primary gid alone, which only ever refuses more.
 *
 * @param pid - The peer's pid as this pid namespace sees it.
 */
export async function supplementaryGroups(pid: number): Promise<number[]> {
  if (pid <= 0) return [];
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return [];
  }
  const line = /^Groups:(.*)$/m.exec(status);
  if (line === null) return [];
  return line[1]
    .trim()
    .split(/\s+/)
    .filter((g) => g !== '')
    .map(Number)
    .filter((g) => Number.isInteger(g));
}

/** Whether the policy needs the peer's supplementary groups to decide. */
export function needsGroups(policy: PeerPolicy, peer: PeerCredentials): boolean {
  return policy.restricted && peer.uid !== 0 && peer.uid !== policy.ownUid;
}

/**
 * Decides whether a peer is let in, and with which role. Root and the
 * broker's own user always are; without allow lists everyone is (the
 * socket's mode and group decided who could connect at all).
 *
 * @param policy - The settled allow lists.
 * @param peer - The peer's credentials.
 * @param groups - Its supplementary groups (see {@link supplementaryGroups}).
 */
export function checkPeer(
  policy: PeerPolicy,
  peer: PeerCredentials,
  groups: readonly number[],
): PeerVerdict {
  if (!needsGroups(policy, peer)) return { allowed: true, role: 'full' };
  if (policy.allowUsers.has(peer.uid)) return { allowed: true, role: 'full' };
  const all = [peer.gid, ...groups.filter((g) => g !== peer.gid)];
  if (all.some((g) => policy.allowGroups.has(g))) return { allowed: true, role: 'full' };
  if (all.some((g) => policy.readOnlyGroups.has(g))) return { allowed: true, role: 'read-only' };
  return {
    allowed: false,
    reason: 'not-allowed',
    text:
      `uid ${peer.uid} is not allowed: not in --allow-user, and none of its groups ` +
      `(${all.join(', ')}) in --allow-group or --read-only-group`,
  };
}
