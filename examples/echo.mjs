// Opens a session on /dev/ibmvmc, sends one router echo and prints the answer.
// Run it: node echo.mjs            (on a POWER partition with the driver)
//         npx ibmvmc fake-device -- node echo.mjs   (anywhere, against the fake)
import { HMC_ROUTER_OPCODE, HMC_TARGET, decodeHmcMessage, encodeHmcMessage, open } from 'ibmvmc';

const session = await open({ hmcId: 'example-echo', timeoutMs: 10_000 });
// Closed however this block is left (`await using` does the same in TypeScript and newer Node).
try {
  console.log(`session open, MTU ${session.mtu}`);
  await session.send(
    encodeHmcMessage({
      token: 1,
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.ECHO,
      data: Buffer.from('hello'),
    }),
  );
  const answer = decodeHmcMessage(await session.receive({ timeoutMs: 5000 }));
  console.log(`echo: ${answer.data.toString()} (token ${answer.token})`);
} finally {
  await session.close();
}
