import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { readmeExamples } from '../../examples/readme-commands';

const ROOT = join(__dirname, '..', '..');

const runWalkthrough = () =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const env = { ...process.env };
    for (const name of ['HUB', 'DATA_DIR', 'DATABASE_URL', 'EVENTSTORE_URL']) delete env[name];
    // Output to a file, as to a terminal: the README's `tee /dev/stderr` cannot open a socket,
    // which is what a piped child's stderr is.
    const dir = mkdtempSync(join(os.tmpdir(), 'walkthrough-output-'));
    const file = join(dir, 'output.txt');
    const fd = openSync(file, 'w');
    // The build `npm test` ran first; examples/walkthrough.sh would build again.
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'examples', 'walkthrough.js')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', fd, fd],
    });
    child.once('exit', (code) => {
      closeSync(fd);
      const output = readFileSync(file, 'utf8');
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output });
    });
  });

describe('the README as a walkthrough', () => {
  it('runs every example in order against a fresh hub on the embedded default, each answering as the README says', async () => {
    const { commands, skipped } = readmeExamples(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    // Only starting the hub, the tests, a server deployment and a rebuild stand outside it.
    expect(skipped.length).toBeLessThanOrEqual(3);
    const { code, output } = await runWalkthrough();
    if (code !== 0) throw new Error(`the walkthrough failed:\n${output.slice(-6000)}`);
    expect(output).toContain(`The walkthrough ran ${commands.length} README commands`);
  }, 300_000);
});
