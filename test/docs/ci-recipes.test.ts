/**
 * docs/ci-recipes.md: its YAML parses and has the shape GitHub Actions and
 * GitLab CI expect, and its shell lines work: each recipe's steps are run,
 * one shell per GitHub step and one per GitLab job (as those systems do), in
 * a user's project with ibmvmc linked in, whose `npm test` checks that
 * /dev/ibmvmc is the fake. Afterwards no process is left in that project.
 * The YAML parser is js-yaml, which ESLint already brings (no new dependency).
 */
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { envWithoutShim } from '../cli/run-cli';
import { waitGone } from '../helpers/process-tree';

/** Waits for `pids` to end; kills and returns those still running, so a failing case leaves nothing behind. */
async function goneOrKilled(pids: readonly number[]): Promise<number[]> {
  const left = await waitGone(pids, 3_000);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  return left;
}
import { TIME_SCALE } from '../helpers/time-scale';

const root = path.resolve(__dirname, '..', '..');
const yaml = createRequire(__filename)('js-yaml') as { load(text: string): unknown };

const blocks = [
  ...readFileSync(path.join(root, 'docs', 'ci-recipes.md'), 'utf8').matchAll(
    /```yaml\n([\s\S]*?)```/g,
  ),
].map((m) => yaml.load(m[1]) as Record<string, unknown>);

interface GitHubStep {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
}
interface GitHubWorkflow {
  name: string;
  on: unknown;
  jobs: Record<string, { 'runs-on': string; steps: GitHubStep[] }>;
}
interface GitLabJob {
  image: string;
  before_script?: string[];
  script: string[];
}

const github = blocks.filter((b) => 'jobs' in b) as unknown as GitHubWorkflow[];
const gitlab = blocks.filter((b) => !('jobs' in b)) as unknown as Record<string, GitLabJob>[];

let project: string;
beforeEach(() => {
  project = mkdtempSync(path.join(tmpdir(), 'ibmvmc-ci-recipe-'));
  // The user's project: ibmvmc installed (here: linked), `npm test` checks the device is the fake.
  mkdirSync(path.join(project, 'node_modules', '.bin'), { recursive: true });
  mkdirSync(path.join(project, '.tmp'));
  symlinkSync(root, path.join(project, 'node_modules', 'ibmvmc'));
  symlinkSync(
    '../ibmvmc/dist/cjs/cli/main.js',
    path.join(project, 'node_modules', '.bin', 'ibmvmc'),
  );
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({
      name: 'user-project',
      private: true,
      scripts: { test: 'ibmvmc status --json > status.json' },
    }),
  );
});
afterEach(() => rmSync(project, { recursive: true, force: true }));

/** Processes whose working directory is the project: whatever a recipe left running. */
function processesInProject(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === project) found.push(Number(name));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Runs one step's or job's lines in a new bash, as the CI system would. `npm ci` is left out: the project is installed. */
async function shell(lines: string): Promise<void> {
  const script = lines
    .split('\n')
    .filter((l) => l.trim() !== 'npm ci')
    .join('\n');
  await promisify(execFile)('bash', ['-e', '-c', script], {
    cwd: project,
    env: {
      ...envWithoutShim(),
      // The fakes' folders go in the project, not where other suites count theirs.
      TMPDIR: path.join(project, '.tmp'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
    },
    timeout: 60_000 * TIME_SCALE,
  });
}

function expectTestsSawTheFake(): void {
  expect(JSON.parse(readFileSync(path.join(project, 'status.json'), 'utf8'))).toMatchObject({
    fake: true,
  });
}

test('the document has two GitHub workflows and two GitLab jobs', () => {
  expect(github).toHaveLength(2);
  expect(gitlab).toHaveLength(1);
  expect(Object.keys(gitlab[0])).toEqual(['test', 'test-env-file']);
});

describe.each(github.map((w) => [w.name, w] as const))(
  'GitHub Actions workflow %s',
  (_name, workflow) => {
    it(
      'has the shape of a workflow, and its steps work one shell each',
      async () => {
        expect(workflow.on).toEqual(['push', 'pull_request']);
        const steps = workflow.jobs.test.steps;
        expect(workflow.jobs.test['runs-on']).toBe('ubuntu-latest');
        for (const step of steps)
          expect(Object.keys(step).filter((k) => k === 'uses' || k === 'run')).toHaveLength(1);
        expect(steps.slice(0, 2).map((s) => s.uses)).toEqual([
          'actions/checkout@v4',
          'actions/setup-node@v4',
        ]);
        for (const step of steps) if (step.run !== undefined) await shell(step.run);
        expectTestsSawTheFake();
        expect(await goneOrKilled(processesInProject())).toEqual([]);
      },
      90_000 * TIME_SCALE,
    );
  },
);

describe.each(gitlab.flatMap((jobs) => Object.entries(jobs)))('GitLab CI job %s', (_name, job) => {
  it(
    'has the shape of a job, and its lines work in one shell',
    async () => {
      expect(job.image).toBe('node:20');
      expect(Array.isArray(job.script)).toBe(true);
      await shell([...(job.before_script ?? []), ...job.script].join('\n'));
      expectTestsSawTheFake();
      // The job's shell has ended: a fake it started in the background must end with it.
      expect(await goneOrKilled(processesInProject())).toEqual([]);
    },
    90_000 * TIME_SCALE,
  );
});
