// Starts one fake device before any test and puts its environment in
// process.env: the test workers Jest starts afterwards, and every process
// they start, inherit it, so their /dev/ibmvmc is the fake.
const { startFakeDevice } = require('ibmvmc/fake');

module.exports = async function globalSetup() {
  const fake = await startFakeDevice();
  // globalTeardown runs in this same process: it stops the fake.
  globalThis.ibmvmcFake = fake;
  Object.assign(process.env, fake.env);
};
