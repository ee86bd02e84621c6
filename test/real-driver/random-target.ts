/**
 * The real driver as a random-run target: per sequence the module is loaded
 * afresh with the sequence's parameters, the hypervisor behind QEMU holds
 * every message for the sequence to answer, and the static ppc64le
 * random_ops runs in the guest.
 */
import type { GuestLine, GuestProcess } from '../../scripts/power/real-driver/vm';
import { LineReplies } from '../contract/random/fake-random-target';
import { HeldMessages } from '../contract/random/held-messages';
import type { RandomTarget } from '../contract/random/player';
import type { RandomSequence } from '../contract/random/sequence';
import type { Guest } from './guest';
import { splitOptions } from './hypervisor-options';

/**
 * How long a step may take to show all its effects in the guest (ms): an
 * answer is a CRQ entry, an interrupt and an RDMA copy through QEMU's TCG,
 * well under this even on a busy 2-core machine.
 */
const GUEST_SETTLE_MS = 250;
const CALL_TIMEOUT_MS = 30_000;

/** A random-run target on the real driver in `guest`. */
export function guestRandomTarget(guest: Guest): RandomTarget {
  const hypervisor = guest.hypervisor;
  if (hypervisor === null) throw new Error('this guest has no VMC adapter');
  let proc: GuestProcess | undefined;
  let replies = new LineReplies();
  let held = new HeldMessages();
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  return {
    async begin(sequence: RandomSequence) {
      held = new HeldMessages();
      replies = new LineReplies();
      const { hypervisor: options, module } = splitOptions({
        ...sequence.options,
        reinitializeAfterMs: 0,
      });
      hypervisor.configure(options);
      hypervisor.setHandler(held.handler);
      await guest.loadModule(module);
      const p = guest.vm.spawn(['/app/bin/random_ops']);
      p.on('line', ({ stream, line }: GuestLine) => {
        if (stream === 'out') replies.push(line);
      });
      proc = p;
    },
    async call(line) {
      proc?.write(`${line}\n`);
      return replies.next(CALL_TIMEOUT_MS, line);
    },
    answer: () => held.answerOldest(),
    inject: async (slot, data) => hypervisor.inject(slot, data),
    async reset() {
      hypervisor.reset({ reinitializeAfterMs: 0 });
      await hypervisor.waitForDriver({ timeoutMs: CALL_TIMEOUT_MS });
    },
    settle: () => sleep(GUEST_SETTLE_MS),
    async end() {
      const p = proc;
      proc = undefined;
      if (p !== undefined && p.result === null) {
        p.closeStdin();
        const timer = setTimeout(() => p.kill('SIGKILL'), CALL_TIMEOUT_MS);
        await p.exit;
        clearTimeout(timer);
      }
      held.release();
      hypervisor.setHandler(null);
    },
  };
}
