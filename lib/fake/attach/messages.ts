/**
 * What an attached process may send, checked before it is acted on: the
 * attach socket takes input from another process, and a message of the wrong
 * shape must end that connection, not throw in the fake.
 */
import type { ControlMethod, ToFake } from '../ipc';

const METHODS: ReadonlySet<string> = new Set<ControlMethod>([
  'reset',
  'configure',
  'inject',
  'setHandler',
  'sessions',
  'state',
  'log',
  'clearLog',
]);

/**
 * Whether `value` is a control call or a handler's answers, well formed.
 *
 * @param value - A deserialized message.
 */
export function isToFake(value: unknown): value is ToFake {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (!Number.isSafeInteger(m.id)) return false;
  switch (m.type) {
    case 'call':
      return typeof m.method === 'string' && METHODS.has(m.method) && Array.isArray(m.args);
    case 'handled':
      return Array.isArray(m.answers) && m.answers.every((a) => a instanceof Uint8Array);
    default:
      return false;
  }
}
