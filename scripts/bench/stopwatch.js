// The bench clients' clock: round trips timed in one loop with their warm-up.
'use strict';

const now = () => process.hrtime.bigint();

/**
 * Times `count` round trips after `warmup` unmeasured ones, in one loop
 * without a branch between the two: code that first runs when the clock
 * starts would be compiled (on a background thread, competing for the CPU)
 * while being measured. The caller's loop calls `lap(i)` as round trip `i`
 * starts and `result()` after the last. Each round trip is written out in
 * that loop, as a program would write it: an async function of the bench's
 * own around it cost 2-3 % at 64 B, which C's loop does not pay.
 */
function stopwatch(count, warmup) {
  const total = warmup + count;
  const marks = new Float64Array(total + 1); // ns since t0 at each round trip's start, then the end
  const t0 = now();
  return {
    total,
    lap(i) {
      marks[i] = Number(now() - t0);
    },
    result() {
      marks[total] = Number(now() - t0);
      const rttNs = Array.from(marks.subarray(warmup + 1), (end, i) => end - marks[warmup + i]);
      return { totalNs: marks[total] - marks[warmup], rttNs };
    },
  };
}

/**
 * `count` HMC requests through `client` after `warmup` unmeasured ones, one
 * at a time, as a program makes them: the round trips of one block.
 */
async function timeRequests(client, data, count, warmup) {
  const watch = stopwatch(count, warmup);
  for (let i = 0; i < watch.total; i++) {
    watch.lap(i);
    await client.request({ target: 0x8000, opcode: 0x0103, data });
  }
  return watch.result();
}

module.exports = { stopwatch, timeRequests };
