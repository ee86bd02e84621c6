/**
 * systemd socket activation (sd_listen_fds(3)): a listening socket handed
 * over as fd 3, announced by LISTEN_FDS and LISTEN_PID. The variables are
 * taken out of the environment, as sd_listen_fds(1) does, so that a child
 * process never mistakes them for its own.
 */

/** The first fd systemd passes (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/**
 * Set (to `1`) by `respawn()` in a child it hands the activation fds on to:
 * LISTEN_PID cannot name a child before it exists.
 */
export const LISTEN_INHERITED_ENV = 'IBMVMC_LISTEN_FDS_INHERITED';

/** How many fds were handed to this process (0 if none). */
export function activationFdCount(env: NodeJS.ProcessEnv, pid: number): number {
  const count = Number(env.LISTEN_FDS);
  const forUs = env.LISTEN_PID === String(pid) || env[LISTEN_INHERITED_ENV] === '1';
  return forUs && Number.isInteger(count) && count >= 1 ? count : 0;
}

/**
 * The listening fd handed to this process, if any.
 *
 * @param env - The environment to read and clear (the process's).
 * @param pid - This process's pid: the variables are for it only if LISTEN_PID says so.
 */
export function activationFd(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const count = activationFdCount(env, pid);
  if (env.LISTEN_PID === String(pid) || env[LISTEN_INHERITED_ENV] === '1') {
    delete env.LISTEN_FDS;
    delete env.LISTEN_PID;
    delete env.LISTEN_FDNAMES;
    delete env[LISTEN_INHERITED_ENV];
  }
  return count >= 1 ? LISTEN_FDS_START : undefined;
}
