/**
 * Two runs of a contract scenario side by side, the fake and the real driver,
 * check by check: the rows of the differential table.
 */
import type { ScenarioOutcome } from '../contract/scenario-runner';
import { knownDifference, type KnownDifference } from './known-differences';

/** One check of one client in both runs. */
export interface DifferentialRow {
  readonly scenario: string;
  readonly process: string;
  readonly check: string;
  /** What the fake showed: "ok [-1 EIO]", "not ok [0] expected …", "(missing)". */
  readonly fake: string;
  readonly real: string;
  readonly same: boolean;
  /** The check does not apply on one side ("skip"): shown, not compared. */
  readonly notApplicable?: boolean;
  /** Set when the two differ in a way the README lists, with the driver's reason. */
  readonly known?: KnownDifference;
}

interface Check {
  readonly check: string;
  readonly seen: string;
}

/**
 * "ok what [seen]", "not ok what [seen] expected X", "skip what (why)" (a
 * check that does not apply there), "READY tag": the check and what was seen.
 */
function parse(line: string): Check {
  const m = /^(ok|not ok) (.*?) (\[[^\]]*\])( expected .*)?$/.exec(line);
  if (m !== null) return { check: m[2], seen: `${m[1]} ${m[3]}${m[4] ?? ''}` };
  const skip = /^skip (.*?) (\(.*\))$/.exec(line);
  if (skip !== null) return { check: skip[1], seen: `skip ${skip[2]}` };
  return { check: line, seen: '' };
}

function checksOf(lines: readonly string[], exit: number | null): Check[] {
  // "# ..." lines are the client's notes (timings, counts), not checks.
  const checks = lines.filter((l) => !l.startsWith('# ')).map(parse);
  return [...checks, { check: 'exit status', seen: String(exit) }];
}

/**
 * Pairs the two runs' checks by name, in order (a longest common
 * subsequence), so that a check one run lacks shows as missing on its side
 * instead of shifting every row after it.
 */
function align(
  a: readonly Check[],
  b: readonly Check[],
): Array<[Check | undefined, Check | undefined]> {
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i][j] =
        a[i].check === b[j].check ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const pairs: Array<[Check | undefined, Check | undefined]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i].check === b[j].check) pairs.push([a[i++], b[j++]]);
    else if (j >= b.length || (i < a.length && lcs[i + 1][j] >= lcs[i][j + 1]))
      pairs.push([a[i++], undefined]);
    else pairs.push([undefined, b[j++]]);
  }
  return pairs;
}

/** The rows of one scenario: each client's checks, zipped in order. */
export function differentialRows(
  scenario: string,
  fake: ScenarioOutcome,
  real: ScenarioOutcome,
): DifferentialRow[] {
  const rows: DifferentialRow[] = [];
  for (const f of fake.processes) {
    const r = real.processes.find((p) => p.name === f.name);
    const fc = checksOf(f.lines, f.exit);
    const rc = r === undefined ? [] : checksOf(r.lines, r.exit);
    for (const [fakeCheck, realCheck] of align(fc, rc)) {
      const check = fakeCheck?.check ?? realCheck?.check ?? '?';
      const fakeSeen = fakeCheck?.seen ?? '(missing)';
      const realSeen = realCheck?.seen ?? '(missing)';
      const notApplicable = fakeSeen.startsWith('skip ') || realSeen.startsWith('skip ');
      const row = { scenario, process: f.name, check, fake: fakeSeen, real: realSeen };
      if (notApplicable) rows.push({ ...row, same: false, notApplicable });
      else if (fakeSeen === realSeen) rows.push({ ...row, same: true });
      else rows.push({ ...row, same: false, known: knownDifference(row) });
    }
  }
  return rows;
}

/** The table as Markdown: every row, differences marked. */
export function differentialTable(rows: readonly DifferentialRow[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const out = [
    '| scenario | client | check | fake | real driver | |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const verdict = r.same
      ? 'same'
      : r.notApplicable
        ? 'not applicable on one side'
        : r.known
          ? `KNOWN: ${r.known.reason}`
          : '**DIFFERENT**';
    out.push(
      `| ${cell(r.scenario)} | ${cell(r.process)} | ${cell(r.check)} | ${cell(r.fake)} | ${cell(r.real)} | ${cell(verdict)} |`,
    );
  }
  return out.join('\n');
}

/** A row whose two runs differ in a way nothing explains: a failure. */
export function unexplained(row: DifferentialRow): boolean {
  return !row.same && row.notApplicable !== true && row.known === undefined;
}
