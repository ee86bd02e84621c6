// One client of the broker soak (scripts/soak/broker.js): COUNT echoes of
// 64 B through the broker with WINDOW in flight, each answer checked against
// its own request; prints one JSON line and ends by itself.
'use strict';
const path = require('node:path');
const ibmvmc = require(path.resolve(__dirname, '..', '..', 'dist', 'cjs'));

const [socket, countArg, windowArg, id] = process.argv.slice(2);
const COUNT = Number(countArg);
const WINDOW = Number(windowArg);

(async () => {
  const client = await ibmvmc.connect({ broker: socket, clientName: `soak-${id}` });
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < COUNT) {
      const n = next++;
      // Each client's own data: an answer sent to the wrong client would not match.
      const data = Buffer.from(`${id}:${n}`);
      const answer = await client.request({ target: 0x8000, opcode: 0x0103, data });
      if (!answer.data.equals(data)) throw new Error(`echo ${n} of client ${id} came back wrong`);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.close();
  console.log(JSON.stringify({ id, messages: COUNT, seconds }));
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
