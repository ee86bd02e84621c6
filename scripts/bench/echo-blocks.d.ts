// Types of echo-blocks.js, for the real-driver bench (test/real-driver/bench.test.ts).
export interface BlockResult {
  readonly rttNs: number[];
  readonly totalNs: number;
}

export interface BlockClient {
  block(bytes: number, count: number, warmup: number): Promise<BlockResult>;
}

export interface PathFigures {
  readonly perSec: number;
  readonly medianUs: number;
  readonly p99Us: number;
}

export interface Ratio {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
}

export interface EchoFigures {
  readonly dataBytes: number;
  readonly client: PathFigures;
  readonly session: PathFigures;
  readonly c: PathFigures;
  readonly ratioClientToC: Ratio;
  readonly ratioSessionToC: Ratio;
}

export function echoBlocks(
  paths: { readonly a: BlockClient; readonly b: BlockClient; readonly c: BlockClient },
  options: {
    readonly sizes: readonly number[];
    readonly blocks: number;
    readonly count: number;
    readonly blockWarmup: number;
    readonly warmup: number;
  },
): Promise<EchoFigures[]>;

export function echoTable(echo: readonly EchoFigures[]): string;

export function quantiles(values: readonly number[], ...qs: number[]): number[];
