/**
 * People's names for targets, router opcodes and return codes, derived from
 * the protocol's constants so the two can never disagree. Used in error
 * messages and by the CLI, which accepts a name wherever a number goes.
 */
import { HMC_ROUTER_OPCODE, HMC_TARGET, describeReturnCode } from '../protocol/constants';
import { hex } from '../protocol/format';

/** `LPAR_CONFIGURATION` → `lpar-configuration`: the spelling of command-line arguments. */
function kebab(key: string): string {
  return key.toLowerCase().replace(/_/g, '-');
}

const TARGET_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(HMC_TARGET).map(([key, value]) => [value, kebab(key)]),
);
const ROUTER_OPCODE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(HMC_ROUTER_OPCODE).map(([key, value]) => [value, kebab(key)]),
);

/**
 * The name of a target (`router`, `lpar-configuration`, ...), or undefined
 * for a value the reference does not name.
 *
 * @param target - A 16-bit target value.
 */
export function targetName(target: number): string | undefined {
  return TARGET_NAMES.get(target);
}

/**
 * The name of an opcode (`exchange-options`, `close`, `echo`). Only the
 * router's opcodes are published; for other targets this is undefined.
 *
 * @param target - The target the opcode is addressed to.
 * @param opcode - A 16-bit opcode.
 */
export function opcodeName(target: number, opcode: number): string | undefined {
  return target === HMC_TARGET.ROUTER ? ROUTER_OPCODE_NAMES.get(opcode) : undefined;
}

/**
 * A target for people: `router (0x8000)`, or just `0x9000` when it has no name.
 *
 * @param target - A 16-bit target value.
 */
export function describeTarget(target: number): string {
  const name = targetName(target);
  return name === undefined ? hex(target) : `${name} (${hex(target)})`;
}

/**
 * An opcode for people: `echo (0x0103)`, or just `0x0042` when it has no name.
 *
 * @param target - The target the opcode is addressed to.
 * @param opcode - A 16-bit opcode.
 */
export function describeOpcode(target: number, opcode: number): string {
  const name = opcodeName(target, opcode);
  return name === undefined ? hex(opcode) : `${name} (${hex(opcode)})`;
}

/**
 * A return code for people: `0x8001 (invalid opcode)`.
 *
 * @param code - A 16-bit return code.
 */
export function describeReturnCodeValue(code: number): string {
  const text = describeReturnCode(code);
  // describeReturnCode already puts the hex value in texts for unknown codes.
  return text.includes(hex(code)) ? text : `${hex(code)} (${text})`;
}

/**
 * The target a name stands for (`router`, `lpar-configuration`, also with
 * underscores or in capitals), or undefined.
 *
 * @param name - What a person typed.
 */
export function targetByName(name: string): number | undefined {
  const wanted = kebab(name);
  for (const [value, known] of TARGET_NAMES) if (known === wanted) return value;
  return undefined;
}

/**
 * The router opcode a name stands for (`exchange-options`, `close`, `echo`), or undefined.
 *
 * @param name - What a person typed.
 */
export function routerOpcodeByName(name: string): number | undefined {
  const wanted = kebab(name);
  for (const [value, known] of ROUTER_OPCODE_NAMES) if (known === wanted) return value;
  return undefined;
}

/** Every named target, for help texts: `[['router', 0x8000], ...]`. */
export function namedTargets(): ReadonlyArray<readonly [string, number]> {
  return [...TARGET_NAMES].map(([value, name]) => [name, value] as const);
}

/** Every named router opcode, for help texts: `[['exchange-options', 1], ...]`. */
export function namedRouterOpcodes(): ReadonlyArray<readonly [string, number]> {
  return [...ROUTER_OPCODE_NAMES].map(([value, name]) => [name, value] as const);
}
