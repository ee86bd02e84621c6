#!/usr/bin/env node
// npm start: one HMC session on /dev/ibmvmc, or on the built-in fake device
// when this machine has none. Opens the command path, runs echo round trips,
// closes, and says which device it used.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const dist = path.resolve(__dirname, '..', 'dist', 'cjs');
const DEVICE = '/dev/ibmvmc';

async function demo(label) {
  const {
    open,
    encodeHmcMessage,
    decodeHmcMessage,
    HMC_TARGET,
    HMC_ROUTER_OPCODE,
    describeReturnCode,
  } = require(dist);
  console.log(`Device: ${label}`);
  const session = await open({ hmcId: 'ibmvmc-npm-start', timeoutMs: 10000 });
  console.log(`Session open on ${session.path}, MTU ${session.mtu} bytes`);
  let token = 1;
  const request = async (opcode, data) => {
    const sent = { token: token++, target: HMC_TARGET.ROUTER, opcode, data };
    const started = process.hrtime.bigint();
    await session.send(encodeHmcMessage(sent));
    const answer = decodeHmcMessage(await session.receive({ timeoutMs: 5000 }), {
      maxLength: session.mtu,
    });
    const micros = Number(process.hrtime.bigint() - started) / 1000;
    if (answer.token !== sent.token)
      throw new Error(`answer token ${answer.token} != ${sent.token}`);
    if (answer.returnCode !== 0)
      throw new Error(`return code: ${describeReturnCode(answer.returnCode)}`);
    return { answer, micros };
  };
  const options = Buffer.alloc(6);
  options[1] = 1;
  await request(HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS, options);
  console.log('Command path open (exchange options answered)');
  for (const size of [1, 25, 50, 100]) {
    const data = Buffer.alloc(size, size);
    const { answer, micros } = await request(HMC_ROUTER_OPCODE.ECHO, data);
    const same = answer.data.equals(data) ? 'same data back' : 'DATA DIFFERS';
    console.log(
      `  echo ${String(size).padStart(3)} bytes: ${micros.toFixed(0).padStart(6)} µs, ${same}`,
    );
  }
  await request(HMC_ROUTER_OPCODE.CLOSE, Buffer.alloc(0));
  await session.close();
  console.log('Command path and session closed');
}

async function main() {
  if (process.env.IBMVMC_START_ON_FAKE === '1') return demo('the built-in fake device');
  if (fs.existsSync(DEVICE)) return demo(DEVICE);
  console.log(`No ${DEVICE} on this machine: starting the built-in fake device.`);
  const { startFakeDevice } = require(path.join(dist, 'fake'));
  const fake = await startFakeDevice();
  try {
    const child = spawnSync(process.execPath, [__filename], {
      env: { ...process.env, ...fake.env, IBMVMC_START_ON_FAKE: '1' },
      stdio: 'inherit',
    });
    process.exitCode = child.status ?? 1;
  } finally {
    await fake.stop();
  }
}

main().catch((error) => {
  console.error(`npm start failed: ${error.message}`);
  process.exitCode = 1;
});
