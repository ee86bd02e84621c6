// Stops the fake global-setup.cjs started (its process, sockets and folder).
module.exports = async function globalTeardown() {
  await globalThis.ibmvmcFake?.stop();
};
