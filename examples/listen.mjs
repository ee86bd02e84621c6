// Waits for messages the hypervisor sends on its own (not answers to a
// request) and prints them; stops after COUNT of them (default 2).
// Run it: npx ibmvmc fake-device -- node listen.mjs   (and inject messages with the fake's controls)
import { connect } from 'ibmvmc';

const count = Number(process.argv[2] ?? 2);
const client = await connect({ hmcId: 'example-listen', timeoutMs: 10_000 });
let seen = 0;
const done = new Promise((resolve) => {
  client.on('unsolicited', (message, reason) => {
    console.log(
      `unsolicited (${reason}): target 0x${message.target.toString(16)} opcode 0x${message.opcode.toString(16)} data "${message.data.toString()}"`,
    );
    if (++seen === count) resolve();
  });
});
console.log('listening');
await done;
await client.close();
console.log('done');
