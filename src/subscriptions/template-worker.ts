import { parentPort, workerData } from 'node:worker_threads';
import { compileAhead, needsCompiling, RenderOutcome, renderTemplate } from './template-conversion';
import type { RenderLimits } from './templates';

/**
 * A render worker: renders one template run at a time, within the item limits it was started
 * with, and answers with the outcome. RenderPool starts these and terminates one whose render
 * outlives its time budget (the limits' own clock check stops most renders before that).
 */
export interface RenderWorkerData {
  limits: RenderLimits;
}

export interface RenderRequest {
  taskId: number;
  source: string;
  context: Record<string, unknown>;
}

export type RenderWorkerMessage =
  | { kind: 'ready' }
  /** A source the worker has not compiled yet: compiling is timed apart from rendering. */
  | { kind: 'compiling'; taskId: number }
  | { kind: 'rendering'; taskId: number }
  | { kind: 'rendered'; taskId: number; outcome: RenderOutcome; renderMs: number };

const port = parentPort;
if (!port) throw new Error('template-worker runs as a worker thread of RenderPool');
const { limits } = workerData as RenderWorkerData;
const send = (message: RenderWorkerMessage) => port.postMessage(message);

port.on('message', ({ taskId, source, context }: RenderRequest) => {
  if (needsCompiling(source)) {
    send({ kind: 'compiling', taskId });
    compileAhead(source);
    send({ kind: 'rendering', taskId });
  }
  const started = performance.now();
  const outcome = renderTemplate(source, context, limits);
  send({ kind: 'rendered', taskId, outcome, renderMs: performance.now() - started });
});

// The first render of a fresh worker pays for loading and optimising Handlebars: not a task's.
renderTemplate('{"warm": [{{#each x}}{{json this}}{{/each}}]}', { x: [1] }, limits);
send({ kind: 'ready' });
