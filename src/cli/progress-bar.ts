/**
 * Progress for long-running CLI work: a redrawn bar on a terminal, a plain line every few
 * seconds otherwise (CI logs, pipes).
 */
export class ProgressBar {
  private lastLine = 0;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly unit = 'events',
  ) {}

  update(done: number, total: number | null): void {
    const now = Date.now();
    const finished = total !== null && done >= total;
    if (!this.out.isTTY && !finished && now - this.lastLine < 2_000) return;
    this.lastLine = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    let line: string;
    if (total !== null && total > 0) {
      const ratio = Math.min(1, done / total);
      const width = 30;
      const filled = Math.round(ratio * width);
      const eta = rate > 0 ? Math.max(0, Math.round((total - done) / rate)) : null;
      line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(1)}% ${done}/${total} ${this.unit}, ${rate}/s${eta === null ? '' : `, ${eta}s left`}`;
    } else {
      line = `${this.label} ${done} ${this.unit}, ${rate}/s`;
    }
    this.out.write(this.out.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  }

  finish(message: string): void {
    this.out.write(this.out.isTTY ? `\r${message}\x1b[K\n` : `${message}\n`);
  }
}
