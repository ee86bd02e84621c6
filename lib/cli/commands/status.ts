/**
 * `ibmvmc status`: everything that decides whether a session can be opened,
 * and what to do about what is wrong. Opens the device without a session
 * (QUERY needs none), so it works while another program holds the slot.
 */
import { VmcDevice, type DriverStatus } from '../../device/device';
import { DriverState } from '../../device/driver-state';
import { readModuleParameters, type ModuleParameters } from '../../device/module-parameters';
import { NotAVmcDeviceError } from '../../errors/error-classes';
import { IbmvmcError } from '../../errors/ibmvmc-error';
import { hex } from '../../protocol/format';
import { probeBroker, type BrokerProbe } from '../../broker/client/probe';
import { BROKER_ENV, DEFAULT_BROKER_SOCKET } from '../../broker/client/socket-path';
import type { Command, CommandContext } from '../command';
import { inspectDeviceNode, type DeviceNodeInfo } from '../device-node';
import { EXIT, exitCodeFor, type ExitCode } from '../exit-codes';
import type { JsonValue } from '../io';

/** Something wrong, what to do about it, and the exit code it stands for. */
interface Problem {
  readonly problem: string;
  readonly advice: string;
  readonly exitCode: ExitCode;
}

/** What `status` found. */
interface Findings {
  module: ModuleParameters;
  node: DeviceNodeInfo;
  openError: IbmvmcError | Error | undefined;
  driver: DriverStatus | undefined;
  broker: BrokerProbe;
}

async function gather(context: CommandContext): Promise<Findings> {
  const [module, node, broker] = await Promise.all([
    readModuleParameters({ sysfsRoot: context.sysfsRoot }),
    inspectDeviceNode(context.device),
    probeBroker(process.env[BROKER_ENV] || DEFAULT_BROKER_SOCKET),
  ]);
  let openError: Error | undefined;
  let driver: DriverStatus | undefined;
  try {
    const device = await VmcDevice.open({ path: context.device });
    try {
      driver = device.query();
    } finally {
      device.close();
    }
  } catch (error) {
    openError = error instanceof Error ? error : new Error(String(error));
  }
  return { module, node, openError, driver, broker };
}

function diagnose(context: CommandContext, f: Findings): Problem[] {
  const problems: Problem[] = [];
  if (!f.module.loaded)
    problems.push({
      problem: 'the ibmvmc module is not loaded',
      advice: 'load it: modprobe ibmvmc (as root)',
      exitCode: EXIT.NOT_FOUND,
    });
  if (!f.node.exists && f.module.loaded)
    problems.push({
      problem: `${context.device} ${f.node.reason}, though the module is loaded`,
      advice: 'check that udev created the node ("udevadm trigger", or "ls -l /dev/ibmvmc")',
      exitCode: EXIT.NOT_FOUND,
    });
  if (f.openError instanceof NotAVmcDeviceError && f.node.exists)
    problems.push({
      problem: f.openError.message.replace(/:[^:]*$/, ''),
      advice:
        'point --device at the VMC device node (/dev/ibmvmc), or run "ibmvmc fake-device" for a fake one',
      exitCode: EXIT.NOT_FOUND,
    });
  else if (f.openError !== undefined && f.node.exists)
    problems.push({
      problem: `${context.device} cannot be opened: ${f.openError.message}`,
      advice:
        exitCodeFor(f.openError) === EXIT.PERMISSION
          ? 'run as root, or give your group access with a udev rule: KERNEL=="ibmvmc", GROUP="hmc", MODE="0660"'
          : 'check "dmesg" for the driver’s messages',
      exitCode: exitCodeFor(f.openError),
    });
  const d = f.driver;
  if (d !== undefined) {
    if (d.state === DriverState.INITIAL || !d.haveVmc)
      problems.push({
        problem: 'this partition has no VMC adapter',
        advice:
          'request one with "ibmvmc request-vmc", then add the adapter to this partition (dynamic LPAR); the driver then finds it',
        exitCode: EXIT.NOT_FOUND,
      });
    else if (d.state === DriverState.FAILED)
      problems.push({
        problem: 'the driver has failed (e.g. a protocol version mismatch with the hypervisor)',
        advice: 'reload the module: rmmod ibmvmc && modprobe ibmvmc',
        exitCode: EXIT.DRIVER_FAILED,
      });
    else if (d.state !== DriverState.READY)
      problems.push({
        problem: `the driver is not ready yet: ${d.description}`,
        advice: 'wait a few seconds and run "ibmvmc status" again; if it stays so, check "dmesg"',
        exitCode: EXIT.BUSY,
      });
  }
  return problems;
}

function moduleLine(module: ModuleParameters): string {
  return module.loaded
    ? `loaded: max_mtu ${module.maxMtu}, buf_pool_size ${module.bufPoolSize}, max_hmcs ${module.maxHmcs}`
    : module.reason;
}

function nodeLine(context: CommandContext, node: DeviceNodeInfo): string {
  if (!node.exists) return `${context.device} ${node.reason}`;
  const kind = node.rdev === null ? node.type : `${node.type} ${node.rdev}`;
  const owner = `${node.user ?? node.uid}:${node.group ?? node.gid}`;
  return `${context.device}: ${kind}${context.onFake ? ' (a fake device)' : ''}, mode ${node.mode}, owner ${owner}`;
}

function accessLine(f: Findings): string {
  const who = `this user (uid ${process.getuid?.() ?? '?'})`;
  if (f.openError === undefined) return `${who} can open it`;
  return `${who} cannot open it: ${f.openError.message}`;
}

function driverLines(d: DriverStatus | undefined): [string, string] {
  if (d === undefined) return ['unknown (the device could not be opened)', 'unknown'];
  return [
    // Some descriptions start with the state's name already ("ready: sessions can be opened").
    `${d.stateName} (state ${d.state}): ${d.description.replace(`${d.stateName}: `, '')}`,
    d.haveVmc
      ? `yes (have_vmc 1), DRC index ${d.vmcDrcIndex === 0 ? '0 (none requested since the module loaded)' : `${hex(d.vmcDrcIndex, 8)}`}`
      : `no (have_vmc 0), DRC index ${d.vmcDrcIndex === 0 ? '0' : hex(d.vmcDrcIndex, 8)}`,
  ];
}

function brokerLine(probe: BrokerProbe): string {
  switch (probe.state) {
    case 'absent':
      return `none on ${probe.socket}`;
    case 'stale':
      return `none on ${probe.socket} (a stale socket: nobody listens)`;
    case 'serving':
      return `${probe.socket}: running, holds the session (MTU ${probe.mtu}); other programs can share it with --broker`;
    case 'waiting':
      return `${probe.socket}: running, waiting for a session (the slot may be busy)`;
    default:
      return `${probe.socket}: ${probe.reason}`;
  }
}

function toJson(
  context: CommandContext,
  f: Findings,
  problems: readonly Problem[],
): { [key: string]: JsonValue } {
  return {
    device: context.device,
    fake: context.onFake,
    module: f.module,
    node: f.node,
    access: {
      uid: process.getuid?.() ?? null,
      canOpen: f.openError === undefined,
      error: f.openError?.message ?? null,
      errorCode: f.openError instanceof IbmvmcError ? f.openError.code : null,
    },
    driver: f.driver === undefined ? null : { ...f.driver },
    broker: { ...f.broker },
    ok: problems.length === 0,
    problems: problems.map((p) => ({ ...p })),
  };
}

/** `ibmvmc status`. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'is the channel usable? module, device node, driver state, adapter',
  synopsis: 'status',
  description: [
    'Reports whether the ibmvmc module is loaded and its parameters, the device node',
    '(whether it exists, its mode and owner, whether this user can open it), the',
    "driver's state from QUERY in words, have_vmc and the DRC index of the last",
    'REQUESTVMC, whether a broker (ibmvmc serve) runs on its socket (IBMVMC_BROKER,',
    'else /run/ibmvmc/broker.sock) and holds the session; and for each thing that',
    'is wrong, what to do about it.',
    '',
    'Exits 0 when sessions can be opened, otherwise with the code of the first',
    'problem (3 not found, 4 permission, 5 driver failed, 6 not ready yet).',
  ].join('\n'),
  options: {},
  optionHelp: [],
  usesDevice: true,
  async run(context) {
    const findings = await gather(context);
    const problems = diagnose(context, findings);
    const out = context.out;
    out.document(toJson(context, findings, problems));
    const [driver, adapter] = driverLines(findings.driver);
    out.text(`Module       ${moduleLine(findings.module)}`);
    out.text(`Device node  ${nodeLine(context, findings.node)}`);
    out.text(`Access       ${accessLine(findings)}`);
    out.text(`Driver       ${driver}`);
    out.text(`VMC adapter  ${adapter}`);
    out.text(`Broker       ${brokerLine(findings.broker)}`);
    out.text();
    if (problems.length === 0) {
      out.text('Ready: HMC sessions can be opened.');
      return EXIT.OK;
    }
    out.text(problems.length === 1 ? 'Problem:' : 'Problems:');
    for (const p of problems) {
      out.text(`  - ${p.problem}`);
      out.text(`    what to do: ${p.advice}`);
    }
    return problems[0].exitCode;
  },
};
