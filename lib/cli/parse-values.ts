/**
 * Turning command-line strings into values, with a UsageError that names the
 * option when a string is not what it should be.
 */
import { routerOpcodeByName, targetByName } from '../client/names';
import { UsageError } from './usage-error';

/**
 * An integer written in decimal or with a `0x` prefix.
 *
 * @param option - The option's name, for the error (`--count`).
 * @param text - What the user typed.
 * @param min - The smallest value allowed.
 * @param max - The largest value allowed.
 */
export function parseInteger(option: string, text: string, min: number, max: number): number {
  const trimmed = text.trim();
  const value = /^0x[0-9a-f]+$/i.test(trimmed)
    ? Number.parseInt(trimmed.slice(2), 16)
    : /^[+-]?\d+$/.test(trimmed)
      ? Number(trimmed)
      : Number.NaN;
  if (!Number.isSafeInteger(value))
    throw new UsageError(`${option} takes an integer (decimal or 0x...), got "${text}"`);
  if (value < min || value > max)
    throw new UsageError(`${option} must be from ${min} to ${max}, got ${value}`);
  return value;
}

/**
 * A target: a number, or a name (`router`, `lpar-configuration`, ...).
 *
 * @param text - What the user typed after `--target`.
 */
export function parseTarget(text: string): number {
  return targetByName(text) ?? parseInteger('--target', text, 0, 0xffff);
}

/**
 * An opcode: a number, or for the router a name (`exchange-options`, `close`, `echo`).
 *
 * @param text - What the user typed after `--opcode`.
 * @param target - The target, which decides what names mean.
 */
export function parseOpcode(text: string, target: number): number {
  const byName = routerOpcodeByName(text);
  if (byName !== undefined) {
    if (target !== 0x8000)
      throw new UsageError(`--opcode ${text} is a router opcode; give a number for other targets`);
    return byName;
  }
  return parseInteger('--opcode', text, 0, 0xffff);
}

/**
 * Bytes written in hex: `deadbeef`, `0xDEADBEEF`, `de ad be ef`, `de:ad:be:ef`.
 *
 * @param text - What the user typed after `--data`.
 */
export function parseHex(text: string): Buffer {
  const digits = text.replace(/^0x/i, '').replace(/[\s:,-]/g, '');
  if (!/^[0-9a-f]*$/i.test(digits))
    throw new UsageError(`--data takes hex bytes (e.g. "de ad be ef"), got "${text}"`);
  if (digits.length % 2 !== 0)
    throw new UsageError(`--data has an odd number of hex digits (${digits.length})`);
  return Buffer.from(digits, 'hex');
}

/**
 * A duration in milliseconds, or `never` where the option allows it.
 *
 * @param option - The option's name, for the error.
 * @param text - What the user typed.
 * @param never - What `never` stands for; undefined if it is not allowed.
 */
export function parseMs(option: string, text: string): number;
export function parseMs(option: string, text: string, never: null): number | null;
export function parseMs(option: string, text: string, never?: null): number | null {
  if (text === 'never' && never === null) return null;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0)
    throw new UsageError(
      `${option} takes milliseconds (a number ≥ 0${never === null ? ', or never' : ''}), got "${text}"`,
    );
  return value;
}
