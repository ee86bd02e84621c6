// Types of vm.js, for the TypeScript suites in test/real-driver/.
import { EventEmitter } from 'node:events';

export interface GuestLine {
  readonly stream: 'out' | 'err';
  readonly line: string;
}

export interface GuestExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly ms?: number;
  readonly error?: string;
}

export class GuestError extends Error {}

export class GuestProcess extends EventEmitter {
  readonly id: number;
  readonly argv: readonly string[];
  readonly lines: GuestLine[];
  readonly result: GuestExit | null;
  readonly exit: Promise<GuestExit>;
  readonly stdout: string[];
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  write(data: string): void;
  closeStdin(): void;
  kill(signal?: string): void;
}

export interface GuestBootOptions {
  readonly qemu: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly workDir: string;
  readonly extraArgs?: readonly string[];
  readonly smp?: number;
  readonly append?: string;
  readonly bootTimeoutMs?: number;
  readonly onConsole?: (line: string) => void;
}

export interface GuestExecResult extends GuestExit {
  readonly stdout: string;
  readonly stderr: string;
  readonly lines: GuestLine[];
}

export class GuestVm {
  static boot(options: GuestBootOptions): Promise<GuestVm>;
  readonly consoleLog: string;
  readonly qemuArgs: readonly string[];
  readonly hello: { readonly node: string; readonly kernel: string; readonly arch: string };
  spawn(
    argv: readonly string[],
    options?: { env?: Record<string, string>; cwd?: string },
  ): GuestProcess;
  exec(
    argv: readonly string[],
    options?: { env?: Record<string, string>; cwd?: string },
  ): Promise<GuestExecResult>;
  tail(n?: number): string[];
  poweroff(timeoutMs?: number): Promise<{ code: number | null; signal: string | null }>;
  kill(): Promise<void>;
}

export const MACHINE: string;
