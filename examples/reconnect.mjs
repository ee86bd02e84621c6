// A session that survives a reset of the channel (a transport event: the
// hypervisor or the partition went away for a moment) with `reconnect`.
// Run it: npx ibmvmc fake-device -- node reconnect.mjs   (then: kill -USR1 $IBMVMC_FAKE_PID resets the fake)
import { once } from 'node:events';
import { HMC_ROUTER_OPCODE, HMC_TARGET, decodeHmcMessage, encodeHmcMessage, open } from 'ibmvmc';

let token = 0;
async function echo(session, text) {
  await session.send(
    encodeHmcMessage({
      token: ++token,
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.ECHO,
      data: Buffer.from(text),
    }),
  );
  return decodeHmcMessage(await session.receive({ timeoutMs: 5000 })).data.toString();
}

const session = await open({ hmcId: 'example-reconnect', reconnect: { timeoutMs: 30_000 } });
try {
  session.on('reset', (error) => console.log(`reset: ${error.code}`));
  console.log(`echo before: ${await echo(session, 'one')}`);
  console.log('waiting for a reset');
  // An idle session does not keep Node running; this wait's own timer does (and bounds it).
  let timer;
  const outcome = await Promise.race([
    once(session, 'reconnect').then(() => 'reconnected'),
    new Promise((resolve) => (timer = setTimeout(resolve, 30_000, 'no reconnect within 30 s'))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'reconnected') throw new Error(outcome);
  console.log(`reconnected, state ${session.state}`);
  console.log(`echo after: ${await echo(session, 'two')}`);
} finally {
  await session.close();
}
