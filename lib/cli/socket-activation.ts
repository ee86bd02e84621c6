/**
 * systemd socket activation (sd_listen_fds(3)): a listening socket handed
 * over as fd 3, announced by LISTEN_FDS and LISTEN_PID. The variables are
 * taken out of the environment, as sd_listen_fds(1) does, so that a child
 * process never mistakes them for its own.
 */

/** The first fd systemd passes (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/**
 * The listening fd handed to this process, if any.
 *
 * @param env - The environment to read and clear (the process's).
 * @param pid - This process's pid: the variables are for it only if LISTEN_PID says so.
 */
export function activationFd(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const count = Number(env.LISTEN_FDS);
  const forUs = env.LISTEN_PID === String(pid);
  if (forUs) {
    delete env.LISTEN_FDS;
    delete env.LISTEN_PID;
    delete env.LISTEN_FDNAMES;
  }
  return forUs && Number.isInteger(count) && count >= 1 ? LISTEN_FDS_START : undefined;
}
