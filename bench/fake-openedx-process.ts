import { ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { FakeOpenEdx, FakeOpenEdxOptions, RecordedCall } from '../test/support/fake-openedx';

/*
 * A fake Open edX in a process of its own. The LMS a hub mirrors to is another machine: run in
 * the bench's process, its answers would share an event loop with the client timing the hub's
 * API, and every call it serves would show up as the hub's latency.
 */

/** What the bench needs of the fake's calls at the end: no headers. */
export type CallRecord = Pick<RecordedCall, 'method' | 'path' | 'body' | 'status' | 'receivedAt'>;

/** The fake's account of one course run's learners, in the order asked. */
export interface FakeReport {
  calls: CallRecord[];
  active: boolean[];
  stateChangingCalls: number[];
  postedMoreThanOnce: number;
}

type Request =
  | { op: 'start'; options: Omit<FakeOpenEdxOptions, 'hook'> }
  | { op: 'activeCount'; courseId: string }
  | { op: 'callCount' }
  | { op: 'report'; users: string[]; courseId: string };

interface Envelope {
  id: number;
  request: Request;
}

const serve = (): void => {
  let fake: FakeOpenEdx | null = null;
  const answer = async (request: Request): Promise<unknown> => {
    if (request.op === 'start') {
      fake = await FakeOpenEdx.start(request.options);
      return fake.baseUrl;
    }
    if (!fake) throw new Error('the fake is not started');
    const edx = fake;
    switch (request.op) {
      case 'activeCount':
        return [...edx.enrollments.values()].filter(
          (e) => e.courseId === request.courseId && e.isActive,
        ).length;
      case 'callCount':
        return edx.calls.length;
      case 'report':
        return {
          calls: edx.calls.map(({ method, path, body, status, receivedAt }) => ({
            method,
            path,
            body,
            status,
            receivedAt,
          })),
          active: request.users.map((u) => edx.enrollment(u, request.courseId)?.isActive === true),
          stateChangingCalls: request.users.map((u) => edx.stateChangingCalls(u, request.courseId)),
          postedMoreThanOnce: edx.calledMoreThanOnce().length,
        } satisfies FakeReport;
      default: {
        const never: never = request;
        throw new Error(`unknown request ${JSON.stringify(never)}`);
      }
    }
  };
  process.on('message', (message: Envelope) => {
    answer(message.request).then(
      (value) => process.send?.({ id: message.id, value }),
      (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
};

/** The bench's handle on the fake in its child process. */
export class FakeOpenEdxProcess {
  private next = 0;
  private readonly waiting = new Map<
    number,
    (reply: { value?: unknown; error?: string }) => void
  >();

  private constructor(
    private readonly child: ChildProcess,
    public baseUrl = '',
  ) {
    child.on('message', (reply: { id: number; value?: unknown; error?: string }) => {
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
  }

  /** `nice`: the child's CPU priority (0 as the bench; 19 lowest), as another machine's would be. */
  static async start(
    options: Omit<FakeOpenEdxOptions, 'hook'>,
    nice = 0,
  ): Promise<FakeOpenEdxProcess> {
    const child = fork(__filename, ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (nice !== 0 && child.pid !== undefined) setPriority(child.pid, nice);
    const fake = new FakeOpenEdxProcess(child);
    fake.baseUrl = await fake.ask<string>({ op: 'start', options });
    return fake;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  activeCount(courseId: string): Promise<number> {
    return this.ask({ op: 'activeCount', courseId });
  }

  callCount(): Promise<number> {
    return this.ask({ op: 'callCount' });
  }

  report(users: string[], courseId: string): Promise<FakeReport> {
    return this.ask({ op: 'report', users, courseId });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    await exited;
  }

  private ask<T>(request: Request): Promise<T> {
    const id = ++this.next;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, ({ value, error }) =>
        error === undefined ? resolve(value as T) : reject(new Error(error)),
      );
      this.child.send({ id, request } satisfies Envelope);
    });
  }
}

if (process.argv.includes('--serve') && process.send) serve();
