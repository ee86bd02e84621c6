// Types of initramfs.js, for the TypeScript suites in test/real-driver/.
export interface InitrdEntry {
  readonly from: string;
  readonly to: string;
  readonly mode?: number;
}

export function buildInitrd(options: {
  readonly base: string;
  readonly out: string;
  readonly stage: string;
  readonly entries: readonly InitrdEntry[];
}): string;
