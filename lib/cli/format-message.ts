/**
 * HMC messages for people and for scripts: every header field with its name
 * where the protocol gives one, and the data as hex.
 */
import {
  describeOpcode,
  describeReturnCodeValue,
  describeTarget,
  opcodeName,
  targetName,
} from '../client/names';
import { HMC_FLAG, describeReturnCode } from '../protocol/constants';
import { hex } from '../protocol/format';
import type { HmcMessage } from '../protocol/hmc-message';
import type { JsonValue } from './io';

/** The flags byte in words: `0x40 (response)`. */
export function describeFlags(flags: number): string {
  const words: string[] = [];
  if (flags & HMC_FLAG.RESPONSE) words.push('response');
  if (flags & HMC_FLAG.RESPONSE_EXPECTED) words.push('response expected');
  const other = flags & ~(HMC_FLAG.RESPONSE | HMC_FLAG.RESPONSE_EXPECTED);
  if (other) words.push(`other bits ${hex(other, 2)}`);
  return `${hex(flags, 2)} (${words.length > 0 ? words.join(', ') : 'request, no response expected'})`;
}

/**
 * Bytes as a classic hex dump: offset, 16 bytes in hex, the printable ones as text.
 *
 * @param data - The bytes.
 * @param indent - Put before every line.
 */
export function hexDump(data: Buffer, indent = ''): string[] {
  const lines: string[] = [];
  for (let offset = 0; offset < data.length; offset += 16) {
    const row = data.subarray(offset, offset + 16);
    const bytes = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'));
    lines.push(
      `${indent}${offset.toString(16).padStart(4, '0')}  ${bytes.padEnd(47)}  ${text.join('')}`,
    );
  }
  return lines;
}

/** Bytes as one string of hex pairs, for one-line output. */
export function hexString(data: Buffer): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * A message's header fields, one per line, then its data as a hex dump.
 *
 * @param message - The decoded message.
 * @param indent - Put before every line.
 */
export function describeMessage(message: HmcMessage, indent = '  '): string[] {
  return [
    `${indent}token        ${message.token}`,
    `${indent}target       ${describeTarget(message.target)}`,
    `${indent}opcode       ${describeOpcode(message.target, message.opcode)}`,
    `${indent}flags        ${describeFlags(message.flags)}`,
    `${indent}return code  ${describeReturnCodeValue(message.returnCode)}`,
    `${indent}data         ${message.data.length} byte${message.data.length === 1 ? '' : 's'}`,
    ...hexDump(message.data, `${indent}  `),
  ];
}

/**
 * A message on one line: `token=7 target=router (0x8000) opcode=echo (0x0103) flags=0x40 rc=0x0000 data=5 bytes: 68 65 6c 6c 6f`.
 *
 * @param message - The decoded message.
 */
export function messageLine(message: HmcMessage): string {
  const data =
    message.data.length === 0
      ? 'data=none'
      : `data=${message.data.length} bytes: ${hexString(message.data)}`;
  return (
    `token=${message.token} target=${describeTarget(message.target)} ` +
    `opcode=${describeOpcode(message.target, message.opcode)} flags=${hex(message.flags, 2)} ` +
    `rc=${hex(message.returnCode)} ${data}`
  );
}

/**
 * A message as JSON: numbers as numbers, names beside them, data as hex.
 *
 * @param message - The decoded message.
 */
export function messageJson(message: HmcMessage): { [key: string]: JsonValue } {
  return {
    token: message.token,
    target: message.target,
    targetName: targetName(message.target) ?? null,
    opcode: message.opcode,
    opcodeName: opcodeName(message.target, message.opcode) ?? null,
    flags: message.flags,
    returnCode: message.returnCode,
    returnCodeText: describeReturnCode(message.returnCode),
    data: message.data.toString('hex'),
  };
}
