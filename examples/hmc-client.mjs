// The HMC command client: many requests at once, each with its own deadline,
// and the errors a script should tell apart.
// Run it: npx ibmvmc fake-device -- node hmc-client.mjs
import { HMC_TARGET, HmcCommandError, TimeoutError, connect } from 'ibmvmc';

const client = await connect({ hmcId: 'example-client', timeoutMs: 10_000 });
try {
  // 50 echoes at once: the client matches each answer to its request by token
  // and keeps at most maxInFlight outstanding; the rest wait their turn.
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      client.echo(Buffer.from(`ping ${i}`), { timeoutMs: 5000 }),
    ),
  );
  console.log(
    `${answers.length} echoes back, all matched: ${answers.every((a, i) => a.data.toString() === `ping ${i}`)}`,
  );

  // A request the hypervisor refuses: a non-zero return code is an HmcCommandError.
  try {
    await client.request({
      target: HMC_TARGET.LPAR_CONFIGURATION,
      opcode: 0x0010,
      timeoutMs: 2000,
    });
  } catch (error) {
    if (error instanceof HmcCommandError)
      console.log(`refused: return code 0x${error.returnCode.toString(16)}`);
    else if (error instanceof TimeoutError) console.log('no answer within 2 s');
    else throw error;
  }
} finally {
  await client.close();
}
