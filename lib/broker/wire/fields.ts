/**
 * The fields inside a payload: big-endian integers, UTF-8 strings and codes
 * behind a u16 length, HMC messages and target lists. Read strictly (every
 * byte accounted for, each field within its limit) and written after checks.
 */
import { types } from 'node:util';

import { kindOf, showValue } from '../../protocol/format';
import {
  BROKER_MAX_CODE_LENGTH,
  BROKER_MAX_MESSAGE_LENGTH,
  BROKER_MAX_STRING_LENGTH,
  BROKER_MAX_SUBSCRIBE_TARGETS,
  BROKER_MIN_MESSAGE_LENGTH,
} from './constants';
import { BrokerProtocolError } from './error';
import { frameTypeName } from './header';

/** What an error code may look like: upper-case ASCII letters, digits and `_`, starting with a letter. */
export const CODE_PATTERN = /^[A-Z][A-Z0-9_]*$/;

/** A strict UTF-8 decoder: invalid bytes are an error, and a leading BOM is kept as text. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Unpaired surrogates, which UTF-8 cannot carry. */
export const LONE_SURROGATES =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Reads a payload's fields in order, refusing any that break the layout, and
 * at the end any byte left over. Byte fields are views of the payload.
 */
export class PayloadReader {
  private offset = 0;

  /**
   * @param payload - The payload (without the header).
   * @param type - The frame's type byte, for error messages.
   */
  constructor(
    private readonly payload: Buffer,
    private readonly type: number,
  ) {}

  /** A big-endian u16. */
  u16(field: string): number {
    this.need(field, 2);
    const value = this.payload.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  /** A big-endian u32. */
  u32(field: string): number {
    this.need(field, 4);
    const value = this.payload.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A UTF-8 string behind a u16 length: `min` bytes to {@link BROKER_MAX_STRING_LENGTH}. */
  string(field: string, min = 0): string {
    const bytes = this.lengthPrefixed(field, BROKER_MAX_STRING_LENGTH);
    if (bytes.length < min) throw this.error('malformed', `${field} is empty`);
    try {
      return utf8.decode(bytes);
    } catch {
      throw this.error('malformed', `${field} is not valid UTF-8`);
    }
  }

  /** An error code behind a u16 length: `[A-Z][A-Z0-9_]*`, at most {@link BROKER_MAX_CODE_LENGTH} bytes. */
  code(field: string): string {
    const bytes = this.lengthPrefixed(field, BROKER_MAX_CODE_LENGTH);
    const code = bytes.toString('latin1');
    if (!CODE_PATTERN.test(code)) {
      throw this.error(
        'malformed',
        `${field} ${showValue(code)} is not upper-case letters, digits and _`,
      );
    }
    return code;
  }

  /** The rest of the payload, a whole HMC message (its bounds are the header's to check). */
  message(field: string): Buffer {
    const bytes = this.payload.subarray(this.offset);
    if (bytes.length < BROKER_MIN_MESSAGE_LENGTH || bytes.length > BROKER_MAX_MESSAGE_LENGTH) {
      throw this.error(
        bytes.length > BROKER_MAX_MESSAGE_LENGTH ? 'oversized' : 'malformed',
        `${field} is ${bytes.length} bytes; an HMC message is ${BROKER_MIN_MESSAGE_LENGTH} to ${BROKER_MAX_MESSAGE_LENGTH}`,
      );
    }
    this.offset = this.payload.length;
    return bytes;
  }

  /** A u16 count and as many u16 targets, none repeated. */
  targets(field: string): number[] {
    const count = this.u16(`${field} count`);
    if (count > BROKER_MAX_SUBSCRIBE_TARGETS) {
      throw this.error(
        'oversized',
        `${field}: ${count} targets, over the maximum of ${BROKER_MAX_SUBSCRIBE_TARGETS}`,
      );
    }
    this.need(field, 2 * count);
    const targets: number[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      const target = this.payload.readUInt16BE(this.offset + 2 * i);
      if (seen.has(target))
        throw this.error('malformed', `${field} lists target 0x${target.toString(16)} twice`);
      seen.add(target);
      targets.push(target);
    }
    this.offset += 2 * count;
    return targets;
  }

  /** Checks that every byte was read. */
  end(): void {
    const left = this.payload.length - this.offset;
    if (left !== 0) throw this.error('malformed', `${left} bytes after the last field`);
  }

  private lengthPrefixed(field: string, max: number): Buffer {
    const length = this.u16(`${field} length`);
    if (length > max) {
      throw this.error('oversized', `${field} is ${length} bytes, over the maximum of ${max}`);
    }
    this.need(field, length);
    const bytes = this.payload.subarray(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }

  private need(field: string, length: number): void {
    const left = this.payload.length - this.offset;
    if (left < length) {
      throw this.error('malformed', `${field} needs ${length} bytes, ${left} are left`);
    }
  }

  private error(reason: 'malformed' | 'oversized', detail: string): BrokerProtocolError {
    return new BrokerProtocolError(reason, `${frameTypeName(this.type)}: ${detail}`, this.type);
  }
}

/**
 * Builds a payload from checked fields. Every check throws before anything is
 * written: TypeError for a value of the wrong type, RangeError for one out of range.
 */
export class PayloadWriter {
  private readonly parts: Buffer[] = [];
  private length = 0;

  /** @param frame - The frame's name, for error messages (`encodeBrokerFrame: HELLO`). */
  constructor(private readonly frame: string) {}

  /** The fields written so far, in order. */
  fields(): readonly Buffer[] {
    return this.parts;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.length;
  }

  /** A big-endian u16, from an integer in `min..max`. */
  u16(field: string, value: unknown, min = 0, max = 0xffff): this {
    const bytes = Buffer.alloc(2);
    bytes.writeUInt16BE(this.integer(field, value, min, max));
    return this.add(bytes);
  }

  /** A big-endian u32, from an integer in `min..max`. */
  u32(field: string, value: unknown, min = 0, max = 0xffffffff): this {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(this.integer(field, value, min, max));
    return this.add(bytes);
  }

  /** A UTF-8 string of `min` to {@link BROKER_MAX_STRING_LENGTH} bytes. */
  string(field: string, value: unknown, min = 0): this {
    if (typeof value !== 'string') throw this.typeError(field, 'a string', value);
    // search, not test: a global pattern's test() would carry lastIndex over to the next call.
    if (value.search(LONE_SURROGATES) >= 0) {
      throw new RangeError(
        `${this.frame}: ${field} has an unpaired surrogate, which UTF-8 cannot carry`,
      );
    }
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length < min || bytes.length > BROKER_MAX_STRING_LENGTH) {
      throw new RangeError(
        `${this.frame}: ${field} must be ${min} to ${BROKER_MAX_STRING_LENGTH} UTF-8 bytes, got ${bytes.length}`,
      );
    }
    return this.prefixed(bytes);
  }

  /** An error code: `[A-Z][A-Z0-9_]*`, at most {@link BROKER_MAX_CODE_LENGTH} bytes. */
  code(field: string, value: unknown): this {
    if (typeof value !== 'string') throw this.typeError(field, 'a string', value);
    if (!CODE_PATTERN.test(value) || value.length > BROKER_MAX_CODE_LENGTH) {
      throw new RangeError(
        `${this.frame}: ${field} must be upper-case letters, digits and _ (at most ${BROKER_MAX_CODE_LENGTH}), got ${showValue(value)}`,
      );
    }
    return this.prefixed(Buffer.from(value, 'latin1'));
  }

  /** A whole HMC message, the last field. */
  message(field: string, value: unknown): this {
    if (!types.isUint8Array(value)) throw this.typeError(field, 'a Buffer or Uint8Array', value);
    if (value.length < BROKER_MIN_MESSAGE_LENGTH || value.length > BROKER_MAX_MESSAGE_LENGTH) {
      throw new RangeError(
        `${this.frame}: ${field} must be ${BROKER_MIN_MESSAGE_LENGTH} to ${BROKER_MAX_MESSAGE_LENGTH} bytes (an HMC message), got ${value.length}`,
      );
    }
    return this.add(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }

  /** A u16 count and the targets, each an integer in 0..0xFFFF, none repeated. */
  targets(field: string, value: unknown): this {
    if (!Array.isArray(value)) throw this.typeError(field, 'an array', value);
    const list: readonly unknown[] = value;
    if (list.length > BROKER_MAX_SUBSCRIBE_TARGETS) {
      throw new RangeError(
        `${this.frame}: ${field} lists ${list.length} targets, over the maximum of ${BROKER_MAX_SUBSCRIBE_TARGETS}`,
      );
    }
    const bytes = Buffer.alloc(2 + 2 * list.length);
    bytes.writeUInt16BE(list.length);
    const seen = new Set<number>();
    list.forEach((item, i) => {
      const target = this.integer(`${field}[${i}]`, item, 0, 0xffff);
      if (seen.has(target)) {
        throw new RangeError(`${this.frame}: ${field} lists target 0x${target.toString(16)} twice`);
      }
      seen.add(target);
      bytes.writeUInt16BE(target, 2 + 2 * i);
    });
    return this.add(bytes);
  }

  private prefixed(bytes: Buffer): this {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(bytes.length);
    return this.add(length).add(bytes);
  }

  private add(bytes: Buffer): this {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }

  private integer(field: string, value: unknown, min: number, max: number): number {
    if (typeof value !== 'number') throw this.typeError(field, 'a number', value);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(
        `${this.frame}: ${field} must be an integer from ${min} to ${max}, got ${showValue(value)}`,
      );
    }
    return value;
  }

  private typeError(field: string, expected: string, value: unknown): TypeError {
    return new TypeError(`${this.frame}: ${field} must be ${expected}, got ${kindOf(value)}`);
  }
}
