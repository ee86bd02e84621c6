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
  /** Set when the two differ in a way the README lists, with the driver's reason. */
  readonly known?: KnownDifference;
}

interface Check {
  readonly check: string;
  readonly seen: string;
}

/** "ok what [seen]" / "not ok what [seen] expected X" / "READY tag" → check and what was seen. */
function parse(line: string): Check {
  const m = /^(ok|not ok) (.*?) (\[[^\]]*\])( expected .*)?$/.exec(line);
  if (m !== null) return { check: m[2], seen: `${m[1]} ${m[3]}${m[4] ?? ''}` };
  return { check: line, seen: '' };
}

function checksOf(lines: readonly string[], exit: number | null): Check[] {
  return [...lines.map(parse), { check: 'exit status', seen: String(exit) }];
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
    for (let i = 0; i < Math.max(fc.length, rc.length); i++) {
      const check = fc[i]?.check ?? rc[i]?.check ?? '?';
      const fakeSeen = fc[i] === undefined ? '(missing)' : fc[i].seen;
      const realSeen = rc[i] === undefined ? '(missing)' : rc[i].seen;
      const same = fc[i]?.check === rc[i]?.check && fakeSeen === realSeen;
      const row = { scenario, process: f.name, check, fake: fakeSeen, real: realSeen, same };
      rows.push(same ? row : { ...row, known: knownDifference(row) });
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
    const verdict = r.same ? 'same' : r.known ? `KNOWN: ${r.known.reason}` : '**DIFFERENT**';
    out.push(
      `| ${cell(r.scenario)} | ${cell(r.process)} | ${cell(r.check)} | ${cell(r.fake)} | ${cell(r.real)} | ${cell(verdict)} |`,
    );
  }
  return out.join('\n');
}
