// Starts one fake device for the whole run and puts its environment in
// process.env. Jest's test processes, and every process they start, inherit
// it: their /dev/ibmvmc is the fake, and attachFakeDevice() in a test file
// reaches its controls (IBMVMC_FAKE_ATTACH names its attach socket).
const { startFakeDevice } = require('ibmvmc/fake');

module.exports = async function globalSetup() {
  // The hypervisor needs buffers of its own to send anything unprompted (inject).
  const fake = await startFakeDevice({ buffers: { hypervisorOwned: 4 } });
  // globalTeardown runs in this same process: it stops the fake.
  globalThis.ibmvmcFake = fake;
  Object.assign(process.env, fake.env);
};
