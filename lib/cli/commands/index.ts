/** The subcommands of `ibmvmc`, in the order the help lists them. */
import type { Command } from '../command';
import { fakeDeviceCommand } from './fake-device';
import { fakeHypervisorCommand } from './fake-hypervisor';
import { listenCommand } from './listen';
import { pingCommand } from './ping';
import { requestVmcCommand } from './request-vmc';
import { sendCommand } from './send';
import { serveCommand } from './serve';
import { statusCommand } from './status';

/** Every subcommand. */
export const COMMANDS: readonly Command[] = [
  statusCommand,
  requestVmcCommand,
  pingCommand,
  sendCommand,
  listenCommand,
  serveCommand,
  fakeDeviceCommand,
  fakeHypervisorCommand,
];

/**
 * The subcommand of that name, if any.
 *
 * @param name - As typed.
 */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
