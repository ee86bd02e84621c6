/**
 * Options as node:util parseArgs takes and returns them, narrowed to what
 * this CLI uses (single strings and booleans), with typed accessors.
 */
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error';

/** An option table in parseArgs' format. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parsed option values by long name. */
export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** One line of an option table in a help text: the option as typed, and what it does. */
export type OptionHelp = readonly [usage: string, meaning: string];

/**
 * The value of a string option, if given.
 *
 * @param values - Parsed options.
 * @param name - The option's long name.
 */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new UsageError(`--${name} needs a value`);
}

/**
 * Whether a boolean option was given.
 *
 * @param values - Parsed options.
 * @param name - The option's long name.
 */
export function flagOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}
